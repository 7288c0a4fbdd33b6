"""The doc's verified runs, replayed end to end through gate and listener on a fake clock."""

from __future__ import annotations

from sparket_local_validator.clock import FakeClock
from sparket_local_validator.decisions import Allow
from sparket_local_validator.engine import ValidatorEngine
from sparket_local_validator.listener import Reply

SYNAPSE = "/SparketSynapse"


def burst(engine: ValidatorEngine, hotkey: str, ip: str, n: int) -> list[Reply]:
    """N concurrent requests: all pass the gate before the listener sees any of them."""
    headers = {"bt_header_dendrite_hotkey": hotkey}
    assert all(engine.gate.admit(SYNAPSE, headers, ip) == Allow() for _ in range(n))
    return [
        engine.listener.handle(hotkey=hotkey, ip=ip, synapse_type="game_data_request", payload={})
        for _ in range(n)
    ]


def test_eight_back_to_back_requests_give_five_ok_and_three_rate_limited(
    engine: ValidatorEngine,
) -> None:
    replies = [
        engine.request(hotkey="hk00", ip="127.0.0.2", synapse_type="game_data_request")
        for _ in range(8)
    ]
    assert [r.status for r in replies] == [200] * 8
    errors = [r.body.get("error") for r in replies]
    assert errors == [None] * 5 + ["rate_limited"] * 3
    assert replies[5].body["message"] == "Rate limited: hotkey_rate_limit_per_second"


def cooldown_of(engine: ValidatorEngine, hotkey: str) -> tuple[int, float]:
    record = engine.security.hotkey_record(hotkey)
    assert record is not None
    return record.cooldown_count, record.cooldown_until - engine.clock.now()


def test_a_burst_escalates_the_cooldown(engine: ValidatorEngine) -> None:
    expected = {15: (1, 30.0), 18: (4, 240.0), 22: (8, 3600.0), 30: (16, 3600.0)}
    for i, (n, outcome) in enumerate(expected.items()):
        hotkey = f"hk{i:02d}"
        replies = burst(engine, hotkey, f"127.0.0.{i + 2}", n)
        assert sum("error" not in r for r in replies) == 5
        assert cooldown_of(engine, hotkey) == outcome, n


def test_twenty_two_burst_then_429_with_the_full_hour(engine: ValidatorEngine) -> None:
    burst(engine, "hk00", "127.0.0.2", 22)
    reply = engine.request(hotkey="hk00", ip="127.0.0.2", synapse_type="game_data_request")
    assert reply.status == 429
    assert reply.message == "You are in cooldown. Try again in 3600s seconds"
    assert reply.headers == {"Retry-After": "3600"}
    other = engine.request(hotkey="hk01", ip="127.0.0.2", synapse_type="game_data_request")
    assert other.status == 200  # other hotkeys on the same IP are unaffected


def test_five_hotkeys_with_one_token_failure_each_cool_the_ip(
    engine: ValidatorEngine, clock: FakeClock
) -> None:
    for i in range(5):
        reply = engine.request(hotkey=f"hk{i:02d}", ip="127.0.0.6", synapse_type="odds_push")
        assert reply.body == {
            "success": False,
            "error": "token_invalid",
            "message": "Token missing",
        }
    record = engine.security.ip_record("127.0.0.6")
    assert record is not None and record.cooldown_until - clock.now() == 60.0
    clean = engine.request(hotkey="hk10", ip="127.0.0.6", synapse_type="game_data_request")
    assert clean.status == 429
    assert clean.body["error"] == "ip_cooldown"
    elsewhere = engine.request(hotkey="hk10", ip="127.0.0.7", synapse_type="game_data_request")
    assert elsewhere.status == 200
    hk10 = engine.security.hotkey_record("hk10")
    assert hk10 is not None and hk10.violations == 1  # the innocent hotkey is charged too
    clock.advance(clean.body["retry_after"] + 1)  # type: ignore[operator]
    again = engine.request(hotkey="hk10", ip="127.0.0.6", synapse_type="game_data_request")
    assert again.status == 200


def test_twenty_429s_ban_the_hotkey_and_leave_the_ip_at_twenty(
    engine: ValidatorEngine, clock: FakeClock
) -> None:
    burst(engine, "hk00", "127.0.0.3", 22)
    statuses = [engine.request(hotkey="hk00", ip="127.0.0.3").status for _ in range(20)]
    assert statuses == [429] * 20
    banned = engine.request(hotkey="hk00", ip="127.0.0.4")
    assert banned.status == 403
    assert banned.message == "Your hotkey or IP has been blacklisted due to repeated violations"
    ip_record = engine.security.ip_record("127.0.0.3")
    assert ip_record is not None and ip_record.violations == 20
    assert engine.counters.hotkey_bans == 1 and engine.counters.ip_bans == 0
    clock.advance(86400)
    assert (
        engine.request(hotkey="hk00", ip="127.0.0.3", synapse_type="game_data_request").status
        == 200
    )


def test_scanner_get_root_bans_the_ip_but_health_does_not(engine: ValidatorEngine) -> None:
    probe = engine.request(hotkey=None, ip="127.0.0.8", path="/")
    assert probe.status == 403
    assert probe.body == {"success": False, "error": "forbidden", "message": "Access denied"}
    miner = engine.request(hotkey="hk00", ip="127.0.0.8", synapse_type="game_data_request")
    assert miner.status == 403 and miner.body["error"] == "ip_blacklisted"
    health = engine.request(hotkey=None, ip="127.0.0.9", path="/health")
    assert health.status == 404
    assert (
        engine.request(hotkey="hk00", ip="127.0.0.9", synapse_type="game_data_request").status
        == 200
    )
    admin = engine.request(
        hotkey=None, ip="127.0.0.10", path="/admin", headers={"bt_header_dendrite_uuid": "u"}
    )
    assert admin.status == 404
    assert engine.counters.scanner_bans == 1


def test_failure_is_filed_under_the_self_reported_ip(engine: ValidatorEngine) -> None:
    engine.request(hotkey="hk00", ip="127.0.0.12", body_ip="203.0.113.9")
    assert engine.security.ip_record("203.0.113.9") is not None
    assert engine.security.ip_record("127.0.0.12") is None


def test_a_bare_synapse_ping_is_a_failure(engine: ValidatorEngine) -> None:
    reply = engine.request(hotkey="hk00", ip="127.0.0.2")  # default type connection_info_push
    assert reply.status == 200
    assert reply.body["error"] == "unknown_type"


def test_unregistered_hotkey_on_a_cooling_ip_gets_403_not_429(engine: ValidatorEngine) -> None:
    for i in range(5):
        engine.request(hotkey=f"hk{i:02d}", ip="127.0.0.6", synapse_type="odds_push")
    reply = engine.request(hotkey="stranger", ip="127.0.0.6")
    assert reply.status == 403 and reply.body["error"] == "not_registered"
    assert engine.counters.violations == 0


def test_global_rejection_is_charged_to_whoever_was_rejected(engine: ValidatorEngine) -> None:
    for i in range(20):
        for _ in range(5):
            engine.request(hotkey=f"hk{i:02d}", ip="127.0.0.2", synapse_type="game_data_request")
    reply = engine.request(hotkey="hk50", ip="127.0.0.3", synapse_type="game_data_request")
    assert reply.body["message"] == "Rate limited: global_rate_limit_per_second"
    record = engine.security.hotkey_record("hk50")
    assert record is not None and record.failures == 1


def test_a_restart_invalidates_tokens(engine: ValidatorEngine, clock: FakeClock) -> None:
    token = engine.tokens.current()
    ok = engine.request(
        hotkey="hk00", ip="127.0.0.2", synapse_type="odds_push", payload={"token": token}
    )
    assert ok.body == {"success": True, "accepted": True}
    restarted = ValidatorEngine(clock, registered=["hk00"])
    stale = restarted.request(
        hotkey="hk00", ip="127.0.0.2", synapse_type="odds_push", payload={"token": token}
    )
    assert stale.body["message"] == "Token expired or invalid"


def test_metrics_snapshot_counts_what_happened(engine: ValidatorEngine) -> None:
    burst(engine, "hk00", "127.0.0.2", 15)
    engine.request(hotkey="hk00", ip="127.0.0.2")
    snapshot = engine.counters.snapshot()
    assert snapshot["requests_accepted"] == 5
    assert snapshot["rate_limited"] == 10
    assert snapshot["failures_rate_limited"] == 10
    assert snapshot["failures_token_missing"] == 0
    assert snapshot["hotkey_cooldowns_started"] == 1
    assert snapshot["cooldown_responses"] == 1
    assert snapshot["violations"] == 1
