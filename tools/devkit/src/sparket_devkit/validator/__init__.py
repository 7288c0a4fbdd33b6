"""A local, Sparket-compatible validator's defence engine (dev and test use only).

It reimplements, independently of `miner_runtime`, the rules Sparket v0.0.5 validators
apply to miners (docs: validator-defences.md), so that tests and demos can check a miner
against them. Every module here is pure: no sockets and no bittensor; time comes from an
injected `Clock` so that a test can walk through hours of cooldowns and bans instantly.
"""

from __future__ import annotations

from sparket_devkit.validator.clock import Clock, FakeClock, SystemClock
from sparket_devkit.validator.counters import Counters
from sparket_devkit.validator.decisions import Allow, Cooldown, Decision, Forbidden
from sparket_devkit.validator.engine import Response, ValidatorEngine
from sparket_devkit.validator.failures import FailureType
from sparket_devkit.validator.gate import FrontGate
from sparket_devkit.validator.listener import Listener
from sparket_devkit.validator.ratelimit import RateLimiter, RateLimitReason
from sparket_devkit.validator.security import SecurityManager
from sparket_devkit.validator.tokens import PushTokens, TokenCheck

__all__ = [
    "Allow",
    "Clock",
    "Cooldown",
    "Counters",
    "Decision",
    "FailureType",
    "FakeClock",
    "Forbidden",
    "FrontGate",
    "Listener",
    "PushTokens",
    "RateLimitReason",
    "RateLimiter",
    "Response",
    "SecurityManager",
    "SystemClock",
    "TokenCheck",
    "ValidatorEngine",
]
