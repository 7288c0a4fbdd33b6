"""Helpers for running a whole runtime (`MinerApp`) on loopback against MockSubtensor.

Used by tests/miner_runtime/integration's conftest and tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import bittensor as bt
from bittensor_wallet import Keypair

from miner_runtime.app import MinerApp
from miner_runtime.chain.client import MockChain
from miner_runtime.pacing import Cadence
from miner_runtime.settings import Settings
from sparket_local_validator.server import LocalValidator

# The miner's egress IP and TCP source. Not 127.0.0.1: a bittensor Dendrite rewrites a
# target whose IP equals its own external IP to 0.0.0.0, which is not loopback.
MINER_EGRESS_IP = "127.0.0.2"


FAST = Cadence(
    chain_sync_seconds=0.5,
    game_sync_seconds=2.0,
    odds_seconds=2.0,
    outcome_seconds=2.0,
    jitter_seconds=0.0,
)


@dataclass
class Subnet:
    netuid: int
    chain: MockChain  # as seen by the miner under test

    def add_validator(
        self, *, stake: float = 1000.0, axon: tuple[str, int] | None = None, permit: bool = True
    ) -> Keypair:
        keypair = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
        coldkey = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
        self.chain.register(
            keypair.ss58_address,
            coldkey.ss58_address,
            stake=stake,
            validator_permit=permit,
            axon=axon,
        )
        return keypair


@dataclass
class MinerUnderTest:
    wallet: bt.Wallet
    settings: Settings
    subnet: Subnet


AppFactory = Callable[..., Any]


def assert_nothing_counted_against_us(app: MinerApp, validator: LocalValidator) -> None:
    """No failure, violation or ban for our hotkey or our egress IP, and no reply that the
    miner saw as a rejection (403s, 429s and errors all land in its tally)."""
    counters: dict[str, Any] = validator.counters()
    for key, table in ((app.hotkey, "hotkeys"), (app.services.egress_ip, "ips")):
        record = counters[table].get(key)
        assert record is None or (record["failures"], record["violations"]) == (0, 0), record
    banned = {ban["identifier"] for ban in counters["bans"]}
    assert not banned & {app.hotkey, app.services.egress_ip}
    tally = app.services.status.tallies.get(validator.hotkey)
    assert tally is not None and tally.accepted > 0 and not tally.rejected, tally
