"""Budget acquire cost against a real Redis: latency beside PING, throughput, and `limits`.

What issue 5 asks to measure, all against one local redis-server started here:

* latency: `RedisCoordinator.acquire` (pause check + fleet, IP and hotkey budgets, one
  EVALSHA) against `PING` on the same client, interleaved in one run, p50 and p99;
* throughput: acquires per second from one process and from 8 processes;
* the same three budgets checked with the `limits` library's moving-window strategy
  (async, redis-py implementation) on the same server: latency and throughput.

Budgets are set high enough that every acquire is granted (a refusal costs the same).

    python3 -m uv run --locked --all-packages python tools/bench/budget_bench.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from limits import RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from miner_runtime.budget.model import Ask, Budgets, Rate
from miner_runtime.budget.redis_backend import RedisCoordinator
from sparket_local_services.services import RedisServer

VALIDATOR = "5BenchValidator"
BUDGETS = Budgets(
    hotkey=Rate(1e6, burst=10**6), egress_ip=Rate(1e6, burst=10**6), fleet=Rate(1e6, burst=10**6)
)
# The same three budgets as limits items (per-second scale, so nothing is refused).
LIMIT_ITEMS = (
    RateLimitItemPerSecond(10**7),  # fleet
    RateLimitItemPerSecond(10**7),  # egress IP
    RateLimitItemPerMinute(10**9),  # hotkey
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1e6  # microseconds


async def latency(url: str, rounds: int) -> dict[str, Any]:
    coordinator = RedisCoordinator.from_url(url, BUDGETS)
    storage = RedisStorage(
        f"async+redis://{url.removeprefix('redis://')}", implementation="redispy"
    )
    limiter = MovingWindowRateLimiter(storage)
    ask = Ask(VALIDATOR, "hk-latency", "203.0.113.10")

    async def limits_check() -> None:
        for item, key in zip(LIMIT_ITEMS, ("fleet", "ip", "hk"), strict=True):
            await limiter.hit(item, VALIDATOR, key)

    client = coordinator.client
    for _ in range(200):  # warm up: connections, script cache
        await client.ping()
        await coordinator.acquire(ask)
        await limits_check()
    ping, acquire, limits_us = [], [], []
    for _ in range(rounds):  # interleaved, so all three see the same conditions
        ping.append(await _timed(client.ping))
        acquire.append(await _timed(lambda: coordinator.acquire(ask)))
        limits_us.append(await _timed(limits_check))
    await coordinator.close()
    return {
        "rounds": rounds,
        "ping_us": {"p50": percentile(ping, 0.5), "p99": percentile(ping, 0.99)},
        "acquire_us": {"p50": percentile(acquire, 0.5), "p99": percentile(acquire, 0.99)},
        "limits_moving_window_us": {
            "p50": percentile(limits_us, 0.5),
            "p99": percentile(limits_us, 0.99),
        },
        "acquire_over_ping_p50": round(statistics.median(acquire) / statistics.median(ping), 3),
        "limits_over_ping_p50": round(statistics.median(limits_us) / statistics.median(ping), 3),
    }


async def _throughput(url: str, kind: str, seconds: float, concurrency: int, tag: str) -> int:
    coordinator = RedisCoordinator.from_url(url, BUDGETS)
    storage = RedisStorage(
        f"async+redis://{url.removeprefix('redis://')}", implementation="redispy"
    )
    limiter = MovingWindowRateLimiter(storage)
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        nonlocal done
        ask = Ask(VALIDATOR, f"hk-{tag}-{n}", f"203.0.113.{n % 200}")
        while time.perf_counter() < deadline:
            if kind == "acquire":
                await coordinator.acquire(ask)
            else:
                for item, key in zip(
                    LIMIT_ITEMS, ("fleet", f"ip{n % 200}", f"hk{tag}{n}"), strict=True
                ):
                    await limiter.hit(item, VALIDATOR, key)
            done += 1

    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    await coordinator.close()
    return done


def _process(url: str, kind: str, seconds: float, concurrency: int, tag: str) -> int:
    return asyncio.run(_throughput(url, kind, seconds, concurrency, tag))


def throughput(url: str, kind: str, processes: int, seconds: float) -> float:
    if processes == 1:
        return _process(url, kind, seconds, 32, "p0") / seconds
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        counts = pool.starmap(
            _process, [(url, kind, seconds, 32, f"p{i}") for i in range(processes)]
        )
    return sum(counts) / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="budget-bench-") as tmp:
        server = RedisServer(workdir=Path(tmp))
        server.start()
        try:
            result: dict[str, Any] = {"latency": asyncio.run(latency(server.url, args.rounds))}
            for kind in ("acquire", "limits"):
                for processes in (1, 8):
                    ops = throughput(server.url, kind, processes, args.seconds)
                    result[f"{kind}_ops_per_s_{processes}proc"] = round(ops)
            for processes in (1, 8):
                result[f"acquire_vs_limits_{processes}proc"] = round(
                    result[f"acquire_ops_per_s_{processes}proc"]
                    / result[f"limits_ops_per_s_{processes}proc"],
                    2,
                )
        finally:
            server.stop()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
