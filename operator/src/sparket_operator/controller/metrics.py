"""The operator's own Prometheus metrics, each defined once, on a private registry."""

from __future__ import annotations

from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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

    def count_write(self, verb: str, kind: str) -> None:
        self.api_writes.labels(verb, kind).inc()

    def set_phases(self, phases: Tally[str]) -> None:
        for phase in Phase:
            self.miners.labels(phase.value).set(phases.get(phase.value, 0))
