"""A local, Sparket-compatible validator's defence engine (dev and test use only).

It reimplements, independently of `miner_runtime`, the rules Sparket v0.0.5 validators
apply to miners (docs/validator-facts.md), so that tests and demos can check a miner
against them. The engine modules exported here are pure: no sockets and no bittensor;
time comes from an injected `Clock` so that a test can walk through hours of cooldowns
and bans instantly.

The over-the-wire validator lives in modules this package does not import, so that the
engine stays cheap to import: `server.LocalValidator` puts the engine behind a real
bittensor Axon (`axon_server`), pushes CONNECTION_INFO (`pusher`), serves its counters
(`counters_http`), and reads the chain through `mock_chain` or any two callables.
"""

from __future__ import annotations

from sparket_local_validator.clock import Clock, FakeClock, SystemClock
from sparket_local_validator.counters import Counters
from sparket_local_validator.decisions import Allow, Cooldown, Decision, Forbidden
from sparket_local_validator.engine import Response, ValidatorEngine
from sparket_local_validator.failures import FailureType
from sparket_local_validator.games import game_data_snapshot
from sparket_local_validator.gate import FrontGate
from sparket_local_validator.ingest import Catalog, Event, Market, OddsIngest, OutcomeIngest
from sparket_local_validator.listener import Listener
from sparket_local_validator.ratelimit import RateLimiter, RateLimitReason
from sparket_local_validator.security import SecurityManager
from sparket_local_validator.tokens import PushTokens, TokenCheck

__all__ = [
    "Allow",
    "Catalog",
    "Clock",
    "Cooldown",
    "Counters",
    "Decision",
    "Event",
    "FailureType",
    "FakeClock",
    "Forbidden",
    "FrontGate",
    "Listener",
    "Market",
    "OddsIngest",
    "OutcomeIngest",
    "PushTokens",
    "RateLimitReason",
    "RateLimiter",
    "Response",
    "SecurityManager",
    "SystemClock",
    "TokenCheck",
    "ValidatorEngine",
    "game_data_snapshot",
]
