"""The two chain calls the runtime needs, behind a small interface a test can replace.

`SubtensorChain` talks to a real subtensor; `MockChain` runs the same calls against
bittensor's in-process `MockSubtensor`, plus helpers to lay out a simulated subnet. Both are
synchronous like bittensor itself; `ChainSync` calls them through `asyncio.to_thread`.

    MinerRuntimeError
     └── ChainError
          ├── ChainUnavailableError   reading the chain failed (connection, RPC error)
          └── ServeError              serve_axon was not accepted
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from async_substrate_interface.errors import (  # type: ignore[import-untyped]
    BlockNotFound,
    SubstrateRequestException,
)
from bittensor.core.settings import version_as_int
from bittensor.utils.mock.subtensor_mock import AxonInfoDict, MockSubtensor
from websockets.exceptions import ConnectionClosed

from miner_runtime.chain.neurons import to_views
from miner_runtime.errors import MinerRuntimeError
from miner_runtime.validator_client.selection import NeuronView

AXON_PROTOCOL = 4  # what `serve_axon_extrinsic` publishes (plain HTTP axon)
U16_MAX = 65535  # the chain stores incentive and consensus as u16 fractions
RAO_PER_TAO = 1_000_000_000
REGISTRATION_BLOCKS = "BlockAtRegistration"  # the chain's storage item; the mock has none

# What a sync substrate call raises when the node is unreachable or answers with an error.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    SubstrateRequestException,
    BlockNotFound,
    ConnectionClosed,
    OSError,  # ConnectionError, TimeoutError, socket.gaierror
)


# Reading a storage item can also fail as a ValueError (an item this node does not know).
TERMS_ERRORS: tuple[type[BaseException], ...] = (*TRANSPORT_ERRORS, ValueError)


class ChainError(MinerRuntimeError):
    """A chain operation failed; the message is one line."""


class ChainUnavailableError(ChainError):
    """The chain could not be read; the last good snapshot stays in use."""


class ServeError(ChainError):
    """`serve_axon` was refused or not sent (rate limit, unregistered hotkey, bad IP, ...)."""


@dataclass(frozen=True)
class StandingTerms:
    """The subnet terms a hotkey's standing is read against: blocks per epoch, the
    immunity a new registration gets, and the block our uid was registered at."""

    tempo: int
    immunity_period: int
    registered_at_block: int | None  # None: not known (or not registered)


class ChainClient(Protocol):
    """What the runtime asks of the chain, for one netuid and one hotkey."""

    def neurons(self) -> list[NeuronView]:
        """Every neuron of the subnet, ordered by uid (empty when the subnet does not exist)."""
        ...

    def block(self) -> int:
        """The current block number."""
        ...

    def serve_axon(self, ip: str, port: int) -> None:
        """Publish ip:port as our hotkey's axon; raises `ServeError` when not accepted."""
        ...

    def standing_terms(self, uid: int) -> StandingTerms:
        """The subnet's tempo and immunity period, and when `uid` was registered."""
        ...


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


@dataclass(frozen=True)
class _AdvertisedAxon:
    """The three attributes `serve_axon_extrinsic` reads from a `bt.Axon`.

    A real `bt.Axon` builds a FastAPI app and a server thread; publishing an endpoint needs
    none of that, and our axon may well be owned by another component.
    """

    wallet: Any
    external_ip: str
    external_port: int


class SubtensorChain:
    """`ChainClient` over a real `bt.Subtensor`: `neurons_lite` and `serve_axon`."""

    def __init__(self, subtensor: Any, *, netuid: int, wallet: Any) -> None:
        self._subtensor = subtensor
        self._netuid = netuid
        self._wallet = wallet

    def neurons(self) -> list[NeuronView]:
        try:
            raw = self._subtensor.neurons_lite(netuid=self._netuid)
        except TRANSPORT_ERRORS as exc:
            raise ChainUnavailableError(
                f"reading the neurons of netuid {self._netuid} failed: {_one_line(exc)}"
            ) from exc
        return to_views(raw)

    def block(self) -> int:
        try:
            return int(self._subtensor.get_current_block())
        except TRANSPORT_ERRORS as exc:
            raise ChainUnavailableError(
                f"reading the current block failed: {_one_line(exc)}"
            ) from exc

    def standing_terms(self, uid: int) -> StandingTerms:
        try:
            tempo = self._subtensor.tempo(self._netuid)
            immunity = self._subtensor.immunity_period(self._netuid)
            registered = self._subtensor.query_subtensor(
                "BlockAtRegistration", params=[self._netuid, uid]
            )
        except TERMS_ERRORS as exc:
            raise ChainUnavailableError(
                f"reading the terms of netuid {self._netuid} failed: {_one_line(exc)}"
            ) from exc
        if tempo is None or immunity is None:  # the subnet is not there (any more)
            raise ChainUnavailableError(f"netuid {self._netuid} reports no tempo or immunity")
        value = getattr(registered, "value", registered)
        return StandingTerms(
            tempo=int(tempo),
            immunity_period=int(immunity),
            registered_at_block=int(value) if value else None,  # 0: the chain's "unset"
        )

    def serve_axon(self, ip: str, port: int) -> None:
        axon = _AdvertisedAxon(wallet=self._wallet, external_ip=ip, external_port=port)
        try:
            # No MEV shield: it cannot carry hotkey-signed extrinsics (bittensor's own
            # warning), and BT_MEV_PROTECTION in the environment must not turn it on.
            # Inclusion is enough: if a fork drops it, the next sync sees the old axon and
            # we serve again.
            response = self._subtensor.serve_axon(
                self._netuid,
                axon,
                mev_protection=False,
                wait_for_inclusion=True,
                wait_for_finalization=False,
            )
        except TRANSPORT_ERRORS as exc:
            raise ServeError(f"serve_axon {ip}:{port} not sent: {_one_line(exc)}") from exc
        if not response.success:
            raise ServeError(
                f"serve_axon {ip}:{port} on netuid {self._netuid} refused: "
                f"{_one_line(response.message)}"
            )


class MockChain:
    """`ChainClient` over bittensor's `MockSubtensor`, plus helpers to lay out a subnet.

    `MockSubtensor` keeps one process-global state: every instance sees the same chain, and
    `MockSubtensor.reset()` clears it.

    `serve_axon` writes our axon into the mock chain state itself instead of calling
    `MockSubtensor.serve_axon`: in bittensor 10.1.0 that extrinsic path runs against a
    MagicMock substrate and fails ("'<=' not supported between 'int' and 'MagicMock'").
    The write is what the chain's `serve_axon` does: store the hotkey's AxonInfo at the
    current block, after rejecting an unregistered hotkey or an unspecified IP.
    """

    def __init__(
        self,
        *,
        netuid: int,
        hotkey_ss58: str,
        subtensor: Any | None = None,
        before_read: Callable[[MockChain], None] | None = None,
    ) -> None:
        self._netuid = netuid
        self._hotkey = hotkey_ss58
        self._subtensor = MockSubtensor() if subtensor is None else subtensor
        self._before_read = before_read  # e.g. re-seeding from a changed neurons file

    @property
    def subtensor(self) -> Any:
        """The underlying `MockSubtensor` (for bittensor's own mock helpers)."""
        return self._subtensor

    @property
    def _state(self) -> Any:
        return self._subtensor.chain_state["SubtensorModule"]

    # ChainClient

    def neurons(self) -> list[NeuronView]:
        if self._before_read is not None:
            self._before_read(self)
        if not self.subnet_exists():
            return []  # as a real chain answers for an unknown netuid
        return to_views(self._subtensor.neurons(self._netuid))

    def block(self) -> int:
        return int(self._subtensor.get_current_block())

    def standing_terms(self, uid: int) -> StandingTerms:
        registered = self._state.get(REGISTRATION_BLOCKS, {}).get(self._netuid, {}).get(uid)
        return StandingTerms(
            tempo=int(self._subtensor._get_most_recent_storage(self._state["Tempo"][self._netuid])),
            immunity_period=int(
                self._subtensor._get_most_recent_storage(
                    self._state["ImmunityPeriod"][self._netuid]
                )
            ),
            registered_at_block=registered,
        )

    def serve_axon(self, ip: str, port: int) -> None:
        if self.uid_of(self._hotkey) is None:
            raise ServeError(
                f"serve_axon {ip}:{port} refused: hotkey {self._hotkey} is not registered "
                f"on netuid {self._netuid} (HotKeyNotRegisteredInNetwork)"
            )
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            raise ServeError(f"serve_axon {ip}:{port} refused: not an IP address") from None
        if address.is_unspecified:
            raise ServeError(f"serve_axon {ip}:{port} refused: InvalidIpAddress")
        self.set_axon(self._hotkey, ip, port)

    # Test and demo setup

    def subnet_exists(self) -> bool:
        return self._netuid in self._state["NetworksAdded"]

    def create_subnet(self) -> bool:
        """Create our netuid unless it exists; True when it was created."""
        if self.subnet_exists():
            return False
        self._subtensor.create_subnet(self._netuid)
        return True

    def uid_of(self, hotkey_ss58: str) -> int | None:
        """The hotkey's uid on our netuid, or None when it is not registered."""
        if not self.subnet_exists():
            return None
        history = self._state["Uids"][self._netuid].get(hotkey_ss58)
        if not history or history[max(history)] is None:  # None: deregistered
            return None
        return int(history[max(history)])  # keyed by the block the uid was assigned

    def register(
        self,
        hotkey_ss58: str,
        coldkey_ss58: str,
        *,
        stake: float = 0.0,
        validator_permit: bool = False,
        axon: tuple[str, int] | None = None,
    ) -> int:
        """Register a neuron on our netuid and return its uid."""
        if not self.subnet_exists():
            raise ValueError(f"netuid {self._netuid} does not exist on the mock chain")
        if self.uid_of(hotkey_ss58) is not None:
            raise ValueError(f"hotkey {hotkey_ss58} is already registered")
        uid = int(
            self._subtensor.force_register_neuron(
                self._netuid, hotkey_ss58, coldkey_ss58, stake=float(stake)
            )
        )
        self._record_registration(uid)
        if validator_permit:
            self.set_validator_permit(uid, True)
        if axon is not None:
            self.set_axon(hotkey_ss58, *axon)
        return uid

    def _record_registration(self, uid: int) -> None:
        """What the chain keeps as `BlockAtRegistration` (the mock keeps nothing)."""
        blocks = self._state.setdefault(REGISTRATION_BLOCKS, {}).setdefault(self._netuid, {})
        blocks[uid] = int(self._subtensor.block_number)

    def replace(self, old_hotkey: str, hotkey_ss58: str, coldkey_ss58: str) -> int:
        """Deregister `old_hotkey` the way a full subnet does: a new registration takes its
        uid, with a fresh standing (no axon, no incentive, no emission)."""
        uid = self.uid_of(old_hotkey)
        if uid is None:
            raise ValueError(f"hotkey {old_hotkey} is not registered")
        if self.uid_of(hotkey_ss58) is not None:
            raise ValueError(f"hotkey {hotkey_ss58} is already registered")
        block = int(self._subtensor.block_number)
        self._state["Uids"][self._netuid][old_hotkey][block] = None
        self._state["Uids"][self._netuid][hotkey_ss58] = {block: uid}
        self._state["Keys"][self._netuid][uid][block] = hotkey_ss58
        self._state["Owner"][hotkey_ss58] = {block: coldkey_ss58}
        self._state["Stake"][hotkey_ss58] = {coldkey_ss58: {block: 0}}
        self.set_standing(uid, incentive=0.0, consensus=0.0, emission=0.0)
        self._record_registration(uid)
        return uid

    def set_standing(
        self, uid: int, *, incentive: float, consensus: float, emission: float
    ) -> None:
        """The epoch's result for `uid`, stored as the chain stores it (u16 fractions,
        emission in RAO per tempo)."""
        block = int(self._subtensor.block_number)
        self._state["Incentive"][self._netuid][uid][block] = round(incentive * U16_MAX)
        self._state["Consensus"][self._netuid][uid][block] = round(consensus * U16_MAX)
        self._state["Emission"][self._netuid][uid][block] = round(emission * RAO_PER_TAO)

    def set_validator_permit(self, uid: int, permitted: bool) -> None:
        self._state["ValidatorPermit"][self._netuid][uid][self._subtensor.block_number] = permitted

    def set_axon(self, hotkey_ss58: str, ip: str, port: int) -> None:
        """Store ip:port as the hotkey's axon at the current block (no checks)."""
        address = ipaddress.ip_address(ip)
        block = int(self._subtensor.block_number)
        axons = self._state["Axons"][self._netuid].setdefault(hotkey_ss58, {})
        axons[block] = AxonInfoDict(
            block=block,
            version=version_as_int,
            ip=int(address),
            port=port,
            ip_type=address.version,
            protocol=AXON_PROTOCOL,
            placeholder1=0,
            placeholder2=0,
        )
