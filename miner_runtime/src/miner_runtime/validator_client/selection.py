"""Which metagraph neurons we send to: validators with a permit and a served axon.

Unlike the reference miner there is no fallback to "every axon": sending to a miner's axon
wastes a request and, against a real validator, a malformed one costs us.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class NeuronView:
    """The metagraph facts the runtime needs about one neuron (built from a sync): what
    validator selection reads, and our own standing (incentive, consensus, emission)."""

    uid: int
    hotkey: str
    validator_permit: bool
    ip: str
    port: int
    stake: float = 0.0
    incentive: float = 0.0  # 0..1, the share of the subnet's miner emission
    consensus: float = 0.0  # 0..1
    emission: float = 0.0  # alpha per tempo (NeuronInfo.emission)


def serves_axon(neuron: NeuronView) -> bool:
    if neuron.port <= 0 or neuron.port > 65535:
        return False
    try:
        address = ipaddress.ip_address(neuron.ip)
    except ValueError:
        return False
    return not address.is_unspecified


def select_validators(neurons: Iterable[NeuronView], *, own_hotkey: str) -> list[NeuronView]:
    """Permitted validators with a reachable axon, highest stake first, never ourselves."""
    chosen = [
        n for n in neurons if n.validator_permit and serves_axon(n) and n.hotkey != own_hotkey
    ]
    return sorted(chosen, key=lambda n: (-n.stake, n.uid))
