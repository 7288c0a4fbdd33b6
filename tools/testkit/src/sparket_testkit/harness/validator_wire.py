"""Helpers for the over-the-wire tests: real keys, a real Axon, real Dendrites on loopback.

Shared by every `test_lv_*` module that talks to a running `LocalValidator`; the fixtures
built on them live in conftest.py. Distinct 127.0.0.x source addresses stand for distinct
egress IPs; every Dendrite reports the address it binds, as a stock one would report its
public IP.
"""

# No `from __future__ import annotations`: the test miner's forward function is attached
# to a bittensor Axon, which reads its first annotation at attach time.
import asyncio
import itertools
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import bittensor as bt
import httpx
from bittensor.utils.mock.subtensor_mock import MockSubtensor
from bittensor_wallet import Keypair

from sparket_local_services.ports import free_port, is_listening
from sparket_local_services.waits import wait_for
from sparket_local_validator.axon_server import AxonWallet
from sparket_local_validator.dendrite import LoopbackDendrite
from sparket_local_validator.ingest import Catalog
from sparket_local_validator.mock_chain import chain_view, serve_axon
from sparket_local_validator.server import LocalValidator
from sparket_local_validator.synapse import SparketSynapse

NETUIDS = itertools.count(4200)
"""MockSubtensor state is process-wide: each test takes a netuid nobody else uses."""
COOLDOWN = re.compile(r"You are in cooldown\. Try again in (\d+)s seconds")
MARKET = 10


def generated() -> Keypair:
    return Keypair.create_from_mnemonic(Keypair.generate_mnemonic())


def odds(
    token: object = None, *, market_id: int = MARKET, kind: str = "moneyline"
) -> dict[str, object]:
    """An ODDS_PUSH payload pricing both sides of one market (with `token` if given)."""
    payload: dict[str, object] = {
        "submissions": [
            {
                "market_id": market_id,
                "kind": kind,
                "prices": [{"side": "home", "odds_eu": 1.9}, {"side": "away", "odds_eu": 2.05}],
            }
        ]
    }
    if token is not None:
        payload["token"] = token
    return payload


@dataclass
class Registry:
    """The validator's chain: whoever is in `hotkeys` is registered (after a sync)."""

    hotkeys: set[str] = field(default_factory=set)

    def __call__(self) -> list[str]:
        return sorted(self.hotkeys)


async def ask(
    validator: LocalValidator,
    keypair: Keypair,
    synapse_type: str = "game_data_request",
    payload: Any = None,
    *,
    source: str = "127.0.0.2",
) -> SparketSynapse:
    """One signed request from `source`, reporting `source` as its IP; the reply synapse."""
    dendrite = LoopbackDendrite(keypair, external_ip=source, source_address=source)
    synapse = SparketSynapse(type=synapse_type, payload={} if payload is None else payload)
    try:
        reply: SparketSynapse = await dendrite.call(
            validator.axon_info(), synapse, timeout=10, deserialize=False
        )
        return reply
    finally:
        await dendrite.aclose_session()


async def burst(
    validator: LocalValidator, keypair: Keypair, n: int, *, source: str
) -> list[SparketSynapse]:
    """N requests in flight at once (one Dendrite each, so nonces cannot cross)."""
    return list(await asyncio.gather(*(ask(validator, keypair, source=source) for _ in range(n))))


def errors(replies: list[SparketSynapse]) -> list[object]:
    assert [r.dendrite.status_code for r in replies] == [200] * len(replies)
    return sorted((r.payload.get("error") or "" for r in replies), key=str)


def outcome(reply: SparketSynapse) -> tuple[int, object]:
    """(HTTP status, listener error or ""): what one reply amounts to, for comparisons."""
    status = int(reply.dendrite.status_code)
    error = reply.payload.get("error") if status == 200 else None
    return status, error or ""


async def get(url: str, *, source: str, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(transport=transport, timeout=10) as client:
        return await client.get(url, headers=headers)


def root_url(validator: LocalValidator, path: str = "/") -> str:
    return f"http://127.0.0.1:{validator.port}{path}"


# A miner that records CONNECTION_INFO -----------------------------------------------------


@dataclass
class RecordingMiner:
    """A miner Axon that records every CONNECTION_INFO it is sent, and when it arrived."""

    keypair: Keypair
    axon: Any
    delay_seconds: float = 0.0
    pushes: list[dict[str, Any]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    """`time.monotonic()` of each push, in the order of `pushes`."""

    def tokens(self) -> list[str]:
        return [push["payload"]["token"] for push in self.pushes]


@contextmanager
def recording_miner_axon(keypair: Keypair) -> Iterator[RecordingMiner]:
    """A serving `RecordingMiner` on a free loopback port, stopped on exit."""
    axon = bt.Axon(
        wallet=AxonWallet(keypair), port=free_port(), ip="127.0.0.1", external_ip="127.0.0.1"
    )
    recorder = RecordingMiner(keypair, axon)

    async def forward(synapse: SparketSynapse) -> SparketSynapse:
        await asyncio.sleep(recorder.delay_seconds)  # a slow miner: outlasts push rounds
        recorder.arrivals.append(time.monotonic())
        recorder.pushes.append(
            {"type": synapse.type, "payload": synapse.payload, "from": synapse.dendrite.hotkey}
        )
        return synapse

    axon.attach(forward_fn=forward)
    axon.start()
    wait_for(lambda: is_listening(axon.port), timeout=20, what="the test miner's axon")
    try:
        yield recorder
    finally:
        axon.stop()


@dataclass
class Chain:
    subtensor: MockSubtensor
    netuid: int
    validator: Keypair

    def validator_on_chain(self, catalog: Catalog | None = None, **options: Any) -> LocalValidator:
        """Not started: use it as a context manager. Its own axon is on chain too.

        `options` go to `LocalValidator` as they are (push interval, first-push delay...).
        """
        view = chain_view(self.subtensor, self.netuid)
        port = free_port()
        serve_axon(self.subtensor, self.netuid, self.validator.ss58_address, "127.0.0.1", port)
        return LocalValidator(
            self.validator,
            port=port,
            registered_hotkeys=view.registered_hotkeys,
            push_targets=view.push_targets,
            catalog=catalog,
            **options,
        )
