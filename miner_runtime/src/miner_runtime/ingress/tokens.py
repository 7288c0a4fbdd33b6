"""Push tokens, one per validator, and when we may use them.

A validator's token is the same for every miner and changes on the hour and whenever the
validator restarts. The reference miner kept one token (the last pusher's) and sent it to
every validator, earning `token_invalid` failures everywhere else. Here each validator has
its own entry; after a `token_invalid` the entry is parked until a *different* token
arrives, so a validator restart costs at most one failure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace

# A token is HMAC(secret, hour epoch) and accepted for the current and the previous epoch,
# so one received at any moment is dead at most two hours later: never push with it then.
TOKEN_MAX_LIFETIME = dt.timedelta(hours=2)


@dataclass(frozen=True)
class TokenState:
    validator_hotkey: str
    token: str
    received_at: dt.datetime
    rejected: bool = False  # the validator said token_invalid for exactly this token

    def age_seconds(self, now: dt.datetime) -> float:
        return max(0.0, (now - self.received_at).total_seconds())


class TokenBook:
    """In-memory view of the tokens (the store keeps them across restarts)."""

    def __init__(self, initial: Iterable[TokenState] = ()) -> None:
        self._states: dict[str, TokenState] = {s.validator_hotkey: s for s in initial}

    def record(self, validator_hotkey: str, token: str, now: dt.datetime) -> bool:
        """A CONNECTION_INFO arrived. Returns True when the token is new for this validator.

        Re-delivery of a token the validator already rejected does not un-park it: only a
        rotation or a restart (a new value) makes pushing worthwhile again.
        """
        current = self._states.get(validator_hotkey)
        if current is not None and current.token == token:
            return False
        self._states[validator_hotkey] = TokenState(validator_hotkey, token, now)
        return True

    def usable(self, validator_hotkey: str, now: dt.datetime) -> str | None:
        """The token to push with, or None (never received, rejected, or surely expired)."""
        state = self._states.get(validator_hotkey)
        if state is None or state.rejected or now - state.received_at >= TOKEN_MAX_LIFETIME:
            return None
        return state.token

    def reject(self, validator_hotkey: str, token: str) -> None:
        """The validator answered `token_invalid` to a push carrying `token`."""
        state = self._states.get(validator_hotkey)
        if state is not None and state.token == token:
            self._states[validator_hotkey] = replace(state, rejected=True)

    def get(self, validator_hotkey: str) -> TokenState | None:
        return self._states.get(validator_hotkey)
