"""One suite over every budget backend: the in-memory one and Redis (a real server).

The memory backend is the single-process implementation and the reference: if the Redis
scripts drift from it, these tests fail for Redis only. Timings are asserted with a small
tolerance because both backends run on real clocks (Redis uses its server time).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from miner_runtime.budget.coordinator import BudgetCoordinator
from miner_runtime.budget.memory_backend import MemoryCoordinator
from miner_runtime.budget.model import (
    Ask,
    Budgets,
    Denied,
    FailureMemory,
    Grant,
    Rate,
    Rule,
    token_expires_ms,
)
from miner_runtime.budget.redis_backend import RedisCoordinator, acquire_keys
from sparket_local_services.services import RedisServer

SLACK = 0.06  # seconds: clock reads and round trips between the two sides of an assertion

BUDGETS = Budgets(
    hotkey=Rate(10.0, burst=3),  # 100 ms apart after 3 back to back
    egress_ip=Rate(40.0, burst=4),  # 25 ms apart
    fleet=Rate(50.0, burst=4),  # 20 ms apart
    max_wait_seconds=1.0,
    push_lease_seconds=0.3,
    steer_seconds=0.3,
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
    await asyncio.sleep(0.55)  # past the 0.5 s pause
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


IP = "203.0.113.10"


async def test_the_failure_budget_stops_new_hotkeys_at_the_limit_in_one_validator_life(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    for count, hotkey in enumerate(["hk-a", "hk-b", "hk-c"], start=1):
        assert await coordinator.record_failure(validator, IP, hotkey) == FailureMemory(count)
    assert await coordinator.record_failure(validator, IP, "hk-a") == FailureMemory(3)
    assert isinstance(await coordinator.acquire(_ask(validator, hotkey="hk-new")), Grant)
    assert await coordinator.record_failure(validator, IP, "hk-d") == FailureMemory(4)

    refused = await coordinator.acquire(_ask(validator, hotkey="hk-new"))
    assert isinstance(refused, Denied)
    assert refused.rule is Rule.FAILURE_BUDGET
    assert refused.reason == "failure_budget: 4 hotkeys failed"
    assert refused.retry_after == pytest.approx(24 * 3600, abs=5)
    # The four that failed already may go on (they cannot add a distinct failure) ...
    assert isinstance(await coordinator.acquire(_ask(validator, hotkey="hk-a")), Grant)
    # ... and other IPs and validators are untouched.
    assert isinstance(
        await coordinator.acquire(_ask(validator, hotkey="hk-new", ip="203.0.113.99")), Grant
    )
    assert isinstance(await coordinator.acquire(_ask(validator + "-b", hotkey="hk-new")), Grant)


async def _proven(coordinator: BudgetCoordinator, validator: str, token: str) -> None:
    await coordinator.record_token(validator, token)
    await coordinator.token_accepted(validator, token)


async def test_a_proven_token_rejected_within_its_epoch_starts_a_new_life(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    """The validator restarted: it forgot every failure, so the fleet does too, on every
    IP; the failure that proved the restart is the first of the new life."""
    for hotkey in ("hk-a", "hk-b", "hk-c", "hk-d"):
        await coordinator.record_failure(validator, IP, hotkey)
    await coordinator.record_failure(validator, "203.0.113.99", "hk-far")
    assert isinstance(await coordinator.acquire(_ask(validator, hotkey="hk-new")), Denied)
    await _proven(coordinator, validator, "a" * 64)

    memory = await coordinator.record_failure(validator, IP, "hk-e", rejected_token="a" * 64)
    assert memory == FailureMemory(1, restarted=True)
    assert isinstance(await coordinator.acquire(_ask(validator, hotkey="hk-new")), Grant)
    assert await coordinator.token(validator) is None  # the rejected token is parked
    # Another IP's push in flight with the same token fails too: the same restart, no new
    # life (the hotkey of the first IP stays counted), and that IP's old failures are gone.
    other = await coordinator.record_failure(
        validator, "203.0.113.99", "hk-f", rejected_token="a" * 64
    )
    assert other == FailureMemory(1, restarted=False)
    assert await coordinator.record_failure(validator, IP, "hk-g") == FailureMemory(2)


async def test_only_a_token_once_accepted_is_evidence_of_a_restart(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    await coordinator.record_failure(validator, IP, "hk-a")
    await coordinator.record_token(validator, "a" * 64)  # never accepted
    memory = await coordinator.record_failure(validator, IP, "hk-b", rejected_token="a" * 64)
    assert memory == FailureMemory(2, restarted=False)
    # Failures that are not a token's say nothing about a restart either.
    await _proven(coordinator, validator, "b" * 64)
    assert await coordinator.record_failure(validator, IP, "hk-c") == FailureMemory(3)


async def test_an_older_tokens_rejection_is_no_evidence_of_a_restart(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    """A newer token arrived after "a" was accepted: "a" may just be past its epochs (a
    delivery we dated too late), so its rejection counts in the current life."""
    await coordinator.record_failure(validator, IP, "hk-a")
    await _proven(coordinator, validator, "a" * 64)
    await coordinator.record_token(validator, "b" * 64)
    memory = await coordinator.record_failure(validator, IP, "hk-b", rejected_token="a" * 64)
    assert memory == FailureMemory(2, restarted=False)


async def test_a_token_seen_by_one_hotkey_serves_the_fleet_until_rejected(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    assert await coordinator.token(validator) is None
    await coordinator.record_token(validator, "a" * 64)
    assert await coordinator.token(validator) == "a" * 64
    assert await coordinator.token(validator + "-b") is None

    await coordinator.record_failure(validator, IP, "hk-a", rejected_token="a" * 64)
    assert await coordinator.token(validator) is None  # pushes wait fleet-wide ...
    await coordinator.record_token(validator, "a" * 64)
    assert await coordinator.token(validator) is None  # ... the same token does not help ...
    await coordinator.record_token(validator, "b" * 64)
    assert await coordinator.token(validator) == "b" * 64  # ... a different one does


def _push(validator: str, hotkey: str = "hk-1", ip: str = IP) -> Ask:
    return Ask(validator=validator, hotkey=hotkey, egress_ip=ip, push=True)


async def test_an_unproven_token_is_tried_by_any_hotkey_when_none_failed(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    """No canary role is claimed by asking: a hotkey that reaches the final check (it has
    something to send) tries the token, holding only the push lease."""
    await coordinator.record_token(validator, "a" * 64)
    reserved = await coordinator.acquire(_push(validator, "hk-idle"))
    assert reserved == Grant(pytest.approx(0, abs=SLACK), "a" * 64, proving=True)
    first = await coordinator.check(_push(validator, "hk-busy"))
    assert first == Grant(0.0, "a" * 64, proving=True)
    await coordinator.token_accepted(validator, "a" * 64)
    await coordinator.release(validator, IP, "hk-busy")
    proven = await coordinator.check(_push(validator, "hk-idle"))
    assert proven == Grant(0.0, "a" * 64, proving=False)


async def test_an_unproven_token_is_steered_to_the_hotkeys_that_already_failed(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    await coordinator.record_failure(validator, IP, "hk-failed")
    await coordinator.record_token(validator, "a" * 64)
    # Sends that cannot fail for want of a token are never steered ...
    assert isinstance(await coordinator.acquire(_ask(validator, hotkey="hk-new")), Grant)
    assert isinstance(await coordinator.acquire(_push(validator, "hk-new")), Grant)
    # ... the final check of a push with the unproven token is, for a while ...
    steered = await coordinator.check(_push(validator, "hk-new"))
    assert isinstance(steered, Denied) and steered.rule is Rule.STEERED
    assert steered.retry_after == pytest.approx(BUDGETS.steer_retry_seconds)
    assert isinstance(await coordinator.check(_push(validator, "hk-far", "203.0.113.99")), Grant)
    tried = await coordinator.check(_push(validator, "hk-failed"))
    assert tried == Grant(0.0, "a" * 64, proving=True)
    await coordinator.release(validator, IP, "hk-failed")
    # ... and once proven, everyone pushes.
    await coordinator.token_accepted(validator, "a" * 64)
    assert isinstance(await coordinator.check(_push(validator, "hk-new")), Grant)


async def test_steering_gives_way_when_no_failed_hotkey_tries_the_token(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    await coordinator.record_failure(validator, IP, "hk-failed")
    await coordinator.record_token(validator, "a" * 64)
    assert isinstance(await coordinator.check(_push(validator, "hk-new")), Denied)
    await asyncio.sleep(BUDGETS.steer_seconds + 0.05)  # past the steering window
    assert await coordinator.check(_push(validator, "hk-new")) == Grant(0.0, "a" * 64, True)


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
    await coordinator.record_failure(validator, IP, "hk-1", rejected_token="a" * 64)
    parked = await coordinator.acquire(_push(validator))
    assert isinstance(parked, Denied) and parked.rule is Rule.NO_TOKEN


async def test_check_holds_a_waiting_send_back_without_reserving_anything(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    await _proven(coordinator, validator, "a" * 64)
    waits = await _waits(coordinator, [_push(validator)] * 4)  # the 4th waits ~100 ms
    assert waits[-1] == pytest.approx(0.1, abs=SLACK)
    # Checks reserve nothing: the next acquire is still exactly one interval later.
    for _ in range(5):
        cleared = await coordinator.check(_push(validator))
        assert cleared == Grant(0.0, "a" * 64, proving=False)
    assert (await _waits(coordinator, [_push(validator)]))[0] == pytest.approx(0.2, abs=SLACK)
    # A 429 seen by a neighbour while we waited stops the send that was granted.
    await coordinator.pause(validator, IP, 30, "cooldown")
    held = await coordinator.check(_push(validator))
    assert isinstance(held, Denied) and held.reason == "paused: cooldown"


async def test_a_suspect_token_is_unproven_again_and_steered(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    await _proven(coordinator, validator, "a" * 64)
    await coordinator.record_failure(validator, IP, "hk-a")
    assert await coordinator.check(_push(validator, "hk-b")) == Grant(0.0, "a" * 64, False)
    await coordinator.release(validator, IP, "hk-b")
    await coordinator.token_suspect(validator)  # the validator was unreachable
    held = await coordinator.check(_push(validator, "hk-b"))
    assert isinstance(held, Denied) and held.rule is Rule.STEERED
    assert await coordinator.check(_push(validator, "hk-a")) == Grant(0.0, "a" * 64, True)
    await coordinator.token_accepted(validator, "a" * 64)
    await coordinator.release(validator, IP, "hk-a")
    assert isinstance(await coordinator.check(_push(validator, "hk-b")), Grant)


async def test_a_token_is_dated_by_its_latest_sighting_and_an_older_one_never_wins(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    # Kept across a restart, last seen three epochs ago: past its validity.
    await coordinator.record_token(validator, "a" * 64, age_seconds=3 * 3600)
    assert await coordinator.token(validator) is None
    await coordinator.record_token(validator, "a" * 64)  # delivered again: current now
    assert await coordinator.token(validator) == "a" * 64
    await coordinator.record_token(validator, "b" * 64)
    assert await coordinator.token(validator) == "b" * 64
    await coordinator.record_token(validator, "b" * 64, age_seconds=3 * 3600)  # an old copy
    assert await coordinator.token(validator) == "b" * 64  # the latest sighting stays
    await coordinator.record_token(validator, "c" * 64, age_seconds=600)  # an older sighting
    assert await coordinator.token(validator) == "b" * 64


async def test_tokens_retire_by_the_epoch_their_latest_sighting_proves(
    redis_server: RedisServer, validator: str
) -> None:
    """Both backends on a 4 s rotation with 0.5 s skew: a token seen now is good until the
    end of the epoch after that of `now - skew`, minus the skew (3 to 7.5 s), never longer;
    seen again later, it is dated by that sighting (a round sends the current token)."""
    budgets = dataclasses.replace(BUDGETS, token_rotation_seconds=4.0, token_clock_skew_seconds=0.5)
    backends: list[BudgetCoordinator] = [
        MemoryCoordinator(budgets),
        RedisCoordinator.from_url(redis_server.url, budgets),
    ]
    try:
        # Record well inside an epoch of `t - skew`, so that our clock and each backend's
        # (Redis dates the sighting itself) put the sighting in the same epoch.
        await asyncio.sleep((1.5 - (time.time() - 0.5) % 4.0) % 4.0)
        for backend in backends:
            await backend.record_token(validator, "a" * 64)
        now = time.time()
        expires = token_expires_ms(int(now * 1000), 4000, 500) / 1000
        assert 5.0 <= expires - now <= 6.0  # 1.5 s into the epoch: its end + 4 s - 0.5 s
        for backend in backends:
            assert await backend.token(validator) == "a" * 64
        await asyncio.sleep(expires - time.time() - 0.3)  # to 0.3 s before the token expires
        for backend in backends:
            assert await backend.token(validator) == "a" * 64
        await asyncio.sleep(0.6)  # to 0.3 s past its expiry
        for backend in backends:
            assert await backend.token(validator) is None
            await backend.record_token(validator, "a" * 64)  # the validator sent it again
            assert await backend.token(validator) == "a" * 64
    finally:
        for backend in backends:
            await backend.close()


@pytest.mark.parametrize(
    ("seen_ms", "expires_ms"),
    [
        (7_200_000, 10_770_000),  # first moment of epoch 2: (1 + 2) h - 30 s (skew: epoch 1?)
        (7_230_000, 14_370_000),  # 30 s into epoch 2: good until the end of epoch 3 - 30 s
        (10_799_999, 14_370_000),  # last moment of epoch 2
        (0, 3_570_000),  # the skew reaches back before the epoch 0
    ],
)
def test_token_expiry_vectors(seen_ms: int, expires_ms: int) -> None:
    assert token_expires_ms(seen_ms, 3_600_000, 30_000) == expires_ms


async def test_one_push_at_a_time_per_validator_and_egress_ip(
    coordinator: BudgetCoordinator, validator: str
) -> None:
    await _proven(coordinator, validator, "a" * 64)
    assert isinstance(await coordinator.check(_push(validator, "hk-a")), Grant)
    busy = await coordinator.check(_push(validator, "hk-b"))
    assert isinstance(busy, Denied) and busy.rule is Rule.BUSY and busy.detail == "hk-a"
    # Other IPs, other validators and game-data requests are not held by the lease.
    assert isinstance(await coordinator.check(_push(validator, "hk-c", "203.0.113.99")), Grant)
    assert isinstance(await coordinator.check(_ask(validator, "hk-b")), Grant)
    await coordinator.release(validator, IP, "hk-b")  # not hk-b's to give back
    assert isinstance(await coordinator.check(_push(validator, "hk-b")), Denied)
    await coordinator.release(validator, IP, "hk-a")
    assert isinstance(await coordinator.check(_push(validator, "hk-b")), Grant)
    # A holder that never gives the lease back (it died) loses it when the lease runs out.
    assert isinstance(await coordinator.check(_push(validator, "hk-a")), Denied)
    await asyncio.sleep(0.35)  # past the 0.3 s push lease
    assert isinstance(await coordinator.check(_push(validator, "hk-a")), Grant)
