"""The runtime's view of the chain, and publishing our axon once per endpoint change.

`ChainSync.refresh()` reads the subnet and returns a frozen `ChainSnapshot`: who is
registered (our uid or None), and which validators to send to. `ensure_served()` calls
`serve_axon` only when the axon the chain holds for our hotkey differs from the advertised
ip:port, so a restart with an unchanged endpoint sends nothing; the chain rate-limits
serving (ServingRateLimit, 50 blocks by default), so after a failed serve it waits
`serve_retry_seconds` before trying again. The decisions are pure functions below.

Both methods hold one asyncio.Lock: with two concurrent callers a serve is never sent twice
and a snapshot is never replaced by an older read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import ipaddress
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from miner_runtime.chain.client import ChainClient, ServeError, StandingTerms
from miner_runtime.logs import log_event
from miner_runtime.validator_client.selection import NeuronView, select_validators

logger = logging.getLogger(__name__)

# Subtensor's default ServingRateLimit is 50 blocks of 12 s; a subnet may set another.
DEFAULT_SERVE_RETRY_SECONDS = 600.0

Endpoint = tuple[str, int]


@dataclass(frozen=True)
class ChainSnapshot:
    """One read of the subnet, as seen by the hotkey `own_hotkey`."""

    block: int
    synced_at: dt.datetime
    own_hotkey: str
    neurons: tuple[NeuronView, ...]
    neurons_by_hotkey: Mapping[str, NeuronView]
    own_uid: int | None  # None: our hotkey is not registered on the subnet
    validators: tuple[NeuronView, ...]  # permitted, serving, never ourselves; by stake

    @property
    def registered(self) -> bool:
        return self.own_uid is not None

    @property
    def own(self) -> NeuronView | None:
        return self.neurons_by_hotkey.get(self.own_hotkey)


def build_snapshot(
    neurons: Iterable[NeuronView], *, own_hotkey: str, block: int, synced_at: dt.datetime
) -> ChainSnapshot:
    """The snapshot for one read of the neuron list."""
    ordered = tuple(sorted(neurons, key=lambda n: n.uid))
    by_hotkey = MappingProxyType({n.hotkey: n for n in ordered})
    own = by_hotkey.get(own_hotkey)
    return ChainSnapshot(
        block=block,
        synced_at=synced_at,
        own_hotkey=own_hotkey,
        neurons=ordered,
        neurons_by_hotkey=by_hotkey,
        own_uid=None if own is None else own.uid,
        validators=tuple(select_validators(ordered, own_hotkey=own_hotkey)),
    )


def with_own_axon(snapshot: ChainSnapshot, endpoint: Endpoint) -> ChainSnapshot:
    """The snapshot after our serve was included: our neuron now carries `endpoint`.

    Without this, a second `ensure_served` before the next refresh would serve again and
    run into the chain's rate limit.
    """
    ip, port = endpoint
    neurons = [
        replace(n, ip=ip, port=port) if n.hotkey == snapshot.own_hotkey else n
        for n in snapshot.neurons
    ]
    return build_snapshot(
        neurons,
        own_hotkey=snapshot.own_hotkey,
        block=snapshot.block,
        synced_at=snapshot.synced_at,
    )


class ServeStatus(enum.StrEnum):
    SERVED = "served"  # serve_axon was accepted
    UP_TO_DATE = "up_to_date"  # the chain already holds the advertised endpoint
    NOT_REGISTERED = "not_registered"  # serving needs a registered hotkey
    INVALID_ENDPOINT = "invalid_endpoint"  # e.g. 0.0.0.0: the chain would refuse it
    BACKING_OFF = "backing_off"  # the last serve failed less than the retry interval ago
    FAILED = "failed"  # serve_axon was refused; retried after the interval


@dataclass(frozen=True)
class ServeOutcome:
    """What `ensure_served` did, and why (`detail` is one line, or empty)."""

    status: ServeStatus
    endpoint: Endpoint
    detail: str = ""


def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


def holds_endpoint(neuron: NeuronView, endpoint: Endpoint) -> bool:
    """True when the neuron's on-chain axon is `endpoint` (addresses compared as addresses)."""
    ip, port = endpoint
    on_chain, wanted = _address(neuron.ip), _address(ip)
    return on_chain is not None and on_chain == wanted and neuron.port == port


def reason_not_to_serve(
    own: NeuronView | None,
    advertised: Endpoint,
    *,
    last_failure_at: float | None,
    now: float,
    retry_seconds: float,
) -> ServeOutcome | None:
    """Why `serve_axon` must not be called now, or None when it should be.

    `own` is our neuron in the latest snapshot (None: not registered); `last_failure_at` and
    `now` are readings of one monotonic clock.
    """
    ip, port = advertised
    if own is None:
        return ServeOutcome(ServeStatus.NOT_REGISTERED, advertised, "hotkey not registered")
    address = _address(ip)
    if address is None or address.is_unspecified or not 1 <= port <= 65535:
        return ServeOutcome(
            ServeStatus.INVALID_ENDPOINT,
            advertised,
            f"{ip}:{port} is not an endpoint validators can reach; set SPARKET_AXON__EXTERNAL_IP",
        )
    if holds_endpoint(own, advertised):
        return ServeOutcome(ServeStatus.UP_TO_DATE, advertised)
    if last_failure_at is not None:
        wait = last_failure_at + retry_seconds - now
        if wait > 0:
            return ServeOutcome(
                ServeStatus.BACKING_OFF, advertised, f"last serve failed; retry in {wait:.0f} s"
            )
    return None


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ChainSync:
    """Owns the chain view of one hotkey; safe to call from concurrent tasks."""

    def __init__(
        self,
        client: ChainClient,
        *,
        own_hotkey: str,
        serve_retry_seconds: float = DEFAULT_SERVE_RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self._client = client
        self._own_hotkey = own_hotkey
        self._serve_retry_seconds = serve_retry_seconds
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = asyncio.Lock()
        self._snapshot: ChainSnapshot | None = None
        self._serve_failed_at: float | None = None

    @property
    def snapshot(self) -> ChainSnapshot | None:
        """The latest snapshot, or None before the first successful `refresh`."""
        return self._snapshot

    async def refresh(self) -> ChainSnapshot:
        """Read the subnet now; `ChainUnavailableError` leaves the previous snapshot."""
        async with self._lock:
            return await self._refresh_locked()

    async def ensure_served(self, advertised: Endpoint) -> ServeOutcome:
        """Serve `advertised` unless the chain already holds it (see `reason_not_to_serve`).

        Uses the latest snapshot (refreshing first if there is none). A refused serve comes
        back as `FAILED`, not as an exception; reading the chain can still raise
        `ChainUnavailableError`.
        """
        async with self._lock:
            snapshot = self._snapshot or await self._refresh_locked()
            skip = reason_not_to_serve(
                snapshot.own,
                advertised,
                last_failure_at=self._serve_failed_at,
                now=self._clock(),
                retry_seconds=self._serve_retry_seconds,
            )
            if skip is not None:
                return skip
            ip, port = advertised
            try:
                await asyncio.to_thread(self._client.serve_axon, ip, port)
            except ServeError as exc:
                self._serve_failed_at = self._clock()
                log_event(
                    logger, "axon_serve_failed", logging.WARNING, ip=ip, port=port, error=str(exc)
                )
                return ServeOutcome(ServeStatus.FAILED, advertised, str(exc))
            self._serve_failed_at = None
            self._snapshot = with_own_axon(snapshot, advertised)
            log_event(logger, "axon_served", ip=ip, port=port, uid=snapshot.own_uid)
            return ServeOutcome(ServeStatus.SERVED, advertised)

    async def standing_terms(self, uid: int) -> StandingTerms:
        """The subnet terms our standing is read against (`ChainUnavailableError` when the
        chain cannot be read)."""
        return await asyncio.to_thread(self._client.standing_terms, uid)

    async def _refresh_locked(self) -> ChainSnapshot:
        block, neurons = await asyncio.to_thread(self._read)
        self._snapshot = build_snapshot(
            neurons, own_hotkey=self._own_hotkey, block=block, synced_at=self._wall_clock()
        )
        return self._snapshot

    def _read(self) -> tuple[int, list[NeuronView]]:
        # The block first: the neurons are then at least as new as the block reported.
        return self._client.block(), self._client.neurons()
