"""The operator's own Prometheus metrics, each defined once, on a private registry."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from sparket_operator.api.fleet_summary import FleetSummary
from sparket_operator.api.v1alpha1 import Phase


class OperatorMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.reconciles = Counter(
            "sparket_operator_reconciles_total",
            "Reconciles by result (ok, requeued, conflict, error).",
            ["result"],
            registry=self.registry,
        )
        self.reconcile_seconds = Histogram(
            "sparket_operator_reconcile_seconds",
            "Wall time of one reconcile.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.api_writes = Counter(
            "sparket_operator_api_writes_total",
            "Write calls to the API server by verb and kind.",
            ["verb", "kind"],
            registry=self.registry,
        )
        self.miners = Gauge(
            "sparket_operator_miners", "SparketMiners by phase.", ["phase"], registry=self.registry
        )
        self.queue_depth = Gauge(
            "sparket_operator_queue_depth", "Miner keys waiting.", registry=self.registry
        )
        self.rolling = Gauge(
            "sparket_operator_rolling_miners",
            "Available miners currently taken down by a rollout.",
            registry=self.registry,
        )
        self.status_polls = Counter(
            "sparket_operator_status_polls_total",
            "Runtime /status polls by result (ok, error).",
            ["result"],
            registry=self.registry,
        )

        self.fleet_miners = Gauge(
            "sparket_fleet_miners",
            "Miners per namespace by standing (ready, registered, earning, deregistered).",
            ["namespace", "state"],
            registry=self.registry,
        )
        self.fleet_emission = Gauge(
            "sparket_fleet_emission_alpha_per_day",
            "The namespace's miners' emission, alpha a day at the last epochs' rate.",
            ["namespace"],
            registry=self.registry,
        )
        self.fleet_hotkeys_per_ip = Gauge(
            "sparket_fleet_hotkeys_per_egress_ip",
            "Hotkeys sharing an egress IP (they share every validator's per-IP limits).",
            ["namespace", "egress_ip"],
            registry=self.registry,
        )
        self.fleet_failing_validators = Gauge(
            "sparket_fleet_failing_validators",
            "Validators some of the namespace's miners are held back from.",
            ["namespace"],
            registry=self.registry,
        )

    def show_fleet(self, summaries: Iterable[FleetSummary]) -> None:
        """The fleet gauges; series of namespaces and IPs no longer in use are dropped."""
        for gauge in (
            self.fleet_miners,
            self.fleet_emission,
            self.fleet_hotkeys_per_ip,
            self.fleet_failing_validators,
        ):
            gauge.clear()
        for s in summaries:
            counts = {
                "total": s.miners,
                "ready": s.ready,
                "registered": s.registered,
                "earning": s.earning,
                "deregistered": len(s.deregistered),
            }
            for state, value in counts.items():
                self.fleet_miners.labels(s.namespace, state).set(value)
            self.fleet_emission.labels(s.namespace).set(s.emission_alpha_per_day)
            self.fleet_failing_validators.labels(s.namespace).set(len(s.failing_validators))
            for use in s.egress_ips:
                self.fleet_hotkeys_per_ip.labels(s.namespace, use.ip).set(use.hotkeys)

    def count_write(self, verb: str, kind: str) -> None:
        self.api_writes.labels(verb, kind).inc()

    def set_phases(self, phases: Tally[str]) -> None:
        for phase in Phase:
            self.miners.labels(phase.value).set(phases.get(phase.value, 0))
