"""What the security middleware answers: allow, 403 or 429, with Sparket's exact bodies.

The wording is part of the contract: a bittensor Dendrite keeps only the HTTP status and
the JSON `message`, so a miner can react only to these strings (docs/protocol.md §4), including the
odd "Try again in 30s seconds".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ForbiddenError = Literal["hotkey_blacklisted", "ip_blacklisted", "not_registered", "forbidden"]
CooldownError = Literal["hotkey_cooldown", "ip_cooldown"]

BLACKLISTED_MESSAGE = "Your hotkey or IP has been blacklisted due to repeated violations"
NOT_REGISTERED_MESSAGE = "Your hotkey is not registered on the subnet metagraph"
SCANNER_MESSAGE = "Access denied"


@dataclass(frozen=True)
class Allow:
    """The request may go on to signature checks and the listener."""

    status: None = None


@dataclass(frozen=True)
class Forbidden:
    """403: blacklisted, unregistered, or a scanner probe. Never a violation."""

    error: ForbiddenError
    status: Literal[403] = 403

    @property
    def message(self) -> str:
        if self.error == "not_registered":
            return NOT_REGISTERED_MESSAGE
        if self.error == "forbidden":
            return SCANNER_MESSAGE
        return BLACKLISTED_MESSAGE

    def body(self) -> dict[str, object]:
        return {"success": False, "error": self.error, "message": self.message}

    def headers(self) -> dict[str, str]:
        return {}


@dataclass(frozen=True)
class Cooldown:
    """429: the hotkey or the IP is cooling down; each one is a fail2ban violation."""

    error: CooldownError
    remaining: float
    status: Literal[429] = 429

    @property
    def seconds_text(self) -> str:
        """Remaining time as Sparket formats it: `%.0f` (round half to even, may be 0)."""
        return f"{self.remaining:.0f}"

    @property
    def retry_after(self) -> int:
        return int(self.seconds_text)

    @property
    def message(self) -> str:
        return f"You are in cooldown. Try again in {self.seconds_text}s seconds"

    def body(self) -> dict[str, object]:
        return {
            "success": False,
            "error": self.error,
            "message": self.message,
            "retry_after": self.retry_after,
            "cooldown_type": self.error,
            "cooldown_remaining_seconds": self.retry_after,
        }

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


Decision = Allow | Forbidden | Cooldown
