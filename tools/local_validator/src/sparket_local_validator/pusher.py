"""CONNECTION_INFO_PUSH: how miners learn the validator's push token (docs/protocol.md §2a).

As upstream (`sparket/validator/validator.py` `run`/`_push_connection_info`,
`broadcaster.py`): the first round goes out on the main loop's first iteration, then one
every `interval_seconds` (`connection_push_interval_seconds`, 300 s); a round is skipped
while the previous one still runs; each round sends to every axon with port > 0 except
the validator's own hotkey, with no permit filter, at most 50 at a time, 20 s timeout
each, and looks only at the status code. Payload: host, port, token, hotkey (the
validator's), step.

Upstream's first iteration comes after start-up work that follows `serve_axon()` (the
chain sync at the top of `run()`), so for a while the axon answers with the new process's
secret while miners still hold the old token. `first_delay_seconds` reproduces that
window; 0 sends the first round at once.

The pusher runs on its own thread with its own event loop, so that it works the same
whether the caller is a plain test, an asyncio test (whose loop may block in `wait_for`),
or a demo script; `push_now()` returns a `concurrent.futures.Future` either kind can wait on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sparket_local_validator.dendrite import LoopbackDendrite
from sparket_local_validator.synapse import CONNECTION_INFO_PUSH, SparketSynapse

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_SEC = 300.0
MAX_CONCURRENT_SENDS = 50
SEND_TIMEOUT_SEC = 20.0


@dataclass(frozen=True)
class PushResult:
    hotkey: str
    ip: str
    port: int
    status_code: int | None
    """What the Dendrite saw: 200, the miner's 403, 408 for a timeout, 503 unreachable."""


@dataclass(frozen=True)
class PushRound:
    step: int
    token: str
    results: tuple[PushResult, ...]

    def delivered_to(self, hotkey: str) -> bool:
        return any(r.hotkey == hotkey and r.status_code == 200 for r in self.results)


def push_targets(axons: Iterable[Any], own_hotkey: str) -> list[Any]:
    """Every axon that serves (port > 0), except our own hotkey; no permit filter."""
    return [axon for axon in axons if int(axon.port) > 0 and axon.hotkey != own_hotkey]


class ConnectionInfoPusher:
    """Periodic CONNECTION_INFO rounds from a background thread (see the module docstring)."""

    def __init__(
        self,
        *,
        keypair: Any,
        host: str,
        port: int,
        token: Callable[[], str],
        targets: Callable[[], Iterable[Any]],
        interval_seconds: float = DEFAULT_INTERVAL_SEC,
        first_delay_seconds: float = 0.0,
        max_concurrent: int = MAX_CONCURRENT_SENDS,
        timeout_seconds: float = SEND_TIMEOUT_SEC,
    ) -> None:
        self._keypair = keypair
        self._host = host
        self._port = port
        self._token = token
        self._targets = targets
        self._interval = interval_seconds
        self._first_delay = max(0.0, first_delay_seconds)
        self._max_concurrent = max_concurrent
        self._timeout = timeout_seconds
        self._step = 0
        self._current: asyncio.Task[PushRound] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self.rounds: list[PushRound] = []
        """Finished rounds, oldest first (appended by the pusher thread only)."""
        self.skipped_rounds = 0

    # Lifecycle (caller's thread) -------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the pusher is already running")
        self._loop = asyncio.new_event_loop()
        self._stopping = asyncio.Event()
        self._dendrite = LoopbackDendrite(self._keypair, external_ip=self._host)
        self._thread = threading.Thread(
            target=self._run, name="connection-info-pusher", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Cancel any round in flight, close the Dendrite and end the thread."""
        if self._thread is None or self._loop is None or self._stopping is None:
            return
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the pusher thread did not stop within {timeout:.0f} s")
        self._thread = None

    def push_now(self) -> concurrent.futures.Future[PushRound]:
        """A round that starts after this call; waits out a running one first."""
        if self._loop is None or self._thread is None:
            raise RuntimeError("the pusher is not running")
        return asyncio.run_coroutine_threadsafe(self._push_now(), self._loop)

    # The pusher thread -------------------------------------------------------------------

    def _run(self) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    async def _main(self) -> None:
        assert self._stopping is not None
        try:
            if self._first_delay > 0:
                await self._pause(self._first_delay)
            while not self._stopping.is_set():
                self._trigger()
                await self._pause(self._interval)
        finally:
            if self._current is not None and not self._current.done():
                self._current.cancel()
                await asyncio.gather(self._current, return_exceptions=True)
            await self._dendrite.aclose_session()

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds`, or less if `stop()` is called: a stop never waits out a pause."""
        assert self._stopping is not None
        # A timeout means the pause is over: time for the next round.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    def _trigger(self) -> asyncio.Task[PushRound]:
        """Start a round unless one is still running (then that one is returned)."""
        if self._current is not None and not self._current.done():
            self.skipped_rounds += 1
            return self._current
        self._current = asyncio.get_running_loop().create_task(self._round())
        self._current.add_done_callback(_log_failure)
        return self._current

    async def _push_now(self) -> PushRound:
        running = self._current
        if running is not None and not running.done():
            await asyncio.wait([running])
        return await self._trigger()

    async def _round(self) -> PushRound:
        step = self._step
        self._step += 1
        token = self._token()
        targets = push_targets(self._targets(), self._keypair.ss58_address)
        limit = asyncio.Semaphore(self._max_concurrent)

        async def send(axon: Any) -> PushResult:
            payload = {
                "host": self._host,
                "port": self._port,
                "token": token,
                "hotkey": self._keypair.ss58_address,
                "step": step,
            }
            synapse = SparketSynapse(type=CONNECTION_INFO_PUSH, payload=payload)
            async with limit:
                reply = await self._dendrite.call(
                    target_axon=axon, synapse=synapse, timeout=self._timeout, deserialize=False
                )
            status = reply.dendrite.status_code if reply.dendrite is not None else None
            return PushResult(axon.hotkey, axon.ip, int(axon.port), status)

        results = await asyncio.gather(*(send(axon) for axon in targets))
        finished = PushRound(step, token, tuple(results))
        self.rounds.append(finished)
        return finished


def _log_failure(task: asyncio.Task[PushRound]) -> None:
    """A round that raised (e.g. the target lookup failed) is logged, not lost."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        logger.error("connection_info_round_failed", exc_info=exc)
