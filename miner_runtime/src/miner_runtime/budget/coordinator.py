"""The contract every budget backend keeps (memory for one process, Redis for a fleet)."""

from __future__ import annotations

from typing import Protocol

from miner_runtime.budget.model import Ask, Decision, FailureMemory


class BudgetCoordinator(Protocol):
    @property
    def degraded(self) -> bool:
        """True while a shared store cannot answer and a conservative local share applies."""
        ...

    async def acquire(self, ask: Ask) -> Decision:
        """Reserve one request for `ask` against every budget at once, or refuse it.

        Refused while the (validator, egress IP) is paused; when `failing_hotkeys_limit`
        hotkeys failed there in the validator's current life and this hotkey is not one of
        them; for a push without a usable token (none, past its epoch, or rejected); or when
        the earliest slot is further out than `max_wait_seconds`. A refusal reserves
        nothing. A grant for a push carries the token and whether it is still unproven."""
        ...

    async def check(self, ask: Ask) -> Decision:
        """The same gates as `acquire` without the budgets, reserving nothing: run just
        before a planned request leaves, because a 429 or a validator restart seen by a
        neighbour meanwhile must stop it. A push also passes steering (an unproven token is
        tried first by a hotkey the validator already counts as failing on this IP, if any,
        for up to `steer_seconds`) and takes the (validator, egress IP) push lease: refused
        as `busy` while another hotkey's push is in flight there."""
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

    async def record_failure(
        self, validator: str, egress_ip: str, hotkey: str, rejected_token: str | None = None
    ) -> FailureMemory:
        """Remember that `hotkey` failed at `validator` from `egress_ip`. `rejected_token`:
        the token the validator called invalid, which parks it fleet-wide (no pushes until
        a different one arrives); if a push was accepted with it and it is still within its
        validity, the validator has restarted and forgotten every earlier failure, so a new
        life begins with this one."""
        ...

    async def record_token(self, validator: str, token: str, age_seconds: float = 0.0) -> None:
        """A token `validator` pushed to any hotkey of the fleet, first seen `age_seconds`
        ago: it serves them all until the end of the epoch after the one it was first seen
        in. The token already held keeps its first sighting; an older sighting never
        replaces a newer token."""
        ...

    async def token(self, validator: str) -> str | None:
        """The token to push to `validator` with; None when there is none, it is past its
        validity, or the validator rejected it (pushes wait for a different one)."""
        ...

    async def token_accepted(self, validator: str, token: str) -> None:
        """A push with `token` was accepted: the token is proven, and a later rejection of
        it within its validity is the evidence of a restart."""
        ...

    async def token_suspect(self, validator: str) -> None:
        """The token may be stale (the validator was unreachable: it may be restarting):
        it is unproven again, so its next push may fail and is steered."""
        ...

    async def close(self) -> None: ...
