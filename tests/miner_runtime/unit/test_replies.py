"""Every reply kind becomes a typed result; timeouts are never success."""

from __future__ import annotations

import pytest

from miner_runtime.validator_client.replies import (
    MAX_COOLDOWN_SECONDS,
    Reply,
    ReplyKind,
    classify,
    cooldown_wait,
)

SENT = {"submissions": [{"market_id": 1}], "token": "ab" * 32}


def odds_reply(status: int | None, message: str | None, payload: object) -> Reply:
    return classify(status_code=status, status_message=message, payload=payload, expect_games=False)


def test_accepted_push() -> None:
    reply = odds_reply(200, "Success", {"success": True, "accepted": True})
    assert reply.kind is ReplyKind.ACCEPTED and reply.ok
    assert not reply.counted_as_failure


@pytest.mark.parametrize(
    ("error", "penalised"),
    [
        ("rate_limited", True),
        ("token_invalid", True),
        ("unknown_type", True),
        ("internal_error", True),
        ("not_ready", False),
    ],
)
def test_http_200_with_success_false_keeps_its_error_code(error: str, penalised: bool) -> None:
    reply = odds_reply(200, "Success", {"success": False, "error": error, "message": "m"})
    assert reply.kind is ReplyKind.REJECTED and not reply.ok
    assert reply.error == error and reply.message == "m"
    assert reply.counted_as_failure is penalised


def test_429_waits_the_stated_seconds_plus_one() -> None:
    reply = odds_reply(429, "You are in cooldown. Try again in 45s seconds", SENT)
    assert reply.kind is ReplyKind.COOLDOWN
    assert reply.wait_seconds == 46.0
    assert not reply.ok and not reply.counted_as_failure


@pytest.mark.parametrize(
    ("message", "wait"),
    [
        ("You are in cooldown. Try again in 0s seconds", 1.0),
        ("You are in cooldown. Try again in 3600s seconds", 3601.0),
        ("Try again in 12.4s", 13.4),
        (None, MAX_COOLDOWN_SECONDS + 1),
        ("Too many requests", MAX_COOLDOWN_SECONDS + 1),
    ],
)
def test_cooldown_wait_parsing(message: str | None, wait: float) -> None:
    assert cooldown_wait(message) == pytest.approx(wait)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("Your hotkey or IP has been blacklisted due to repeated violations", "blacklisted"),
        ("Your hotkey is not registered on the subnet metagraph", "not_registered"),
        ("Access denied", "forbidden"),
    ],
)
def test_403_is_forbidden_with_a_reason(message: str, reason: str) -> None:
    reply = odds_reply(403, message, SENT)
    assert reply.kind is ReplyKind.FORBIDDEN and reply.error == reason
    assert reply.banned is (reason == "blacklisted")


@pytest.mark.parametrize("status", [408, 503, 502, None, 0])
def test_timeouts_and_unreachable_are_never_success_even_with_the_request_echoed(
    status: int | None,
) -> None:
    # The Dendrite leaves the request payload in place on failure: it must not look accepted.
    reply = odds_reply(status, "Timeout", dict(SENT, success=True))
    assert reply.kind is ReplyKind.UNREACHABLE and not reply.ok


@pytest.mark.parametrize("status", [400, 401, 500])
def test_bittensor_level_errors_are_protocol_errors(status: int) -> None:
    assert odds_reply(status, "Hash mismatch", SENT).kind is ReplyKind.PROTOCOL_ERROR


def test_game_data_needs_games_and_treats_any_error_key_as_failure() -> None:
    ok = classify(
        status_code=200,
        status_message="Success",
        payload={"games": [], "retrieved_at": "x"},
        expect_games=True,
    )
    assert ok.ok
    bare_error = classify(
        status_code=200,
        status_message="Success",
        payload={"error": "invalid_synapse_type"},
        expect_games=True,
    )
    assert bare_error.kind is ReplyKind.REJECTED and bare_error.error == "invalid_synapse_type"
    echoed = classify(status_code=200, status_message="Success", payload={}, expect_games=True)
    assert echoed.kind is ReplyKind.REJECTED


def test_a_push_reply_without_success_true_is_not_accepted() -> None:
    assert odds_reply(200, "Success", SENT).kind is ReplyKind.REJECTED
    assert odds_reply(200, "Success", ["not", "a", "dict"]).kind is ReplyKind.REJECTED
