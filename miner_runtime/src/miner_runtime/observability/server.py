"""`/health`, `/ready`, `/status` and `/metrics` on the control port.

`/health` answers while the event loop runs (liveness); `/ready` only once the axon is
serving and the hotkey is registered (readiness: a pod that cannot mine is not ready);
`/status` is the seed miner's status document, extended, typed in `status.py` (published as
`docs/runtime-status.schema.json`); `/metrics` is Prometheus text.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from miner_runtime.observability.status import RuntimeStatus

StatusProvider = Callable[[], RuntimeStatus]
ReadyProvider = Callable[[], tuple[bool, str]]


def build_control_app(
    *, status: StatusProvider, ready: ReadyProvider, registry: CollectorRegistry
) -> FastAPI:
    app = FastAPI(title="sparket miner runtime", docs_url=None, redoc_url=None)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    async def is_ready() -> JSONResponse:
        ok, reason = ready()
        return JSONResponse({"ready": ok, "reason": reason}, status_code=200 if ok else 503)

    @app.get("/status")
    async def get_status() -> dict[str, Any]:
        return status().model_dump(mode="json")

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


class ControlServer:
    """uvicorn on the runtime's own event loop (so handlers read state without locks)."""

    def __init__(self, app: FastAPI, *, host: str, port: int) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._host, self._port = host, port
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Bind first, so a taken port is an OSError here rather than uvicorn's exit()."""
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._port))
        except OSError:
            sock.close()
            raise
        sock.listen(128)
        sock.setblocking(False)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="control-api")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # re-raise why it could not start (port taken, ...)
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._task = None
