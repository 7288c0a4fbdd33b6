"""Per-hotkey and per-IP memory of failures, cooldowns and fail2ban violations.

One record per key, as in Sparket's `FailureRecord`/`IPRecord`: timestamped failures and
violations, the lifetime `cooldown_count` that drives the backoff, and (IP only) the set
of hotkeys that ever failed from that IP. All counts use windows where a timestamp counts
while it is strictly newer than `now - window`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sparket_local_validator.failures import FailureType


@dataclass
class FailureRecord:
    failures: list[tuple[float, FailureType]] = field(default_factory=list)
    violations: list[float] = field(default_factory=list)
    cooldown_count: int = 0
    cooldown_until: float = 0.0

    def add_failure(self, now: float, kind: FailureType) -> None:
        self.failures.append((now, kind))

    def count_failures(
        self, now: float, window: float, kinds: frozenset[FailureType] | None = None
    ) -> int:
        cutoff = now - window
        return sum(
            1 for ts, kind in self.failures if ts > cutoff and (kinds is None or kind in kinds)
        )

    def add_violation(self, now: float) -> None:
        self.violations.append(now)

    def count_violations(self, now: float, window: float) -> int:
        cutoff = now - window
        return sum(1 for ts in self.violations if ts > cutoff)

    def in_cooldown(self, now: float) -> bool:
        return self.cooldown_until > now

    def prune(self, now: float, retention: float) -> None:
        cutoff = now - retention
        self.failures = [(ts, kind) for ts, kind in self.failures if ts > cutoff]
        self.violations = [ts for ts in self.violations if ts > cutoff]

    def is_stale(self, now: float) -> bool:
        """Nothing left to remember: cleanup may drop it, backoff level included."""
        return not self.failures and not self.violations and not self.in_cooldown(now)


@dataclass
class IpRecord(FailureRecord):
    failing_hotkeys: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class RecordView:
    """A read-only snapshot of one record, for tests and metrics."""

    failures: int
    violations: int
    cooldown_count: int
    cooldown_until: float
    failing_hotkeys: frozenset[str]

    @classmethod
    def of(cls, record: FailureRecord) -> RecordView:
        hotkeys = record.failing_hotkeys if isinstance(record, IpRecord) else set()
        return cls(
            failures=len(record.failures),
            violations=len(record.violations),
            cooldown_count=record.cooldown_count,
            cooldown_until=record.cooldown_until,
            failing_hotkeys=frozenset(hotkeys),
        )
