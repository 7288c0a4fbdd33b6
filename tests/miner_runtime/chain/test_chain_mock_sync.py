"""ChainSync against a real MockSubtensor: registration, validators, serving once per change."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from miner_runtime.chain.client import MockChain, ServeError
from miner_runtime.chain.sync import ChainSync, ServeStatus


class CountingMockChain(MockChain):
    """A MockChain that records every serve_axon call that reached the chain."""

    def __init__(self, *, netuid: int, hotkey_ss58: str) -> None:
        super().__init__(netuid=netuid, hotkey_ss58=hotkey_ss58)
        self.serves: list[tuple[str, int]] = []

    def serve_axon(self, ip: str, port: int) -> None:
        self.serves.append((ip, port))
        super().serve_axon(ip, port)


@pytest.fixture
def counting(chain: MockChain, own_hotkey: str) -> CountingMockChain:
    return CountingMockChain(netuid=57, hotkey_ss58=own_hotkey)


def _on_chain(chain: MockChain, hotkey: str) -> tuple[str, int]:
    [neuron] = [n for n in chain.neurons() if n.hotkey == hotkey]
    return (neuron.ip, neuron.port)


async def test_registered_hotkey_gets_its_uid(
    chain: MockChain, own_hotkey: str, keys: Callable[[str], str]
) -> None:
    chain.register(keys("other"), keys("cold"))
    uid = chain.register(own_hotkey, keys("cold"))
    snapshot = await ChainSync(chain, own_hotkey=own_hotkey).refresh()
    assert uid == 1
    assert snapshot.own_uid == 1 and snapshot.registered
    assert snapshot.own is not None and snapshot.own.hotkey == own_hotkey
    assert [n.uid for n in snapshot.neurons] == [0, 1]


async def test_unregistered_hotkey_has_no_uid(
    chain: MockChain, own_hotkey: str, keys: Callable[[str], str]
) -> None:
    chain.register(keys("other"), keys("cold"))
    snapshot = await ChainSync(chain, own_hotkey=own_hotkey).refresh()
    assert snapshot.own_uid is None and not snapshot.registered
    assert snapshot.own is None


async def test_missing_subnet_reads_as_empty(own_hotkey: str) -> None:
    snapshot = await ChainSync(
        MockChain(netuid=99, hotkey_ss58=own_hotkey), own_hotkey=own_hotkey
    ).refresh()
    assert snapshot.neurons == () and snapshot.own_uid is None


async def test_permitted_validators_with_axons_are_selected_never_ourselves(
    chain: MockChain, own_hotkey: str, keys: Callable[[str], str]
) -> None:
    cold = keys("cold")
    chain.register(
        keys("val-small"), cold, stake=10.0, validator_permit=True, axon=("198.51.100.2", 8091)
    )
    chain.register(
        keys("val-big"), cold, stake=900.0, validator_permit=True, axon=("198.51.100.1", 8091)
    )
    chain.register(keys("val-no-axon"), cold, stake=5000.0, validator_permit=True)
    chain.register(keys("miner"), cold, stake=7000.0, axon=("198.51.100.3", 8094))
    chain.register(
        own_hotkey, cold, stake=9000.0, validator_permit=True, axon=("198.51.100.4", 8094)
    )
    snapshot = await ChainSync(chain, own_hotkey=own_hotkey).refresh()
    assert [v.hotkey for v in snapshot.validators] == [keys("val-big"), keys("val-small")]
    assert snapshot.validators[0].stake == 900.0
    assert snapshot.neurons_by_hotkey[keys("val-big")].ip == "198.51.100.1"


async def test_a_permit_granted_later_is_seen_on_the_next_refresh(
    chain: MockChain, own_hotkey: str, keys: Callable[[str], str]
) -> None:
    uid = chain.register(keys("val"), keys("cold"), axon=("198.51.100.9", 8091))
    sync = ChainSync(chain, own_hotkey=own_hotkey)
    assert (await sync.refresh()).validators == ()
    chain.set_validator_permit(uid, True)
    assert [v.uid for v in (await sync.refresh()).validators] == [uid]


async def test_serves_once_then_not_again_until_the_endpoint_changes(
    counting: CountingMockChain, own_hotkey: str, keys: Callable[[str], str]
) -> None:
    counting.register(own_hotkey, keys("cold"))
    sync = ChainSync(counting, own_hotkey=own_hotkey)
    await sync.refresh()

    first = await sync.ensure_served(("203.0.113.10", 31007))
    assert first.status is ServeStatus.SERVED
    assert _on_chain(counting, own_hotkey) == ("203.0.113.10", 31007)

    # Before and after the next refresh: the chain holds it, nothing is sent.
    assert (await sync.ensure_served(("203.0.113.10", 31007))).status is ServeStatus.UP_TO_DATE
    await sync.refresh()
    assert (await sync.ensure_served(("203.0.113.10", 31007))).status is ServeStatus.UP_TO_DATE
    assert counting.serves == [("203.0.113.10", 31007)]

    moved = await sync.ensure_served(("203.0.113.10", 31008))
    assert moved.status is ServeStatus.SERVED
    assert _on_chain(counting, own_hotkey) == ("203.0.113.10", 31008)
    assert counting.serves == [("203.0.113.10", 31007), ("203.0.113.10", 31008)]


async def test_a_restart_with_the_same_endpoint_serves_nothing(
    counting: CountingMockChain, own_hotkey: str, keys: Callable[[str], str]
) -> None:
    counting.register(own_hotkey, keys("cold"), axon=("203.0.113.10", 31007))
    fresh = ChainSync(counting, own_hotkey=own_hotkey)  # no refresh yet: it reads first
    outcome = await fresh.ensure_served(("203.0.113.10", 31007))
    assert outcome.status is ServeStatus.UP_TO_DATE
    assert counting.serves == []
    assert fresh.snapshot is not None and fresh.snapshot.own_uid == 0


async def test_an_unregistered_hotkey_never_serves(
    counting: CountingMockChain, own_hotkey: str
) -> None:
    sync = ChainSync(counting, own_hotkey=own_hotkey)
    outcome = await sync.ensure_served(("203.0.113.10", 31007))
    assert outcome.status is ServeStatus.NOT_REGISTERED
    assert counting.serves == []
    assert counting.neurons() == []


async def test_concurrent_callers_serve_once(
    counting: CountingMockChain, own_hotkey: str, keys: Callable[[str], str]
) -> None:
    counting.register(own_hotkey, keys("cold"))
    sync = ChainSync(counting, own_hotkey=own_hotkey)
    outcomes = await asyncio.gather(
        *(sync.ensure_served(("203.0.113.10", 31007)) for _ in range(5))
    )
    assert sorted(o.status for o in outcomes) == sorted(
        [ServeStatus.SERVED] + [ServeStatus.UP_TO_DATE] * 4
    )
    assert counting.serves == [("203.0.113.10", 31007)]


def test_mock_serve_rejects_what_the_chain_rejects(
    chain: MockChain, own_hotkey: str, keys: Callable[[str], str]
) -> None:
    with pytest.raises(ServeError, match="HotKeyNotRegisteredInNetwork"):
        chain.serve_axon("203.0.113.10", 31007)
    chain.register(own_hotkey, keys("cold"))
    with pytest.raises(ServeError, match="InvalidIpAddress"):
        chain.serve_axon("0.0.0.0", 31007)
    with pytest.raises(ServeError, match="not an IP address"):
        chain.serve_axon("miner.example", 31007)
    assert _on_chain(chain, own_hotkey) == ("0.0.0.0", 0)


def test_register_refuses_duplicates_and_missing_subnets(
    chain: MockChain, own_hotkey: str, keys: Callable[[str], str]
) -> None:
    chain.register(own_hotkey, keys("cold"))
    with pytest.raises(ValueError, match="already registered"):
        chain.register(own_hotkey, keys("cold"))
    assert chain.create_subnet() is False  # exists: left alone
    elsewhere = MockChain(netuid=12, hotkey_ss58=own_hotkey)
    with pytest.raises(ValueError, match="does not exist"):
        elsewhere.register(keys("x"), keys("cold"))
    assert elsewhere.uid_of(own_hotkey) is None
