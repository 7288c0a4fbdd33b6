"""Requests/s the local validator's Axon serves, with and without the reply-header cache.

bittensor issue #3322: a stock 10.1.0 Axon builds the synapse's JSON schema once per field
on every reply (`Synapse.to_headers` -> `get_required_fields` -> `model_json_schema`).
`ValidatorAxon` reads the required fields once per class instead. This script measures
both: a loopback `game_data_request` load through real Dendrites and the full pipeline
(gate, bittensor verify, rate limiter, game-data snapshot).

The validator runs in a child process (this script with `--serve`), so that the load
generator does not share its interpreter. The load is spread over many generated hotkeys,
each reused at most every 0.25 s (4/s, under the 5/s per-hotkey limit; at most 48 in the
default 12 s, under 60/min), with the global limits raised, so that no rate limit is what
is measured. The client side uses
the same header cache (a client-only subclass with the same class name, hence the same
route), or its own schema builds would be the bottleneck.

    python3 -m uv run --locked --all-packages python tools/bench/local_validator_throughput.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bittensor import AxonInfo
from bittensor_wallet import Keypair

from sparket_local_services.ports import free_port
from sparket_local_validator.axon_server import required_fields
from sparket_local_validator.config import RateLimits, WindowLimit
from sparket_local_validator.dendrite import LoopbackDendrite
from sparket_local_validator.ingest import DAY, Catalog, Event, Market
from sparket_local_validator.server import LocalValidator
from sparket_local_validator.synapse import SparketSynapse as ValidatorSynapse

HOTKEY_REUSE_SEC = 0.25
UNLIMITED = RateLimits(
    global_per_second=WindowLimit(10**9, 1.0), global_per_minute=WindowLimit(10**9, 60.0)
)


class SparketSynapse(ValidatorSynapse):
    """Client side only: same name (route), no per-request schema builds."""

    def get_required_fields(self) -> list[str]:
        return list(required_fields(self.__class__))


@dataclass(frozen=True)
class Result:
    cached: bool
    seconds: float
    outcomes: Counter[str]
    hotkey_waits: int

    @property
    def ok(self) -> int:
        return self.outcomes["ok"]

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds


def catalog(games: int) -> Catalog:
    now = time.time()
    return Catalog(
        Event(
            i,
            now + DAY + i * 3600,
            markets=(Market(3 * i), Market(3 * i + 1, "SPREAD", -3.5), Market(3 * i + 2, "TOTAL")),
            home_team=f"Home Team {i}",
            away_team=f"Away Team {i}",
            venue=f"Stadium {i}",
            external_id=10_000 + i,
        )
        for i in range(1, games + 1)
    )


def load_keypairs(base_seed: str, count: int) -> list[Keypair]:
    """The same generated hotkeys in both processes, from one random base seed."""
    return [Keypair.create_from_uri(f"//{base_seed}/{i}") for i in range(count)]


def serve(args: argparse.Namespace) -> None:
    """Child process: run the validator until stdin closes (the parent is done)."""
    hotkeys = [kp.ss58_address for kp in load_keypairs(args.base_seed, args.hotkeys)]
    validator = LocalValidator(
        Keypair.create_from_uri(f"//{args.validator_seed}"),
        port=args.port,
        registered_hotkeys=lambda: hotkeys,
        catalog=catalog(args.games),
        rate_limits=UNLIMITED,
        cache_response_headers=args.serve == "cached",
    )
    validator.start()
    try:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        sys.stdin.read()
    finally:
        validator.stop()


async def load(
    target: Any, keypairs: list[Keypair], *, concurrency: int, warmup: float, duration: float
) -> tuple[float, Counter[str], int]:
    """`concurrency` workers sending back to back; counts only what finishes in the window."""
    pool: asyncio.Queue[LoopbackDendrite] = asyncio.Queue()
    dendrites = [LoopbackDendrite(kp) for kp in keypairs]
    for dendrite in dendrites:
        pool.put_nowait(dendrite)
    outcomes: Counter[str] = Counter()
    waits = 0
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from, measure_to = start + warmup, start + warmup + duration

    def give_back(dendrite: LoopbackDendrite) -> None:
        pool.put_nowait(dendrite)

    async def worker() -> None:
        nonlocal waits
        while loop.time() < measure_to:
            if pool.empty():
                waits += 1
            dendrite = await pool.get()
            synapse = SparketSynapse(type="game_data_request", payload={})
            reply = await dendrite.call(target, synapse, timeout=30, deserialize=False)
            loop.call_later(HOTKEY_REUSE_SEC, give_back, dendrite)
            if measure_from <= loop.time() <= measure_to:
                outcomes[_outcome(reply)] += 1

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await asyncio.gather(*(d.aclose_session() for d in dendrites))
    return duration, outcomes, waits


def _outcome(reply: Any) -> str:
    status = reply.dendrite.status_code if reply.dendrite is not None else None
    if status != 200:
        return f"http_{status}"
    payload = reply.payload if isinstance(reply.payload, dict) else {}
    if "error" in payload:
        return str(payload["error"])
    return "ok" if "games" in payload else "unexpected"


def run(cached: bool, args: argparse.Namespace, keypairs: list[Keypair]) -> Result:
    port = free_port()
    validator_seed = os.urandom(32).hex()
    command = [
        sys.executable,
        *(f"-W{option}" for option in sys.warnoptions),
        __file__,
        f"--serve={'cached' if cached else 'stock'}",
        f"--port={port}",
        f"--validator-seed={validator_seed}",
        f"--base-seed={args.base_seed}",
        f"--hotkeys={args.hotkeys}",
        f"--games={args.games}",
    ]
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdin is not None and child.stdout is not None
        try:
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError("the validator process did not start")
            validator = Keypair.create_from_uri(f"//{validator_seed}")
            target = AxonInfo(
                version=1,
                ip="127.0.0.1",
                port=port,
                ip_type=4,
                hotkey=validator.ss58_address,
                coldkey=validator.ss58_address,
            )
            seconds, outcomes, waits = asyncio.run(
                load(
                    target,
                    keypairs,
                    concurrency=args.concurrency,
                    warmup=args.warmup,
                    duration=args.duration,
                )
            )
        finally:
            child.stdin.close()
            child.wait(30)
    return Result(cached, seconds, outcomes, waits)


def report(result: Result) -> str:
    label = "cached headers (ValidatorAxon)" if result.cached else "stock bittensor 10.1.0"
    others = {k: v for k, v in result.outcomes.items() if k != "ok"}
    return (
        f"{label:32s} {result.per_second:8.1f} req/s  "
        f"({result.ok} ok in {result.seconds:.0f} s; other outcomes {others or 'none'}; "
        f"waits for a free hotkey {result.hotkey_waits})\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hotkeys", type=int, default=400, help="registered load hotkeys")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument("--games", type=int, default=20, help="events in the game snapshot")
    parser.add_argument("--only", choices=("stock", "cached"), help="run one variant only")
    parser.add_argument("--serve", choices=("stock", "cached"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--validator-seed", help=argparse.SUPPRESS)
    parser.add_argument("--base-seed", default=os.urandom(16).hex(), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return
    keypairs = load_keypairs(args.base_seed, args.hotkeys)
    variants = {"stock": [False], "cached": [True]}.get(args.only, [False, True])
    sys.stdout.write(
        f"game_data_request over loopback, {args.hotkeys} hotkeys, "
        f"{args.concurrency} in flight, {args.games} games, {os.cpu_count()} CPUs\n"
    )
    for cached in variants:
        sys.stdout.write(report(run(cached, args, keypairs)))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
