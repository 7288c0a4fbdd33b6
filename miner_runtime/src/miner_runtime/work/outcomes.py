"""Where final results come from, and which of them the validator will take now.

The built-in source reads a JSON file of results (`SPARKET_BASE_MINER__RESULTS_FILE`):
`[{"event_id": 1, "result": "home", "score_home": 2, "score_away": 1}, ...]`, so an
operator's own results feed plugs in without code. Scoreboard scraping belongs with the
data sources of the pricing work (issue 6). Only events inside the validator's outcome
window (start <= now <= start + 12 h) are pushed: later ones are dropped unseen.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

from pydantic import ConfigDict, TypeAdapter

from miner_runtime.errors import MinerRuntimeError
from miner_runtime.protocol.models import OutcomeFacts
from miner_runtime.storage import StoredEvent


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
