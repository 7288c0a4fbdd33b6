"""Per-validator tokens, pauses after each reply kind, and request pacing (pure logic)."""

from __future__ import annotations

import datetime as dt

import pytest

from miner_runtime.ingress.tokens import TOKEN_MAX_LIFETIME, TokenBook, TokenState
from miner_runtime.validator.replies import Reply, ReplyKind, classify
from miner_runtime.work.backoff import (
    NOT_READY_FIRST,
    NOT_READY_MAX,
    PENALISED_PAUSE,
    Backoff,
    pause_seconds,
)
from miner_runtime.work.pacing import Pacer, Window

T0 = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
TOKEN_A, TOKEN_B = "a" * 64, "b" * 64


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


# ---- tokens ------------------------------------------------------------------------


def test_each_validator_keeps_its_own_token() -> None:
    book = TokenBook()
    book.record("v1", TOKEN_A, T0)
    book.record("v2", TOKEN_B, T0)
    assert book.usable("v1", T0) == TOKEN_A
    assert book.usable("v2", T0) == TOKEN_B
    assert book.usable("v3", T0) is None


def test_rejected_token_stays_parked_until_a_different_one_arrives() -> None:
    book = TokenBook()
    book.record("v1", TOKEN_A, T0)
    book.reject("v1", TOKEN_A)
    assert book.usable("v1", at(1)) is None
    assert book.record("v1", TOKEN_A, at(300)) is False  # the same token again: still parked
    assert book.usable("v1", at(300)) is None
    assert book.record("v1", TOKEN_B, at(600)) is True
    assert book.usable("v1", at(600)) == TOKEN_B


def test_rejecting_an_older_token_does_not_park_the_current_one() -> None:
    book = TokenBook()
    book.record("v1", TOKEN_A, T0)
    book.record("v1", TOKEN_B, at(10))
    book.reject("v1", TOKEN_A)  # a reply to a push that left before the new token came
    assert book.usable("v1", at(11)) == TOKEN_B


def test_a_token_older_than_two_hours_is_never_used() -> None:
    book = TokenBook([TokenState("v1", TOKEN_A, T0)])
    assert book.usable("v1", T0 + TOKEN_MAX_LIFETIME - dt.timedelta(seconds=1)) == TOKEN_A
    assert book.usable("v1", T0 + TOKEN_MAX_LIFETIME) is None


# ---- backoff -----------------------------------------------------------------------


def reply(status: int, message: str | None = None, payload: object = None) -> Reply:
    return classify(status_code=status, status_message=message, payload=payload, expect_games=False)


def test_429_pauses_for_the_stated_wait_plus_one_second() -> None:
    backoff = Backoff()
    pause = backoff.observe("v1", reply(429, "You are in cooldown. Try again in 240s seconds"), T0)
    assert pause is not None and pause.until == at(241)
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
        pause = backoff.observe("v1", not_ready, at(step * 1000))
        assert pause is not None
        waits.append(pause.remaining(at(step * 1000)))
    assert waits == [NOT_READY_FIRST, 10.0, 20.0, 40.0, NOT_READY_MAX, NOT_READY_MAX]
    backoff.observe("v1", reply(200, None, {"success": True, "accepted": True}), at(9000))
    pause = backoff.observe("v1", not_ready, at(9001))
    assert pause is not None and pause.remaining(at(9001)) == NOT_READY_FIRST


@pytest.mark.parametrize(
    ("status", "message", "payload", "expected"),
    [
        (200, None, {"success": True, "accepted": True}, None),
        (200, None, {"success": False, "error": "token_invalid"}, None),
        (200, None, {"success": False, "error": "rate_limited"}, (PENALISED_PAUSE, "rate_limited")),
        (
            403,
            "Your hotkey is not registered on the subnet metagraph",
            None,
            (600.0, "not_registered"),
        ),
        (403, "Your hotkey or IP has been blacklisted", None, (3600.0, "blacklisted")),
        (408, "Timeout", None, (30.0, "unreachable")),
        (401, "Signature mismatch", None, (300.0, "protocol_error")),
    ],
)
def test_pause_for_each_reply_kind(
    status: int, message: str | None, payload: object, expected: tuple[float, str] | None
) -> None:
    assert pause_seconds(reply(status, message, payload), 0) == expected


def test_cooldown_reply_kind_carries_its_wait() -> None:
    cooldown = reply(429, "Try again in 0s seconds")
    assert cooldown.kind is ReplyKind.COOLDOWN
    assert pause_seconds(cooldown, 0) == (1.0, "cooldown")


# ---- pacing ------------------------------------------------------------------------


def starts(pacer: Pacer, now: float, count: int) -> list[float]:
    return [now + pacer.reserve(now) for _ in range(count)]


def test_pacer_allows_four_a_second_then_waits() -> None:
    pacer = Pacer()
    assert starts(pacer, 100.0, 6) == [100.0, 100.0, 100.0, 100.0, 101.0, 101.0]


def test_pacer_never_exceeds_any_window() -> None:
    pacer = Pacer((Window(4, 1.0), Window(50, 60.0)))
    booked = starts(pacer, 0.0, 130)
    for i, start in enumerate(booked):
        in_second = [t for t in booked[: i + 1] if t > start - 1.0]
        in_minute = [t for t in booked[: i + 1] if t > start - 60.0]
        assert len(in_second) <= 4
        assert len(in_minute) <= 50
    assert booked == sorted(booked)
    assert booked[50] == 60.0  # the 51st request waits for the minute window


def test_pacer_forgets_old_requests() -> None:
    pacer = Pacer()
    starts(pacer, 0.0, 50)
    assert pacer.reserve(1000.0) == 0.0
