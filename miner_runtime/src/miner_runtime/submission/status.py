"""What /status reports about the work, updated as replies arrive. Pure bookkeeping."""

from __future__ import annotations

import datetime as dt
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field

LAST_HOUR = dt.timedelta(hours=1)


@dataclass(frozen=True)
class CycleReport:
    """One odds cycle: the reference miner's `base_miner_odds_cycle` fields."""

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


@dataclass
class BudgetView:
    """What this hotkey last learnt from the fleet's budgets about one validator."""

    token_usable: bool = False
    token_received_at: dt.datetime | None = None  # when this hotkey itself was pushed it
    held_by: str | None = None  # the last refusal's reason ("paused: cooldown", ...)
    held_until: dt.datetime | None = None
    failing_hotkeys: int = 0  # distinct hotkeys of our egress IP that failed there (24 h)
    banned: bool = False  # a 403 "blacklisted" (hotkey or IP: the validator won't say)

    def held_for(self, now: dt.datetime) -> float:
        if self.held_until is None:
            return 0.0
        return max(0.0, (self.held_until - now).total_seconds())


class WorkStatus:
    def __init__(self) -> None:
        self.tallies: dict[str, ValidatorTally] = {}
        self.budgets: dict[str, BudgetView] = {}
        self.last_cycle: CycleReport | None = None
        self.last_game_sync_at: dt.datetime | None = None
        self.games_synced: int = 0
        # Games and markets the last game-data reply had that we could not use, by reason
        # (protocol.snapshot.SkipReason): what /status shows. The metric keeps the totals.
        self.games_skipped: Counter[str] = Counter()
        # Every skip reason this runtime has met: each is logged the first time only.
        self._skip_reasons_seen: set[str] = set()
        self.active_markets: int = 0
        self.outcomes_sent: int = 0
        # Quotes the pricing engine answered that failed validation (never sent).
        self.quotes_dropped: int = 0
        # (when, accepted?) of every reply in the last hour: the operator's Submitted-1h.
        self._recent: deque[tuple[dt.datetime, bool]] = deque()

    def game_data_skipped(self, skipped: Mapping[str, int]) -> list[str]:
        """Record the last reply's skips; returns the reasons never met before, so each is
        logged once per runtime (one runtime per process), not at every 300 s sync."""
        self.games_skipped = Counter({reason: n for reason, n in skipped.items() if n})
        new = sorted(set(self.games_skipped) - self._skip_reasons_seen)
        self._skip_reasons_seen.update(new)
        return new

    def tally(self, validator_hotkey: str) -> ValidatorTally:
        return self.tallies.setdefault(validator_hotkey, ValidatorTally())

    def budget(self, validator_hotkey: str) -> BudgetView:
        return self.budgets.setdefault(validator_hotkey, BudgetView())

    def accepted(self, validator_hotkey: str, now: dt.datetime) -> None:
        tally = self.tally(validator_hotkey)
        tally.accepted += 1
        tally.last_accepted_at = now
        self._remember(now, accepted=True)

    def rejected(self, validator_hotkey: str, error: str, now: dt.datetime) -> None:
        tally = self.tally(validator_hotkey)
        tally.rejected[error] += 1
        tally.last_error = error
        self._remember(now, accepted=False)

    def _remember(self, now: dt.datetime, *, accepted: bool) -> None:
        self._recent.append((now, accepted))
        self._forget_before(now - LAST_HOUR)

    def _forget_before(self, cutoff: dt.datetime) -> None:
        while self._recent and self._recent[0][0] < cutoff:
            self._recent.popleft()

    def last_hour(self, now: dt.datetime) -> tuple[int, int]:
        """(accepted, rejected) replies in the hour before `now`."""
        self._forget_before(now - LAST_HOUR)
        accepted = sum(1 for _, ok in self._recent if ok)
        return accepted, len(self._recent) - accepted

    @property
    def last_submission_at(self) -> dt.datetime | None:
        times = [t.last_accepted_at for t in self.tallies.values() if t.last_accepted_at]
        return max(times) if times else None
