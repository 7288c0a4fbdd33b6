"""SubtensorChain's use of a `bt.Subtensor`, checked against a stand-in (no network)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from bittensor.core.types import ExtrinsicResponse

from miner_runtime.chain.client import ChainUnavailableError, MockChain, ServeError, SubtensorChain


class StandInSubtensor:
    """The three `bt.Subtensor` methods SubtensorChain calls, recording their arguments."""

    def __init__(self, neurons: list[Any], response: ExtrinsicResponse | Exception) -> None:
        self._neurons = neurons
        self._response = response
        self.served: list[tuple[int, Any, dict[str, Any]]] = []

    def neurons_lite(self, netuid: int) -> list[Any]:
        if isinstance(self._response, Exception):
            raise self._response
        return self._neurons

    def get_current_block(self) -> int:
        if isinstance(self._response, Exception):
            raise self._response
        return 4242

    def serve_axon(self, netuid: int, axon: Any, **options: Any) -> ExtrinsicResponse:
        self.served.append((netuid, axon, options))
        if isinstance(self._response, Exception):
            raise self._response
        return self._response


WALLET = object()


def test_neurons_come_from_neurons_lite(chain: MockChain, keys: Callable[[str], str]) -> None:
    chain.register(
        keys("val"), keys("cold"), stake=3.0, validator_permit=True, axon=("198.51.100.1", 8091)
    )
    infos = chain.subtensor.neurons(57)
    real = SubtensorChain(StandInSubtensor(infos, ExtrinsicResponse()), netuid=57, wallet=WALLET)
    assert real.neurons() == chain.neurons()
    assert real.block() == 4242


def test_serve_publishes_the_advertised_endpoint_signed_by_our_wallet() -> None:
    stand_in = StandInSubtensor([], ExtrinsicResponse(True, "Success"))
    SubtensorChain(stand_in, netuid=57, wallet=WALLET).serve_axon("203.0.113.10", 31007)
    [(netuid, axon, options)] = stand_in.served
    assert netuid == 57
    assert (axon.wallet, axon.external_ip, axon.external_port) == (WALLET, "203.0.113.10", 31007)
    assert options["mev_protection"] is False  # MEV shield cannot carry hotkey-signed calls


def test_a_refused_serve_is_a_serve_error() -> None:
    refused = ExtrinsicResponse(
        False, "Subtensor returned `ServingRateLimitExceeded(Module)`\nerror"
    )
    real = SubtensorChain(StandInSubtensor([], refused), netuid=57, wallet=WALLET)
    with pytest.raises(
        ServeError, match=r"refused: Subtensor returned `ServingRateLimitExceeded\(Module\)` error$"
    ):
        real.serve_axon("203.0.113.10", 31007)


def test_transport_failures_are_typed() -> None:
    real = SubtensorChain(
        StandInSubtensor([], ConnectionRefusedError(111, "refused")), netuid=57, wallet=WALLET
    )
    with pytest.raises(ChainUnavailableError, match="reading the neurons of netuid 57 failed"):
        real.neurons()
    with pytest.raises(ChainUnavailableError, match="current block"):
        real.block()
    with pytest.raises(ServeError, match="not sent"):
        real.serve_axon("203.0.113.10", 31007)
