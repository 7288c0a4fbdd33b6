"""`GET /counters`: what the local validator did, as JSON, on its own loopback port.

Kept off the axon on purpose: a real validator's axon answers only synapse routes (404
even for /health), and a miner under test must see exactly that. A demo or a test reads
the counters here instead, without touching the defences it observes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Report = Callable[[], Mapping[str, object]]


class _Handler(BaseHTTPRequestHandler):
    server: _CountersHTTPServer

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != "/counters":
            self._send(404, {"detail": "Not Found"})
            return
        self._send(200, self.server.report())

    def _send(self, status: int, body: Mapping[str, object]) -> None:
        data = json.dumps(body, sort_keys=True).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  # stdlib's name
        """Quiet: the default writes every request to stderr."""


class _CountersHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], report: Report) -> None:
        super().__init__(address, _Handler)
        self.report = report


class CountersServer:
    """A stdlib HTTP server on `host:port` serving `report()` at `GET /counters`."""

    def __init__(self, report: Report, *, port: int, host: str = "127.0.0.1") -> None:
        self._report = report
        self.host = host
        self.port = port
        self._server: _CountersHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/counters"

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the counters server is already running")
        self._server = _CountersHTTPServer((self.host, self.port), self._report)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="validator-counters", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None
