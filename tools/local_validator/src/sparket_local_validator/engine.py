"""All defences wired together as one validator, minus the network.

`ValidatorEngine.request` runs a request through the same steps as a real axon: the front
gate on headers, then (for an allowed request to a synapse path) the listener on the body.
Bittensor's own signature and nonce checks sit between the two in production; they never
touch Sparket's counters, so they are the wrapper's business, not the engine's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sparket_local_validator.clock import Clock
from sparket_local_validator.config import DEFAULT_TOKEN_ROTATION_SEC, RateLimits, SecurityConfig
from sparket_local_validator.counters import Counters
from sparket_local_validator.decisions import Allow
from sparket_local_validator.gate import HOTKEY_HEADER, FrontGate
from sparket_local_validator.listener import GameDataSource, Listener, PushSink, Reply
from sparket_local_validator.ratelimit import RateLimiter
from sparket_local_validator.security import SecurityManager
from sparket_local_validator.tokens import PushTokens

SYNAPSE_PATH = "/SparketSynapse"


@dataclass(frozen=True)
class Response:
    """What the HTTP layer sends: a 200 carries the listener's reply as the payload."""

    status: int
    body: Reply
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def message(self) -> object:
        """The part a Dendrite keeps of a 403/429 (`status_message`)."""
        return self.body.get("message")


class ValidatorEngine:
    """One validator's in-memory defences; build a new one to simulate a restart."""

    def __init__(
        self,
        clock: Clock,
        *,
        registered: Iterable[str] = (),
        secret: bytes | None = None,
        token_rotation_seconds: int = DEFAULT_TOKEN_ROTATION_SEC,
        rate_limits: RateLimits | None = None,
        security_config: SecurityConfig | None = None,
        game_data: GameDataSource | None = None,
        odds_sink: PushSink | None = None,
        outcome_sink: PushSink | None = None,
    ) -> None:
        self.clock = clock
        self.counters = Counters()
        self.security = SecurityManager(
            clock, config=security_config, counters=self.counters, registered=registered
        )
        self.limiter = RateLimiter(clock, rate_limits)
        self.tokens = PushTokens(clock, secret=secret, rotation_seconds=token_rotation_seconds)
        self.gate = FrontGate(self.security)
        self.listener = Listener(
            limiter=self.limiter,
            security=self.security,
            tokens=self.tokens,
            game_data=game_data,
            odds_sink=odds_sink,
            outcome_sink=outcome_sink,
        )

    def request(
        self,
        *,
        hotkey: str | None,
        ip: str,
        synapse_type: object = "connection_info_push",
        payload: object = None,
        body_hotkey: str | None = None,
        body_ip: str | None = None,
        path: str = SYNAPSE_PATH,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """One miner request from TCP peer `ip` whose bt headers name `hotkey`.

        The body's `dendrite.hotkey`/`dendrite.ip` default to the same values, as with a
        stock Dendrite; pass `body_*` to model a self-reported IP or hotkey that differs.
        """
        sent = dict(headers) if headers is not None else {}
        if headers is None and hotkey is not None:
            sent[HOTKEY_HEADER] = hotkey
        decision = self.gate.admit(path, sent, ip)
        if not isinstance(decision, Allow):
            return Response(decision.status, decision.body(), decision.headers())
        if path != SYNAPSE_PATH:
            # Only synapse names are routed: even /health is a 404 (validator-facts.md).
            return Response(404, {"detail": "Not Found"})
        reply = self.listener.handle(
            hotkey=body_hotkey if body_hotkey is not None else hotkey,
            ip=body_ip if body_ip is not None else ip,
            synapse_type=synapse_type,
            payload={} if payload is None else payload,
        )
        return Response(200, reply)
