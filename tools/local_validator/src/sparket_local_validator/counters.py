"""Counters of what the defences did, for test assertions and a metrics endpoint.

Sparket itself only logs these events; a local validator exists to be observed, so each
outcome a miner could cause is counted in one place shared by the limiter, the security
manager, the front gate and the listener.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sparket_local_validator.failures import FailureType


@dataclass
class Counters:
    """Monotonic totals since this validator instance started."""

    failures: dict[FailureType, int] = field(default_factory=lambda: dict.fromkeys(FailureType, 0))
    hotkey_cooldowns_started: int = 0
    ip_cooldowns_started: int = 0
    violations: int = 0
    hotkey_bans: int = 0
    ip_bans: int = 0
    scanner_bans: int = 0
    forbidden_responses: int = 0
    cooldown_responses: int = 0
    requests_accepted: int = 0
    rate_limited: int = 0
    token_failures: int = 0

    def snapshot(self) -> dict[str, int]:
        """A flat name -> value view, e.g. for Prometheus-style text exposition."""
        flat = {f"failures_{kind.value}": count for kind, count in self.failures.items()}
        flat.update(
            hotkey_cooldowns_started=self.hotkey_cooldowns_started,
            ip_cooldowns_started=self.ip_cooldowns_started,
            violations=self.violations,
            hotkey_bans=self.hotkey_bans,
            ip_bans=self.ip_bans,
            scanner_bans=self.scanner_bans,
            forbidden_responses=self.forbidden_responses,
            cooldown_responses=self.cooldown_responses,
            requests_accepted=self.requests_accepted,
            rate_limited=self.rate_limited,
            token_failures=self.token_failures,
        )
        return flat
