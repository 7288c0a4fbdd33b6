"""Budgets as rates, and the answers an acquire can give.

Pacing is GCRA (the generic cell rate algorithm): each budget keeps a theoretical arrival
time (TAT); a request may start once `TAT - tolerance` has passed and pushes the TAT one
`interval` further. So sends are spread one interval apart after at most `burst`
back-to-back ones. A plain sliding window of N/s lets queued requests pack two window
edges into one second (2N), which is what got a fleet's IP banned against the real
validator code; GCRA never lets more than `burst + seconds * rate` start in any span.

An acquire *reserves*: it answers "go after `wait` seconds" and the slot is held, so a
fleet asking together is queued one interval apart instead of bursting.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rate:
    """`per_second` sustained, at most `burst` back to back."""

    per_second: float
    burst: int = 1

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError(f"invalid rate {self.per_second}/s burst {self.burst}")

    @property
    def interval_ms(self) -> int:
        return max(1, round(1000.0 / self.per_second))

    @property
    def tolerance_ms(self) -> int:
        return (self.burst - 1) * self.interval_ms


@dataclass(frozen=True)
class Budgets:
    """Per validator. Defaults sit well inside validator-defences.md §1 and §13: a hotkey
    may make 5 requests/s and 60/min (we allow 50/min, at most 3 back to back, so never
    more than 4 in any second and 53 in any minute); the validator's global 100/s and
    2,000/min are shared with the whole subnet, so the fleet takes a fraction."""

    hotkey: Rate = field(default_factory=lambda: Rate(50 / 60, burst=3))
    egress_ip: Rate = field(default_factory=lambda: Rate(15.0, burst=4))
    fleet: Rate = field(default_factory=lambda: Rate(20.0, burst=4))
    # The booking horizon: a slot further out than this is refused instead, with a retry
    # for when it comes within reach. A long horizon lets a queue on one budget (a busy
    # egress IP) push the fleet's schedule far ahead and leave its nearer slots unused.
    max_wait_seconds: float = 1.0
    # The validator puts an IP in cooldown once 5 distinct hotkeys have failed from it
    # within 24 h. Once `failing_hotkeys_limit - 1` distinct hotkeys have failed on a
    # (validator, egress IP), only those may still send there: a new one could be the
    # `failing_hotkeys_limit`-th.
    failing_hotkeys_limit: int = 3
    failure_memory_seconds: float = 24 * 3600.0
    # A token older than this is not used (validator-defences.md §8: tokens live 2 h).
    token_max_age_seconds: float = 2 * 3600.0
    # While a token is unproven (new since the last accepted push), only the canary hotkey
    # of each (validator, egress IP) pushes; it stays canary while it asked within this.
    canary_lease_seconds: float = 120.0
    # How soon a hotkey waiting for the canary's answer (or for a token) should ask again.
    canary_retry_seconds: float = 0.25
    # One push in flight per (validator, egress IP): the lease outlasts a push's timeout
    # (12 s) in case its holder dies; others ask again this soon.
    push_lease_seconds: float = 15.0
    busy_retry_seconds: float = 0.01

    def rates(self) -> tuple[Rate, Rate, Rate]:
        """In the order the backends check them: fleet, egress IP, hotkey."""
        return (self.fleet, self.egress_ip, self.hotkey)


@dataclass(frozen=True)
class Ask:
    """One request a hotkey wants to send a validator from an egress IP."""

    validator: str
    hotkey: str
    egress_ip: str
    # A push (odds, outcomes) carries the validator's token; game-data requests do not.
    push: bool = False


@dataclass(frozen=True)
class Grant:
    """Send after sleeping `wait` seconds; the slot is reserved. For a push, `token` is the
    validator's token this hotkey may push with (a check just before sending confirms it),
    and `proving` says it is unproven and this hotkey is the canary: report the answer."""

    wait: float
    token: str | None = None
    proving: bool = False


class Rule(enum.StrEnum):
    """Which rule refused a request (a bounded set: it labels metrics)."""

    PAUSED = "paused"  # a 429, an internal error or an unreachable validator on this IP
    FAILURE_BUDGET = "failure_budget"  # limit - 1 distinct hotkeys failed here in 24 h
    NO_TOKEN = "no_token"  # a push without a usable token: none, too old, or rejected
    CANARY = "canary"  # the token is unproven and another hotkey is proving it
    BUSY = "busy"  # another hotkey's push to this validator from this IP is in flight
    BUDGET = "budget"  # the earliest slot is further out than max_wait_seconds


@dataclass(frozen=True)
class Denied:
    """Do not send; ask again after `retry_after` seconds. `rule` says which rule refused,
    `detail` the specifics (the pause's reason, the canary's hotkey, ...)."""

    retry_after: float
    rule: Rule
    detail: str = ""

    @property
    def reason(self) -> str:
        return f"{self.rule}: {self.detail}" if self.detail else str(self.rule)


Decision = Grant | Denied
