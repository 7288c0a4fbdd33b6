"""From bittensor's neuron records to the `NeuronView` the rest of the runtime uses.

Pure: no chain access. Works on `NeuronInfoLite` (what `neurons_lite` returns from a real
chain) and `NeuronInfo` (what `MockSubtensor.neurons` returns); both carry the same fields.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from miner_runtime.validator_client.selection import NeuronView

UNSERVED_IP = "0.0.0.0"  # what the chain reports for a hotkey that never served an axon


def dotted_ip(value: object) -> str:
    """The address as text; the chain stores an int, bittensor usually hands us a string."""
    if isinstance(value, int):
        return str(ipaddress.ip_address(value))
    return str(value)


def stake_in_tao(value: object) -> float:
    """A bittensor `Balance` (or the plain 0 an empty stake sum gives) as float TAO."""
    tao = getattr(value, "tao", None)
    if tao is not None:
        return float(tao)
    if isinstance(value, int | float):
        return float(value)  # only ever 0: `sum({}.values())`
    raise TypeError(f"stake is neither a Balance nor a number: {value!r}")


def to_view(neuron: Any) -> NeuronView:
    """One `NeuronInfo`/`NeuronInfoLite` as a `NeuronView`.

    A neuron that never served has `axon_info` None (null neuron) or 0.0.0.0:0; both become
    0.0.0.0:0, which `select_validators` skips.
    """
    axon = neuron.axon_info
    return NeuronView(
        uid=int(neuron.uid),
        hotkey=str(neuron.hotkey),
        validator_permit=bool(neuron.validator_permit),
        ip=UNSERVED_IP if axon is None else dotted_ip(axon.ip),
        port=0 if axon is None else int(axon.port),
        stake=stake_in_tao(neuron.stake),
        incentive=float(neuron.incentive),
        consensus=float(neuron.consensus),
        emission=float(neuron.emission),
    )


def to_views(neurons: Iterable[Any]) -> list[NeuronView]:
    """Every non-null neuron, as views ordered by uid."""
    views = [to_view(n) for n in neurons if not getattr(n, "is_null", False)]
    return sorted(views, key=lambda view: view.uid)
