"""Every way a validator can answer, turned into one typed result.

Through a bittensor 10.1.0 Dendrite (with `deserialize=False`) the miner sees:
- HTTP 200 with the validator's payload: `{"success": true, ...}` (accepted; note that
  "accepted" does not mean stored), or `{"success": false, "error": code, "message": ...}`
  (rate_limited, token_invalid, not_ready, unknown_type, internal_error), or, for game
  data, a snapshot or a bare `{"error": ...}`;
- HTTP 429 from the security middleware: only the status and the message
  "You are in cooldown. Try again in Ns seconds" survive (Retry-After is dropped);
- HTTP 403: banned or not registered;
- 408/503 and the like: timeout or unreachable. These are never success, even though the
  Dendrite hands back the *request* payload unchanged (the reference miner's bug).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# Errors the validator's listener records as a failure against the hotkey and its IP.
PENALISED_ERRORS = frozenset(
    {"rate_limited", "token_invalid", "token_missing", "unknown_type", "internal_error"}
)
_COOLDOWN_WAIT = re.compile(r"try again in\s+(\d+(?:\.\d+)?)\s*s", re.IGNORECASE)
# What a bittensor 10 Dendrite says when it could not connect at all (never delivered).
CONNECT_FAILED = "Service unavailable at "
# When a 429 arrives without a readable wait, assume the longest cooldown there is.
MAX_COOLDOWN_SECONDS = 3600.0


class ReplyKind(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"  # HTTP 200, success false (or a bare error)
    COOLDOWN = "cooldown"  # HTTP 429
    FORBIDDEN = "forbidden"  # HTTP 403
    UNREACHABLE = "unreachable"  # timeout, connection error, 5xx, no answer
    PROTOCOL_ERROR = "protocol_error"  # 400/401/404/500 from bittensor: our bug, not theirs


@dataclass(frozen=True)
class Reply:
    """One validator's answer to one request."""

    kind: ReplyKind
    status_code: int | None
    error: str | None = None
    message: str | None = None
    payload: dict[str, Any] | None = None
    # For COOLDOWN: how long every hotkey on this egress IP must wait (stated N + 1 s).
    wait_seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.kind is ReplyKind.ACCEPTED

    @property
    def counted_as_failure(self) -> bool:
        """True when the validator filed this against the hotkey and IP (cooldown fuel)."""
        return self.kind is ReplyKind.REJECTED and self.error in PENALISED_ERRORS

    @property
    def banned(self) -> bool:
        return self.kind is ReplyKind.FORBIDDEN and self.error == "blacklisted"

    @property
    def never_delivered(self) -> bool:
        """The connection itself failed (refused, no route: a validator restarting), so the
        request never reached it. bittensor 10 maps exactly `aiohttp.ClientConnectorError`
        to 503 "Service unavailable at <ip>:<port>/<name>"; a dropped connection ("Service
        disconnected") or a timeout may have been processed and is not this."""
        return (
            self.kind is ReplyKind.UNREACHABLE
            and self.status_code == 503
            and (self.message or "").startswith(CONNECT_FAILED)
        )


def cooldown_wait(message: str | None) -> float:
    """Seconds to wait after a 429: the stated N + 1 (N is rounded and may read 0)."""
    match = _COOLDOWN_WAIT.search(message or "")
    if not match:
        return MAX_COOLDOWN_SECONDS + 1.0
    stated = float(match.group(1))
    if not math.isfinite(stated):
        return MAX_COOLDOWN_SECONDS + 1.0
    return min(stated, MAX_COOLDOWN_SECONDS) + 1.0


def _forbidden_reason(message: str | None) -> str:
    text = (message or "").lower()
    if "not registered" in text:
        return "not_registered"
    if "blacklist" in text:
        return "blacklisted"
    return "forbidden"


def classify(
    *, status_code: int | None, status_message: str | None, payload: Any, expect_games: bool
) -> Reply:
    """Turn what the Dendrite saw into a `Reply`. Pure; the only place this is decided."""
    if status_code == 200:
        if not isinstance(payload, dict):
            return Reply(ReplyKind.REJECTED, 200, "invalid_reply", "reply payload is not a dict")
        if payload.get("success") is False or "error" in payload:
            return Reply(
                ReplyKind.REJECTED,
                200,
                str(payload.get("error") or "unknown"),
                str(payload.get("message") or ""),
                payload,
            )
        if expect_games and not isinstance(payload.get("games"), list):
            return Reply(ReplyKind.REJECTED, 200, "invalid_reply", "no games in reply", payload)
        if not expect_games and payload.get("success") is not True:
            return Reply(ReplyKind.REJECTED, 200, "invalid_reply", "no success flag", payload)
        return Reply(ReplyKind.ACCEPTED, 200, payload=payload)
    if status_code == 429:
        return Reply(
            ReplyKind.COOLDOWN,
            429,
            "cooldown",
            status_message,
            wait_seconds=cooldown_wait(status_message),
        )
    if status_code == 403:
        return Reply(ReplyKind.FORBIDDEN, 403, _forbidden_reason(status_message), status_message)
    if status_code in (400, 401, 404, 500):
        return Reply(ReplyKind.PROTOCOL_ERROR, status_code, "protocol_error", status_message)
    return Reply(ReplyKind.UNREACHABLE, status_code, "unreachable", status_message)
