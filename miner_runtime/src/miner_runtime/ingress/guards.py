"""Pure predicates for the axon's blacklist and forward steps.

bittensor builds the synapse that blacklist/priority see from headers only, so there the
type always reads as the default `connection_info_push` and the payload is empty: the
blacklist can judge only *who* calls (registered, validator permit); the message type is
checked again in forward, where the body is known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from miner_runtime.validator_client.selection import NeuronView

ACCEPTED_INBOUND_TYPE = "connection_info_push"


@dataclass(frozen=True)
class Verdict:
    blocked: bool
    reason: str


def blacklist_verdict(
    caller_hotkey: str | None,
    neurons_by_hotkey: Mapping[str, NeuronView],
    *,
    allow_unpermitted: bool,
) -> Verdict:
    """Block callers that are not registered validators (unless explicitly relaxed)."""
    if not caller_hotkey:
        return Verdict(True, "missing caller hotkey")
    neuron = neurons_by_hotkey.get(caller_hotkey)
    if neuron is None:
        return Verdict(True, "unregistered hotkey")
    if not neuron.validator_permit and not allow_unpermitted:
        return Verdict(True, "hotkey has no validator permit")
    return Verdict(False, "validator")


def priority(caller_hotkey: str | None, neurons_by_hotkey: Mapping[str, NeuronView]) -> float:
    """Stake orders concurrent callers; unknown callers (already blacklisted) get 0."""
    neuron = neurons_by_hotkey.get(caller_hotkey or "")
    return float(neuron.stake) if neuron else 0.0


def accepts_type(type_name: str) -> bool:
    """Forward-time check: our axon only takes connection info."""
    return type_name.strip().lower() == ACCEPTED_INBOUND_TYPE
