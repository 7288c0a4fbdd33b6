"""How a runtime reaches the fleet's Redis: fail-fast clients with AUTH and TLS, and what a
failure to reach it means.

Every client fails fast (short socket timeouts, no retries): an unreachable Redis must hand
over to the fail-closed local share at once, not after seconds. Credentials never come from
a URL (settings refuse one that carries them); they come from `RedisAccess`, read from
mounted files at start, and are kept out of every repr.

A failure is given a reason for `/status` and the log. `auth` and `tls` are configuration
errors (a wrong password or ACL user, a certificate that does not verify): retrying does
not help, so the runtime says so loudly instead of looking like an outage; it still only
ever falls back to its local share.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as redis
from redis import exceptions as redis_errors
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import MasterNotFoundError, Sentinel
from redis.backoff import NoBackoff

from miner_runtime.budget.failsafe import StoreFailure

# Why the shared store does not answer (`/status` budget_store.reason).
UNREACHABLE = "unreachable"
AUTH = "auth"
TLS = "tls"

# Refusals that are not connection errors in redis-py (so not in redis_backend.UNAVAILABLE)
# but are the configuration's fault all the same: an ACL user lacking a command or key
# pattern (NOPERM), a username sent to a server without ACLs, and a client that sent no
# password at all: Redis 7 answers its first long command (an acquire has more than ten
# arguments) with a plain protocol error instead of NOAUTH. Caught as replies (`REFUSED`),
# told apart by `diagnose`: any other error reply is a bug and is raised.
REFUSED: tuple[type[Exception], ...] = (redis_errors.ResponseError,)
_UNAUTHENTICATED = "Protocol error: unauthenticated"
_AUTH_ERRORS: tuple[type[Exception], ...] = (
    redis_errors.AuthenticationError,
    redis_errors.AuthorizationError,
    redis_errors.NoPermissionError,
    redis_errors.AuthenticationWrongNumberOfArgsError,
)
# redis-py folds each Sentinel's error into MasterNotFoundError's message as its repr
# ("auth:AuthenticationError"), the only trace of a Sentinel refusing our password. A TLS
# failure towards a Sentinel leaves none (its repr says "network:ConnectionError"), so it
# reads as unreachable; towards the master it is recognised from the exception chain.
_AUTH_MARKERS = tuple(error.__name__ for error in _AUTH_ERRORS)


def _fail_fast(timeout: float) -> dict[str, Any]:
    """Short timeouts and no retries: see the module docstring."""
    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
    }


@dataclass(frozen=True)
class RedisAccess:
    """Credentials and the CA bundle for the budget Redis, as read at start. The secrets are left
    out of repr, so logging this object (or an error holding it) cannot leak them."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    # PEM text of the CA bundle (read once at start, so a later unreadable file cannot
    # turn into an "outage"); None: the system's CAs.
    ca_pem: str | None = field(default=None, repr=False)
    sentinel_password: str | None = field(default=None, repr=False)

    def server_options(self, *, tls: bool) -> dict[str, Any]:
        """Keyword arguments for a connection to a Redis server (not a Sentinel)."""
        options: dict[str, Any] = {}
        if self.username is not None:
            options["username"] = self.username
        if self.password is not None:
            options["password"] = self.password
        return options | self._tls_options(tls)

    def sentinel_options(self, *, timeout: float, tls: bool) -> dict[str, Any]:
        """Keyword arguments for the connections to the Sentinels themselves: their own
        password, the same TLS as the master, the same fail-fast timeouts."""
        options = _fail_fast(timeout)
        if self.sentinel_password is not None:
            options["password"] = self.sentinel_password
        if tls:
            options["ssl"] = True
        return options | self._tls_options(tls)

    def _tls_options(self, tls: bool) -> dict[str, Any]:
        if not tls:
            return {}
        # Certificate and host name are always verified: TLS without both only hides
        # the password from passive listeners, not from whoever answers instead.
        options: dict[str, Any] = {"ssl_cert_reqs": "required", "ssl_check_hostname": True}
        if self.ca_pem is not None:
            options["ssl_ca_data"] = self.ca_pem
        return options


def url_client(url: str, *, timeout: float, access: RedisAccess) -> redis.Redis:
    """A client for the server at `url` (redis://, or rediss:// for TLS; no credentials
    in it)."""
    tls = url.startswith("rediss://")
    return redis.Redis.from_url(url, **_fail_fast(timeout), **access.server_options(tls=tls))


def sentinel_clients(
    sentinels: Sequence[tuple[str, int]],
    service: str,
    *,
    timeout: float,
    tls: bool = False,
    access: RedisAccess,
) -> tuple[redis.Redis, list[redis.Redis]]:
    """A client for the master Sentinel names for `service` (found again after a
    failover), and the Sentinel clients, which the caller closes with it. `tls` applies
    to both: a deployment that encrypts its master encrypts its Sentinels too."""
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(sentinels), sentinel_kwargs=access.sentinel_options(timeout=timeout, tls=tls)
    )
    options = _fail_fast(timeout) | access.server_options(tls=tls)
    if tls:
        options["ssl"] = True  # picks the pool's TLS connection class
    client = sentinel.master_for(service, **options)
    return client, list(sentinel.sentinels)


def failure_reason(exc: BaseException) -> str:
    """`auth`, `tls` or `unreachable`: why the shared store did not answer."""
    if isinstance(exc, _AUTH_ERRORS):
        return AUTH
    if isinstance(exc, redis_errors.ResponseError) and str(exc).startswith(_UNAUTHENTICATED):
        return AUTH
    if any(isinstance(cause, ssl.SSLError) for cause in _chain(exc)):
        return TLS
    if isinstance(exc, MasterNotFoundError) and any(m in str(exc) for m in _AUTH_MARKERS):
        return AUTH
    return UNREACHABLE


_FIXES = {
    AUTH: "check budget.redis_username, the password in budget.redis_password_file (with "
    "Sentinel also budget.sentinel_password_file) and the ACL user's commands and keys",
    TLS: "check budget.redis_tls_ca_file and that Redis's certificate names the host "
    "the runtime connects to",
}


def diagnose(exc: Exception) -> StoreFailure | None:
    """The fail-closed wrapper's view of a failure: a refusal carries what to fix; None
    for an error reply that is no refusal (a script error: raised, not hidden)."""
    reason = failure_reason(exc)
    if isinstance(exc, redis_errors.OutOfMemoryError):
        return StoreFailure(reason, "Redis is full (maxmemory): give it more memory")
    if reason == UNREACHABLE and isinstance(exc, redis_errors.ResponseError):
        return None  # the server answered: an error reply, not a failure to reach it
    return StoreFailure(reason, _FIXES.get(reason))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what it was raised from or during (redis-py wraps an SSL error in a
    ConnectionError raised while handling it)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
