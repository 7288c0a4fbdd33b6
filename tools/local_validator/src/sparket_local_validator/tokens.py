"""Push tokens (`sparket/validator/comms.py` `ValidatorComms`): one HMAC per validator per epoch.

token = HMAC-SHA256(secret, str(floor(now / rotation))).hexdigest(). The validator accepts
the current and the previous epoch, so a token received in epoch E works until the end of
epoch E + 1: between one and two rotations. The secret is 32 random bytes per process
unless one is given (upstream: the UTF-8 bytes of `SPARKET_VALIDATOR_PUSH_SECRET`, see
`secret_from_setting`); a validator restart is simply a new `PushTokens`, which
invalidates every token handed out before, unless the secret is fixed.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from enum import StrEnum

from sparket_local_validator.clock import Clock
from sparket_local_validator.config import DEFAULT_TOKEN_ROTATION_SEC, MIN_TOKEN_ROTATION_SEC


def secret_from_setting(value: str | bytes) -> bytes:
    """The HMAC key for a configured secret: a string counts by its UTF-8 bytes, as the
    environment variable does upstream, so both sides of a test agree on the key."""
    return value.encode("utf-8") if isinstance(value, str) else value


class TokenCheck(StrEnum):
    OK = "ok"
    MISSING = "missing"
    INVALID = "invalid"


class PushTokens:
    """Issues the current token and verifies the ones miners send back."""

    def __init__(
        self,
        clock: Clock,
        *,
        secret: bytes | None = None,
        rotation_seconds: int = DEFAULT_TOKEN_ROTATION_SEC,
    ) -> None:
        self._clock = clock
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self.rotation_seconds = max(MIN_TOKEN_ROTATION_SEC, int(rotation_seconds))

    def epoch(self, now: float | None = None) -> int:
        when = self._clock.now() if now is None else now
        return math.floor(when / self.rotation_seconds)

    def token_for_epoch(self, epoch: int) -> str:
        return hmac.new(self._secret, str(epoch).encode(), hashlib.sha256).hexdigest()

    def current(self) -> str:
        """The token a CONNECTION_INFO_PUSH sent now would carry."""
        return self.token_for_epoch(self.epoch())

    def verify(self, token: object) -> TokenCheck:
        """MISSING for an absent or empty token; OK for the current or previous epoch."""
        if not token:
            return TokenCheck.MISSING
        if not isinstance(token, str):
            return TokenCheck.INVALID
        epoch = self.epoch()
        offered = token.encode()
        valid = False
        for candidate in (epoch, epoch - 1):
            # Compare against both epochs every time so timing says nothing about which.
            valid |= hmac.compare_digest(offered, self.token_for_epoch(candidate).encode())
        return TokenCheck.OK if valid else TokenCheck.INVALID
