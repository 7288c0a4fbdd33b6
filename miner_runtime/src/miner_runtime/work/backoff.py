"""When we may talk to a validator again, decided from its last reply. Pure.

Every rule follows validator-defences.md: a 429 means every request in the wait is a
fail2ban violation, so we wait the stated N + 1 s and never less (the reference miner's
5-60 s cap walked into 24 h bans); a penalised error means slow down before the hotkey's
ten-failures-a-minute cooldown; `not_ready` costs nothing but is retried gently.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from miner_runtime.validator.replies import Reply, ReplyKind

NOT_READY_FIRST = 5.0
NOT_READY_MAX = 60.0
# After a penalised error (rate_limited, internal_error, unknown_type, ...): one minute is
# the validator's failure window, so at most one such failure per window from us.
PENALISED_PAUSE = 60.0
UNREACHABLE_PAUSE = 30.0
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


def pause_seconds(reply: Reply, not_ready_streak: int) -> tuple[float, str] | None:
    """How long to leave a validator alone after `reply`, and why; None for no pause."""
    if reply.kind is ReplyKind.ACCEPTED:
        return None
    if reply.kind is ReplyKind.COOLDOWN:
        assert reply.wait_seconds is not None
        return reply.wait_seconds, "cooldown"
    if reply.kind is ReplyKind.FORBIDDEN:
        if reply.error == "not_registered":
            return NOT_REGISTERED_PAUSE, "not_registered"
        return BANNED_PAUSE, reply.error or "forbidden"
    if reply.kind is ReplyKind.UNREACHABLE:
        return UNREACHABLE_PAUSE, "unreachable"
    if reply.kind is ReplyKind.PROTOCOL_ERROR:
        return PROTOCOL_ERROR_PAUSE, "protocol_error"
    if reply.error == "not_ready":
        return min(NOT_READY_FIRST * 2**not_ready_streak, NOT_READY_MAX), "not_ready"
    if reply.error == "token_invalid":
        return None  # handled by parking the token, not by time
    return PENALISED_PAUSE, reply.error or "rejected"


class Backoff:
    """Per-validator pauses for one hotkey (issue 5 shares them across the egress IP)."""

    def __init__(self) -> None:
        self._pauses: dict[str, Pause] = {}
        self._not_ready: dict[str, int] = {}

    def observe(self, validator_hotkey: str, reply: Reply, now: dt.datetime) -> Pause | None:
        """Record a reply; returns the new pause if one starts."""
        if reply.kind is ReplyKind.ACCEPTED:
            self._not_ready.pop(validator_hotkey, None)
            return None
        streak = self._not_ready.get(validator_hotkey, 0)
        decided = pause_seconds(reply, streak)
        if reply.error == "not_ready":
            self._not_ready[validator_hotkey] = streak + 1
        if decided is None:
            return None
        seconds, reason = decided
        pause = Pause(now + dt.timedelta(seconds=seconds), reason)
        current = self._pauses.get(validator_hotkey)
        if current is None or pause.until > current.until:
            self._pauses[validator_hotkey] = pause
        return self._pauses[validator_hotkey]

    def paused(self, validator_hotkey: str, now: dt.datetime) -> Pause | None:
        pause = self._pauses.get(validator_hotkey)
        if pause is None or pause.until <= now:
            return None
        return pause

    def snapshot(self, now: dt.datetime) -> dict[str, Pause]:
        return {v: p for v, p in self._pauses.items() if p.until > now}
