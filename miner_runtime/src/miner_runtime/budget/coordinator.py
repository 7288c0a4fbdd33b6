"""The contract every budget backend keeps (memory for one process, Redis for a fleet)."""

from __future__ import annotations

from typing import Protocol

from miner_runtime.budget.model import Ask, Decision


class BudgetCoordinator(Protocol):
    async def acquire(self, ask: Ask) -> Decision:
        """Reserve one request for `ask` against every budget at once, or refuse it.

        Refused while the (validator, egress IP) is paused, or when the earliest slot is
        further out than the budgets' `max_wait_seconds`; a refusal reserves nothing."""
        ...

    async def pause(self, validator: str, egress_ip: str, seconds: float, reason: str) -> None:
        """Stop every hotkey on `egress_ip` from sending to `validator` for `seconds`.

        A pause never shortens a longer one already in force."""
        ...

    async def close(self) -> None: ...
