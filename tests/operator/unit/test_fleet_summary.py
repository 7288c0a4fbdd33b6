"""The per-namespace fleet summary (issue 20): what it counts, and that an unchanged fleet
writes nothing, not even after an operator restart."""

from __future__ import annotations

import json

from prometheus_client import generate_latest

from sparket_operator.api.conditions import FALSE, TRUE, UNKNOWN
from sparket_operator.api.fleet_summary import SUMMARY_CONFIGMAP, SUMMARY_KEY, FleetSummary
from sparket_operator.api.v1alpha1 import (
    ChainStanding,
    Condition,
    ConditionType,
    Phase,
    SparketMiner,
    SparketMinerStatus,
)
from sparket_operator.controller.fleet_cache import FleetCache
from sparket_operator.controller.metrics import OperatorMetrics
from sparket_operator.controller.summaries import SummaryPublisher
from sparket_operator.kube.api import resource_path
from sparket_operator.kube.memory import InMemoryKube
from sparket_operator.reconcile.fleet_summary import summarize
from sparket_operator.reconcile.runtime_report import RuntimeReport
from sparket_testkit.harness.operator_world import ALICE, miner

NOW = "2026-12-06T10:00:00Z"


def _condition(kind: ConditionType, status: str, reason: str = "R") -> Condition:
    return Condition(type=kind, status=status, reason=reason, last_transition_time=NOW)


def _status(
    *,
    phase: Phase = Phase.RUNNING,
    ready: str = TRUE,
    registered: tuple[str, str] = (TRUE, "Registered"),
    earning: tuple[str, str] = (TRUE, "Earning"),
    egress: str = "203.0.113.10",
    hotkey: str = "5Hot",
    per_day: float | None = 1.5,
    immunity: int | None = 0,
    uid: int | None = 3,
) -> SparketMinerStatus:
    return SparketMinerStatus(
        phase=phase,
        conditions=[
            _condition(ConditionType.READY, ready),
            _condition(ConditionType.REGISTERED, *registered),
            _condition(ConditionType.EARNING, *earning),
        ],
        hotkey=hotkey,
        egress_ip=egress,
        chain=ChainStanding(
            uid=uid, incentive=0.01, emission_alpha_per_day=per_day, immunity_blocks_left=immunity
        ),
    )


FLEET = {
    ("a", "m1"): _status(hotkey="5H1"),
    ("a", "m2"): _status(hotkey="5H2", per_day=0.5, immunity=300),
    ("a", "m3"): _status(
        hotkey="5H3",
        phase=Phase.DEGRADED,
        ready=FALSE,
        registered=(FALSE, "Deregistered"),
        earning=(FALSE, "Deregistered"),
        per_day=0.0,
        uid=None,
        egress="198.51.100.4",
    ),
    ("a", "m4"): _status(hotkey="5H4", earning=(FALSE, "NoIncentive"), per_day=0.0),
    ("b", "solo"): _status(earning=(UNKNOWN, "NotScoredYet"), immunity=5000),
}
REPORTS = {
    ("a", "m1"): RuntimeReport(throttled_by=("5HGjWAeF: rate_limited",)),
    ("a", "m2"): RuntimeReport(throttled_by=("5HGjWAeF: paused: cooldown", "5FLSigC9: banned")),
}


def test_a_summary_counts_standing_emission_validators_and_ips_per_namespace() -> None:
    summaries = summarize(FLEET, REPORTS)

    assert list(summaries) == ["a", "b"]
    a = summaries["a"]
    assert (a.miners, a.ready, a.registered, a.earning) == (4, 3, 3, 2)
    assert a.by_phase == {"Degraded": 1, "Running": 3}
    assert a.deregistered == ["m3"] and a.not_earning == ["m4"]
    assert a.emission_alpha_per_day == 2.0  # 1.5 + 0.5; the deregistered one is not counted
    assert [(i.miner, i.blocks_left) for i in a.immunity_ending] == [("m2", 300)]
    assert [(v.validator, v.miners, v.reasons) for v in a.failing_validators] == [
        ("5FLSigC9", 1, {"banned": 1}),
        ("5HGjWAeF", 2, {"paused: cooldown": 1, "rate_limited": 1}),
    ]
    assert [(e.ip, e.hotkeys, e.miners) for e in a.egress_ips] == [
        ("198.51.100.4", 1, ["m3"]),
        ("203.0.113.10", 3, ["m1", "m2", "m4"]),
    ]
    b = summaries["b"]
    assert (b.miners, b.earning, b.not_earning, b.immunity_ending) == (1, 0, [], [])


def _seen(cache: FleetCache, key: tuple[str, str], status: SparketMinerStatus) -> None:
    """The miner as the reconciler last published it (`miner_seen`, as after a status write)."""
    raw = miner(key[1], ALICE)
    raw["metadata"].update(namespace=key[0], uid=f"uid-{key[1]}")
    cache.miner_seen(
        SparketMiner.model_validate({**raw, "status": status.model_dump(by_alias=True)})
    )


def _cache() -> FleetCache:
    cache = FleetCache()
    for key, status in FLEET.items():
        _seen(cache, key, status)
    for key, report in REPORTS.items():
        cache.report_updated(key, report)
    return cache


async def test_the_summary_is_written_once_and_again_only_when_it_changes() -> None:
    kube, metrics = InMemoryKube(), OperatorMetrics()
    publisher = SummaryPublisher(api=kube, cache=_cache(), metrics=metrics)
    await publisher.publish_once()
    await publisher.publish_once()
    assert len(kube.writes) == 2  # one ConfigMap per namespace, once

    live = await kube.get(resource_path("v1", "ConfigMap", namespace="a", name=SUMMARY_CONFIGMAP))
    assert live is not None
    summary = FleetSummary.model_validate(json.loads(live["data"][SUMMARY_KEY]))
    assert summary.emission_alpha_per_day == 2.0 and summary.deregistered == ["m3"]

    # A restarted operator over the same fleet reads what is there and writes nothing.
    again = SummaryPublisher(api=kube, cache=_cache(), metrics=OperatorMetrics())
    await again.publish_once()
    assert len(kube.writes) == 2

    changed = _cache()
    _seen(changed, ("b", "solo"), _status(per_day=9.0))
    await SummaryPublisher(api=kube, cache=changed, metrics=metrics).publish_once()
    assert len(kube.writes) == 3

    # The last miner of "b" goes: its summary says so instead of keeping the old numbers.
    emptied = _cache()
    publisher_b = SummaryPublisher(api=kube, cache=emptied, metrics=OperatorMetrics())
    await publisher_b.publish_once()
    emptied.miner_deleted(("b", "solo"))
    await publisher_b.publish_once()
    live_b = await kube.get(resource_path("v1", "ConfigMap", namespace="b", name=SUMMARY_CONFIGMAP))
    assert live_b is not None
    assert json.loads(live_b["data"][SUMMARY_KEY])["miners"] == 0

    exposed = generate_latest(metrics.registry).decode()
    assert 'sparket_fleet_emission_alpha_per_day{namespace="a"} 2.0' in exposed
    assert 'sparket_fleet_miners{namespace="a",state="deregistered"} 1.0' in exposed
    assert (
        'sparket_fleet_hotkeys_per_egress_ip{egress_ip="203.0.113.10",namespace="a"} 3.0' in exposed
    )
