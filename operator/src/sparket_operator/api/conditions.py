"""Pure helpers for Kubernetes-style conditions.

A condition's `lastTransitionTime` changes only when its status flips; a new reason or
message alone keeps the old time. That is what makes "write status only when it changed"
possible: recomputing the same facts yields an equal list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sparket_operator.api.v1alpha1 import Condition, ConditionType

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"


@dataclass(frozen=True)
class Verdict:
    """A condition as computed, before transition times are merged in."""

    type: ConditionType
    status: str
    reason: str
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == TRUE


def merge(
    previous: Sequence[Condition],
    verdicts: Iterable[Verdict],
    *,
    generation: int | None,
    now: str,
) -> list[Condition]:
    """Conditions for `verdicts`, keeping each previous transition time when unchanged."""
    before = {c.type: c for c in previous}
    merged = []
    for verdict in verdicts:
        old = before.get(verdict.type)
        since = old.last_transition_time if old and old.status == verdict.status else now
        merged.append(
            Condition(
                type=verdict.type,
                status=verdict.status,
                reason=verdict.reason,
                message=verdict.message,
                last_transition_time=since,
                observed_generation=generation,
            )
        )
    return merged


def find(conditions: Sequence[Condition], kind: ConditionType) -> Condition | None:
    return next((c for c in conditions if c.type == kind), None)


def transitions(
    previous: Sequence[Condition], current: Sequence[Condition]
) -> list[tuple[Condition | None, Condition]]:
    """(old, new) pairs whose status or reason changed: the moments worth an Event."""
    before = {c.type: c for c in previous}
    changed = []
    for condition in current:
        old = before.get(condition.type)
        if old is None or (old.status, old.reason) != (condition.status, condition.reason):
            changed.append((old, condition))
    return changed
