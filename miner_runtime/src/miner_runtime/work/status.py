"""What /status reports about the work, updated as replies arrive. Pure bookkeeping."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CycleReport:
    """One odds cycle: the guide's `base_miner_odds_cycle` fields."""

    started_at: dt.datetime
    markets: int
    batches: int
    submitted: int
    skipped: int
    validators: int
    seconds: float


@dataclass
class ValidatorTally:
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    last_accepted_at: dt.datetime | None = None
    last_error: str | None = None


class WorkStatus:
    def __init__(self) -> None:
        self.tallies: dict[str, ValidatorTally] = {}
        self.last_cycle: CycleReport | None = None
        self.last_game_sync_at: dt.datetime | None = None
        self.games_synced: int = 0
        self.active_markets: int = 0
        self.outcomes_sent: int = 0

    def tally(self, validator_hotkey: str) -> ValidatorTally:
        return self.tallies.setdefault(validator_hotkey, ValidatorTally())

    def accepted(self, validator_hotkey: str, now: dt.datetime) -> None:
        tally = self.tally(validator_hotkey)
        tally.accepted += 1
        tally.last_accepted_at = now

    def rejected(self, validator_hotkey: str, error: str) -> None:
        tally = self.tally(validator_hotkey)
        tally.rejected[error] += 1
        tally.last_error = error

    @property
    def last_submission_at(self) -> dt.datetime | None:
        times = [t.last_accepted_at for t in self.tallies.values() if t.last_accepted_at]
        return max(times) if times else None
