"""The local validator over the wire: a real Axon on loopback, real Dendrites, real keys.

Each test gets its own validator (fresh engine, port and counters server). Distinct
127.0.0.x source addresses stand for distinct egress IPs; every Dendrite reports the
address it binds, as a stock one would report its public IP.
"""

# No `from __future__ import annotations`: the test miner's forward function is attached
# to a bittensor Axon, which reads its first annotation at attach time.
import asyncio
import itertools
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import bittensor as bt
import httpx
import pytest
from bittensor.utils.mock.subtensor_mock import MockSubtensor
from bittensor_wallet import Keypair

from sparket_devkit.cluster import wait_for
from sparket_devkit.ports import free_port, is_listening
from sparket_devkit.validator.axon_server import AxonWallet
from sparket_devkit.validator.decisions import BLACKLISTED_MESSAGE, NOT_REGISTERED_MESSAGE
from sparket_devkit.validator.dendrite import LoopbackDendrite
from sparket_devkit.validator.ingest import DAY, Catalog, Event, Market
from sparket_devkit.validator.mock_chain import chain_view, register, serve_axon
from sparket_devkit.validator.server import LocalValidator
from sparket_devkit.validator.synapse import SparketSynapse

NETUIDS = itertools.count(4200)
"""MockSubtensor state is process-wide: each test takes a netuid nobody else uses."""
COOLDOWN = re.compile(r"You are in cooldown\. Try again in (\d+)s seconds")
MARKET = 10


def generated() -> Keypair:
    return Keypair.create_from_mnemonic(Keypair.generate_mnemonic())


def odds(token: object = None) -> dict[str, object]:
    payload: dict[str, object] = {
        "submissions": [
            {
                "market_id": MARKET,
                "kind": "moneyline",
                "prices": [{"side": "home", "odds_eu": 1.9}, {"side": "away", "odds_eu": 2.05}],
            }
        ]
    }
    if token is not None:
        payload["token"] = token
    return payload


@dataclass
class Registry:
    """The validator's chain: whoever is in `hotkeys` is registered (after a sync)."""

    hotkeys: set[str] = field(default_factory=set)

    def __call__(self) -> list[str]:
        return sorted(self.hotkeys)


@pytest.fixture
def miner() -> Keypair:
    return generated()


@pytest.fixture
def registry(miner: Keypair) -> Registry:
    return Registry({miner.ss58_address})


@pytest.fixture
def catalog() -> Catalog:
    now = time.time()
    return Catalog(
        [
            Event(
                1,
                now + DAY,
                markets=(Market(MARKET), Market(11, "SPREAD", -3.5)),
                home_team="Kansas City Chiefs",
                away_team="Buffalo Bills",
                venue="Arrowhead Stadium",
                league="NFL",
            ),
            Event(2, now + 20 * DAY, market_ids=(20,)),
        ]
    )


@pytest.fixture
def validator(registry: Registry, catalog: Catalog) -> Iterator[LocalValidator]:
    with LocalValidator(
        generated(), port=free_port(), registered_hotkeys=registry, catalog=catalog
    ) as running:
        yield running


async def ask(
    validator: LocalValidator,
    keypair: Keypair,
    synapse_type: str = "game_data_request",
    payload: Any = None,
    *,
    source: str = "127.0.0.2",
) -> SparketSynapse:
    """One signed request from `source`, reporting `source` as its IP; the reply synapse."""
    dendrite = LoopbackDendrite(keypair, external_ip=source, source_address=source)
    synapse = SparketSynapse(type=synapse_type, payload={} if payload is None else payload)
    try:
        reply: SparketSynapse = await dendrite.call(
            validator.axon_info(), synapse, timeout=10, deserialize=False
        )
        return reply
    finally:
        await dendrite.aclose_session()


async def burst(
    validator: LocalValidator, keypair: Keypair, n: int, *, source: str
) -> list[SparketSynapse]:
    """N requests in flight at once (one Dendrite each, so nonces cannot cross)."""
    return list(await asyncio.gather(*(ask(validator, keypair, source=source) for _ in range(n))))


def errors(replies: list[SparketSynapse]) -> list[object]:
    assert [r.dendrite.status_code for r in replies] == [200] * len(replies)
    return sorted((r.payload.get("error") or "" for r in replies), key=str)


async def get(url: str, *, source: str, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(transport=transport, timeout=10) as client:
        return await client.get(url, headers=headers)


def root_url(validator: LocalValidator, path: str = "/") -> str:
    return f"http://127.0.0.1:{validator.port}{path}"


# Requests and the listener ----------------------------------------------------------------


async def test_a_registered_hotkey_gets_the_game_snapshot(
    validator: LocalValidator, miner: Keypair
) -> None:
    reply = await ask(validator, miner)
    assert (reply.dendrite.status_code, reply.dendrite.status_message) == (200, "Success")
    snapshot = reply.payload
    assert snapshot["window"] == {"lookahead_days": 14, "odds_window_days": 7}
    assert snapshot["retrieved_at"].endswith("+00:00")
    [game] = snapshot["games"]  # event 2 starts beyond the 14-day lookahead
    assert game["event_id"] == 1
    assert (game["home_team"], game["away_team"]) == ("Kansas City Chiefs", "Buffalo Bills")
    assert (game["league"], game["sport"], game["accepts_odds"]) == ("nfl", "nfl", True)
    assert game["start_time_utc"].endswith("+00:00")
    assert game["markets"] == [
        {"market_id": MARKET, "kind": "MONEYLINE", "line": None},
        {"market_id": 11, "kind": "SPREAD", "line": -3.5},
    ]


async def test_eight_at_once_give_five_ok_and_three_rate_limited(
    validator: LocalValidator, miner: Keypair
) -> None:
    replies = await burst(validator, miner, 8, source="127.0.0.3")
    assert errors(replies) == [""] * 5 + ["rate_limited"] * 3
    limited = next(r.payload for r in replies if r.payload.get("error"))
    assert limited == {
        "success": False,
        "error": "rate_limited",
        "message": "Rate limited: hotkey_rate_limit_per_second",
    }
    assert validator.counters()["failures_rate_limited"] == 3


async def test_a_burst_puts_the_hotkey_in_cooldown_and_the_dendrite_sees_429(
    validator: LocalValidator, miner: Keypair
) -> None:
    replies = await burst(validator, miner, 15, source="127.0.0.4")
    assert errors(replies) == [""] * 5 + ["rate_limited"] * 10  # the 10th failure: 30 s

    reply = await ask(validator, miner, payload={"since_ts": "x"}, source="127.0.0.4")
    assert reply.dendrite.status_code == 429
    match = COOLDOWN.fullmatch(reply.dendrite.status_message)
    assert match is not None, reply.dendrite.status_message
    assert 25 <= int(match.group(1)) <= 30
    assert reply.payload == {"since_ts": "x"}  # a non-200 leaves the request payload
    report = validator.counters()
    assert (report["hotkey_cooldowns_started"], report["violations"]) == (1, 1)
    assert report["hotkeys"][miner.ss58_address]["cooldown_count"] == 1  # type: ignore[index]


async def test_an_unregistered_hotkey_gets_403_until_the_next_metagraph_sync(
    validator: LocalValidator, registry: Registry
) -> None:
    stranger = generated()
    reply = await ask(validator, stranger, source="127.0.0.5")
    assert (reply.dendrite.status_code, reply.dendrite.status_message) == (
        403,
        NOT_REGISTERED_MESSAGE,
    )
    report = validator.counters()
    assert report["hotkeys"] == {} and report["ips"] == {}  # no record, no penalty
    assert report["violations"] == 0 and report["forbidden_responses"] == 1

    registry.hotkeys.add(stranger.ss58_address)
    assert (await ask(validator, stranger, source="127.0.0.5")).dendrite.status_code == 403
    validator.sync_metagraph()
    assert (await ask(validator, stranger, source="127.0.0.5")).dendrite.status_code == 200


async def test_a_failure_shows_on_the_counters_endpoint(
    validator: LocalValidator, miner: Keypair
) -> None:
    reply = await ask(validator, miner, "odds_push", odds(), source="127.0.0.12")
    assert reply.payload == {"success": False, "error": "token_invalid", "message": "Token missing"}

    response = await get(validator.counters_url, source="127.0.0.1")
    assert response.status_code == 200
    report = response.json()
    assert report["failures_token_missing"] == 1 and report["token_failures"] == 1
    assert report["hotkeys"][miner.ss58_address]["failures"] == 1
    assert report["ips"]["127.0.0.12"]["failures"] == 1
    assert report["ips"]["127.0.0.12"]["failing_hotkeys"] == 1
    assert (report["odds_rows"], report["outcome_rows"], report["bans"]) == (0, 0, [])


async def test_replies_build_no_json_schema(
    validator: LocalValidator, miner: Keypair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bittensor #3322: the stock reply path builds the schema once per synapse field."""
    await ask(validator, miner)  # the first reply may fill the per-class cache
    builders: list[str] = []
    original = SparketSynapse.model_json_schema

    def counting(cls: type, *args: Any, **kwargs: Any) -> Any:
        builders.append(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(SparketSynapse, "model_json_schema", classmethod(counting))
    reply = await ask(validator, miner)
    assert reply.dendrite.status_code == 200
    assert "MainThread" in builders  # the client's stock Dendrite still builds them
    assert "validator-axon" not in builders


# Paths outside the synapse route -----------------------------------------------------------


async def test_root_without_bt_headers_bans_the_ip(
    validator: LocalValidator, miner: Keypair
) -> None:
    probe = await get(root_url(validator), source="127.0.0.8")
    assert probe.status_code == 403
    assert probe.json() == {"success": False, "error": "forbidden", "message": "Access denied"}

    signed = await ask(validator, miner, source="127.0.0.8")
    assert (signed.dendrite.status_code, signed.dendrite.status_message) == (
        403,
        BLACKLISTED_MESSAGE,
    )
    elsewhere = await ask(validator, miner, source="127.0.0.9")
    assert elsewhere.dendrite.status_code == 200
    bans = validator.counters()["bans"]
    assert bans == [{"identifier": "127.0.0.8", "kind": "ip", "expires_at": None}]


async def test_health_and_counters_are_404_on_the_axon_and_ban_nobody(
    validator: LocalValidator, miner: Keypair
) -> None:
    for path in ("/health", "/counters"):
        response = await get(root_url(validator, path), source="127.0.0.10")
        assert response.status_code == 404, path
    assert validator.counters()["bans"] == []
    assert (await ask(validator, miner, source="127.0.0.10")).dendrite.status_code == 200


# CONNECTION_INFO, tokens and restarts -----------------------------------------------------


@dataclass
class RecordingMiner:
    """A miner Axon that records every CONNECTION_INFO it is sent."""

    keypair: Keypair
    axon: Any
    delay_seconds: float = 0.0
    pushes: list[dict[str, Any]] = field(default_factory=list)

    def tokens(self) -> list[str]:
        return [push["payload"]["token"] for push in self.pushes]


@pytest.fixture
def recording_miner(miner: Keypair) -> Iterator[RecordingMiner]:
    axon = bt.Axon(
        wallet=AxonWallet(miner), port=free_port(), ip="127.0.0.1", external_ip="127.0.0.1"
    )
    recorder = RecordingMiner(miner, axon)

    async def forward(synapse: SparketSynapse) -> SparketSynapse:
        await asyncio.sleep(recorder.delay_seconds)
        recorder.pushes.append(
            {"type": synapse.type, "payload": synapse.payload, "from": synapse.dendrite.hotkey}
        )
        return synapse

    axon.attach(forward_fn=forward)
    axon.start()
    wait_for(lambda: is_listening(axon.port), timeout=20, what="the test miner's axon")
    try:
        yield recorder
    finally:
        axon.stop()


@dataclass
class Chain:
    subtensor: MockSubtensor
    netuid: int
    validator: Keypair

    def validator_on_chain(
        self, catalog: Catalog | None = None, push_interval_seconds: float = 300.0
    ) -> LocalValidator:
        """Not started: use it as a context manager. Its own axon is on chain too."""
        view = chain_view(self.subtensor, self.netuid)
        port = free_port()
        serve_axon(self.subtensor, self.netuid, self.validator.ss58_address, "127.0.0.1", port)
        return LocalValidator(
            self.validator,
            port=port,
            registered_hotkeys=view.registered_hotkeys,
            push_targets=view.push_targets,
            catalog=catalog,
            push_interval_seconds=push_interval_seconds,
        )


@pytest.fixture
def chain(recording_miner: RecordingMiner) -> Chain:
    """A subnet with the validator, the test miner (serving) and a miner without an axon."""
    subtensor, netuid, validator = MockSubtensor(), next(NETUIDS), generated()
    for hotkey in (validator.ss58_address, recording_miner.keypair.ss58_address, "5Gone"):
        register(subtensor, netuid, hotkey)
    ss58 = recording_miner.keypair.ss58_address
    serve_axon(subtensor, netuid, ss58, "127.0.0.1", recording_miner.axon.port)
    return Chain(subtensor, netuid, validator)


async def test_pushed_token_lets_odds_in(
    chain: Chain, recording_miner: RecordingMiner, catalog: Catalog
) -> None:
    with chain.validator_on_chain(catalog=catalog) as validator:
        wait_for(lambda: recording_miner.pushes, timeout=20, what="the first CONNECTION_INFO")
        [push] = recording_miner.pushes  # the validator skips its own axon and unserved ones
        token = validator.current_token()
        assert push == {
            "type": "connection_info_push",
            "payload": {
                "host": "127.0.0.1",
                "port": validator.port,
                "token": token,
                "hotkey": validator.hotkey,
                "step": 0,
            },
            "from": validator.hotkey,
        }
        assert re.fullmatch(r"[0-9a-f]{64}", token)

        reply = await ask(validator, recording_miner.keypair, "odds_push", odds(token))
        assert reply.payload == {"success": True, "accepted": True}
        rows = validator.odds_rows
        assert [(r.hotkey, r.market_id, r.side, r.odds_eu) for r in rows] == [
            (recording_miner.keypair.ss58_address, MARKET, "HOME", 1.9),
            (recording_miner.keypair.ss58_address, MARKET, "AWAY", 2.05),
        ]
        assert validator.counters()["odds_rows"] == 2

        second = validator.push_now().result(timeout=30)
        assert second.step == 1 and second.delivered_to(recording_miner.keypair.ss58_address)
        assert recording_miner.tokens() == [token, token]


async def test_restart_invalidates_tokens_and_keeps_bans(
    chain: Chain, recording_miner: RecordingMiner, catalog: Catalog
) -> None:
    with chain.validator_on_chain(catalog=catalog) as validator:
        wait_for(lambda: recording_miner.pushes, timeout=20, what="the first CONNECTION_INFO")
        old_token = recording_miner.tokens()[0]
        probe = await get(root_url(validator), source="127.0.0.14")
        assert probe.status_code == 403
        await ask(validator, recording_miner.keypair, "odds_push", odds(), source="127.0.0.15")
        assert validator.counters()["failures_token_missing"] == 1

        validator.restart()

        stale = await ask(validator, recording_miner.keypair, "odds_push", odds(old_token))
        assert stale.payload == {
            "success": False,
            "error": "token_invalid",
            "message": "Token expired or invalid",
        }
        banned = await ask(validator, recording_miner.keypair, source="127.0.0.14")
        assert (banned.dendrite.status_code, banned.dendrite.status_message) == (
            403,
            BLACKLISTED_MESSAGE,
        )
        report = validator.counters()
        assert report["restarts"] == 1
        assert report["failures_token_missing"] == 0  # in-memory records start empty
        assert report["failures_token_invalid"] == 1
        lifetime = report["lifetime"]
        assert isinstance(lifetime, dict)  # ... while the totals span both processes
        assert (lifetime["failures_token_missing"], lifetime["failures_token_invalid"]) == (1, 1)

        wait_for(
            lambda: len(recording_miner.pushes) >= 2, timeout=20, what="the push after restart"
        )
        new_token = recording_miner.tokens()[-1]
        assert new_token != old_token and new_token == validator.current_token()
        fresh = await ask(validator, recording_miner.keypair, "odds_push", odds(new_token))
        assert fresh.payload == {"success": True, "accepted": True}
        assert len(validator.odds_rows) == 2


def test_rounds_repeat_and_a_slow_round_makes_the_next_ones_skip(
    chain: Chain, recording_miner: RecordingMiner
) -> None:
    recording_miner.delay_seconds = 1.0
    with chain.validator_on_chain(push_interval_seconds=0.2) as validator:
        wait_for(lambda: len(validator.push_rounds) >= 2, timeout=20, what="two push rounds")
        first, second = validator.push_rounds[:2]
        assert (first.step, second.step) == (0, 1)
        assert first.delivered_to(recording_miner.keypair.ss58_address)
        steps = [push["payload"]["step"] for push in recording_miner.pushes]
        assert steps[:2] == [0, 1]  # one round at a time: no overlapping sends
        assert validator.skipped_push_rounds >= 3
