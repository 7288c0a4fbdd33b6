"""When we may talk to a validator again, decided from its last reply. Pure.

Every rule follows docs/validator-facts.md: a 429 means every request in the wait is a
fail2ban violation, so every hotkey on the egress IP waits the stated N + 1 s and never
less (the reference miner's 5-60 s cap walked into 24 h bans); a penalised error means
slow down before the hotkey's ten-failures-a-minute cooldown; `not_ready` costs nothing but
is retried gently. Whether a penalty binds one hotkey or the whole egress IP is decided
here too; the work gate (gate.py) shares the latter through the fleet's budget store.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from miner_runtime.validator_client.replies import Reply, ReplyKind

NOT_READY_FIRST = 5.0
NOT_READY_MAX = 60.0
# After a penalised error (rate_limited, internal_error, unknown_type, ...): one minute is
# the validator's failure window, so at most one such failure per window from us.
PENALISED_PAUSE = 60.0
# Unreachable or timed out: costs nothing at the validator, and it may only be restarting;
# the whole egress IP waits this long, so the fleet probes it once, not once per hotkey.
UNREACHABLE_PAUSE = 2.0
PROTOCOL_ERROR_PAUSE = 300.0
# 403: a ban lasts 24 h; "not registered" lasts until the validator's next metagraph sync
# (about 20 min). Neither costs anything more, but neither is worth retrying soon.
BANNED_PAUSE = 3600.0
NOT_REGISTERED_PAUSE = 600.0


@dataclass(frozen=True)
class Pause:
    until: dt.datetime
    reason: str

    def remaining(self, now: dt.datetime) -> float:
        return max(0.0, (self.until - now).total_seconds())


@dataclass(frozen=True)
class Penalty:
    """Leave a validator alone for `seconds`. `shared`: every hotkey on the egress IP must,
    not only the one that was answered (docs/validator-facts.md, "Violations and bans")."""

    seconds: float
    reason: str
    shared: bool = False


def _global_limit(reply: Reply) -> bool:
    return reply.error == "rate_limited" and "global" in (reply.message or "")


def penalty_for(reply: Reply, not_ready_streak: int) -> Penalty | None:
    """How long to leave a validator alone after `reply`, why, and who must; None for none.

    Shared: a 429 (the Dendrite cannot tell a hotkey cooldown from an IP one), an internal
    error or a global rate limit (validator-side trouble, charged to whoever asked next),
    and an unreachable validator (briefly: one hotkey finding out is enough). Everything
    else is about this hotkey alone."""
    if reply.kind is ReplyKind.ACCEPTED:
        return None
    if reply.kind is ReplyKind.COOLDOWN:
        assert reply.wait_seconds is not None
        return Penalty(reply.wait_seconds, "cooldown", shared=True)
    if reply.kind is ReplyKind.FORBIDDEN:
        if reply.error == "not_registered":
            return Penalty(NOT_REGISTERED_PAUSE, "not_registered")
        return Penalty(BANNED_PAUSE, reply.error or "forbidden")
    if reply.kind is ReplyKind.UNREACHABLE:
        return Penalty(UNREACHABLE_PAUSE, "unreachable", shared=True)
    if reply.kind is ReplyKind.PROTOCOL_ERROR:
        return Penalty(PROTOCOL_ERROR_PAUSE, "protocol_error")
    if reply.error == "not_ready":
        return Penalty(min(NOT_READY_FIRST * 2**not_ready_streak, NOT_READY_MAX), "not_ready")
    if reply.error in ("token_invalid", "token_missing"):
        return None  # handled by parking the token fleet-wide, not by time
    shared = reply.error == "internal_error" or _global_limit(reply)
    return Penalty(PENALISED_PAUSE, reply.error or "rejected", shared=shared)


class Backoff:
    """Per-validator pauses for one hotkey. Shared penalties are kept here as well as in
    the fleet's store, so this hotkey holds back even if the store forgets them."""

    def __init__(self) -> None:
        self._pauses: dict[str, Pause] = {}
        self._not_ready: dict[str, int] = {}

    def observe(self, validator_hotkey: str, reply: Reply, now: dt.datetime) -> Penalty | None:
        """Record a reply; returns the penalty it carries, if any."""
        if reply.kind is ReplyKind.ACCEPTED:
            self._not_ready.pop(validator_hotkey, None)
            return None
        streak = self._not_ready.get(validator_hotkey, 0)
        penalty = penalty_for(reply, streak)
        if reply.error == "not_ready":
            self._not_ready[validator_hotkey] = streak + 1
        if penalty is None:
            return None
        pause = Pause(now + dt.timedelta(seconds=penalty.seconds), penalty.reason)
        current = self._pauses.get(validator_hotkey)
        if current is None or pause.until > current.until:
            self._pauses[validator_hotkey] = pause
        return penalty

    def paused(self, validator_hotkey: str, now: dt.datetime) -> Pause | None:
        pause = self._pauses.get(validator_hotkey)
        if pause is None or pause.until <= now:
            return None
        return pause
