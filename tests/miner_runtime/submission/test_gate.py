"""The gate is where one hotkey's reply becomes the whole fleet's caution (429s, tokens,
steering, failure budget, the push lease); these tests run several gates on one shared
budget store."""

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from miner_runtime.budget.memory_backend import MemoryCoordinator
from miner_runtime.budget.model import Ask, Budgets, Grant, Rate
from miner_runtime.observability.metrics import RuntimeMetrics
from miner_runtime.protocol.synapse import SynapseType
from miner_runtime.submission.backoff import BANNED_PAUSE, PENALISED_PAUSE, UNREACHABLE_PAUSE
from miner_runtime.submission.gate import Gate, Pass
from miner_runtime.validator_client.replies import Reply, ReplyKind
from miner_runtime.validator_client.selection import NeuronView
from sparket_local_services.waits import until
from sparket_testkit.harness.scripted_link import ACCEPTED, NOW, Answer, Clock, ScriptedLink

V1 = NeuronView(uid=1, hotkey="5Validator1", validator_permit=True, ip="127.0.0.1", port=9001)
IP, OTHER_IP = "127.0.0.2", "127.0.0.3"
TOKEN_A, TOKEN_B = "a" * 64, "b" * 64
SNAPSHOT = {"games": [], "retrieved_at": NOW.isoformat()}
ODDS = {"submissions": [{"market_id": 10, "kind": "MONEYLINE"}]}
GAMES: dict[str, Any] = {}
COOLDOWN = "You are in cooldown. Try again in 240s seconds"


def accept(v: NeuronView, t: SynapseType, p: dict[str, Any]) -> tuple[int, str | None, Any]:
    return 200, None, SNAPSHOT if t is SynapseType.GAME_DATA_REQUEST else ACCEPTED


def rejected(error: str, message: str) -> Answer:
    return lambda v, t, p: (200, None, {"success": False, "error": error, "message": message})


def _payload(push: bool) -> Callable[[str | None], dict[str, Any]]:
    """What a request carries: odds with the token the final check gave, or nothing."""
    return lambda token: {**ODDS, "token": token} if push else GAMES


def game_data_pass() -> Pass:
    """The pass of a game-data request that needed no wait (checked when admitted)."""
    return Pass(push=False, token=None, checked=True)


def push_pass(token: str) -> Pass:
    return Pass(push=True, token=token, checked=True)


@dataclass
class Miner:
    """One hotkey of the fleet: its gate and the link only it sends through."""

    gate: Gate
    link: ScriptedLink

    async def request(
        self, message_type: SynapseType = SynapseType.GAME_DATA_REQUEST
    ) -> Reply | None:
        """One whole turn: None when the gate held it back, else the reply."""
        push = message_type is not SynapseType.GAME_DATA_REQUEST
        async with self.gate.turn(V1.hotkey, push=push) as admitted:
            if admitted is None:
                return None
            return await self.gate.send(V1, message_type, _payload(push), admitted)

    async def admit(self, *, push: bool) -> Pass | None:
        """A turn that sends nothing (what the gate would let through right now)."""
        async with self.gate.turn(V1.hotkey, push=push) as admitted:
            return admitted

    @property
    def held_by(self) -> str | None:
        return self.gate.status.budget(V1.hotkey).held_by

    def refusals(self, rule: str) -> float | None:
        return self.gate.metrics.registry.get_sample_value(
            "sparket_miner_budget_refusals_total", {"validator": V1.hotkey, "rule": rule}
        )


class Fleet:
    """Gates of several hotkeys (on one or more egress IPs) sharing one budget store."""

    def __init__(self, clock: Clock, budgets: Budgets | None = None) -> None:
        self.clock = clock
        self.coordinator = MemoryCoordinator(budgets or Budgets(), clock_ms=clock.ms)

    def miner(
        self,
        hotkey: str,
        egress_ip: str = IP,
        *,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        patience_seconds: float = 30.0,
    ) -> Miner:
        link = ScriptedLink(accept)
        gate = Gate(
            link=link,
            coordinator=self.coordinator,
            hotkey=hotkey,
            egress_ip=egress_ip,
            metrics=RuntimeMetrics(),
            patience_seconds=patience_seconds,
            now=self.clock,
            sleep=sleep or self.clock.sleep,
        )
        return Miner(gate, link)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fleet(clock: Clock) -> Fleet:
    return Fleet(clock)


async def test_a_429_to_one_hotkey_pauses_its_egress_ip_for_the_stated_wait(
    fleet: Fleet, clock: Clock
) -> None:
    a, b, c = fleet.miner("5MinerA"), fleet.miner("5MinerB"), fleet.miner("5MinerC", OTHER_IP)
    a.link.answer = lambda v, t, p: (429, COOLDOWN, p)
    reply = await a.request()
    assert reply is not None and reply.kind is ReplyKind.COOLDOWN

    assert await b.request() is None
    assert b.link.sent == []
    assert b.held_by == "paused: cooldown"
    assert b.gate.status.budget(V1.hotkey).held_until == clock.now + dt.timedelta(seconds=241)
    assert b.refusals("paused") == 1
    reply = await c.request()  # another egress IP: not this IP's cooldown
    assert reply is not None and reply.ok

    clock.advance(240)  # the stated 240 s: the +1 s margin is not over yet
    assert await b.request() is None
    assert b.link.sent == []
    clock.advance(1)
    reply = await b.request()
    assert reply is not None and reply.ok
    assert len(b.link.sent) == 1
    assert b.held_by is None


async def test_token_invalid_parks_pushes_fleet_wide_until_a_new_token(
    fleet: Fleet, clock: Clock
) -> None:
    a, b = fleet.miner("5MinerA"), fleet.miner("5MinerB")
    assert await a.gate.token_received(V1.hotkey, TOKEN_A, clock.now)
    # New to B as well: every runtime that receives a changed token catches up ...
    assert await b.gate.token_received(V1.hotkey, TOKEN_A, clock.now)
    # ... but the same token delivered again is nothing new.
    assert not await b.gate.token_received(V1.hotkey, TOKEN_A, clock.now)
    assert b.gate.status.budget(V1.hotkey).token_usable is True
    a.link.answer = rejected("token_invalid", "Token expired or invalid")
    reply = await a.request(SynapseType.ODDS_PUSH)
    assert reply is not None and reply.error == "token_invalid"

    assert await b.admit(push=True) is None
    assert await a.admit(push=True) is None
    assert b.gate.status.budget(V1.hotkey).token_usable is False
    assert b.held_by == "no_token"
    assert b.refusals("no_token") == 1
    assert b.link.sent == []
    assert await b.admit(push=False) == game_data_pass()  # game data needs no token
    # The rejected token arriving again changes nothing.
    assert not await b.gate.token_received(V1.hotkey, TOKEN_A, clock.now)
    assert await b.admit(push=True) is None

    assert await b.gate.token_received(V1.hotkey, TOKEN_B, clock.now)
    assert b.gate.status.budget(V1.hotkey).token_usable is True
    # A failed (an unproven token's failure, not a restart): the new token goes to A first.
    a.link.answer = accept
    assert await a.request(SynapseType.ODDS_PUSH) is not None
    assert a.link.sent[-1][2]["token"] == TOKEN_B
    assert await b.admit(push=True) == push_pass(TOKEN_B)


async def test_a_turn_with_nothing_to_send_claims_neither_lease_nor_proof(
    fleet: Fleet, clock: Clock
) -> None:
    """The canary role of old was claimed by asking: a runtime with nothing to send held
    it while 15 others waited. Now only a push that leaves tries an unproven token."""
    idle, busy = fleet.miner("5MinerIdle"), fleet.miner("5MinerBusy")
    await idle.gate.token_received(V1.hotkey, TOKEN_A, clock.now)
    assert await idle.admit(push=True) == push_pass(TOKEN_A)  # planned nothing, sent nothing
    reply = await busy.request(SynapseType.ODDS_PUSH)
    assert reply is not None and reply.ok
    assert busy.refusals("busy") is None and busy.refusals("steered") is None
    proven = await fleet.coordinator.check(Ask(V1.hotkey, "5MinerIdle", IP, push=True))
    assert proven == Grant(0.0, TOKEN_A, proving=False)


async def test_an_unproven_token_is_steered_to_a_hotkey_that_already_failed(
    fleet: Fleet, clock: Clock
) -> None:
    a = fleet.miner("5MinerA")
    a.link.answer = rejected("rate_limited", "Rate limited: hotkey_rate_limit_per_second")
    assert await a.request() is not None  # A is counted as failing on this IP
    await a.gate.token_received(V1.hotkey, TOKEN_A, clock.now)
    slept: list[float] = []

    async def b_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    patient = fleet.miner("5MinerB", sleep=b_sleep)
    reply = await patient.request(SynapseType.ODDS_PUSH)
    # Nobody that failed tried the token within the steering window: B goes after it.
    assert reply is not None and reply.ok
    steer = fleet.coordinator.budgets
    assert sum(slept) == pytest.approx(steer.steer_seconds, abs=steer.steer_retry_seconds)
    assert patient.refusals("steered") is None  # it waited, it was not refused

    impatient = fleet.miner("5MinerC", patience_seconds=0)
    await fleet.coordinator.token_suspect(V1.hotkey)  # unproven again
    assert await impatient.request(SynapseType.ODDS_PUSH) is None
    assert impatient.held_by == "steered: 1 hotkeys failed"
    assert impatient.refusals("steered") == 1
    assert impatient.link.sent == []


@pytest.mark.parametrize("status", [503, 408])
async def test_unreachable_pauses_the_ip_briefly_and_makes_the_token_suspect(
    fleet: Fleet, clock: Clock, status: int
) -> None:
    a, b = fleet.miner("5MinerA"), fleet.miner("5MinerB")
    await a.gate.token_received(V1.hotkey, TOKEN_A, clock.now)
    assert await a.request(SynapseType.ODDS_PUSH) is not None  # proven by A's push
    ask = Ask(V1.hotkey, "5MinerB", IP, push=True)
    assert await fleet.coordinator.check(ask) == Grant(0.0, TOKEN_A, proving=False)
    await fleet.coordinator.release(V1.hotkey, IP, "5MinerB")

    a.link.answer = lambda v, t, p: (status, "Service unavailable", p)
    reply = await a.request(SynapseType.ODDS_PUSH)
    assert reply is not None and reply.kind is ReplyKind.UNREACHABLE

    assert await b.admit(push=False) is None
    assert b.held_by == "paused: unreachable"
    clock.advance(UNREACHABLE_PAUSE - 0.5)
    assert await b.admit(push=True) is None
    clock.advance(0.5)

    # The validator may have restarted: the token is unproven until a push is accepted.
    assert await fleet.coordinator.check(ask) == Grant(0.0, TOKEN_A, proving=True)
    await fleet.coordinator.release(V1.hotkey, IP, "5MinerB")
    reply = await b.request(SynapseType.ODDS_PUSH)
    assert reply is not None and reply.ok
    assert await fleet.coordinator.check(ask) == Grant(0.0, TOKEN_A, proving=False)


async def test_a_grant_that_waited_is_checked_again_before_it_leaves(clock: Clock) -> None:
    fleet = Fleet(clock, Budgets(hotkey=Rate(1.0, burst=1)))
    b = fleet.miner("5MinerB")
    b.link.answer = lambda v, t, p: (429, COOLDOWN, p)
    slept: list[float] = []

    async def a_sleep(seconds: float) -> None:
        """While A waits for its slot, B (same IP) is answered with a 429."""
        slept.append(seconds)
        clock.advance(seconds)
        reply = await b.request()
        assert reply is not None and reply.kind is ReplyKind.COOLDOWN

    a = fleet.miner("5MinerA", sleep=a_sleep)
    reply = await a.request()
    assert reply is not None and reply.ok
    assert slept == []  # the first one needed no wait

    assert await a.request() is None
    assert slept == [1.0]
    assert len(a.link.sent) == 1  # the waited request never left
    assert a.held_by == "paused: cooldown"
    assert a.refusals("paused") == 1
    assert a.gate.metrics.registry.get_sample_value("sparket_miner_budget_wait_seconds_count") == 1


async def test_failure_budget_keeps_new_hotkeys_off_an_ip_at_the_limit(clock: Clock) -> None:
    fleet = Fleet(clock, Budgets(failing_hotkeys_limit=2))
    a, b, c = fleet.miner("5MinerA"), fleet.miner("5MinerB"), fleet.miner("5MinerC")
    elsewhere = fleet.miner("5MinerD", OTHER_IP)
    a.link.answer = rejected("rate_limited", "Rate limited: hotkey_rate_limit_per_second")
    b.link.answer = rejected("unknown_type", "Unknown synapse type")
    for failing in (a, b):
        reply = await failing.request()
        assert reply is not None and reply.counted_as_failure

    assert b.gate.status.budget(V1.hotkey).failing_hotkeys == 2
    assert (
        b.gate.metrics.registry.get_sample_value(
            "sparket_miner_failing_hotkeys", {"validator": V1.hotkey}
        )
        == 2
    )
    assert await c.request() is None
    assert c.link.sent == []
    assert c.held_by is not None and c.held_by.startswith("failure_budget")
    assert c.refusals("failure_budget") == 1
    assert await elsewhere.admit(push=False) == game_data_pass()  # another IP: its own

    assert await a.admit(push=False) is None  # its own pause first
    assert a.held_by == "paused: rate_limited"
    clock.advance(PENALISED_PAUSE)
    for failed in (a, b):
        assert await failed.admit(push=False) == game_data_pass()
        assert failed.refusals("failure_budget") is None
    assert await c.admit(push=False) is None
    assert c.refusals("failure_budget") == 2


async def test_internal_error_pauses_every_hotkey_on_the_ip(fleet: Fleet, clock: Clock) -> None:
    a, b = fleet.miner("5MinerA"), fleet.miner("5MinerB")
    c = fleet.miner("5MinerC", OTHER_IP)
    a.link.answer = rejected("internal_error", "Internal error")
    assert await a.request() is not None

    assert await b.request() is None
    assert b.held_by == "paused: internal_error"
    assert b.refusals("paused") == 1
    assert b.link.sent == []
    assert await c.admit(push=False) == game_data_pass()
    clock.advance(PENALISED_PAUSE)
    assert await b.admit(push=False) == game_data_pass()


async def test_a_hotkey_rate_limit_pauses_only_that_hotkey(fleet: Fleet, clock: Clock) -> None:
    a, b = fleet.miner("5MinerA"), fleet.miner("5MinerB")
    a.link.answer = rejected("rate_limited", "Rate limited: hotkey_rate_limit_per_second")
    assert await a.request() is not None

    assert fleet.coordinator.paused(V1.hotkey, IP) is None
    assert await a.request() is None
    assert a.held_by == "paused: rate_limited"
    assert len(a.link.sent) == 1
    reply = await b.request()
    assert reply is not None and reply.ok
    clock.advance(PENALISED_PAUSE)
    a.link.answer = accept
    assert await a.request() is not None


async def test_blacklisted_marks_banned_and_pauses_only_that_hotkey(
    fleet: Fleet, clock: Clock
) -> None:
    a, b = fleet.miner("5MinerA"), fleet.miner("5MinerB")
    a.link.answer = lambda v, t, p: (403, "Your hotkey or IP has been blacklisted", p)
    reply = await a.request()
    assert reply is not None and reply.kind is ReplyKind.FORBIDDEN

    assert a.gate.status.budget(V1.hotkey).banned is True
    assert b.gate.status.budget(V1.hotkey).banned is False
    assert fleet.coordinator.paused(V1.hotkey, IP) is None
    assert await a.request() is None
    assert a.held_by == "paused: blacklisted"
    assert a.gate.status.budget(V1.hotkey).held_until == clock.now + dt.timedelta(
        seconds=BANNED_PAUSE
    )
    assert len(a.link.sent) == 1
    reply = await b.request()
    assert reply is not None and reply.ok


async def test_one_push_in_flight_per_egress_ip_so_a_stale_token_fails_once(
    fleet: Fleet, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A validator restart nobody noticed: the proven token is stale. B's push waits for
    A's to be answered, learns the token is gone, and never leaves; A's failure is the
    evidence of the restart, so the fleet's failure memory of that validator starts over
    with A alone."""
    a, b = fleet.miner("5MinerA"), fleet.miner("5MinerB")
    await a.gate.token_received(V1.hotkey, TOKEN_A, clock.now)
    assert (await a.request(SynapseType.ODDS_PUSH)) is not None  # proven
    for earlier in ("5MinerX", "5MinerY", "5MinerZ"):  # failures of the validator's last life
        await fleet.coordinator.record_failure(V1.hotkey, IP, earlier)
    a.link.answer = rejected("token_invalid", "Token expired or invalid")
    a.link.hold = asyncio.Event()
    a_push = asyncio.create_task(a.request(SynapseType.ODDS_PUSH))
    await a.link.in_flight.wait()  # A holds the lease: its push is on the wire

    b_waits = asyncio.Event()  # set when B, told "busy", starts waiting for the lease
    wait_for_release = fleet.coordinator.await_release

    async def await_release(validator: str, egress_ip: str, at_most: float) -> None:
        b_waits.set()
        await wait_for_release(validator, egress_ip, at_most)

    monkeypatch.setattr(fleet.coordinator, "await_release", await_release)
    b_push = asyncio.create_task(b.request(SynapseType.ODDS_PUSH))
    await until(b_waits.is_set, within=5, what="B, with its slot, to wait for A's push lease")
    assert not b_push.done() and b.link.sent == []
    a.link.hold.set()  # token_invalid is learnt, then the lease given back
    reply = await a_push
    assert reply is not None and reply.error == "token_invalid"
    assert await b_push is None
    assert b.link.sent == []
    assert b.held_by == "no_token"
    assert b.refusals("no_token") == 1
    assert a.gate.status.budget(V1.hotkey).failing_hotkeys == 1
    restarts = a.gate.metrics.registry.get_sample_value(
        "sparket_miner_validator_restarts_seen_total", {"validator": V1.hotkey}
    )
    assert restarts == 1
