"""The contract every budget backend keeps (memory for one process, Redis for a fleet)."""

from __future__ import annotations

from typing import Protocol

from miner_runtime.budget.model import Ask, Decision


class BudgetCoordinator(Protocol):
    @property
    def degraded(self) -> bool:
        """True while a shared store cannot answer and a conservative local share applies."""
        ...

    async def acquire(self, ask: Ask) -> Decision:
        """Reserve one request for `ask` against every budget at once, or refuse it.

        Refused while the (validator, egress IP) is paused; when the failure budget there
        is spent and this hotkey is not one that already failed; for a push without a
        usable token, or while the token is unproven and another hotkey is the canary; or
        when the earliest slot is further out than the budgets' `max_wait_seconds`. A
        refusal reserves nothing. A grant for a push carries the token."""
        ...

    async def check(self, ask: Ask) -> Decision:
        """The same gates as `acquire` (pause, failure budget, token, canary) without the
        budgets, reserving nothing: run just before a request leaves, because a 429 or a
        validator restart seen by a neighbour meanwhile must stop it. A push also takes
        the (validator, egress IP) push lease: refused as `busy` while another hotkey's
        push is in flight there. Grants `Grant(0, token, proving)`."""
        ...

    async def release(self, validator: str, egress_ip: str, hotkey: str) -> None:
        """Give back the push lease `check` gave `hotkey` (after the reply was learnt)."""
        ...

    async def await_release(self, validator: str, egress_ip: str, at_most: float) -> None:
        """Wait (without polling) until a push lease on (validator, IP) is given back, or
        `at_most` seconds (a backend may cap it); then ask `check` again."""
        ...

    async def pause(self, validator: str, egress_ip: str, seconds: float, reason: str) -> None:
        """Stop every hotkey on `egress_ip` from sending to `validator` for `seconds`.

        A pause never shortens a longer one already in force."""
        ...

    async def record_failure(self, validator: str, egress_ip: str, hotkey: str) -> int:
        """Remember that `hotkey` failed at `validator` from `egress_ip`; returns how many
        distinct hotkeys have failed there within the failure memory (24 h)."""
        ...

    async def record_token(self, validator: str, token: str, age_seconds: float = 0.0) -> None:
        """A token `validator` pushed to any hotkey of the fleet, first seen `age_seconds`
        ago: it serves them all. The token already held keeps its first-seen time; an older
        sighting never replaces a newer token."""
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

    async def token_suspect(self, validator: str) -> None:
        """The token may be stale (the validator was unreachable: it may be restarting):
        it is unproven again, so only the canary pushes until a push is accepted."""
        ...

    async def close(self) -> None: ...
