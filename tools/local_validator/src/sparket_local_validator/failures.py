"""The failure kinds the listener records; all five count toward cooldowns.

Sparket's config also names "critical" kinds (not_registered, signature_invalid,
nonce_replay, scanner_request), but v0.0.5 never records them, so they are left out.
"""

from __future__ import annotations

from enum import StrEnum


class FailureType(StrEnum):
    RATE_LIMITED = "rate_limited"
    TOKEN_MISSING = "token_missing"
    TOKEN_INVALID = "token_invalid"
    MALFORMED_REQUEST = "malformed_request"
    OTHER = "other"


COOLDOWN_FAILURES: frozenset[FailureType] = frozenset(FailureType)
