"""The gate is where one hotkey's reply becomes the whole fleet's caution (429s, tokens,
canaries, failure budget); these tests run several gates on one shared budget store."""

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from scripted import ACCEPTED, NOW, Answer, Clock, ScriptedLink

from miner_runtime.budget.memory_backend import MemoryCoordinator
from miner_runtime.budget.model import Budgets, Rate
from miner_runtime.control.metrics import RuntimeMetrics
from miner_runtime.protocol.synapse import SynapseType
from miner_runtime.validator.replies import Reply, ReplyKind
from miner_runtime.validator.selection import NeuronView
from miner_runtime.work.backoff import BANNED_PAUSE, PENALISED_PAUSE, UNREACHABLE_PAUSE
from miner_runtime.work.gate import Gate, Pass

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
            payload = {**ODDS, "token": admitted.token} if push else GAMES
            return await self.gate.send(V1, message_type, payload, admitted)

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
    assert not await b.gate.token_received(V1.hotkey, TOKEN_A, clock.now)  # already known
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
    assert await b.admit(push=False) == Pass()  # game data needs no token
    # The rejected token arriving again changes nothing.
    assert not await b.gate.token_received(V1.hotkey, TOKEN_A, clock.now)
    assert await b.admit(push=True) is None

    assert await b.gate.token_received(V1.hotkey, TOKEN_B, clock.now)
    assert b.gate.status.budget(V1.hotkey).token_usable is True
    # A is still the canary of (validator, IP) within its lease: it proves the new token.
    a.link.answer = accept
    assert await a.request(SynapseType.ODDS_PUSH) is not None
    assert a.link.sent[-1][2]["token"] == TOKEN_B
    assert await b.admit(push=True) == Pass(TOKEN_B, proving=False)


async def test_canary_proves_a_new_token_while_others_wait_for_its_answer(
    fleet: Fleet, clock: Clock
) -> None:
    a = fleet.miner("5MinerA")
    await a.gate.token_received(V1.hotkey, TOKEN_A, clock.now)
    sleeps: list[float] = []

    a_turn = a.gate.turn(V1.hotkey, push=True)
    proving = await a_turn.__aenter__()
    assert proving == Pass(TOKEN_A, proving=True)

    async def b_sleep(seconds: float) -> None:
        """B waits for the canary; meanwhile A's push is answered and its turn ends."""
        sleeps.append(seconds)
        if len(sleeps) == 1:
            assert proving is not None
            await a.gate.send(V1, SynapseType.ODDS_PUSH, {**ODDS, "token": TOKEN_A}, proving)
            await a_turn.__aexit__(None, None, None)
        clock.advance(seconds)

    b = fleet.miner("5MinerB", sleep=b_sleep)
    assert await b.admit(push=True) == Pass(TOKEN_A, proving=False)

    assert sleeps == [fleet.coordinator.budgets.canary_retry_seconds]
    assert len(a.link.sent) == 1
    assert b.refusals("canary") is None  # it waited, it was not refused
    assert b.held_by is None


async def test_without_patience_a_hotkey_behind_the_canary_is_held(
    fleet: Fleet, clock: Clock
) -> None:
    a = fleet.miner("5MinerA")
    await a.gate.token_received(V1.hotkey, TOKEN_A, clock.now)
    slept: list[float] = []

    async def b_sleep(seconds: float) -> None:
        slept.append(seconds)

    b = fleet.miner("5MinerB", sleep=b_sleep, patience_seconds=0)
    assert await a.admit(push=True) == Pass(TOKEN_A, proving=True)
    assert await b.request(SynapseType.ODDS_PUSH) is None
    assert b.held_by is not None and b.held_by.startswith("canary")
    assert b.held_by == "canary: 5MinerA"
    assert b.refusals("canary") == 1
    assert slept == [] and b.link.sent == []


@pytest.mark.parametrize("status", [503, 408])
async def test_unreachable_pauses_the_ip_briefly_and_makes_the_token_suspect(
    fleet: Fleet, clock: Clock, status: int
) -> None:
    a, b = fleet.miner("5MinerA"), fleet.miner("5MinerB")
    await a.gate.token_received(V1.hotkey, TOKEN_A, clock.now)
    assert await a.request(SynapseType.ODDS_PUSH) is not None  # proven by A's push
    clock.advance(600)  # long after: no hotkey holds the canary lease any more
    assert await b.admit(push=True) == Pass(TOKEN_A, proving=False)

    a.link.answer = lambda v, t, p: (status, "Service unavailable", p)
    reply = await a.request(SynapseType.ODDS_PUSH)
    assert reply is not None and reply.kind is ReplyKind.UNREACHABLE

    assert await b.admit(push=False) is None
    assert b.held_by == "paused: unreachable"
    clock.advance(UNREACHABLE_PAUSE - 0.5)
    assert await b.admit(push=True) is None
    clock.advance(0.5)

    # The validator may have restarted with a new token: one canary probes it first.
    canary = await b.admit(push=True)
    assert canary == Pass(TOKEN_A, proving=True)
    assert await a.admit(push=True) is None
    assert a.held_by == "canary: 5MinerB"
    assert a.refusals("canary") == 1
    await b.gate.send(V1, SynapseType.ODDS_PUSH, {**ODDS, "token": TOKEN_A}, canary)
    assert await a.admit(push=True) == Pass(TOKEN_A, proving=False)


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


async def test_failure_budget_keeps_new_hotkeys_off_an_ip_two_have_failed_on(
    fleet: Fleet, clock: Clock
) -> None:
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
    assert await elsewhere.admit(push=False) == Pass()  # another IP has its own budget

    assert await a.admit(push=False) is None  # its own pause first
    assert a.held_by == "paused: rate_limited"
    clock.advance(PENALISED_PAUSE)
    for failed in (a, b):
        assert await failed.admit(push=False) == Pass()
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
    assert await c.admit(push=False) == Pass()
    clock.advance(PENALISED_PAUSE)
    assert await b.admit(push=False) == Pass()


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
    fleet: Fleet, clock: Clock
) -> None:
    """A validator restart nobody noticed: the proven token is stale. B's push waits for
    A's to be answered, learns the token is gone, and never leaves."""
    a, b = fleet.miner("5MinerA"), fleet.miner("5MinerB")
    await a.gate.token_received(V1.hotkey, TOKEN_A, clock.now)
    assert (await a.request(SynapseType.ODDS_PUSH)) is not None  # proven
    a.link.answer = rejected("token_invalid", "Token expired or invalid")
    a_turn = a.gate.turn(V1.hotkey, push=True)
    admitted = await a_turn.__aenter__()
    assert admitted == Pass(TOKEN_A, proving=False)

    b_turn = asyncio.create_task(b.request(SynapseType.ODDS_PUSH))
    await asyncio.sleep(0.05)  # B has its slot and waits for A's push lease
    assert not b_turn.done() and b.link.sent == []
    await a.gate.send(V1, SynapseType.ODDS_PUSH, {**ODDS, "token": TOKEN_A}, admitted)
    await a_turn.__aexit__(None, None, None)  # token_invalid learnt, then the lease given back
    assert await b_turn is None
    assert b.link.sent == []
    assert b.held_by == "no_token"
    assert b.refusals("no_token") == 1
