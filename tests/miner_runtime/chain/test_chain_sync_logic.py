"""The pure decisions of ChainSync, and its retry interval, without bittensor objects."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from miner_runtime.chain.client import ChainUnavailableError, ServeError
from miner_runtime.chain.sync import (
    ChainSync,
    ServeStatus,
    build_snapshot,
    holds_endpoint,
    reason_not_to_serve,
    with_own_axon,
)
from miner_runtime.validator_client.selection import NeuronView

AT = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
US = NeuronView(2, "us", False, "0.0.0.0", 0)
NEURONS = [
    NeuronView(1, "val-b", True, "198.51.100.2", 8091, stake=10.0),
    NeuronView(0, "val-a", True, "198.51.100.1", 8091, stake=500.0),
    US,
]
ENDPOINT = ("203.0.113.10", 31007)


class FakeChain:
    """A ChainClient whose serve fails while `refuse` is set; counts every call."""

    def __init__(self, neurons: list[NeuronView]) -> None:
        self.neurons_list = neurons
        self.refuse = True
        self.unreachable = False
        self.serves: list[tuple[str, int]] = []

    def neurons(self) -> list[NeuronView]:
        if self.unreachable:
            raise ChainUnavailableError("node down")
        return list(self.neurons_list)

    def block(self) -> int:
        return 100

    def serve_axon(self, ip: str, port: int) -> None:
        self.serves.append((ip, port))
        if self.refuse:
            raise ServeError("serve_axon refused: Custom error: ServingRateLimitExceeded")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_snapshot_knows_us_and_our_validators() -> None:
    snapshot = build_snapshot(NEURONS, own_hotkey="us", block=7, synced_at=AT)
    assert (snapshot.block, snapshot.synced_at, snapshot.own_uid) == (7, AT, 2)
    assert [n.uid for n in snapshot.neurons] == [0, 1, 2]
    assert [v.hotkey for v in snapshot.validators] == ["val-a", "val-b"]
    assert snapshot.neurons_by_hotkey["us"] is US
    assert build_snapshot(NEURONS, own_hotkey="stranger", block=7, synced_at=AT).own_uid is None


def test_snapshot_cannot_be_changed() -> None:
    snapshot = build_snapshot(NEURONS, own_hotkey="us", block=7, synced_at=AT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.own_uid = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        snapshot.neurons_by_hotkey["x"] = US  # type: ignore[index]


def test_with_own_axon_changes_only_our_endpoint() -> None:
    snapshot = build_snapshot(NEURONS, own_hotkey="us", block=7, synced_at=AT)
    after = with_own_axon(snapshot, ENDPOINT)
    assert after.own is not None and (after.own.ip, after.own.port) == ENDPOINT
    assert after.neurons[:2] == snapshot.neurons[:2]
    assert (snapshot.own.ip if snapshot.own else None) == "0.0.0.0"


def test_endpoints_compare_as_addresses() -> None:
    v6 = NeuronView(0, "us", False, "2001:db8::1", 9000)
    assert holds_endpoint(v6, ("2001:0db8:0000::0001", 9000))
    assert not holds_endpoint(v6, ("2001:db8::1", 9001))
    assert not holds_endpoint(NeuronView(0, "us", False, "garbage", 9000), ("garbage", 9000))


@pytest.mark.parametrize(
    ("own", "advertised", "failed_at", "expected"),
    [
        (None, ENDPOINT, None, ServeStatus.NOT_REGISTERED),
        (US, ("0.0.0.0", 8094), None, ServeStatus.INVALID_ENDPOINT),
        (US, ("miner.example", 8094), None, ServeStatus.INVALID_ENDPOINT),
        (
            dataclasses.replace(US, ip=ENDPOINT[0], port=ENDPOINT[1]),
            ENDPOINT,
            None,
            ServeStatus.UP_TO_DATE,
        ),
        (
            dataclasses.replace(US, ip=ENDPOINT[0], port=ENDPOINT[1]),
            ENDPOINT,
            999.0,
            ServeStatus.UP_TO_DATE,
        ),
        (US, ENDPOINT, 999.0, ServeStatus.BACKING_OFF),
        (US, ENDPOINT, 1000.0 - 600.0, None),
        (US, ENDPOINT, None, None),
        (dataclasses.replace(US, ip=ENDPOINT[0], port=1), ENDPOINT, None, None),
    ],
)
def test_when_to_serve(
    own: NeuronView | None,
    advertised: tuple[str, int],
    failed_at: float | None,
    expected: ServeStatus | None,
) -> None:
    skip = reason_not_to_serve(
        own, advertised, last_failure_at=failed_at, now=1000.0, retry_seconds=600.0
    )
    assert (None if skip is None else skip.status) is expected
    if skip is not None:
        assert skip.endpoint == advertised


async def test_a_failed_serve_waits_the_retry_interval() -> None:
    fake, clock = FakeChain(NEURONS), Clock()
    sync = ChainSync(fake, own_hotkey="us", serve_retry_seconds=600.0, clock=clock)

    failed = await sync.ensure_served(ENDPOINT)
    assert failed.status is ServeStatus.FAILED
    assert "ServingRateLimitExceeded" in failed.detail
    assert len(fake.serves) == 1

    clock.now += 599.0
    waiting = await sync.ensure_served(ENDPOINT)
    assert waiting.status is ServeStatus.BACKING_OFF and "retry in 1 s" in waiting.detail
    # A new endpoint does not lift the chain's rate limit either.
    assert (await sync.ensure_served(("203.0.113.10", 1))).status is ServeStatus.BACKING_OFF
    assert len(fake.serves) == 1

    clock.now += 1.0
    assert (await sync.ensure_served(ENDPOINT)).status is ServeStatus.FAILED
    assert len(fake.serves) == 2

    fake.refuse = False
    clock.now += 600.0
    assert (await sync.ensure_served(ENDPOINT)).status is ServeStatus.SERVED
    assert (await sync.ensure_served(ENDPOINT)).status is ServeStatus.UP_TO_DATE
    assert len(fake.serves) == 3


async def test_a_success_clears_the_failure() -> None:
    fake, clock = FakeChain(NEURONS), Clock()
    sync = ChainSync(fake, own_hotkey="us", serve_retry_seconds=600.0, clock=clock)
    assert (await sync.ensure_served(ENDPOINT)).status is ServeStatus.FAILED
    fake.refuse = False
    clock.now += 600.0
    assert (await sync.ensure_served(ENDPOINT)).status is ServeStatus.SERVED
    # The next change is served at once: no failure is pending.
    assert (await sync.ensure_served(("203.0.113.10", 2))).status is ServeStatus.SERVED
    assert len(fake.serves) == 3


async def test_an_unreachable_chain_keeps_the_last_snapshot() -> None:
    fake = FakeChain(NEURONS)
    sync = ChainSync(fake, own_hotkey="us")
    assert sync.snapshot is None
    first = await sync.refresh()
    fake.unreachable = True
    with pytest.raises(ChainUnavailableError, match="node down"):
        await sync.refresh()
    assert sync.snapshot is first
