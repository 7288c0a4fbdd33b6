"""Where final results come from, and which of them the validator will take now.

Two sources: the results history the pricing engine keeps (ESPN's scoreboard by default,
matched to events by full team names and start time), and a JSON file of results
(`SPARKET_BASE_MINER__RESULTS_FILE`):
`[{"event_id": 1, "result": "home", "score_home": 2, "score_away": 1}, ...]`, so an
operator's own results feed plugs in without code; the file wins where both know an event.
Only events inside the validator's outcome window (start <= now <= start + 12 h) are
pushed: later ones are dropped unseen.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

from pydantic import ConfigDict, TypeAdapter

from miner_runtime.errors import MinerRuntimeError
from miner_runtime.pricing.names import TeamNames
from miner_runtime.protocol.markets import StoredEvent
from miner_runtime.protocol.messages import OutcomeFacts, OutcomeResult
from miner_runtime.protocol.results import GameResult
from miner_runtime.storage import ResultStore


class EventResult(OutcomeFacts):
    """A final result: `result` and/or both scores (the validator's accepted shapes)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


_RESULTS = TypeAdapter(list[EventResult])


class ResultsFileError(MinerRuntimeError):
    """The results file exists but cannot be used; the message names the file and entry."""


class OutcomeSource(Protocol):
    async def results(self, events: Sequence[StoredEvent]) -> list[EventResult]: ...


class FileOutcomeSource:
    """Results from a JSON file, re-read every check (it is small and may be rewritten)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def results(self, events: Sequence[StoredEvent]) -> list[EventResult]:
        if not self.path.exists():
            return []
        try:
            loaded = _RESULTS.validate_json(self.path.read_bytes())
        except (ValueError, OSError) as exc:
            raise ResultsFileError(f"results file {self.path}: {exc}") from exc
        return in_window(loaded, events)


# A result belongs to an event if the two start within this of each other (time zones,
# rescheduling by an hour or two); the teams must match too.
_SAME_GAME = dt.timedelta(hours=12)


class StoredResultsSource:
    """Results from the runtime's results history (kept current by the pricing engine)."""

    def __init__(self, results: ResultStore, names: TeamNames) -> None:
        self.stored = results
        self.names = names

    async def results(self, events: Sequence[StoredEvent]) -> list[EventResult]:
        found: list[EventResult] = []
        for league in sorted({e.league for e in events}):
            league_events = [e for e in events if e.league is league]
            since = min(e.start_time_utc for e in league_events) - _SAME_GAME
            results = await asyncio.to_thread(self.stored.results, league, since)
            found.extend(match_results(league_events, results, self.names))
        return found


class CombinedSource:
    """Several sources; for an event more than one knows, the first source's result wins."""

    def __init__(self, *sources: OutcomeSource) -> None:
        self.sources = sources

    async def results(self, events: Sequence[StoredEvent]) -> list[EventResult]:
        chosen: dict[int, EventResult] = {}
        for source in self.sources:
            for result in await source.results(events):
                chosen.setdefault(result.event_id, result)
        return list(chosen.values())


class NoOutcomeSource:
    async def results(self, events: Sequence[StoredEvent]) -> list[EventResult]:
        return []


def in_window(results: Iterable[EventResult], events: Sequence[StoredEvent]) -> list[EventResult]:
    """Keep the results of events the validator takes outcomes for right now."""
    open_events = {event.event_id for event in events}
    return [r for r in results if r.event_id in open_events]


def dump_results(results: Iterable[EventResult]) -> str:
    """The file format, for tests and tools that write results."""
    return json.dumps([r.model_dump(mode="json", exclude_none=True) for r in results])


def _result_of(result: GameResult) -> OutcomeResult:
    if result.score_home > result.score_away:
        return OutcomeResult.HOME
    if result.score_home < result.score_away:
        return OutcomeResult.AWAY
    return OutcomeResult.DRAW


def match_results(
    events: Sequence[StoredEvent], results: Sequence[GameResult], names: TeamNames
) -> list[EventResult]:
    """Pair events with results of the same teams starting within 12 h of each other."""
    by_teams: dict[tuple[str, str], list[GameResult]] = {}
    for result in results:
        key = (names.canonical(result.home_team), names.canonical(result.away_team))
        by_teams.setdefault(key, []).append(result)
    matched: list[EventResult] = []
    for event in events:
        key = (names.canonical(event.home_team), names.canonical(event.away_team))
        candidates = [
            r
            for r in by_teams.get(key, ())
            if abs(r.start_time_utc - event.start_time_utc) <= _SAME_GAME
        ]
        if not candidates:
            continue
        best = min(candidates, key=lambda r: abs(r.start_time_utc - event.start_time_utc))
        matched.append(
            EventResult(
                event_id=event.event_id,
                result=_result_of(best),
                score_home=best.score_home,
                score_away=best.score_away,
            )
        )
    return matched
