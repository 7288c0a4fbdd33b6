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
    """Per validator. Defaults sit well inside docs/validator-facts.md "Rate limits": a hotkey
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
    # The failure budget (docs/decisions.md § Fleet budgets, "failure memory"). The
    # validator puts an IP in cooldown once 5 distinct hotkeys have failed from it within
    # one process's life (validator-facts.md § Failures). Once `failing_hotkeys_limit`
    # distinct hotkeys have failed on a (validator, egress IP) in the validator's current
    # life, only those may still send there: one more would be the validator's 5th.
    failing_hotkeys_limit: int = 4
    # Our memory of a failure is never longer than the validator's: 24 h, or until the
    # evidence of a restart (the validator forgets everything but bans when it restarts).
    failure_memory_seconds: float = 24 * 3600.0
    # Tokens are HMAC(secret, floor(t / rotation)); the validator accepts the current and
    # the previous epoch, so a token received in epoch E is good until the end of E + 1.
    token_rotation_seconds: float = 3600.0
    # How late a token may be seen after the validator took it for a CONNECTION_INFO round
    # (the round's delivery time) plus the clock skew between Redis, which dates sightings,
    # and the validator: the epoch is taken from `last seen - skew`, the token retired
    # `skew` early.
    token_clock_skew_seconds: float = 60.0
    # How soon a push without a usable token asks again (it is not waited out: a new token
    # brings a catch-up of its own).
    no_token_retry_seconds: float = 1.0
    # While a token is unproven (no push accepted with it yet), the push that tries it may
    # fail; it is steered to a hotkey the validator already counts as failing on this IP,
    # if any: other hotkeys wait up to this long for one of those to try it first.
    steer_seconds: float = 3.0
    # How soon a hotkey held back by steering should ask again.
    steer_retry_seconds: float = 0.1
    # One push in flight per (validator, egress IP), covering the send and what its reply
    # teaches; the lease outlasts a push's timeout (12 s) in case its holder dies.
    push_lease_seconds: float = 15.0
    busy_retry_seconds: float = 0.01

    def __post_init__(self) -> None:
        if self.token_clock_skew_seconds * 4 > self.token_rotation_seconds:
            raise ValueError("token_clock_skew_seconds must be at most a quarter of the rotation")

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
    and `proving` says no push with it was accepted yet: its answer proves or parks it."""

    wait: float
    token: str | None = None
    proving: bool = False


class Rule(enum.StrEnum):
    """Which rule refused a request (a bounded set: it labels metrics)."""

    PAUSED = "paused"  # a 429, an internal error or an unreachable validator on this IP
    FAILURE_BUDGET = "failure_budget"  # `limit` hotkeys failed here in the validator's life
    NO_TOKEN = "no_token"  # a push without a usable token: none, past its epoch, or rejected
    STEERED = "steered"  # an unproven token: a hotkey the validator counts tries it first
    BUSY = "busy"  # another hotkey's push to this validator from this IP is in flight
    STORE_DOWN = "store_down"  # a push while the shared store cannot answer: it waits
    BUDGET = "budget"  # the earliest slot is further out than max_wait_seconds


@dataclass(frozen=True)
class Denied:
    """Do not send; ask again after `retry_after` seconds. `rule` says which rule refused,
    `detail` the specifics (the pause's reason, the lease holder, ...)."""

    retry_after: float
    rule: Rule
    detail: str = ""

    @property
    def reason(self) -> str:
        return f"{self.rule}: {self.detail}" if self.detail else str(self.rule)


Decision = Grant | Denied


@dataclass(frozen=True)
class FailureMemory:
    """What the fleet remembers of a validator after a failure: how many distinct hotkeys
    failed on this egress IP in the validator's current life, and whether this failure was
    the evidence of a restart (a new life: the validator forgot every earlier failure)."""

    distinct: int
    restarted: bool = False


def token_expires_ms(seen_ms: int, rotation_ms: int, skew_ms: int) -> int:
    """When a token last seen at `seen_ms` stops being accepted, with `skew_ms` spared on
    both sides. A sighting proves the token was current when its CONNECTION_INFO round
    began, at most `skew` earlier (the round's delivery, our clock ahead of the
    validator's): its epoch E is at least that of `seen - skew`. The validator accepts
    epochs E and E - 1, so the token lives until (E + 2) x rotation, less `skew` for the
    validator's clock ahead of ours. A later sighting of the same token proves a later
    epoch: it is re-dated by every re-delivery (budget/lua/token.lua computes the same)."""
    epoch = (seen_ms - skew_ms) // rotation_ms
    return (epoch + 2) * rotation_ms - skew_ms
