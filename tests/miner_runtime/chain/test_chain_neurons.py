"""bittensor neuron records (as MockSubtensor builds them) become `NeuronView`s."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from bittensor.core.chain_data.neuron_info_lite import NeuronInfoLite
from bittensor.utils.balance import Balance

from miner_runtime.chain.client import MockChain
from miner_runtime.chain.neurons import dotted_ip, stake_in_tao, to_view, to_views
from miner_runtime.validator_client.selection import NeuronView

NETUID = 57


def _lite(info: Any) -> Any:
    """The NeuronInfoLite a real chain's `neurons_lite` returns for the same neuron
    (MockSubtensor's own `neurons_lite` fails in 10.1.0: NeuronInfo has no `rank`)."""
    return NeuronInfoLite(
        **{f.name: getattr(info, f.name) for f in dataclasses.fields(NeuronInfoLite)}
    )


def test_a_served_validator_becomes_a_view(chain: MockChain, keys: Callable[[str], str]) -> None:
    uid = chain.register(
        keys("val"),
        keys("val-cold"),
        stake=1234.5,
        validator_permit=True,
        axon=("203.0.113.7", 8091),
    )
    [info] = chain.subtensor.neurons(NETUID)
    expected = NeuronView(uid, keys("val"), True, "203.0.113.7", 8091, stake=1234.5)
    assert to_view(info) == expected
    assert to_view(_lite(info)) == expected


def test_an_unserved_miner_has_no_endpoint(chain: MockChain, keys: Callable[[str], str]) -> None:
    chain.register(keys("m0"), keys("cold"))
    [info] = chain.subtensor.neurons(NETUID)
    view = to_view(info)
    assert (view.ip, view.port, view.validator_permit, view.stake) == ("0.0.0.0", 0, False, 0.0)


def test_ipv6_axons_are_text(chain: MockChain, keys: Callable[[str], str]) -> None:
    chain.register(keys("v6"), keys("cold"), axon=("2001:db8::17", 9000))
    [info] = chain.subtensor.neurons(NETUID)
    assert (to_view(info).ip, to_view(info).port) == ("2001:db8::17", 9000)


def test_views_are_ordered_by_uid_and_skip_null_neurons(
    chain: MockChain, keys: Callable[[str], str]
) -> None:
    for name in ("a", "b", "c"):
        chain.register(keys(name), keys("cold"))
    infos = chain.subtensor.neurons(NETUID)
    views = to_views([NeuronInfoLite.get_null_neuron(), *reversed(infos)])
    assert [(v.uid, v.hotkey) for v in views] == [(0, keys("a")), (1, keys("b")), (2, keys("c"))]


def test_a_neuron_without_axon_info_is_unserved() -> None:
    null = NeuronInfoLite.get_null_neuron()
    assert null.axon_info is None
    assert (to_view(null).ip, to_view(null).port) == ("0.0.0.0", 0)


def test_ip_and_stake_helpers() -> None:
    assert dotted_ip(3405803783) == "203.0.113.7"
    assert dotted_ip("198.51.100.1") == "198.51.100.1"
    assert stake_in_tao(Balance.from_rao(1_500_000_000)) == 1.5
    assert stake_in_tao(0) == 0.0
    with pytest.raises(TypeError, match="neither a Balance"):
        stake_in_tao("12")
