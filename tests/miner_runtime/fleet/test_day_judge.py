"""The day-in-the-life judge's own rules, on hand-made timelines: which minutes are judged,
and which pushes a validator's restart cut off (so their minute is in doubt, not silent)."""

from __future__ import annotations

from sparket_testkit.harness.day_in_the_life import (
    Plan,
    Timeline,
    catch_up_grace,
    judged_minutes,
    lost_to_restarts,
    no_token_windows,
)

VALIDATOR = "5Validator"
MINUTE = 1_000_000 * 60  # a whole wall-clock minute, far from zero


def _send(at: float, reply: str, trip: float, in_doubt: bool, to: str = VALIDATOR) -> list[object]:
    return [
        at,
        to,
        "5Hotkey",
        "odds_push",
        reply,
        reply if reply != "accepted" else None,
        trip,
        in_doubt,
    ]


def _timeline(restart: float, first_push: float) -> Timeline:
    timeline = Timeline(go=MINUTE - 300, end=MINUTE + 300)
    timeline.restarts[VALIDATOR].append(restart)
    timeline.first_pushes[VALIDATOR].append(first_push)
    return timeline


def test_a_push_cut_off_by_the_restart_puts_its_minute_in_doubt() -> None:
    timeline = _timeline(restart=MINUTE + 14.9, first_push=MINUTE + 22.0)
    sends = [_send(MINUTE + 15.5, "unreachable", 1.4, True)]  # left, then the server died
    assert lost_to_restarts([{"sends": sends}], VALIDATOR, timeline) == {("5Hotkey", MINUTE // 60)}


def test_a_refused_connection_or_an_answer_is_not_in_doubt() -> None:
    timeline = _timeline(restart=MINUTE + 14.9, first_push=MINUTE + 22.0)
    sends = [
        _send(MINUTE + 15.0, "unreachable", 0.01, False),  # never delivered: sent again
        _send(MINUTE + 15.2, "rejected", 0.2, False),
        _send(MINUTE + 15.3, "unreachable", 1.4, True, to="5Other"),  # another validator
    ]
    assert lost_to_restarts([{"sends": sends}], VALIDATOR, timeline) == set()


def test_an_unanswered_push_far_from_any_restart_is_not_excused() -> None:
    timeline = _timeline(restart=MINUTE + 14.9, first_push=MINUTE + 22.0)
    sends = [_send(MINUTE + 40.0, "unreachable", 5.0, True)]  # a timeout, no restart near
    assert lost_to_restarts([{"sends": sends}], VALIDATOR, timeline) == set()


def test_minutes_mostly_inside_a_no_token_window_are_not_judged() -> None:
    plan = Plan(seconds=600, warmup_seconds=0)
    timeline = _timeline(restart=MINUTE + 10.0, first_push=MINUTE + 35.0)
    windows = no_token_windows(timeline, VALIDATOR, grace=3.0)
    assert windows == [(MINUTE + 10.0, MINUTE + 38.0)]
    minutes = judged_minutes(plan, timeline, windows)
    assert MINUTE // 60 in minutes  # 28 s covered: at most half
    windows = no_token_windows(timeline, VALIDATOR, grace=8.0)
    assert MINUTE // 60 not in judged_minutes(plan, timeline, windows)  # 33 s covered


def test_the_catch_up_grace_is_an_ips_hotkeys_times_the_median_round_trip() -> None:
    plan = Plan(hotkeys_per_ip=24)
    assert catch_up_grace(plan, {"p50": 0.25}) == 6.0
    assert catch_up_grace(plan, {"p50": 0.05}) == 3.0  # never under the token's proof
    assert catch_up_grace(plan, {}) == 3.0
