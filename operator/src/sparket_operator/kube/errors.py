"""API errors as the operator reasons about them.

    KubeError
    ├── NotFound      404: the object is gone (a reconcile of it is done)
    ├── Conflict      409: someone wrote first; re-read and retry at once
    ├── Invalid       400/403/422: retrying the same request cannot help
    └── Transient     429/5xx and connection trouble: retry with backoff

The transport's exception is chained as `__cause__`; messages say what we were doing.
"""

from __future__ import annotations


class KubeError(Exception):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotFound(KubeError):
    pass


class Conflict(KubeError):
    pass


class Invalid(KubeError):
    pass


class Transient(KubeError):
    pass


def for_status(status: int, message: str) -> KubeError:
    if status == 404:
        return NotFound(message, status=status)
    if status == 409:
        return Conflict(message, status=status)
    if status in (400, 403, 422):
        return Invalid(message, status=status)
    return Transient(message, status=status)
