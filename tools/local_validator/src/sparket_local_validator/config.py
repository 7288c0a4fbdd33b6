"""Every threshold of the defences, with the values a v0.0.5 validator actually uses.

Kept as frozen dataclasses so that a test can tighten one number without touching code,
while the defaults stay the effective ones (not the dead `RateLimitConfig` in Sparket's
`security/config.py`, whose figures the public miner docs print).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WindowLimit:
    """At most `limit` accepted requests in any rolling `window` seconds."""

    limit: int
    window: float


@dataclass(frozen=True)
class RateLimits:
    """The listener's rate limiter (`sparket/validator/utils/ratelimit.py`)."""

    hotkey_per_second: WindowLimit = WindowLimit(5, 1.0)
    hotkey_per_minute: WindowLimit = WindowLimit(60, 60.0)
    global_per_second: WindowLimit = WindowLimit(100, 1.0)
    global_per_minute: WindowLimit = WindowLimit(2000, 60.0)


@dataclass(frozen=True)
class SecurityConfig:
    """The default `SecurityConfig()` the validator builds; nothing overrides it."""

    hotkey_failure_threshold: int = 10
    """Failures in the rolling hotkey window that (re)trigger a hotkey cooldown."""
    hotkey_failure_window_sec: float = 60.0
    """Hard-coded in `record_failure`, not configurable in Sparket."""
    hotkey_initial_cooldown_sec: float = 30.0
    hotkey_max_cooldown_sec: float = 3600.0
    backoff_multiplier: float = 2.0
    """`hotkey_backoff_multiplier`; the IP cooldown uses it too."""
    ip_failure_threshold: int = 50
    ip_failure_window_sec: float = 300.0
    ip_distinct_hotkey_threshold: int = 5
    """Distinct hotkeys that ever failed from one IP; the set is never pruned."""
    ip_initial_cooldown_sec: float = 60.0
    ip_max_cooldown_sec: float = 3600.0
    fail2ban_violation_threshold: int = 20
    fail2ban_violation_window_sec: float = 3600.0
    fail2ban_duration_sec: float = 86400.0
    failure_retention_sec: float = 86400.0
    """Failures and violations older than this are dropped at cleanup."""
    cleanup_interval_sec: float = 300.0


DEFAULT_TOKEN_ROTATION_SEC = 3600
MIN_TOKEN_ROTATION_SEC = 60
