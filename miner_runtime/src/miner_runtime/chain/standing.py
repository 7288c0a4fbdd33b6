"""Our hotkey's standing on the subnet, from the metagraph the runtime already syncs. Pure.

"Is this miner earning?" is answered here: uid, incentive, consensus, emission (per tempo
and per day), stake, registration block and the immunity left, and whether we were
deregistered. bittensor 10's neuron records carry no `rank` or `trust` (subtensor dropped
them), so neither is reported.

Rules, and the chain fact each answers:
- Deregistration is our uid held by another hotkey: a full subnet prunes the lowest-scoring
  neuron outside immunity and gives its uid to the new registration (uids are never
  emptied). It is remembered from the first read that shows it until we are registered
  again. A read where our old uid is missing altogether (an empty or short neuron list, as
  a node answers when it cannot serve the subnet) proves nothing: the last standing stays.
- A chain that cannot be read leaves the last standing as it was; its `read_at` says how
  old it is (the status shows the age), so nothing stale is shown as fresh and no zero is
  invented.
- Emission per day: the chain reports emission per tempo, and an epoch runs every
  `tempo + 1` blocks of 12 s (7,200 blocks a day).
- Emission is in the subnet's own token, alpha: since dynamic TAO a neuron's `Emission` is
  paid in its subnet's alpha (bittensor's `NeuronInfo.emission` is that, divided by 1e9).
  Its TAO worth moves with the subnet's price, which this does not read; so every field,
  column and metric says alpha, not TAO.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from miner_runtime.chain.client import StandingTerms
from miner_runtime.chain.sync import ChainSnapshot

BLOCKS_PER_DAY = 7200  # 12 s blocks


@dataclass(frozen=True)
class Standing:
    """One read of our standing; `uid` None: not registered at that read."""

    uid: int | None
    incentive: float
    consensus: float
    emission_per_tempo: float  # the subnet's alpha token (see the module's docstring)
    emission_per_day: float | None  # alpha; None: the subnet's tempo could not be read
    stake: float  # TAO
    registered_at_block: int | None
    immunity_blocks_left: int | None  # 0: out of immunity; None: not known
    block: int
    read_at: dt.datetime
    deregistered_at: dt.datetime | None = None  # first read that found us gone
    deregistered_reason: str | None = None

    @property
    def registered(self) -> bool:
        return self.uid is not None

    @property
    def deregistered(self) -> bool:
        return self.deregistered_at is not None


def emission_per_day(per_tempo: float, tempo: int) -> float:
    """alpha a day from alpha per tempo (an epoch every `tempo + 1` blocks)."""
    return per_tempo * BLOCKS_PER_DAY / (tempo + 1)


def immunity_left(terms: StandingTerms, block: int) -> int | None:
    if terms.registered_at_block is None:
        return None
    return max(0, terms.registered_at_block + terms.immunity_period - block)


def read_standing(
    snapshot: ChainSnapshot, terms: StandingTerms | None, previous: Standing | None
) -> Standing:
    """The standing in `snapshot`; `terms` None: the subnet's terms could not be read
    (the per-day emission and immunity are then not known)."""
    own = snapshot.own
    if own is None:
        return _unregistered(snapshot, previous)
    per_day = emission_per_day(own.emission, terms.tempo) if terms is not None else None
    return Standing(
        uid=own.uid,
        incentive=own.incentive,
        consensus=own.consensus,
        emission_per_tempo=own.emission,
        emission_per_day=per_day,
        stake=own.stake,
        registered_at_block=terms.registered_at_block if terms is not None else None,
        immunity_blocks_left=immunity_left(terms, snapshot.block) if terms is not None else None,
        block=snapshot.block,
        read_at=snapshot.synced_at,
    )


def _unregistered(snapshot: ChainSnapshot, previous: Standing | None) -> Standing:
    if (
        previous is not None
        and previous.uid is not None
        and not any(n.uid == previous.uid for n in snapshot.neurons)
    ):
        return previous  # our uid is missing from the read: a bad read, not a verdict
    if previous is not None and previous.deregistered:
        at, reason = previous.deregistered_at, previous.deregistered_reason
    elif previous is not None and previous.uid is not None:
        at, reason = snapshot.synced_at, deregistration_reason(snapshot, previous.uid)
    else:
        at, reason = None, None  # never registered while we watched
    return Standing(
        uid=None,
        incentive=0.0,
        consensus=0.0,
        emission_per_tempo=0.0,
        emission_per_day=0.0,
        stake=0.0,
        registered_at_block=None,
        immunity_blocks_left=None,
        block=snapshot.block,
        read_at=snapshot.synced_at,
        deregistered_at=at,
        deregistered_reason=reason,
    )


def deregistration_reason(snapshot: ChainSnapshot, old_uid: int) -> str:
    holder = next(n for n in snapshot.neurons if n.uid == old_uid)  # `_unregistered` checked
    return f"uid {old_uid} now held by {holder.hotkey}"


def worth_logging(previous: Standing | None, current: Standing) -> bool:
    """A change someone watching the fleet cares about: registration, immunity ending, or
    incentive or emission moving by more than rounding."""
    if previous is None:
        return True
    if (previous.uid, previous.deregistered) != (current.uid, current.deregistered):
        return True
    if (previous.immunity_blocks_left or 0) > 0 and current.immunity_blocks_left == 0:
        return True
    return round(previous.incentive, 4) != round(current.incentive, 4) or round(
        previous.emission_per_day or 0.0, 4
    ) != round(current.emission_per_day or 0.0, 4)
