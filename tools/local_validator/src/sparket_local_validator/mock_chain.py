"""The local validator's view of the chain, read from bittensor's `MockSubtensor`.

A validator needs two things from its metagraph: who is registered (the gate 403s
everyone else) and which axons to push CONNECTION_INFO to. `LocalValidator` takes both as
plain callables, so any chain double fits; this adapter builds them from a MockSubtensor.
In bittensor 10.1.0 `MockSubtensor.neurons(netuid)` works but `neurons_lite` and
`Metagraph` do not, so only `neurons()` is used. The mock's `do_serve_axon` stores
nothing, so `serve_axon` writes the axon into the mock's chain state the way its own
reader expects it.

MockSubtensor instances share one global state: give each test its own netuid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bittensor.utils import networking
from bittensor.utils.mock.subtensor_mock import AxonInfoDict, MockSubtensor

AXON_PROTOCOL = 4


@dataclass(frozen=True)
class ChainView:
    """The two callables `LocalValidator` reads the chain through."""

    registered_hotkeys: Callable[[], list[str]]
    push_targets: Callable[[], list[Any]]
    """`bittensor.AxonInfo` of every neuron; the pusher filters (port > 0, not itself)."""


def chain_view(subtensor: MockSubtensor, netuid: int) -> ChainView:
    """Read the subnet `netuid` of `subtensor` afresh on every call."""

    def registered_hotkeys() -> list[str]:
        return [neuron.hotkey for neuron in subtensor.neurons(netuid)]

    def push_targets() -> list[Any]:
        return [neuron.axon_info for neuron in subtensor.neurons(netuid)]

    return ChainView(registered_hotkeys=registered_hotkeys, push_targets=push_targets)


def register(subtensor: MockSubtensor, netuid: int, hotkey: str, coldkey: str | None = None) -> int:
    """Register `hotkey` on `netuid` (creating the subnet if needed); returns its uid."""
    if netuid not in subtensor.chain_state["SubtensorModule"]["NetworksAdded"]:
        subtensor.create_subnet(netuid)
    return int(subtensor.force_register_neuron(netuid, hotkey, coldkey or hotkey))


def serve_axon(subtensor: MockSubtensor, netuid: int, hotkey: str, ip: str, port: int) -> None:
    """Publish `ip:port` as the axon of the registered `hotkey`, at the current block."""
    axons = subtensor.chain_state["SubtensorModule"]["Axons"][netuid]
    block = subtensor.block_number
    axons.setdefault(hotkey, {})[block] = AxonInfoDict(
        block=block,
        version=1,
        ip=networking.ip_to_int(ip),
        port=port,
        ip_type=networking.ip_version(ip),
        protocol=AXON_PROTOCOL,
        placeholder1=0,
        placeholder2=0,
    )


def validator_neuron(
    hotkey: str, *, coldkey: str, port: int, ip: str = "127.0.0.1", stake: float = 1000.0
) -> dict[str, Any]:
    """A validator's entry in a runtime's `mock_neurons_file` (and for `register`): staked,
    with a validator permit, serving its axon on ip:port."""
    return {
        "hotkey": hotkey,
        "coldkey": coldkey,
        "stake": stake,
        "validator_permit": True,
        "ip": ip,
        "port": port,
    }
