"""The contract every budget backend keeps (memory for one process, Redis for a fleet)."""

from __future__ import annotations

from typing import Protocol

from miner_runtime.budget.model import Ask, Decision


class BudgetCoordinator(Protocol):
    async def acquire(self, ask: Ask) -> Decision:
        """Reserve one request for `ask` against every budget at once, or refuse it.

        Refused while the (validator, egress IP) is paused; when the failure budget there
        is spent and this hotkey is not one that already failed; for a push while the
        token is unproven and another hotkey is the canary; or when the earliest slot is
        further out than the budgets' `max_wait_seconds`. A refusal reserves nothing."""
        ...

    async def pause(self, validator: str, egress_ip: str, seconds: float, reason: str) -> None:
        """Stop every hotkey on `egress_ip` from sending to `validator` for `seconds`.

        A pause never shortens a longer one already in force."""
        ...

    async def record_failure(self, validator: str, egress_ip: str, hotkey: str) -> int:
        """Remember that `hotkey` failed at `validator` from `egress_ip`; returns how many
        distinct hotkeys have failed there within the failure memory (24 h)."""
        ...

    async def record_token(self, validator: str, token: str) -> None:
        """A token `validator` pushed to any hotkey of the fleet: it serves them all."""
        ...

    async def token(self, validator: str) -> str | None:
        """The token to push to `validator` with; None when there is none, it is too old,
        or the validator rejected it (pushes wait for a different one)."""
        ...

    async def token_accepted(self, validator: str, token: str) -> None:
        """A push with `token` was accepted: the token is proven, every hotkey may push."""
        ...

    async def token_rejected(self, validator: str, token: str) -> None:
        """`validator` answered token_invalid for `token`: park pushes fleet-wide."""
        ...

    async def close(self) -> None: ...
