"""One suite over every budget backend: the in-memory one and Redis (a real server).

The memory backend is the single-process implementation and the reference: if the Redis
scripts drift from it, these tests fail for Redis only. Timings are asserted with a small
tolerance because both backends run on real clocks (Redis uses its server time).
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from miner_runtime.budget.coordinator import BudgetCoordinator
from miner_runtime.budget.memory_backend import MemoryCoordinator
from miner_runtime.budget.model import Ask, Budgets, Denied, Grant, Rate, Rule
from miner_runtime.budget.redis_backend import RedisCoordinator, acquire_keys
from sparket_devkit.services import RedisServer

SLACK = 0.06  # seconds: clock reads and round trips between the two sides of an assertion

BUDGETS = Budgets(
    hotkey=Rate(10.0, burst=3),  # 100 ms apart after 3 back to back
    egress_ip=Rate(40.0, burst=4),  # 25 ms apart
    fleet=Rate(50.0, burst=4),  # 20 ms apart
    max_wait_seconds=1.0,
    push_lease_seconds=0.3,
)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
async def coordinator(
    request: pytest.FixtureRequest,
) -> AsyncIterator[BudgetCoordinator]:
    if request.param == "memory":
        yield MemoryCoordinator(BUDGETS)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    backend = RedisCoordinator.from_url(server.url, BUDGETS)
    yield backend
    await backend.close()


@pytest.fixture
def validator() -> str:
    """A validator of this test only, so Redis state never leaks between tests."""
    return f"5Val{uuid.uuid4().hex}"


def _ask(validator: str, hotkey: str = "hk-1", ip: str = "203.0.113.10") -> Ask:
    return Ask(validator=validator, hotkey=hotkey, egress_ip=ip)


async def _waits(coordinator: BudgetCoordinator, asks: list[Ask]) -> list[float]:
    waits = []
    for ask in asks:
        decision = await coordinator.acquire(ask)
        assert isinstance(decision, Grant), decision
        waits.append(decision.wait)
    return waits


async def test_a_burst_goes_at_once_then_sends_are_spaced_evenly(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    waits = await _waits(coordinator, [_ask(validator)] * 7)
    assert waits[:3] == pytest.approx([0, 0, 0], abs=SLACK)
    # After the burst: one hotkey interval (100 ms) apart, reserved in advance.
    spacing = [b - a for a, b in itertools.pairwise(waits[2:])]
    assert spacing == pytest.approx([0.1] * 4, abs=SLACK)


async def test_hotkeys_on_one_ip_share_the_ip_budget(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    asks = [_ask(validator, hotkey=f"hk-{i}") for i in range(12)]
    waits = await _waits(coordinator, asks)
    assert waits[:4] == pytest.approx([0] * 4, abs=SLACK)
    # The IP's 40/s (25 ms) is the binding budget for distinct hotkeys on one IP.
    assert waits[-1] == pytest.approx(8 * 0.025, abs=SLACK)
    # In no 1 s span can more than burst + rate start: here the whole batch fits 0.2 s.
    assert sorted(waits) == waits


async def test_the_fleet_budget_binds_across_egress_ips(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    asks = [_ask(validator, hotkey=f"hk-{i}", ip=f"203.0.113.{i}") for i in range(14)]
    waits = await _waits(coordinator, asks)
    assert waits[-1] == pytest.approx(10 * 0.02, abs=SLACK)  # fleet: 50/s after 4


async def test_validators_have_separate_budgets(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    await _waits(coordinator, [_ask(validator)] * 6)
    other = await coordinator.acquire(_ask(validator + "-other"))
    assert isinstance(other, Grant) and other.wait == pytest.approx(0, abs=SLACK)


async def test_a_reservation_beyond_max_wait_is_refused_and_reserves_nothing(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    waits = await _waits(coordinator, [_ask(validator)] * 13)  # up to 1.0 s ahead
    assert waits[-1] == pytest.approx(1.0, abs=SLACK)
    refused = await coordinator.acquire(_ask(validator))
    assert isinstance(refused, Denied) and refused.rule is Rule.BUDGET
    # Ask again once the slot (1.1 s out) is within the 1.0 s horizon.
    assert refused.retry_after == pytest.approx(0.1, abs=SLACK)
    again = await coordinator.acquire(_ask(validator))
    assert isinstance(again, Denied)
    assert again.retry_after == pytest.approx(0.1, abs=SLACK)  # not pushed further out


async def test_a_pause_stops_every_hotkey_on_that_ip_for_that_validator(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    await coordinator.pause(validator, "203.0.113.10", 0.5, "cooldown 429")
    for hotkey in ("hk-1", "hk-2"):
        decision = await coordinator.acquire(_ask(validator, hotkey=hotkey))
        assert isinstance(decision, Denied)
        assert decision.reason == "paused: cooldown 429"
        assert decision.retry_after == pytest.approx(0.5, abs=SLACK)
    elsewhere = await coordinator.acquire(_ask(validator, ip="203.0.113.99"))
    assert isinstance(elsewhere, Grant)
    other_validator = await coordinator.acquire(_ask(validator + "-b"))
    assert isinstance(other_validator, Grant)
    await asyncio.sleep(0.55)
    assert isinstance(await coordinator.acquire(_ask(validator)), Grant)


async def test_a_pause_never_shortens_a_longer_one(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    await coordinator.pause(validator, "203.0.113.10", 0.8, "long")
    await coordinator.pause(validator, "203.0.113.10", 0.1, "short")
    decision = await coordinator.acquire(_ask(validator))
    assert isinstance(decision, Denied)
    assert decision.reason == "paused: long"
    assert decision.retry_after == pytest.approx(0.8, abs=SLACK)


async def test_concurrent_acquires_never_share_a_slot(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    decisions = await asyncio.gather(*(coordinator.acquire(_ask(validator)) for _ in range(8)))
    waits = sorted(d.wait for d in decisions if isinstance(d, Grant))
    assert len(waits) == 8
    after_burst = waits[2:]
    gaps = [b - a for a, b in itertools.pairwise(after_burst)]
    assert all(gap == pytest.approx(0.1, abs=SLACK) for gap in gaps)


@pytest.mark.services
async def test_every_key_of_one_acquire_shares_the_validators_hash_tag(
    redis_server: RedisServer, validator: str
) -> None:
    keys = [acquire_keys(_ask(validator))[0], acquire_keys(_ask(validator, ip="198.51.100.1"))[0]]
    tags = {key[key.index("{") : key.index("}") + 1] for key in keys}
    assert tags == {f"{{v:{validator}}}"}
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        slots = {await client.execute_command("CLUSTER", "KEYSLOT", key) for key in keys}
    except aioredis.ResponseError:  # a standalone server: compute the slot client-side
        from redis.crc import key_slot

        slots = {key_slot(key.encode()) for key in keys}
    finally:
        await client.aclose()
    assert len(slots) == 1


async def test_the_failure_budget_stops_new_hotkeys_before_the_third_distinct_failure(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    assert await coordinator.record_failure(validator, "203.0.113.10", "hk-a") == 1
    assert await coordinator.record_failure(validator, "203.0.113.10", "hk-a") == 1
    assert isinstance(await coordinator.acquire(_ask(validator, hotkey="hk-new")), Grant)
    assert await coordinator.record_failure(validator, "203.0.113.10", "hk-b") == 2

    refused = await coordinator.acquire(_ask(validator, hotkey="hk-new"))
    assert isinstance(refused, Denied)
    assert refused.rule is Rule.FAILURE_BUDGET
    assert refused.reason == "failure_budget: 2 hotkeys failed"
    assert refused.retry_after == pytest.approx(24 * 3600, abs=5)
    # The two that failed already may go on (they cannot add a distinct failure) ...
    assert isinstance(await coordinator.acquire(_ask(validator, hotkey="hk-a")), Grant)
    # ... and other IPs and validators are untouched.
    assert isinstance(
        await coordinator.acquire(_ask(validator, hotkey="hk-new", ip="203.0.113.99")), Grant
    )
    assert isinstance(await coordinator.acquire(_ask(validator + "-b", hotkey="hk-new")), Grant)


async def test_a_token_seen_by_one_hotkey_serves_the_fleet_until_rejected(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    assert await coordinator.token(validator) is None
    await coordinator.record_token(validator, "a" * 64)
    assert await coordinator.token(validator) == "a" * 64
    assert await coordinator.token(validator + "-b") is None

    await coordinator.token_rejected(validator, "a" * 64)
    assert await coordinator.token(validator) is None  # pushes wait fleet-wide ...
    await coordinator.record_token(validator, "a" * 64)
    assert await coordinator.token(validator) is None  # ... the same token does not help ...
    await coordinator.record_token(validator, "b" * 64)
    assert await coordinator.token(validator) == "b" * 64  # ... a different one does


async def test_an_unproven_token_is_pushed_by_one_canary_per_ip_first(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    def push(hotkey: str, ip: str = "203.0.113.10") -> Ask:
        return Ask(validator=validator, hotkey=hotkey, egress_ip=ip, push=True)

    await coordinator.record_token(validator, "a" * 64)
    first = await coordinator.acquire(push("hk-canary"))
    assert first == Grant(pytest.approx(0, abs=SLACK), "a" * 64, proving=True)
    waiting = await coordinator.acquire(push("hk-other"))
    assert isinstance(waiting, Denied) and waiting.rule is Rule.CANARY
    assert waiting.detail == "hk-canary"
    assert waiting.retry_after == pytest.approx(BUDGETS.canary_retry_seconds)
    # Game-data requests carry no token; another egress IP has its own canary.
    assert isinstance(await coordinator.acquire(_ask(validator, hotkey="hk-other")), Grant)
    assert isinstance(await coordinator.acquire(push("hk-far", ip="203.0.113.99")), Grant)

    await coordinator.token_accepted(validator, "a" * 64)
    proven = await coordinator.acquire(push("hk-other"))
    assert isinstance(proven, Grant) and proven.token == "a" * 64 and not proven.proving

    # A validator restart: a new token is unproven again, and the same canary goes first.
    await coordinator.record_token(validator, "b" * 64)
    assert isinstance(await coordinator.acquire(push("hk-other")), Denied)
    assert isinstance(await coordinator.acquire(push("hk-canary")), Grant)


def _push(validator: str, hotkey: str = "hk-1", ip: str = "203.0.113.10") -> Ask:
    return Ask(validator=validator, hotkey=hotkey, egress_ip=ip, push=True)


async def test_a_push_needs_a_usable_token_and_its_grant_carries_it(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    refused = await coordinator.acquire(_push(validator))
    assert isinstance(refused, Denied) and refused.rule is Rule.NO_TOKEN
    game_data = await coordinator.acquire(_ask(validator))
    assert isinstance(game_data, Grant) and game_data.token is None
    await coordinator.record_token(validator, "a" * 64)
    granted = await coordinator.acquire(_push(validator))
    assert isinstance(granted, Grant) and granted.token == "a" * 64
    await coordinator.token_rejected(validator, "a" * 64)
    parked = await coordinator.acquire(_push(validator))
    assert isinstance(parked, Denied) and parked.rule is Rule.NO_TOKEN


async def test_check_holds_a_waiting_send_back_without_reserving_anything(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    await coordinator.record_token(validator, "a" * 64)
    await coordinator.token_accepted(validator, "a" * 64)
    waits = await _waits(coordinator, [_push(validator)] * 4)  # the 4th waits ~100 ms
    assert waits[-1] == pytest.approx(0.1, abs=SLACK)
    # Checks reserve nothing: the next acquire is still exactly one interval later.
    for _ in range(5):
        cleared = await coordinator.check(_push(validator))
        assert cleared == Grant(0.0, "a" * 64, proving=False)
    assert (await _waits(coordinator, [_push(validator)]))[0] == pytest.approx(0.2, abs=SLACK)
    # A 429 seen by a neighbour while we waited stops the send that was granted.
    await coordinator.pause(validator, "203.0.113.10", 30, "cooldown")
    held = await coordinator.check(_push(validator))
    assert isinstance(held, Denied) and held.reason == "paused: cooldown"


async def test_a_suspect_token_goes_back_to_one_canary(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    await coordinator.record_token(validator, "a" * 64)
    await coordinator.token_accepted(validator, "a" * 64)
    assert isinstance(await coordinator.check(_push(validator, "hk-a")), Grant)
    await coordinator.release(validator, "203.0.113.10", "hk-a")
    await coordinator.token_suspect(validator)  # the validator was unreachable
    canary = await coordinator.check(_push(validator, "hk-a"))
    assert isinstance(canary, Grant) and canary.proving
    held = await coordinator.check(_push(validator, "hk-b"))
    assert isinstance(held, Denied) and held.rule is Rule.CANARY and held.detail == "hk-a"
    await coordinator.token_accepted(validator, "a" * 64)
    await coordinator.release(validator, "203.0.113.10", "hk-a")
    assert isinstance(await coordinator.check(_push(validator, "hk-b")), Grant)


async def test_a_token_keeps_its_first_sighting_and_an_older_one_never_wins(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    # Kept across a restart, first seen 1 h 59 min 59.5 s ago: usable for half a second.
    await coordinator.record_token(validator, "a" * 64, age_seconds=2 * 3600 - 0.5)
    assert await coordinator.token(validator) == "a" * 64
    await coordinator.record_token(validator, "a" * 64)  # re-delivered: the age stays
    await asyncio.sleep(0.6)
    assert await coordinator.token(validator) is None  # too old to be worth a failure

    await coordinator.record_token(validator, "b" * 64)
    await coordinator.record_token(validator, "c" * 64, age_seconds=600)  # an older sighting
    assert await coordinator.token(validator) == "b" * 64


async def test_one_push_at_a_time_per_validator_and_egress_ip(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    await coordinator.record_token(validator, "a" * 64)
    await coordinator.token_accepted(validator, "a" * 64)
    assert isinstance(await coordinator.check(_push(validator, "hk-a")), Grant)
    busy = await coordinator.check(_push(validator, "hk-b"))
    assert isinstance(busy, Denied) and busy.rule is Rule.BUSY and busy.detail == "hk-a"
    # Other IPs, other validators and game-data requests are not held by the lease.
    assert isinstance(await coordinator.check(_push(validator, "hk-c", "203.0.113.99")), Grant)
    assert isinstance(await coordinator.check(_ask(validator, "hk-b")), Grant)
    await coordinator.release(validator, "203.0.113.10", "hk-b")  # not hk-b's to give back
    assert isinstance(await coordinator.check(_push(validator, "hk-b")), Denied)
    await coordinator.release(validator, "203.0.113.10", "hk-a")
    assert isinstance(await coordinator.check(_push(validator, "hk-b")), Grant)
    # A holder that never gives the lease back (it died) loses it when the lease runs out.
    assert isinstance(await coordinator.check(_push(validator, "hk-a")), Denied)
    await asyncio.sleep(0.35)
    assert isinstance(await coordinator.check(_push(validator, "hk-a")), Grant)
