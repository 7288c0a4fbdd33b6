"""The per-namespace fleet summary from each miner's published status and its runtime's
latest report. Pure: the same fleet always gives an equal summary."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping

from sparket_operator.api.conditions import TRUE
from sparket_operator.api.fleet_summary import (
    IMMUNITY_ENDING_BLOCKS,
    EgressUse,
    FailingValidator,
    FleetSummary,
    ImmunityEnding,
)
from sparket_operator.api.v1alpha1 import Condition, ConditionType, SparketMinerStatus
from sparket_operator.reconcile.fleet import MinerKey
from sparket_operator.reconcile.runtime_report import RuntimeReport


def summarize(
    statuses: Mapping[MinerKey, SparketMinerStatus],
    reports: Mapping[MinerKey, RuntimeReport],
) -> dict[str, FleetSummary]:
    """One summary per namespace that has miners."""
    by_namespace: dict[str, list[MinerKey]] = defaultdict(list)
    for key in statuses:
        by_namespace[key[0]].append(key)
    return {
        namespace: _summary(namespace, sorted(keys), statuses, reports)
        for namespace, keys in sorted(by_namespace.items())
    }


def _is(
    seen: Mapping[ConditionType, Condition],
    kind: ConditionType,
    *,
    status: str | None = None,
    reason: str | None = None,
) -> bool:
    found = seen.get(kind)
    return found is not None and status in (None, found.status) and reason in (None, found.reason)


def _summary(
    namespace: str,
    keys: list[MinerKey],
    statuses: Mapping[MinerKey, SparketMinerStatus],
    reports: Mapping[MinerKey, RuntimeReport],
) -> FleetSummary:
    phases: Counter[str] = Counter()
    egress: dict[str, list[str]] = defaultdict(list)
    hotkeys: dict[str, set[str]] = defaultdict(set)
    failing: dict[str, Counter[str]] = defaultdict(Counter)
    failing_miners: dict[str, set[str]] = defaultdict(set)
    deregistered, not_earning, immunity = [], [], []
    ready = registered = earning = 0
    emission = 0.0
    for key in keys:
        name, status = key[1], statuses[key]
        phases[status.phase.value if status.phase else "Unknown"] += 1
        seen = {c.type: c for c in status.conditions}
        ready += _is(seen, ConditionType.READY, status=TRUE)
        registered += _is(seen, ConditionType.REGISTERED, status=TRUE)
        earning += _is(seen, ConditionType.EARNING, status=TRUE)
        if _is(seen, ConditionType.REGISTERED, reason="Deregistered"):
            deregistered.append(name)
        elif _is(seen, ConditionType.EARNING, reason="NoIncentive"):
            not_earning.append(name)  # registered past the grace period, no incentive
        chain = status.chain
        if chain is not None and chain.uid is not None:
            emission += chain.emission_alpha_per_day or 0.0
            left = chain.immunity_blocks_left
            if left is not None and 0 < left <= IMMUNITY_ENDING_BLOCKS:
                immunity.append(ImmunityEnding(miner=name, blocks_left=left))
        if status.egress_ip:
            egress[status.egress_ip].append(name)
            hotkeys[status.egress_ip].add(status.hotkey or name)
        report = reports.get(key)
        for entry in report.throttled_by if report else ():
            validator, _, reason = entry.partition(": ")
            failing[validator][reason or "paused"] += 1
            failing_miners[validator].add(name)
    return FleetSummary(
        namespace=namespace,
        miners=len(keys),
        ready=ready,
        by_phase=dict(sorted(phases.items())),
        registered=registered,
        deregistered=deregistered,
        earning=earning,
        not_earning=not_earning,
        emission_alpha_per_day=round(emission, 9),
        immunity_ending=sorted(immunity, key=lambda i: (i.blocks_left, i.miner)),
        failing_validators=[
            FailingValidator(
                validator=validator,
                miners=len(failing_miners[validator]),
                reasons=dict(sorted(reasons.items())),
            )
            for validator, reasons in sorted(failing.items())
        ],
        egress_ips=[
            EgressUse(ip=ip, hotkeys=len(hotkeys[ip]), miners=names)
            for ip, names in sorted(egress.items())
        ],
    )


def empty_summary(namespace: str) -> FleetSummary:
    """A namespace whose miners are all gone (its summary must not keep the last ones)."""
    return _summary(namespace, [], {}, {})
