"""Waiting for a condition, the one way everything here waits.

Real servers, pods and miners come up in their own time; a test or a start-up step polls
until the thing it needs is true and, on a timeout, fails naming what it waited for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any


def wait_for(
    predicate: Callable[[], Any],
    *,
    timeout: float,
    interval: float = 0.25,
    what: str,
    evidence: Callable[[], object] | None = None,
) -> Any:
    """Poll until `predicate()` returns something truthy and return it.

    On a timeout raise `TimeoutError` naming `what` and the last value; `evidence()`
    (e.g. a process's log tail) is added to the message for the person reading it.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    message = f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})"
    if evidence is not None:
        message = f"{message}\n{evidence()}"
    raise TimeoutError(message)


async def until(
    predicate: Callable[[], object], *, within: float = 20.0, interval: float = 0.05, what: str
) -> None:
    """`wait_for` inside an event loop: sleeps without blocking the loop the code under test
    runs on. Raises `AssertionError` on a timeout, as the tests that await it expect.
    (`within`, not `timeout`: lint reads an async `timeout` parameter as asyncio's own.)"""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:.0f} s waiting for {what}")
        await asyncio.sleep(interval)


def poll(seconds: float, every: float = 0.2) -> Iterator[float]:
    """Yield the time left every `every` seconds until `seconds` have passed: for a wait
    whose loop body keeps state between checks (a maximum seen, a quiet period)."""
    deadline = time.monotonic() + seconds
    while (now := time.monotonic()) < deadline:
        yield deadline - now
        time.sleep(every)
