"""Which condition changes deserve a Kubernetes Event, and the Event objects. Pure.

Events are for people reading `kubectl describe`: a flip of Ready, a wallet or hotkey
problem, an endpoint conflict, throttling, a deregistration, earning starting or stopping.
Reason-only changes (NoPod -> PodNotReady) and a new miner's first "not yet" states are
not events.
"""

from __future__ import annotations

from typing import Any

from sparket_operator.api.conditions import FALSE, TRUE, UNKNOWN
from sparket_operator.api.v1alpha1 import API_VERSION, KIND, Condition, ConditionType

COMPONENT = "sparket-operator"
_EVENTFUL = {
    ConditionType.READY,
    ConditionType.WALLET_VALID,
    ConditionType.HOTKEY_UNIQUE,
    ConditionType.EXPOSED,
    ConditionType.THROTTLED,
    ConditionType.REGISTERED,
    ConditionType.EARNING,
}
# Conditions whose True is the bad news.
_TRUE_IS_BAD = {ConditionType.THROTTLED}
_BAD_FROM_THE_START = {
    ConditionType.WALLET_VALID,
    ConditionType.HOTKEY_UNIQUE,
    ConditionType.EXPOSED,
}
_ALWAYS_BAD_REASONS = {"EndpointConflict", "DuplicateHotkey", "ColdkeyPresent", "Deregistered"}


def is_bad(condition: Condition) -> bool:
    if condition.status == UNKNOWN:
        return False
    return (condition.status == TRUE) == (condition.type in _TRUE_IS_BAD)


def worth_an_event(old: Condition | None, new: Condition) -> bool:
    if new.type not in _EVENTFUL or new.status == UNKNOWN:
        return False
    if old is None or old.status == UNKNOWN:
        if new.status == FALSE and new.reason in _ALWAYS_BAD_REASONS:
            return True
        if new.type in (ConditionType.READY, ConditionType.THROTTLED, ConditionType.EARNING):
            return new.status == TRUE
        return (
            new.type in _BAD_FROM_THE_START
            and new.status == FALSE
            and (new.type is not ConditionType.EXPOSED or new.reason in _ALWAYS_BAD_REASONS)
        )
    return old.status != new.status


def worth_raising(
    changes: list[tuple[Condition | None, Condition]],
) -> list[Condition]:
    """The conditions to raise an Event for, one per reason: when one happening flips
    several conditions (a deregistration flips Registered, Earning and Ready), the Event
    names the condition that is its cause, not Ready, which only mirrors it."""
    chosen: dict[str, Condition] = {}
    for old, new in changes:
        if not worth_an_event(old, new):
            continue
        first = chosen.get(new.reason)
        if first is None or first.type is ConditionType.READY:
            chosen[new.reason] = new
    return list(chosen.values())


def event_for(
    miner: dict[str, Any], condition: Condition, *, now: str, instance: str
) -> dict[str, Any]:
    meta = miner["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
        },
        "reason": condition.reason,
        "message": f"{condition.type.value}={condition.status}: {condition.message}".rstrip(": "),
        "type": "Warning" if is_bad(condition) else "Normal",
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": instance,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
