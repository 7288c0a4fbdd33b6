"""Push tokens: HMAC of the epoch, current or previous epoch accepted, lost on restart."""

from __future__ import annotations

import hashlib
import hmac
import math

from sparket_devkit.validator.clock import FakeClock
from sparket_devkit.validator.tokens import PushTokens, TokenCheck

SECRET = b"k" * 32
START = 1_700_000_000.0  # the clock fixture's start


def test_token_is_hmac_sha256_of_the_epoch_number(clock: FakeClock) -> None:
    assert clock.now() == START
    tokens = PushTokens(clock, secret=SECRET)
    epoch = math.floor(START / 3600)
    expected = hmac.new(SECRET, str(epoch).encode(), hashlib.sha256).hexdigest()
    assert tokens.epoch() == epoch
    assert tokens.current() == expected
    assert len(expected) == 64 and expected == expected.lower()


def test_current_and_previous_epoch_are_accepted(clock: FakeClock) -> None:
    clock.set(math.ceil(START / 3600) * 3600 - 1)  # one second before a rotation
    tokens = PushTokens(clock, secret=SECRET)
    token = tokens.current()
    assert tokens.verify(token) is TokenCheck.OK
    clock.advance(1)  # next epoch: now the previous one
    assert tokens.current() != token
    assert tokens.verify(token) is TokenCheck.OK
    clock.advance(3599)  # still the previous epoch: lived almost 2 h
    assert tokens.verify(token) is TokenCheck.OK
    clock.advance(1)  # two epochs on: gone
    assert tokens.verify(token) is TokenCheck.INVALID


def test_a_token_lives_at_least_one_rotation(clock: FakeClock) -> None:
    clock.set(math.ceil(START / 3600) * 3600)  # issued at the very start of an epoch
    tokens = PushTokens(clock, secret=SECRET)
    token = tokens.current()
    clock.advance(7199)
    assert tokens.verify(token) is TokenCheck.OK
    clock.advance(1)
    assert tokens.verify(token) is TokenCheck.INVALID


def test_missing_and_malformed_tokens(clock: FakeClock) -> None:
    tokens = PushTokens(clock, secret=SECRET)
    assert tokens.verify(None) is TokenCheck.MISSING
    assert tokens.verify("") is TokenCheck.MISSING
    assert tokens.verify(12345) is TokenCheck.INVALID
    assert tokens.verify("0" * 64) is TokenCheck.INVALID
    assert tokens.verify("é" * 64) is TokenCheck.INVALID  # non-ASCII: no TypeError
    assert tokens.verify(tokens.current().upper()) is TokenCheck.INVALID


def test_rotation_has_a_minimum_of_sixty_seconds(clock: FakeClock) -> None:
    assert PushTokens(clock, rotation_seconds=10).rotation_seconds == 60
    tokens = PushTokens(clock, secret=SECRET, rotation_seconds=120)
    assert tokens.epoch() == math.floor(START / 120)
    token = tokens.current()
    clock.advance(240)
    assert tokens.verify(token) is TokenCheck.INVALID


def test_restart_invalidates_every_token(clock: FakeClock) -> None:
    before = PushTokens(clock)
    token = before.current()
    after = PushTokens(clock)  # a restart: fresh random secret
    assert after.verify(token) is TokenCheck.INVALID
    assert PushTokens(clock, secret=SECRET).current() == PushTokens(clock, secret=SECRET).current()


def test_token_is_per_validator_not_per_miner(clock: FakeClock) -> None:
    tokens = PushTokens(clock, secret=SECRET)
    assert tokens.current() == tokens.current()
    assert PushTokens(clock, secret=b"x" * 32).verify(tokens.current()) is TokenCheck.INVALID
