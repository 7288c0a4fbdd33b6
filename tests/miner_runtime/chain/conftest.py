"""A clean simulated subnet per test: bittensor's MockSubtensor state is process-global.

Each test starts from `MockSubtensor.reset()`, and whatever state existed before (say, a
session fixture's simulated subnet) is put back afterwards, so these tests wipe nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

import bittensor as bt
import pytest

from miner_runtime.chain.client import MockChain
from sparket_testkit.mock_chain_state import isolated_mock_subtensor

NETUID = 57


@functools.cache
def ss58(name: str) -> str:
    """A real, deterministic SS58 address per name (`//name` dev key)."""
    return str(bt.Keypair.create_from_uri(f"//{name}").ss58_address)


@pytest.fixture(autouse=True)
def reset_mock_subtensor() -> Iterator[None]:
    with isolated_mock_subtensor():
        yield


@pytest.fixture
def keys() -> Callable[[str], str]:
    return ss58


@pytest.fixture
def own_hotkey() -> str:
    return ss58("us")


@pytest.fixture
def chain(own_hotkey: str) -> MockChain:
    """Our view of netuid 57 on a fresh mock chain (subnet created, nobody registered)."""
    mock = MockChain(netuid=NETUID, hotkey_ss58=own_hotkey)
    assert mock.create_subnet() is True
    return mock
