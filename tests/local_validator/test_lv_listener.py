"""The listener: readiness, rate limit, push token, routing; failures keyed on the body."""

from __future__ import annotations

import pytest

from sparket_local_validator.clock import FakeClock
from sparket_local_validator.engine import ValidatorEngine
from sparket_local_validator.failures import FailureType
from sparket_local_validator.listener import Listener, Reply

IP = "203.0.113.9"


def handle(engine: ValidatorEngine, synapse_type: object, payload: object) -> Reply:
    return engine.listener.handle(hotkey="hk00", ip=IP, synapse_type=synapse_type, payload=payload)


def failures_of(engine: ValidatorEngine, hotkey: str = "hk00") -> int:
    record = engine.security.hotkey_record(hotkey)
    return 0 if record is None else record.failures


@pytest.mark.parametrize("kind", ["odds_push", "outcome_push"])
def test_pushes_with_a_valid_token_are_accepted(engine: ValidatorEngine, kind: str) -> None:
    reply = handle(engine, kind, {"token": engine.tokens.current(), "submissions": []})
    assert reply == {"success": True, "accepted": True}
    assert failures_of(engine) == 0
    assert engine.counters.requests_accepted == 1


@pytest.mark.parametrize("kind", ["odds_push", "outcome_push", "OUTCOME_PUSH"])
@pytest.mark.parametrize("payload", [{}, {"token": ""}, {"token": None}, ["not", "a", "dict"]])
def test_missing_token(engine: ValidatorEngine, kind: str, payload: object) -> None:
    reply = handle(engine, kind, payload)
    assert reply == {"success": False, "error": "token_invalid", "message": "Token missing"}
    assert engine.counters.failures[FailureType.TOKEN_MISSING] == 1
    assert engine.counters.token_failures == 1
    assert failures_of(engine) == 1


@pytest.mark.parametrize("kind", ["odds_push", "outcome_push"])
def test_wrong_or_stale_token(engine: ValidatorEngine, clock: FakeClock, kind: str) -> None:
    stale = engine.tokens.current()
    clock.advance(7200)
    for token in ("f" * 64, stale):
        reply = handle(engine, kind, {"token": token})
        assert reply == {
            "success": False,
            "error": "token_invalid",
            "message": "Token expired or invalid",
        }
    assert engine.counters.failures[FailureType.TOKEN_INVALID] == 2


def test_token_not_needed_for_game_data(engine: ValidatorEngine) -> None:
    reply = handle(engine, "game_data_request", {})
    assert reply["games"] == []
    assert failures_of(engine) == 0


def test_game_data_comes_from_the_callback(clock: FakeClock) -> None:
    snapshot: Reply = {"games": [{"event_id": 1}], "retrieved_at": "x", "window": {}}
    engine = ValidatorEngine(clock, registered=["hk00"], game_data=lambda: snapshot)
    assert handle(engine, "game_data_request", {"since_ts": "ignored"}) == snapshot


def test_token_check_can_be_switched_off(engine: ValidatorEngine) -> None:
    engine.listener.require_token = False
    assert handle(engine, "odds_push", {}) == {"success": True, "accepted": True}


@pytest.mark.parametrize("kind", ["connection_info_push", "ping", "", "CONNECTION_INFO_PUSH"])
def test_unknown_types_are_malformed_requests(engine: ValidatorEngine, kind: str) -> None:
    reply = handle(engine, kind, {})
    assert reply == {
        "success": False,
        "error": "unknown_type",
        "message": f"Unknown synapse type: {kind}",
    }
    assert engine.counters.failures[FailureType.MALFORMED_REQUEST] == 1
    assert failures_of(engine) == 1


def test_uppercase_odds_push_routes_but_stores_nothing(engine: ValidatorEngine) -> None:
    stored: list[object] = []
    engine.listener = Listener(
        limiter=engine.limiter,
        security=engine.security,
        tokens=engine.tokens,
        odds_sink=lambda hotkey, payload: stored.append(payload),
    )
    reply = handle(engine, "ODDS_PUSH", {"token": engine.tokens.current()})
    assert reply == {"success": True, "accepted": False, "message": "No valid submissions"}
    assert stored == []
    handle(engine, "odds_push", {"token": engine.tokens.current()})
    assert len(stored) == 1


def test_sinks_receive_the_body_hotkey_and_payload(clock: FakeClock) -> None:
    seen: list[tuple[str | None, object]] = []
    engine = ValidatorEngine(
        clock,
        registered=["hk00"],
        secret=b"s" * 32,
        odds_sink=lambda hotkey, payload: seen.append((hotkey, payload)),
        outcome_sink=lambda hotkey, payload: seen.append((hotkey, payload)),
    )
    token = engine.tokens.current()
    handle(engine, "odds_push", {"token": token, "submissions": []})
    handle(engine, "outcome_push", {"token": token, "event_id": 1})
    assert seen == [
        ("hk00", {"token": token, "submissions": []}),
        ("hk00", {"token": token, "event_id": 1}),
    ]


@pytest.mark.parametrize("error", [ValueError("invalid literal for int()"), TypeError("boom")])
def test_handler_exception_is_an_internal_error_and_other_failure(
    clock: FakeClock, error: Exception
) -> None:
    def broken(hotkey: str | None, payload: object) -> None:
        raise error

    engine = ValidatorEngine(clock, registered=["hk00"], odds_sink=broken)
    reply = handle(engine, "odds_push", {"token": engine.tokens.current()})
    assert reply == {"success": False, "error": "internal_error", "message": str(error)}
    assert engine.counters.failures[FailureType.OTHER] == 1


def test_rate_limit_comes_before_the_token_check(engine: ValidatorEngine) -> None:
    for _ in range(5):
        handle(engine, "odds_push", {})
    reply = handle(engine, "odds_push", {})
    assert reply == {
        "success": False,
        "error": "rate_limited",
        "message": "Rate limited: hotkey_rate_limit_per_second",
    }
    assert engine.counters.failures[FailureType.RATE_LIMITED] == 1
    assert engine.counters.failures[FailureType.TOKEN_MISSING] == 5
    assert engine.counters.rate_limited == 1
    assert engine.counters.requests_accepted == 5


def test_failures_are_filed_under_the_body_identity(engine: ValidatorEngine) -> None:
    engine.listener.handle(hotkey="claimed", ip="192.0.2.1", synapse_type="x", payload={})
    assert engine.security.hotkey_record("claimed") is not None
    record = engine.security.ip_record("192.0.2.1")
    assert record is not None and record.failing_hotkeys == frozenset({"claimed"})


def test_not_ready_costs_nothing(engine: ValidatorEngine) -> None:
    engine.listener.ready = False
    for _ in range(20):
        reply = handle(engine, "odds_push", {})
        assert reply["error"] == "not_ready"
    engine.listener.ready = True
    assert failures_of(engine) == 0
    assert engine.counters.requests_accepted == 0
    assert handle(engine, "game_data_request", {})["games"] == []
