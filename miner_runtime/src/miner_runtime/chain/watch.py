"""The chain loop: keeps the latest snapshot (registration, validators), our standing
(`chain.standing`), and our axon served.

Every other loop reads the chain through this object: `ready` is set after the first
sync attempt that succeeded, and `validators()` is empty while the hotkey is unregistered
(an unregistered hotkey has nothing to send to anyone: a deregistered one stops sending
at the sync that finds it gone, as the validator would refuse it from then on).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from miner_runtime.chain.client import ChainError, StandingTerms
from miner_runtime.chain.standing import Standing, read_standing, worth_logging
from miner_runtime.chain.sync import ChainSnapshot, ChainSync, ServeStatus
from miner_runtime.logs import log_event
from miner_runtime.pacing import Pacer
from miner_runtime.validator_client.selection import NeuronView

logger = logging.getLogger(__name__)

SnapshotObserver = Callable[[ChainSnapshot, Standing], None]
TERMS_REFRESH = dt.timedelta(hours=1)


@dataclass(frozen=True)
class _Terms:
    uid: int
    read_at: dt.datetime
    terms: StandingTerms


class ChainWatch:
    def __init__(
        self,
        sync: ChainSync,
        *,
        advertised: tuple[str, int],
        observe: SnapshotObserver = lambda _snapshot, _standing: None,
    ) -> None:
        self.sync = sync
        self.advertised = advertised
        self.snapshot: ChainSnapshot | None = None  # None until the first sync succeeds
        self.standing: Standing | None = None  # None until the first sync succeeds
        self._terms: _Terms | None = None  # the last terms read, and for which uid
        self.served = False
        self.ready = asyncio.Event()
        self._observe = observe

    @property
    def registered(self) -> bool:
        return self.snapshot is not None and self.snapshot.own_uid is not None

    def validators(self) -> list[NeuronView]:
        return list(self.snapshot.validators) if self.registered and self.snapshot else []

    def neurons_by_hotkey(self) -> Mapping[str, NeuronView]:
        return self.snapshot.neurons_by_hotkey if self.snapshot is not None else {}

    async def run(self, pacer: Pacer) -> None:
        await pacer.every(pacer.cadence.chain_sync_seconds, self.refresh)

    async def refresh(self) -> None:
        try:
            snapshot = await self.sync.refresh()
        except ChainError as exc:
            # Keep mining on the last snapshot; the next sync tries again.
            log_event(logger, "chain_sync_failed", logging.WARNING, error=str(exc))
            return
        was_registered = self.registered
        self.snapshot = snapshot
        self._observe(snapshot, await self._update_standing(snapshot))
        if self.registered != was_registered or not self.ready.is_set():
            log_event(
                logger,
                "miner_registration",
                registered=self.registered,
                uid=snapshot.own_uid,
                validators=len(snapshot.validators),
            )
        if self.registered:
            await self._ensure_served()
        self.ready.set()

    async def _terms_for(self, snapshot: ChainSnapshot) -> StandingTerms | None:
        """Our uid's terms: read when the uid is new to us, then again hourly (the subnet's
        tempo and immunity change by governance only, the registration block only with the
        uid), not at every sync of every hotkey. A failed read keeps that uid's last terms."""
        uid, cached = snapshot.own_uid, self._terms
        if uid is None:
            return None
        ours = cached if cached is not None and cached.uid == uid else None
        if ours is not None and snapshot.synced_at - ours.read_at < TERMS_REFRESH:
            return ours.terms
        try:
            terms = await self.sync.standing_terms(uid)
        except ChainError as exc:
            log_event(logger, "chain_terms_failed", logging.WARNING, error=str(exc))
            return ours.terms if ours is not None else None
        self._terms = _Terms(uid, snapshot.synced_at, terms)
        return terms

    async def _update_standing(self, snapshot: ChainSnapshot) -> Standing:
        terms = await self._terms_for(snapshot)
        previous, standing = self.standing, read_standing(snapshot, terms, self.standing)
        self.standing = standing
        if standing.deregistered and not (previous is not None and previous.deregistered):
            log_event(
                logger,
                "miner_deregistered",
                logging.ERROR,
                reason=standing.deregistered_reason,
                block=standing.block,
            )
        elif worth_logging(previous, standing):
            log_event(
                logger,
                "chain_standing",
                uid=standing.uid,
                incentive=round(standing.incentive, 6),
                emission_alpha_per_day=(
                    None
                    if standing.emission_per_day is None
                    else round(standing.emission_per_day, 6)
                ),
                immunity_blocks_left=standing.immunity_blocks_left,
                block=standing.block,
            )
        return standing

    async def _ensure_served(self) -> None:
        outcome = await self.sync.ensure_served(self.advertised)
        served = outcome.status in (ServeStatus.SERVED, ServeStatus.UP_TO_DATE)
        if outcome.status is not ServeStatus.UP_TO_DATE or served != self.served:
            log_event(
                logger,
                "miner_axon_served",
                logging.INFO if served else logging.WARNING,
                status=outcome.status.value,
                endpoint=endpoint_text(outcome.endpoint),
                detail=outcome.detail,
            )
        self.served = served


def endpoint_text(address: tuple[str, int]) -> str:
    return f"{address[0]}:{address[1]}"
