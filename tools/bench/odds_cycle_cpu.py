"""CPU time of one odds cycle for N markets, network excluded.

Runs the real `Submitter` (pricing, planning in the real SQLite store, payload building,
completion) against a link that answers at once, so what is measured is the runtime's own
work per cycle. Every cycle moves every price, so all N markets are planned and sent.

    uv run python tools/bench/odds_cycle_cpu.py [--markets 500] [--cycles 10]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from miner_runtime.budget.memory_backend import MemoryCoordinator
from miner_runtime.budget.model import Budgets, Rate
from miner_runtime.pricing.builtin import BuiltinEngine
from miner_runtime.pricing.engine import EngineCondition, MarketQuery, Quote
from miner_runtime.pricing.names import TeamNames
from miner_runtime.protocol.messages import Game
from miner_runtime.protocol.synapse import SynapseType
from miner_runtime.storage import open_stores
from miner_runtime.validator_client.replies import Reply, classify
from miner_runtime.validator_client.selection import NeuronView

VALIDATOR = NeuronView(uid=1, hotkey="5Bench", validator_permit=True, ip="127.0.0.1", port=1)


class InstantLink:
    async def send(
        self, validator: NeuronView, message_type: SynapseType, payload: dict[str, Any]
    ) -> Reply:
        return classify(
            status_code=200,
            status_message=None,
            payload={"success": True, "accepted": True},
            expect_games=False,
        )


class MovingEngine:
    """Built-in prices (league priors) nudged each cycle, so nothing is skipped as unchanged."""

    def __init__(self) -> None:
        self.inner = BuiltinEngine(names=TeamNames(), history_expected=False)
        self.cycle = 0

    async def quote(self, markets: Sequence[MarketQuery], now: dt.datetime) -> list[Quote]:
        nudge = 0.01 * (self.cycle % 50 + 1)
        return [
            Quote(q.market_id, q.kind, {s: round(o + nudge, 2) for s, o in q.odds.items()})
            for q in await self.inner.quote(markets, now)
        ]

    def condition(self) -> EngineCondition:
        return self.inner.condition()


def games(markets: int, now: dt.datetime) -> list[Game]:
    kinds = ("MONEYLINE", "SPREAD", "TOTAL")
    return [
        Game.model_validate(
            {
                "event_id": event,
                "home_team": "Kansas City Chiefs",
                "away_team": "Buffalo Bills",
                "start_time_utc": (now + dt.timedelta(hours=event % 150 + 1)).isoformat(),
                "league": "nfl",
                "sport": "nfl",
                "markets": [
                    {"market_id": event * 3 + k, "kind": kinds[k], "line": 3.5 if k else None}
                    for k in range(3)
                    if event * 3 + k < markets
                ],
            }
        )
        for event in range((markets + 2) // 3)
    ]


async def measure(markets: int, cycles: int, batch_size: int) -> list[float]:
    from miner_runtime.submission.gate import Gate
    from miner_runtime.submission.submitter import Submitter

    with tempfile.TemporaryDirectory() as tmp:
        stores = open_stores(f"sqlite:///{Path(tmp) / 'miner.db'}")
        now = dt.datetime.now(dt.UTC)
        stores.games.upsert_games(games(markets, now), now)
        engine = MovingEngine()
        clock = [now]
        # Budgets wide open: the benchmark measures the runtime's CPU, not the pacing (a
        # cycle runs every 15 min in production; here they run back to back).
        wide_open = Rate(1000.0, burst=1000)
        gate = Gate(
            link=InstantLink(),
            coordinator=MemoryCoordinator(Budgets(wide_open, wide_open, wide_open)),
            hotkey="5BenchMiner",
            egress_ip="127.0.0.2",
            now=lambda: clock[0],
        )
        await gate.token_received(VALIDATOR.hotkey, "a" * 64, now)
        submitter = Submitter(
            games=stores.games,
            odds=stores.odds,
            outcomes=stores.outcomes,
            gate=gate,
            pricing=engine,
            batch_size=batch_size,
            now=lambda: clock[0],
        )
        cpu: list[float] = []
        for cycle in range(cycles):
            engine.cycle = cycle
            clock[0] = now + dt.timedelta(minutes=cycle + 1)
            started = time.process_time()
            report = await submitter.odds_cycle([VALIDATOR])
            cpu.append(time.process_time() - started)
            assert report.submitted == markets, report
        stores.close()
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--markets", type=int, default=500)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=50)
    args = parser.parse_args()
    cpu = asyncio.run(measure(args.markets, args.cycles, args.batch_size))
    print(
        f"odds cycle CPU, {args.markets} markets, batch {args.batch_size}, "
        f"{args.cycles} cycles: median {statistics.median(cpu) * 1000:.0f} ms, "
        f"max {max(cpu) * 1000:.0f} ms (first {cpu[0] * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()
