"""Runtime `/status` documents served on loopback, one per miner, for the operator's poller.

KWOK pods cannot run the runtime, so the operator's URL template points here; the documents
have the runtime's shape (the contract tests check that against the real runtime)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class StatusServer:
    """`documents["<namespace>/<name>"]` is served at `template`'s URL for that miner."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                document = outer.documents.get(self.path.strip("/"))
                body = json.dumps(document).encode() if document else b"{}"
                self.send_response(200 if document else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def template(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/{{namespace}}/{{name}}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
