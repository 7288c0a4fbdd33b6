"""The contract every pricing engine meets (the built-in one, or a model sidecar)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from miner_runtime.protocol.models import OddsSubmission
from miner_runtime.storage import ActiveMarket


class PricingEngine(Protocol):
    def price(self, markets: Sequence[ActiveMarket], now: dt.datetime) -> list[OddsSubmission]:
        """One submission per market it can price (markets it cannot price are left out)."""
        ...
