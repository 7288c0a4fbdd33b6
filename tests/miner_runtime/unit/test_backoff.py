"""How long a validator is left alone after each kind of reply, and by whom. Pure."""

from __future__ import annotations

import datetime as dt

import pytest

from miner_runtime.submission.backoff import (
    NOT_READY_FIRST,
    NOT_READY_MAX,
    PENALISED_PAUSE,
    UNREACHABLE_PAUSE,
    Backoff,
    Penalty,
    penalty_for,
)
from miner_runtime.validator_client.replies import Reply, ReplyKind, classify

T0 = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def reply(status: int, message: str | None = None, payload: object = None) -> Reply:
    return classify(status_code=status, status_message=message, payload=payload, expect_games=False)


def test_429_pauses_the_egress_ip_for_the_stated_wait_plus_one_second() -> None:
    backoff = Backoff()
    cooldown = reply(429, "You are in cooldown. Try again in 240s seconds")
    penalty = backoff.observe("v1", cooldown, T0)
    assert penalty == Penalty(241.0, "cooldown", shared=True)
    assert backoff.paused("v1", at(240.9)) is not None
    assert backoff.paused("v1", at(241)) is None
    assert backoff.paused("v2", at(1)) is None


def test_a_shorter_pause_never_shortens_a_longer_one() -> None:
    backoff = Backoff()
    backoff.observe("v1", reply(429, "Try again in 3600s seconds"), T0)
    backoff.observe("v1", reply(200, None, {"success": False, "error": "rate_limited"}), at(1))
    pause = backoff.paused("v1", at(2))
    assert pause is not None and pause.until == at(3601)


def test_not_ready_backs_off_exponentially_and_resets_on_success() -> None:
    not_ready = reply(200, None, {"success": False, "error": "not_ready"})
    backoff = Backoff()
    waits = []
    for step in range(6):
        penalty = backoff.observe("v1", not_ready, at(step * 1000))
        assert penalty is not None and not penalty.shared
        waits.append(penalty.seconds)
    assert waits == [NOT_READY_FIRST, 10.0, 20.0, 40.0, NOT_READY_MAX, NOT_READY_MAX]
    backoff.observe("v1", reply(200, None, {"success": True, "accepted": True}), at(9000))
    penalty = backoff.observe("v1", not_ready, at(9001))
    assert penalty is not None and penalty.seconds == NOT_READY_FIRST


def rejected(error: str, message: str = "") -> dict[str, object]:
    return {"success": False, "error": error, "message": message}


@pytest.mark.parametrize(
    ("status", "message", "payload", "expected"),
    [
        (200, None, {"success": True, "accepted": True}, None),
        (200, None, rejected("token_invalid"), None),
        (200, None, rejected("token_missing"), None),
        (
            200,
            None,
            rejected("rate_limited", "Rate limited: hotkey_rate_limit_per_second"),
            Penalty(PENALISED_PAUSE, "rate_limited"),
        ),
        (
            200,
            None,
            rejected("rate_limited", "Rate limited: global_rate_limit_per_second"),
            Penalty(PENALISED_PAUSE, "rate_limited", shared=True),
        ),
        (
            200,
            None,
            rejected("internal_error", "database is down"),
            Penalty(PENALISED_PAUSE, "internal_error", shared=True),
        ),
        (
            403,
            "Your hotkey is not registered on the subnet metagraph",
            None,
            Penalty(600.0, "not_registered"),
        ),
        (403, "Your hotkey or IP has been blacklisted", None, Penalty(3600.0, "blacklisted")),
        (408, "Timeout", None, Penalty(UNREACHABLE_PAUSE, "unreachable", shared=True)),
        (503, "Service unavailable", None, Penalty(UNREACHABLE_PAUSE, "unreachable", shared=True)),
        (401, "Signature mismatch", None, Penalty(300.0, "protocol_error")),
    ],
)
def test_penalty_for_each_reply_kind(
    status: int, message: str | None, payload: object, expected: Penalty | None
) -> None:
    assert penalty_for(reply(status, message, payload), 0) == expected


def test_cooldown_reply_kind_carries_its_wait() -> None:
    cooldown = reply(429, "Try again in 0s seconds")
    assert cooldown.kind is ReplyKind.COOLDOWN
    assert penalty_for(cooldown, 0) == Penalty(1.0, "cooldown", shared=True)
