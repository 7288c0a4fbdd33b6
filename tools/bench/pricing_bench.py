"""Pricing N markets in one cycle with the built-in engine: CPU time and peak memory.

Realistic inputs: four leagues (NBA, NFL, NHL, EPL) fitted on a synthetic season each
(~1,200 games), markets in threes (moneyline, spread, total) over distinct fixtures, and
optionally three bookmakers' prices for every event (the blend path). Measured: the
engine's quote (fit excluded: it runs once an hour, reported apart) plus the validation
that turns quotes into submissions, i.e. everything pricing adds to an odds cycle.
Memory is the peak of Python allocations during the cycle (tracemalloc) and the growth
of the process's peak RSS over its baseline after set-up.

    uv run python tools/bench/pricing_bench.py [--markets 10000] [--with-books]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import resource
import time
import tracemalloc
from collections.abc import Sequence

from miner_runtime.pricing.builtin import BuiltinEngine
from miner_runtime.pricing.names import TeamNames
from miner_runtime.pricing.quotes import accept
from miner_runtime.pricing.sources.theodds import BookOdds, BookPrice, EventOdds
from miner_runtime.protocol.markets import ActiveMarket
from miner_runtime.protocol.messages import League, MarketKind, Side, Sport
from miner_runtime.protocol.results import GameResult

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
LEAGUES = {
    League.NBA: (Sport.NBA, 112, 220.5),
    League.NFL: (Sport.NFL, 22, 44.5),
    League.NHL: (Sport.NHL, 3, 6.5),
    League.EPL: (Sport.SOCCER, 1, 2.5),
}


def teams(league: League) -> list[str]:
    return [f"{league.value.upper()} Team {i}" for i in range(32)]


def season(league: League, rng: random.Random) -> list[GameResult]:
    _, mean, _ = LEAGUES[league]
    names = teams(league)
    results = []
    for i in range(1200):
        home, away = rng.sample(names, 2)
        start = NOW - dt.timedelta(days=300) + dt.timedelta(hours=6 * i)
        score = [max(0, round(rng.gauss(mean, max(1.0, mean**0.5)))) for _ in range(2)]
        results.append(GameResult(league, home, away, start, *score, "bench", f"{league}{i}"))
    return results


def markets(count: int) -> list[ActiveMarket]:
    found: list[ActiveMarket] = []
    leagues = list(LEAGUES)
    event = 0
    while len(found) < count:
        league = leagues[event % len(leagues)]
        sport, _, total = LEAGUES[league]
        names = teams(league)
        home, away = names[event % 32], names[(event * 7 + 1) % 32]
        start = NOW + dt.timedelta(minutes=event)
        for kind, line in (
            (MarketKind.MONEYLINE, None),
            (MarketKind.SPREAD, -1.5),
            (MarketKind.TOTAL, total),
        ):
            if len(found) < count:
                found.append(
                    ActiveMarket(len(found), kind, line, event, league, sport, home, away, start)
                )
        event += 1
    return found


class Books:
    """Three bookmakers pricing every event's three markets at the same lines."""

    def __init__(self, quoted: Sequence[ActiveMarket]) -> None:
        self.events: dict[League, list[EventOdds]] = {}
        seen: set[int] = set()
        for m in quoted:
            if m.event_id in seen:
                continue
            seen.add(m.event_id)
            _, _, total = LEAGUES[m.league]
            sides = [
                (MarketKind.MONEYLINE, Side.HOME, None, 1.9),
                (MarketKind.MONEYLINE, Side.AWAY, None, 2.0),
                (MarketKind.SPREAD, Side.HOME, -1.5, 1.95),
                (MarketKind.SPREAD, Side.AWAY, 1.5, 1.87),
                (MarketKind.TOTAL, Side.OVER, total, 1.91),
                (MarketKind.TOTAL, Side.UNDER, total, 1.91),
            ]
            if m.sport is Sport.SOCCER:
                sides.append((MarketKind.MONEYLINE, Side.DRAW, None, 3.4))
            prices = tuple(BookPrice(k, s, p, o) for k, s, p, o in sides)
            books = tuple(BookOdds(f"book{b}", prices) for b in range(3))
            self.events.setdefault(m.league, []).append(
                EventOdds(m.home_team, m.away_team, m.start_time_utc, books)
            )

    async def odds(self, league: League) -> Sequence[EventOdds]:
        return self.events.get(league, [])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


async def run(count: int, with_books: bool) -> None:
    rng = random.Random(7)
    quoted = markets(count)
    engine = BuiltinEngine(names=TeamNames(), market_odds=Books(quoted) if with_books else None)
    history = {league: season(league, rng) for league in LEAGUES}
    fit_started = time.process_time()
    engine.refit(history, NOW)
    fit_cpu = time.process_time() - fit_started
    baseline_rss = peak_rss_mb()
    # Time first (tracemalloc slows allocation-heavy code several-fold), on a fresh fit so
    # nothing is cached from an earlier cycle; then the same cycle again for memory.
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    quotes = await engine.quote(quoted, NOW)
    submissions, dropped = accept(quoted, quotes, NOW, engine="builtin")
    cpu = time.process_time() - cpu_started
    wall = time.perf_counter() - wall_started
    assert len(submissions) == count and not dropped, (len(submissions), len(dropped))
    engine.refit(history, NOW)
    tracemalloc.start()
    quotes = await engine.quote(quoted, NOW)
    accept(quoted, quotes, NOW, engine="builtin")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"pricing {count} markets{' with 3 books each' if with_books else ''}: "
        f"CPU {cpu * 1000:.0f} ms, wall {wall * 1000:.0f} ms; "
        f"peak Python allocations {peak / 2**20:.1f} MB; "
        f"peak RSS growth {peak_rss_mb() - baseline_rss:.1f} MB over {baseline_rss:.0f} MB; "
        f"refit of {sum(len(h) for h in history.values())} games: CPU {fit_cpu * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--markets", type=int, default=10_000)
    parser.add_argument("--with-books", action="store_true")
    args = parser.parse_args()
    asyncio.run(run(args.markets, args.with_books))


if __name__ == "__main__":
    main()
