"""The local validator over the wire: a real Axon on loopback, real Dendrites, real keys.

Each test gets its own validator (fresh engine, port and counters server; fixtures in
conftest.py, helpers in sparket_testkit.harness.validator_wire). Distinct 127.0.0.x source
addresses stand for distinct egress IPs; every Dendrite reports the address it binds, as a
stock one would report its public IP.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from bittensor_wallet import Keypair

from sparket_local_services.waits import wait_for
from sparket_local_validator.decisions import BLACKLISTED_MESSAGE, NOT_REGISTERED_MESSAGE
from sparket_local_validator.ingest import Catalog
from sparket_local_validator.server import LocalValidator
from sparket_local_validator.synapse import SparketSynapse
from sparket_testkit.harness.validator_wire import (
    COOLDOWN,
    MARKET,
    Chain,
    RecordingMiner,
    Registry,
    ask,
    burst,
    errors,
    generated,
    get,
    odds,
    root_url,
)

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


async def test_the_counters_list_every_source_ip_penalised_or_not(
    validator: LocalValidator, miner: Keypair
) -> None:
    """The demo proves its fleet shares one egress IP by this list (clean requests make no
    per-IP record, so `ips` alone cannot show them)."""
    assert (await ask(validator, miner, source="127.0.0.21")).dendrite.status_code == 200
    await ask(validator, miner, "odds_push", odds(), source="127.0.0.22")  # token missing
    report = (await get(validator.counters_url, source="127.0.0.1")).json()
    assert report["ips_seen"] == ["127.0.0.21", "127.0.0.22"]
    assert "127.0.0.22" in report["ips"]
