"""Outcome sources: the results file and matching stored results to events."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from miner_runtime.pricing.names import TeamNames
from miner_runtime.protocol.markets import StoredEvent
from miner_runtime.protocol.messages import League, OutcomeResult, Sport
from miner_runtime.protocol.results import GameResult
from miner_runtime.submission.outcomes import (
    EventResult,
    FileOutcomeSource,
    ResultsFileError,
    dump_results,
    in_window,
    match_results,
)

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def event(event_id: int) -> StoredEvent:
    return StoredEvent(event_id, League.NBA, Sport.NBA, "H", "A", NOW - dt.timedelta(hours=2))


def test_only_results_of_open_events_are_kept() -> None:
    results = [EventResult(event_id=1, result="HOME"), EventResult(event_id=2, result="away")]
    assert in_window(results, [event(2)]) == [results[1]]


async def test_results_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    results = [
        EventResult(event_id=1, result="home", score_home=3, score_away=1),
        EventResult(event_id=2, score_home=0, score_away=0),
    ]
    path.write_text(dump_results(results))
    source = FileOutcomeSource(path)
    assert await source.results([event(1), event(2)]) == results
    assert await FileOutcomeSource(tmp_path / "absent.json").results([event(1)]) == []


async def test_a_bad_results_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text('[{"event_id": 1, "winner_label": "home"}]')
    with pytest.raises(ResultsFileError, match=r"results\.json"):
        await FileOutcomeSource(path).results([event(1)])


def test_a_result_needs_a_result_or_both_scores() -> None:
    with pytest.raises(ValueError, match="go together"):
        EventResult(event_id=1, score_home=1)
    with pytest.raises(ValueError, match="needs a result"):
        EventResult(event_id=1)


def _result(home: str, away: str, hours: float, score: tuple[int, int], ident: str) -> GameResult:
    return GameResult(
        league=League.NBA,
        home_team=home,
        away_team=away,
        start_time_utc=NOW + dt.timedelta(hours=hours),
        score_home=score[0],
        score_away=score[1],
        source="espn",
        source_id=ident,
    )


def test_stored_results_match_events_by_full_names_and_start_time() -> None:
    clippers = StoredEvent(5, League.NBA, Sport.NBA, "Los Angeles Clippers", "Boston Celtics", NOW)
    other = StoredEvent(6, League.NBA, Sport.NBA, "Miami Heat", "Boston Celtics", NOW)
    results = [
        # ESPN spells it "LA Clippers": the alias table makes it the same team.
        _result("LA Clippers", "Boston Celtics", 0.5, (101, 99), "1"),
        # The same teams two days later: a different game.
        _result("LA Clippers", "Boston Celtics", 48, (90, 120), "2"),
        # Home and away swapped: not this event.
        _result("Boston Celtics", "Miami Heat", 0, (100, 90), "3"),
    ]
    matched = match_results([clippers, other], results, TeamNames())
    assert matched == [
        EventResult(event_id=5, result=OutcomeResult.HOME, score_home=101, score_away=99)
    ]
