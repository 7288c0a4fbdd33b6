"""Push tokens: HMAC of the epoch, current or previous epoch accepted, lost on restart."""

from __future__ import annotations

import hashlib
import hmac
import math

import pytest

from sparket_local_services.ports import free_port
from sparket_local_validator.clock import FakeClock
from sparket_local_validator.server import LocalValidator
from sparket_local_validator.tokens import PushTokens, TokenCheck, secret_from_setting
from sparket_testkit.harness.validator_wire import generated

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


# Independent vectors ------------------------------------------------------------------------
# HMAC-SHA256 hex digests computed once with openssl, not with the code under test:
#   printf '%s' 472222 | openssl dgst -sha256 -hmac 'sparket-test-push-secret'
# The secret is a string, as upstream's SPARKET_VALIDATOR_PUSH_SECRET is (its UTF-8 bytes).

VECTOR_SECRET = "sparket-test-push-secret"
VECTOR_TOKENS = {
    472220: "4880b0f23f2835615f757071212f6875fc71b7d3fb9ac6de8c4406ceab29cb2e",
    472221: "2d16225a5f1b5673798e27a66c8eee94a345d15558e3fd79e479bcbd70f8c028",
    472222: "a9cbdf26f7bb236a5aa2911058a03701f6772f06b2c66d6acdc8654fe90fd25c",
    472223: "8f3717920f9b439f1a21f653393a34ff5b7f6c540075a11db41b18cb9f8faef8",
}
EPOCH_472222_START = 1_699_999_200.0  # 472222 * 3600
EPOCH_472224_START = 1_700_006_400.0  # the end of epoch 472223


def vector_tokens(at: float) -> tuple[FakeClock, PushTokens]:
    clock = FakeClock(at)
    return clock, PushTokens(clock, secret=secret_from_setting(VECTOR_SECRET))


@pytest.mark.parametrize(
    ("at", "epoch"),
    [
        (EPOCH_472222_START - 0.5, 472221),
        (EPOCH_472222_START, 472222),
        (START, 472222),
        (EPOCH_472222_START + 3599.999, 472222),
        (EPOCH_472222_START + 3600, 472223),
    ],
)
def test_token_is_the_vector_of_the_hour_epoch(at: float, epoch: int) -> None:
    """epoch = floor(t / 3600): the token changes exactly on the wall-clock hour."""
    _, tokens = vector_tokens(at)
    assert tokens.epoch() == epoch
    assert tokens.current() == VECTOR_TOKENS[epoch]


def test_current_and_previous_epoch_pass_the_one_before_fails() -> None:
    _, tokens = vector_tokens(START)  # epoch 472222
    assert tokens.verify(VECTOR_TOKENS[472222]) is TokenCheck.OK
    assert tokens.verify(VECTOR_TOKENS[472221]) is TokenCheck.OK
    assert tokens.verify(VECTOR_TOKENS[472220]) is TokenCheck.INVALID
    assert tokens.verify(VECTOR_TOKENS[472223]) is TokenCheck.INVALID  # no token from the future


@pytest.mark.parametrize("received_at", [EPOCH_472222_START, START, EPOCH_472222_START + 3599.999])
def test_a_token_received_in_epoch_e_works_until_the_end_of_e_plus_one(received_at: float) -> None:
    """Wherever in its hour a token was handed out, it dies at the same instant."""
    clock, tokens = vector_tokens(received_at)
    token = tokens.current()
    assert token == VECTOR_TOKENS[472222]
    clock.set(EPOCH_472224_START - 0.001)
    assert tokens.verify(token) is TokenCheck.OK
    clock.set(EPOCH_472224_START)
    assert tokens.verify(token) is TokenCheck.INVALID


@pytest.mark.parametrize("secret", [VECTOR_SECRET, VECTOR_SECRET.encode()])
def test_local_validator_push_secret_keys_the_tokens(secret: str | bytes) -> None:
    validator = LocalValidator(
        generated(), port=free_port(), registered_hotkeys=tuple, push_secret=secret
    )
    with validator.locked() as engine:
        assert engine.tokens.token_for_epoch(472222) == VECTOR_TOKENS[472222]


def test_without_a_push_secret_each_local_validator_has_its_own() -> None:
    first, second = (
        LocalValidator(generated(), port=free_port(), registered_hotkeys=tuple) for _ in range(2)
    )
    with first.locked() as one, second.locked() as other:
        assert one.tokens.token_for_epoch(472222) != other.tokens.token_for_epoch(472222)
