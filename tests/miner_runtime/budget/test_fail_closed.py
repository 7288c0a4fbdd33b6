"""Redis down: a conservative local share, never open; Redis back: shared budgets again.

Runs against a Redis server of its own (stopped and restarted by the test)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from miner_runtime.budget.failsafe import FailClosedCoordinator, local_share
from miner_runtime.budget.model import Ask, Budgets, Denied, Grant, Rate, Rule
from miner_runtime.budget.redis_backend import UNAVAILABLE, RedisCoordinator
from sparket_local_services.services import RedisServer

BUDGETS = Budgets(
    hotkey=Rate(10.0, burst=3), egress_ip=Rate(40.0, burst=4), fleet=Rate(50.0, burst=4)
)


def test_the_local_share_splits_the_ip_and_fleet_budgets_without_bursts() -> None:
    share = local_share(BUDGETS, colocated=8)
    assert share.egress_ip.per_second == pytest.approx(5.0)  # 40/s among 8
    assert share.hotkey.per_second == pytest.approx(5.0)  # never above the shared rate
    assert {share.hotkey.burst, share.egress_ip.burst, share.fleet.burst} == {1}
    assert local_share(BUDGETS, colocated=1).hotkey.per_second == pytest.approx(10.0)
    with pytest.raises(ValueError, match="colocated"):
        local_share(BUDGETS, colocated=0)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(workdir=tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.mark.services
async def test_an_outage_falls_back_to_the_local_share_and_recovers(
    own_redis: RedisServer,
) -> None:
    now = itertools.count()  # the wrapper's retry clock: one "second" per read
    coordinator = FailClosedCoordinator(
        RedisCoordinator.from_url(own_redis.url, BUDGETS, timeout=0.3),
        budgets=BUDGETS,
        colocated=8,
        unavailable=UNAVAILABLE,
        retry_seconds=3,
        clock=lambda: float(next(now)),
    )
    ask = Ask(validator=f"5V{uuid.uuid4().hex}", hotkey="hk", egress_ip="203.0.113.10")
    try:
        first = await coordinator.acquire(ask)
        assert isinstance(first, Grant) and not coordinator.degraded

        own_redis.stop()
        waits = []
        for _ in range(4):
            decision = await coordinator.acquire(ask)  # never raises, never sends on faith
            assert isinstance(decision, Grant)
            waits.append(decision.wait)
        assert coordinator.degraded
        # The local share: 5/s with no burst, so 200 ms apart from the first fallback.
        assert [b - a for a, b in itertools.pairwise(waits)] == pytest.approx([0.2] * 3, abs=0.05)
        # Pushes wait for the shared store: alone, every runtime of an IP would spend a
        # failure on a token a validator restart made stale.
        await coordinator.record_token(ask.validator, "a" * 64)
        push = Ask(ask.validator, ask.hotkey, ask.egress_ip, push=True)
        for ask_store in (coordinator.acquire, coordinator.check):
            held = await ask_store(push)
            assert isinstance(held, Denied) and held.rule is Rule.STORE_DOWN
            assert held.reason == "store_down: unreachable"
        await coordinator.pause(ask.validator, ask.egress_ip, 30, "cooldown")
        paused = await coordinator.acquire(ask)
        assert isinstance(paused, Denied) and paused.reason == "paused: cooldown"

        own_redis.start()
        other = Ask(validator=ask.validator, hotkey="hk", egress_ip="203.0.113.99")
        for _ in range(6):  # past retry_seconds on the wrapper's clock
            decision = await coordinator.acquire(other)
            if not coordinator.degraded:
                break
        assert not coordinator.degraded
        assert isinstance(decision, Grant)  # answered by Redis again
        # The pause learnt during the outage still holds after it.
        still = await coordinator.acquire(ask)
        assert isinstance(still, Denied) and still.reason == "paused: cooldown"
    finally:
        await coordinator.close()
