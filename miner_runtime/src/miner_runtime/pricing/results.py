"""Where final scores of past games come from (the value itself is `protocol.results`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from miner_runtime.protocol.messages import League
from miner_runtime.protocol.results import GameResult


class ResultsSource(Protocol):
    name: str

    async def results(
        self, league: League, first_day: dt.date, last_day: dt.date
    ) -> Sequence[GameResult]:
        """Finished games of `league` played on [first_day, last_day] (UTC dates)."""
        ...
