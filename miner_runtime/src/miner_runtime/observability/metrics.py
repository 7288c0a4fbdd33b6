"""Prometheus metrics of one runtime, in a registry of its own (no global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class RuntimeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "sparket_miner_validator_requests",
            "Requests to validators by message type and reply kind",
            ["message", "validator", "reply"],
            registry=self.registry,
        )
        self.markets_submitted = Counter(
            "sparket_miner_markets_submitted",
            "Markets sent in odds pushes the validator accepted",
            ["validator"],
            registry=self.registry,
        )
        self.markets_skipped = Counter(
            "sparket_miner_markets_skipped",
            "Markets not sent, by reason (unchanged, capped, same_bucket, ...)",
            ["reason"],
            registry=self.registry,
        )
        self.game_data_skipped = Counter(
            "sparket_miner_game_data_skipped",
            "Games and markets in game-data replies that were skipped, by reason "
            "(unknown_league, unknown_sport, unknown_kind, malformed_game, malformed_market, "
            "malformed_snapshot); counted at every sync",
            ["reason"],
            registry=self.registry,
        )
        self.active_markets = Gauge(
            "sparket_miner_active_markets",
            "Markets the validators take odds for (start within 7 days)",
            registry=self.registry,
        )
        self.validators = Gauge(
            "sparket_miner_validators",
            "Permitted validators with a served axon, and how many have a usable token",
            ["state"],
            registry=self.registry,
        )
        self.paused_seconds = Gauge(
            "sparket_miner_validator_pause_seconds",
            "Seconds left before we may send to a validator again",
            ["validator"],
            registry=self.registry,
        )
        self.budget_refusals = Counter(
            "sparket_miner_budget_refusals",
            "Requests the fleet's budgets held back, by rule (paused, failure_budget, "
            "no_token, steered, busy, budget)",
            ["validator", "rule"],
            registry=self.registry,
        )
        self.budget_wait_seconds = Histogram(
            "sparket_miner_budget_wait_seconds",
            "How long a granted request waited for its slot",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=self.registry,
        )
        self.failing_hotkeys = Gauge(
            "sparket_miner_failing_hotkeys",
            "Distinct hotkeys of our egress IP a validator counts failures against (its life)",
            ["validator"],
            registry=self.registry,
        )
        self.validator_restarts = Counter(
            "sparket_miner_validator_restarts_seen",
            "Validator restarts this hotkey proved (a proven token rejected within its epoch)",
            ["validator"],
            registry=self.registry,
        )
        self.odds_rounds_skipped = Counter(
            "sparket_miner_odds_rounds_skipped",
            "Odds rounds not started for a validator because its previous round still ran",
            ["validator"],
            registry=self.registry,
        )
        self.budget_store_degraded = Gauge(
            "sparket_miner_budget_store_degraded",
            "1 while the shared budget store cannot answer and the local share applies",
            registry=self.registry,
        )
        self.registered = Gauge(
            "sparket_miner_registered",
            "1 when our hotkey is registered on the subnet",
            registry=self.registry,
        )
        self.deregistered = Gauge(
            "sparket_miner_deregistered",
            "1 after our hotkey was found gone from the subnet it was registered on",
            registry=self.registry,
        )
        self.incentive = Gauge(
            "sparket_miner_incentive",
            "Our incentive at the last epoch (0..1; 0 while not registered)",
            registry=self.registry,
        )
        self.consensus = Gauge(
            "sparket_miner_consensus",
            "Our consensus at the last epoch (0..1)",
            registry=self.registry,
        )
        self.emission_per_day = Gauge(
            "sparket_miner_emission_alpha_per_day",
            "Our emission, alpha a day at the last epoch's rate",
            registry=self.registry,
        )
        self.immunity_blocks_left = Gauge(
            "sparket_miner_immunity_blocks_left",
            "Blocks before our registration's immunity ends (0: ended)",
            registry=self.registry,
        )
        self.standing_block = Gauge(
            "sparket_miner_chain_standing_block",
            "The block our standing was last read at (its age shows as it stops moving)",
            registry=self.registry,
        )
        self.quotes_dropped = Counter(
            "sparket_miner_pricing_quotes_dropped",
            "Quotes from the pricing engine that failed validation and were not sent",
            ["engine"],
            registry=self.registry,
        )
        self.pricing_degraded = Gauge(
            "sparket_miner_pricing_degraded",
            "1 while the pricing engine lacks data it should have (see /status pricing.reasons)",
            registry=self.registry,
        )
        self.cycle_seconds = Histogram(
            "sparket_miner_odds_cycle_seconds",
            "Wall time of one odds cycle",
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
            registry=self.registry,
        )
