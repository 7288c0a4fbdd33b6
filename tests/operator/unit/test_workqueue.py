"""WorkQueue: de-duplication, one worker per key, delayed re-queues (earliest wins)."""

from __future__ import annotations

import asyncio

import pytest

from sparket_operator.controller.workqueue import WorkQueue

Key = tuple[str, str]
A: Key = ("miners", "a")
B: Key = ("miners", "b")

SHORT = 0.05  # a delay that surely fires within a test
LONG = 5.0  # a delay that surely does not
WAIT = 0.2  # the longest any test waits for a key


async def _next(queue: WorkQueue[Key], within: float = WAIT) -> Key:
    return await asyncio.wait_for(queue.get(), within)


async def _nothing_within(queue: WorkQueue[Key], seconds: float) -> bool:
    """True when no key is delivered within `seconds` (the pending get is cancelled)."""
    try:
        await asyncio.wait_for(queue.get(), seconds)
    except TimeoutError:
        return True
    return False


async def test_a_key_added_twice_is_delivered_once() -> None:
    queue: WorkQueue[Key] = WorkQueue()
    queue.add(A)
    queue.add(A)

    assert len(queue) == 1
    assert await _next(queue) == A
    assert len(queue) == 0
    assert await _nothing_within(queue, SHORT)


async def test_keys_are_delivered_in_order_of_first_add() -> None:
    queue: WorkQueue[Key] = WorkQueue()
    queue.add(A)
    queue.add(B)
    queue.add(A)

    assert [await _next(queue), await _next(queue)] == [A, B]


async def test_a_key_re_added_while_active_waits_for_done() -> None:
    queue: WorkQueue[Key] = WorkQueue()
    queue.add(A)
    assert await _next(queue) == A

    queue.add(A)  # a watch event while a worker holds A
    queue.add(A)
    assert len(queue) == 0
    assert await _nothing_within(queue, SHORT)  # never two workers on one key

    queue.done(A)
    assert await _next(queue) == A
    queue.done(A)
    assert await _nothing_within(queue, SHORT)  # the two re-adds were one


async def test_done_without_a_re_add_delivers_nothing() -> None:
    queue: WorkQueue[Key] = WorkQueue()
    queue.add(A)
    assert await _next(queue) == A

    queue.done(A)

    assert len(queue) == 0
    assert await _nothing_within(queue, SHORT)


async def test_other_keys_flow_while_one_is_active() -> None:
    queue: WorkQueue[Key] = WorkQueue()
    queue.add(A)
    assert await _next(queue) == A

    queue.add(B)

    assert await _next(queue) == B


async def test_add_after_fires_later() -> None:
    queue: WorkQueue[Key] = WorkQueue()
    loop = asyncio.get_running_loop()
    start = loop.time()

    queue.add_after(A, SHORT)
    assert len(queue) == 0

    assert await _next(queue) == A
    assert loop.time() - start >= SHORT * 0.9


async def test_add_after_the_earliest_request_wins() -> None:
    queue: WorkQueue[Key] = WorkQueue()
    queue.add_after(A, LONG)
    queue.add_after(A, SHORT)  # sooner: replaces the long timer
    queue.add_after(A, LONG)  # later: ignored

    assert await _next(queue) == A
    queue.done(A)
    assert await _nothing_within(queue, SHORT * 2)  # the long timers are gone
    queue.close()


async def test_add_after_zero_is_an_add() -> None:
    queue: WorkQueue[Key] = WorkQueue()
    queue.add_after(A, 0)

    assert len(queue) == 1
    assert await _next(queue, within=0.01) == A


async def test_an_add_cancels_a_pending_timer() -> None:
    queue: WorkQueue[Key] = WorkQueue()
    queue.add_after(A, SHORT)
    queue.add(A)

    assert await _next(queue) == A
    queue.done(A)
    assert await _nothing_within(queue, SHORT * 2)  # the timer did not re-queue A


async def test_a_timer_firing_while_active_requeues_after_done() -> None:
    queue: WorkQueue[Key] = WorkQueue()
    queue.add(A)
    assert await _next(queue) == A

    queue.add_after(A, SHORT)
    assert await _nothing_within(queue, SHORT * 2)  # fired, but A is still held

    queue.done(A)
    assert await _next(queue, within=0.01) == A


async def test_forget_cancels_a_timer() -> None:
    queue: WorkQueue[Key] = WorkQueue()
    queue.add_after(A, SHORT)
    queue.add_after(B, SHORT)

    queue.forget(A)

    assert await _next(queue) == B
    assert await _nothing_within(queue, SHORT * 2)


async def test_close_cancels_every_timer() -> None:
    queue: WorkQueue[Key] = WorkQueue()
    queue.add_after(A, SHORT)
    queue.add_after(B, SHORT)

    queue.close()

    assert await _nothing_within(queue, SHORT * 2)


def test_add_after_needs_a_running_loop() -> None:
    queue: WorkQueue[Key] = WorkQueue()
    with pytest.raises(RuntimeError):
        queue.add_after(A, SHORT)
