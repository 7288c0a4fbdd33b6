"""The listener (`route_incoming_synapse`): what a request that got past the gate gets.

Order, as in Sparket: readiness, rate limit, push token (odds and outcome pushes only),
then routing by the lowercased type. Every answer here is HTTP 200; errors travel in the
reply payload. The listener is the only place failures are recorded, keyed on the hotkey
and IP the request *body* claims for itself.

Handlers are injected callbacks. One that raises ValueError, TypeError, LookupError or
AttributeError (a non-integer `market_id`, a non-dict submission, a database that is
down) stands for Sparket's catch-all: `internal_error` and an `other` failure.
"""

from __future__ import annotations

from collections.abc import Callable

from sparket_local_validator.failures import FailureType
from sparket_local_validator.ratelimit import RateLimiter
from sparket_local_validator.security import SecurityManager
from sparket_local_validator.tokens import PushTokens, TokenCheck

ODDS_PUSH = "odds_push"
OUTCOME_PUSH = "outcome_push"
GAME_DATA_REQUEST = "game_data_request"
TOKEN_TYPES = frozenset({ODDS_PUSH, OUTCOME_PUSH})
ROUTED_TYPES = TOKEN_TYPES | {GAME_DATA_REQUEST}

Reply = dict[str, object]
PushSink = Callable[[str | None, object], None]
"""Takes (body hotkey, raw payload); raises to signal a handler exception."""
GameDataSource = Callable[[], Reply]

ACCEPTED: Reply = {"success": True, "accepted": True}
HANDLER_ERRORS = (ValueError, TypeError, LookupError, AttributeError)


def error_reply(error: str, message: str) -> Reply:
    return {"success": False, "error": error, "message": message}


def _ignore(hotkey: str | None, payload: object) -> None:
    """Default sink: store nothing, like a validator whose ingest drops everything."""


def _empty_games() -> Reply:
    return {
        "games": [],
        "retrieved_at": None,
        "window": {"lookahead_days": 14, "odds_window_days": 7},
    }


class Listener:
    """`handle(...)` returns the payload the validator puts in its 200 reply."""

    def __init__(
        self,
        *,
        limiter: RateLimiter,
        security: SecurityManager,
        tokens: PushTokens,
        game_data: GameDataSource | None = None,
        odds_sink: PushSink | None = None,
        outcome_sink: PushSink | None = None,
        require_token: bool = True,
        ready: bool = True,
    ) -> None:
        self._limiter = limiter
        self._security = security
        self._tokens = tokens
        self._game_data = game_data or _empty_games
        self._odds_sink = odds_sink or _ignore
        self._outcome_sink = outcome_sink or _ignore
        self.require_token = require_token
        self.ready = ready

    def handle(
        self, *, hotkey: str | None, ip: str | None, synapse_type: object, payload: object
    ) -> Reply:
        counters = self._security.counters
        if not self.ready:
            return error_reply("not_ready", "Validator handlers are not initialised yet")
        decision = self._limiter.check_and_record(hotkey)
        if decision.reason is not None:
            counters.rate_limited += 1
            self._security.record_failure(hotkey, ip, FailureType.RATE_LIMITED)
            return error_reply("rate_limited", f"Rate limited: {decision.reason.value}")
        counters.requests_accepted += 1

        raw_type = str(synapse_type)
        kind = raw_type.lower()
        if self.require_token and kind in TOKEN_TYPES:
            token = payload.get("token") if isinstance(payload, dict) else None
            check = self._tokens.verify(token)
            if check is not TokenCheck.OK:
                counters.token_failures += 1
                missing = check is TokenCheck.MISSING
                failure = FailureType.TOKEN_MISSING if missing else FailureType.TOKEN_INVALID
                self._security.record_failure(hotkey, ip, failure)
                message = "Token missing" if missing else "Token expired or invalid"
                return error_reply("token_invalid", message)

        if kind not in ROUTED_TYPES:  # connection_info_push included: validators never take it
            self._security.record_failure(hotkey, ip, FailureType.MALFORMED_REQUEST)
            return error_reply("unknown_type", f"Unknown synapse type: {raw_type}")
        try:
            return self._route(kind, raw_type, hotkey, payload)
        except HANDLER_ERRORS as exc:
            self._security.record_failure(hotkey, ip, FailureType.OTHER)
            return error_reply("internal_error", str(exc))

    def _route(self, kind: str, raw_type: str, hotkey: str | None, payload: object) -> Reply:
        if kind == ODDS_PUSH:
            if raw_type != ODDS_PUSH:
                # The odds handler compares the raw type, so "ODDS_PUSH" routes but stores nothing.
                return {"success": True, "accepted": False, "message": "No valid submissions"}
            self._odds_sink(hotkey, payload)
            return dict(ACCEPTED)
        if kind == OUTCOME_PUSH:
            self._outcome_sink(hotkey, payload)
            return dict(ACCEPTED)
        return self._game_data()
