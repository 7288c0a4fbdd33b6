"""A validator restart over the wire, and when CONNECTION_INFO goes out after a start.

Upstream a restart is a new process: `SecurityManager.__init__`
(`sparket/validator/security/manager.py`) starts with no hotkey or IP record, the rate
limiter (`sparket/validator/utils/ratelimit.py`) with empty windows, `ValidatorComms`
(`sparket/validator/comms.py`) with a new random secret; only the bans come back, from the
`security_blacklist` table (`load_blacklist_from_db`). The first CONNECTION_INFO goes out
on the first main-loop iteration (`sparket/validator/validator.py` `run`), after start-up
work the axon does not wait for, then every `connection_push_interval_seconds`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from bittensor_wallet import Keypair

from sparket_local_services.ports import free_port
from sparket_local_services.waits import wait_for
from sparket_local_validator.config import RateLimits, WindowLimit
from sparket_local_validator.decisions import BLACKLISTED_MESSAGE
from sparket_local_validator.ingest import Catalog
from sparket_local_validator.server import LocalValidator
from sparket_local_validator.synapse import SparketSynapse
from sparket_testkit.harness.validator_wire import (
    COOLDOWN,
    Chain,
    RecordingMiner,
    Registry,
    ask,
    generated,
    get,
    odds,
    outcome,
    root_url,
)

RATE_LIMITS = RateLimits(
    hotkey_per_second=WindowLimit(100, 1.0), hotkey_per_minute=WindowLimit(5, 60.0)
)
"""Five requests a minute per hotkey and no per-second limit to speak of: a full window
then stays full for a minute, so a test can show that a restart empties it without
waiting. Every security threshold keeps its default."""

COOLING_IP = "127.0.0.41"  # five hotkeys fail here: IP cooldown, failing_hotkeys, violations
HOTKEY_COOLDOWN_IP = "127.0.0.42"
RATE_LIMITED_IP = "127.0.0.43"
SCANNER_IP = "127.0.0.44"
CLEAN_IP = "127.0.0.45"

OK = (200, "")
TOKEN_INVALID = (200, "token_invalid")
RATE_LIMITED = (200, "rate_limited")
COOLING = (429, "")


@pytest.fixture
def miners() -> list[Keypair]:
    return [generated() for _ in range(5)]


@pytest.fixture
def crowded(miners: list[Keypair]) -> Iterator[LocalValidator]:
    """A validator where the five `miners` are registered, with `RATE_LIMITS`."""
    registry = Registry({miner.ss58_address for miner in miners})
    with LocalValidator(
        generated(), port=free_port(), registered_hotkeys=registry, rate_limits=RATE_LIMITS
    ) as running:
        yield running


async def until_cooldown(
    validator: LocalValidator, keypair: Keypair, *, source: str
) -> list[SparketSynapse]:
    """Game-data requests one after the other until the first 429 (at most 30)."""
    replies: list[SparketSynapse] = []
    while not replies or replies[-1].dendrite.status_code != 429:
        assert len(replies) < 30, [outcome(r) for r in replies]
        replies.append(await ask(validator, keypair, source=source))
    return replies


async def fill_every_record(validator: LocalValidator, miners: list[Keypair]) -> None:
    """Leave something in every in-memory record a validator keeps, and two bans."""
    m0, m1, m2, *_ = miners
    # Five hotkeys fail once each from one IP: failing_hotkeys reaches 5, the IP cools 60 s.
    for miner in miners:
        reply = await ask(validator, miner, "odds_push", odds(), source=COOLING_IP)
        assert outcome(reply) == TOKEN_INVALID
    # m0 keeps asking from the cooling IP: twenty 429s are twenty violations, a 24 h ban.
    replies = [await ask(validator, m0, source=COOLING_IP) for _ in range(20)]
    assert [outcome(reply) for reply in replies] == [COOLING] * 20
    # m1 (one failure already) uses up its minute, fails nine more times: a 30 s cooldown.
    replies = await until_cooldown(validator, m1, source=HOTKEY_COOLDOWN_IP)
    assert [outcome(reply) for reply in replies] == [OK] * 4 + [RATE_LIMITED] * 9 + [COOLING]
    # m2 uses up its minute too.
    for _ in range(4):
        assert outcome(await ask(validator, m2, source=RATE_LIMITED_IP)) == OK
    limited = await ask(validator, m2, source=RATE_LIMITED_IP)
    assert limited.payload["message"] == "Rate limited: hotkey_rate_limit_per_minute"
    # A scanner probe: a permanent IP ban.
    assert (await get(root_url(validator), source=SCANNER_IP)).status_code == 403


def record(report: dict[str, object], kind: str, key: str) -> dict[str, object]:
    records = report[kind]
    assert isinstance(records, dict)
    found = records[key]
    assert isinstance(found, dict)
    return found


def without_remaining(view: dict[str, object]) -> dict[str, object]:
    """A record from `counters()` minus the running clock (checked on its own)."""
    return {name: value for name, value in view.items() if name != "cooldown_remaining_seconds"}


async def test_a_restart_forgets_every_record_and_keeps_the_bans(
    crowded: LocalValidator, miners: list[Keypair]
) -> None:
    validator, (m0, m1, m2, *_) = crowded, miners
    await fill_every_record(validator, miners)
    before = validator.counters()
    cooling_ip = record(before, "ips", COOLING_IP)
    assert without_remaining(cooling_ip) == {
        "failures": 5,
        "violations": 20,
        "cooldown_count": 1,
        "failing_hotkeys": 5,
    }
    assert float(str(cooling_ip["cooldown_remaining_seconds"])) > 0
    assert without_remaining(record(before, "hotkeys", m1.ss58_address)) == {
        "failures": 10,
        "violations": 1,
        "cooldown_count": 1,
        "failing_hotkeys": 0,
    }
    assert record(before, "hotkeys", m0.ss58_address)["violations"] == 20
    assert record(before, "hotkeys", m2.ss58_address)["failures"] == 2
    assert record(before, "ips", HOTKEY_COOLDOWN_IP)["failing_hotkeys"] == 1
    bans = before["bans"]
    assert isinstance(bans, list)
    assert sorted((ban["identifier"], ban["expires_at"] is None) for ban in bans) == sorted(
        [(m0.ss58_address, False), (SCANNER_IP, True)]
    )

    validator.restart()

    after = validator.counters()
    assert (after["hotkeys"], after["ips"]) == ({}, {})
    assert after["bans"] == bans  # the same rows, the 24 h ban's expiry included
    with validator.locked() as engine:
        for miner in miners:
            assert engine.security.hotkey_record(miner.ss58_address) is None
        for ip in (COOLING_IP, HOTKEY_COOLDOWN_IP, RATE_LIMITED_IP, SCANNER_IP):
            assert engine.security.ip_record(ip) is None


async def test_after_a_restart_only_the_bans_still_bite(
    crowded: LocalValidator, miners: list[Keypair]
) -> None:
    validator, (m0, m1, m2, m3, m4) = crowded, miners
    old_token = validator.current_token()
    await fill_every_record(validator, miners)

    validator.restart()

    # Cooldowns and full rate windows are gone: each of these was refused a moment ago.
    assert outcome(await ask(validator, m1, source=HOTKEY_COOLDOWN_IP)) == OK
    assert outcome(await ask(validator, m2, source=RATE_LIMITED_IP)) == OK
    assert outcome(await ask(validator, m3, source=COOLING_IP)) == OK
    # failing_hotkeys is gone: one failure there now is the IP's first failing hotkey, where
    # before the restart any failure from it would have started a new, doubled cooldown.
    failed = await ask(validator, m3, "odds_push", odds(), source=COOLING_IP)
    assert outcome(failed) == TOKEN_INVALID
    assert outcome(await ask(validator, m4, source=COOLING_IP)) == OK
    assert without_remaining(record(validator.counters(), "ips", COOLING_IP)) == {
        "failures": 1,
        "violations": 0,
        "cooldown_count": 0,
        "failing_hotkeys": 1,
    }
    # The backoff level starts again at the first step: 30 s, not 60 s.
    replies = await until_cooldown(validator, m1, source=HOTKEY_COOLDOWN_IP)
    assert [outcome(reply) for reply in replies] == [OK] * 4 + [RATE_LIMITED] * 10 + [COOLING]
    match = COOLDOWN.fullmatch(replies[-1].dendrite.status_message)
    assert match is not None and int(match.group(1)) <= 30
    assert record(validator.counters(), "hotkeys", m1.ss58_address)["cooldown_count"] == 1
    # Violations are gone: the cooling IP had 20, so one more 429 there would ban it.
    assert outcome(await ask(validator, m1, source=COOLING_IP)) == COOLING
    assert record(validator.counters(), "ips", COOLING_IP)["violations"] == 1
    # The bans hold, and are the only ones.
    for keypair, source in ((m0, CLEAN_IP), (m4, SCANNER_IP)):
        banned = await ask(validator, keypair, source=source)
        assert (banned.dendrite.status_code, banned.dendrite.status_message) == (
            403,
            BLACKLISTED_MESSAGE,
        )
    bans = validator.counters()["bans"]
    assert isinstance(bans, list)
    assert sorted(ban["identifier"] for ban in bans) == sorted([m0.ss58_address, SCANNER_IP])
    # And the token handed out before is no good.
    stale = await ask(validator, m4, "odds_push", odds(old_token), source=CLEAN_IP)
    assert stale.payload["message"] == "Token expired or invalid"


# When CONNECTION_INFO goes out --------------------------------------------------------------


def test_connection_info_goes_out_at_start_then_once_per_interval(
    chain: Chain, recording_miner: RecordingMiner
) -> None:
    interval = 2.0
    with chain.validator_on_chain(push_interval_seconds=interval):
        started = time.monotonic()
        wait_for(lambda: len(recording_miner.pushes) >= 3, timeout=30, what="three pushes")
        first, second, third = recording_miner.arrivals[:3]
    assert [push["payload"]["step"] for push in recording_miner.pushes[:3]] == [0, 1, 2]
    assert first - started < interval  # not one interval after the start: at once
    for gap in (second - first, third - second):
        assert interval - 0.5 <= gap <= interval + 1.5, gap


async def test_until_the_first_push_after_a_restart_the_old_token_is_refused(
    chain: Chain, recording_miner: RecordingMiner, catalog: Catalog
) -> None:
    delay = 3.0
    miner = recording_miner.keypair
    with chain.validator_on_chain(catalog=catalog, first_push_delay_seconds=delay) as validator:
        started = time.monotonic()
        wait_for(lambda: recording_miner.pushes, timeout=20, what="the first CONNECTION_INFO")
        assert recording_miner.arrivals[0] - started >= delay - 0.2  # the first start too
        [old_token] = recording_miner.tokens()
        assert outcome(await ask(validator, miner, "odds_push", odds(old_token))) == OK

        validator.restart()
        restarted = time.monotonic()
        stale = await ask(validator, miner, "odds_push", odds(old_token))
        # Still inside the window (else this machine was too slow to show it at all).
        assert time.monotonic() - restarted < delay and len(recording_miner.pushes) == 1
        assert validator.push_rounds == []
        assert stale.dendrite.status_code == 200  # the axon is up and answering ...
        assert stale.payload == {  # ... with the new process's secret
            "success": False,
            "error": "token_invalid",
            "message": "Token expired or invalid",
        }

        wait_for(lambda: len(recording_miner.pushes) >= 2, timeout=20, what="the next push")
        assert recording_miner.arrivals[1] - restarted >= delay - 0.2
        new_token = recording_miner.tokens()[1]
        assert new_token != old_token
        assert outcome(await ask(validator, miner, "odds_push", odds(new_token))) == OK


def test_a_stop_during_the_first_push_delay_does_not_wait_it_out(
    chain: Chain, recording_miner: RecordingMiner
) -> None:
    validator = chain.validator_on_chain(first_push_delay_seconds=60.0)
    validator.start()
    stopping = time.monotonic()
    validator.stop()
    assert time.monotonic() - stopping < 10.0
    assert recording_miner.pushes == []


async def test_with_a_fixed_push_secret_tokens_survive_a_restart(
    chain: Chain, recording_miner: RecordingMiner, catalog: Catalog
) -> None:
    """Upstream reads SPARKET_VALIDATOR_PUSH_SECRET again in the new process."""
    miner = recording_miner.keypair
    with chain.validator_on_chain(catalog=catalog, push_secret="fixed-secret") as validator:
        wait_for(lambda: recording_miner.pushes, timeout=20, what="the first CONNECTION_INFO")
        [token] = recording_miner.tokens()
        validator.restart()
        assert outcome(await ask(validator, miner, "odds_push", odds(token))) == OK
