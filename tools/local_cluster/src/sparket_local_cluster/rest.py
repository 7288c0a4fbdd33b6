"""A tiny client for the local API server, used by the control plane and the demo's kubelet.

They need a handful of calls (readiness, create nodes, wait for them) and must not
depend on the operator's Kubernetes client; plain urllib with the admin certificate does.
It only ever talks to the loopback address the cluster was started on.
"""

from __future__ import annotations

import functools
import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from sparket_local_services.pki import ClusterPki


class ApiError(RuntimeError):
    """A non-2xx answer from the API server; `status` is the HTTP code."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


@dataclass(frozen=True)
class RestClient:
    """Admin-authenticated JSON calls against https://127.0.0.1:<port>."""

    server: str
    pki: ClusterPki

    @functools.cached_property
    def _context(self) -> ssl.SSLContext:
        """Built once per client: readiness loops call the server many times a second."""
        ctx = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        ctx.load_cert_chain(str(self.pki.admin_cert), str(self.pki.admin_key))
        return ctx

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        content_type = "application/merge-patch+json" if method == "PATCH" else "application/json"
        request = urllib.request.Request(
            self.server + path,
            data=data,
            method=method,
            headers={"Content-Type": content_type, "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(
                request, context=self._context, timeout=timeout
            ) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, exc.read().decode(errors="replace")[:500]) from exc
        if not raw:
            return {}
        parsed = json.loads(raw)
        if not isinstance(parsed, dict):
            raise ApiError(200, f"unexpected non-object answer from {path}")
        return parsed

    def text(self, path: str, timeout: float = 5.0) -> str:
        """GET a plain-text endpoint such as /readyz."""
        request = urllib.request.Request(self.server + path)
        with urllib.request.urlopen(request, context=self._context, timeout=timeout) as response:
            return str(response.read().decode())
