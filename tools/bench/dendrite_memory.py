"""Memory of one `EgressDendrite` over many requests, against stock bittensor's history list.

bittensor 10.1.0's `Dendrite.call` appends a copy of every synapse's headers to
`synapse_history` and never trims it; `EgressDendrite` keeps the last few
(`SYNAPSE_HISTORY_KEPT`). `--stock` gives the Dendrite a plain list again, as stock
bittensor has, for the before/after comparison.

One `EgressDendrite` sends `game_data_request`s one after another (as the runtime does: one
request in flight per validator) to a bittensor Axon on loopback, served by a child process
(this script with `--serve`), so this process's memory is the Dendrite's alone. The Axon's
synapse reads its required fields once per class (bittensor #3322) only so that the server
is not the bottleneck; the client uses the runtime's own `SparketSynapse`, unchanged.

Reported: VmRSS (/proc/self/status) after the warm-up and every `--every` requests, then
tracemalloc's growth over a further `--traced` requests (after 100 traced warm-up ones;
traced separately, as tracing every allocation slows the Dendrite 5-20 times) with
the lines that grew most.

    python3 -m uv run --locked --all-packages python tools/bench/dendrite_memory.py
    python3 -m uv run --locked --all-packages python tools/bench/dendrite_memory.py --stock
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import bittensor as bt
from bittensor_wallet import Keypair

from miner_runtime.protocol.synapse import SparketSynapse, SynapseType
from miner_runtime.validator_client.client import send
from miner_runtime.validator_client.dendrite import EgressDendrite
from miner_runtime.validator_client.replies import Reply
from sparket_local_services.ports import free_port, is_listening
from sparket_local_services.processes import vm_rss_kib
from sparket_local_services.waits import wait_for
from sparket_local_services.wallets import generated_wallet
from sparket_local_validator.axon_server import required_fields

EGRESS_IP = "127.0.0.2"  # not the target's 127.0.0.1: the Dendrite would dial 0.0.0.0
REPLY = {"games": [], "retrieved_at": "2026-11-24T18:00:00+00:00"}
# Deep enough to reach bittensor's dendrite.py from pydantic's internals; every frame kept
# slows each allocation further.
TRACE_FRAMES = 5
CALLERS = ("bittensor/core/dendrite.py", "miner_runtime/")
TRACED_WARMUP = 100


def serve(port: int, wallets: str) -> None:
    """Child process: an Axon answering every game_data_request until stdin closes."""

    class CachedSynapse(SparketSynapse):
        def get_required_fields(self) -> list[str]:
            return list(required_fields(self.__class__))

    CachedSynapse.__name__ = "SparketSynapse"  # the route and the `name` header

    async def forward(synapse: CachedSynapse) -> CachedSynapse:
        synapse.payload = REPLY
        return synapse

    forward.__annotations__ = {"synapse": CachedSynapse, "return": CachedSynapse}
    wallet = bt.Wallet(name="validator", hotkey="default", path=wallets)
    axon = bt.Axon(wallet=wallet, port=port, ip="127.0.0.1", external_ip="127.0.0.1")
    axon.attach(forward_fn=forward)
    axon.start()
    try:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        sys.stdin.read()
    finally:
        axon.stop()


def where_from(traceback: tracemalloc.Traceback) -> str:
    """The allocating line and, if it is in a library, the bittensor or runtime line that
    led there (`pydantic/main.py` alone says nothing about who kept the object)."""

    def short(frame: tracemalloc.Frame) -> str:
        return "/".join(Path(frame.filename).parts[-3:]) + f":{frame.lineno}"

    frames = list(reversed(traceback))  # tracemalloc lists the oldest call first
    ours = next((f for f in frames if any(k in f.filename for k in CALLERS)), None)
    if ours is None or ours is frames[0]:
        return short(frames[0])
    return f"{short(frames[0])} <- {short(ours)}"


def rss_mib() -> float:
    gc.collect()
    return vm_rss_kib(os.getpid()) / 1024


class Load:
    """Sends requests one at a time and counts how they were answered."""

    def __init__(self, dendrite: EgressDendrite, target: bt.AxonInfo) -> None:
        self.dendrite = dendrite
        self.target = target
        self.outcomes: Counter[str] = Counter()
        self.sent = 0
        self.odd_replies: list[str] = []  # the first few that were not accepted, for the log

    async def run(self, count: int) -> None:
        for _ in range(count):
            reply: Reply = await send(
                self.dendrite, self.target, SynapseType.GAME_DATA_REQUEST, {}, timeout_seconds=12
            )
            self.outcomes[reply.kind.value] += 1
            self.sent += 1
            if not reply.ok and len(self.odd_replies) < 5:
                self.odd_replies.append(f"#{self.sent}: {reply.status_code} {reply.message}")


def line(load: Load, label: str, rss: float, base: float, started: float) -> str:
    elapsed = time.monotonic() - started
    return (
        f"{label:>14s} {load.sent:7d} requests  RSS {rss:7.1f} MiB  ({rss - base:+7.1f} MiB)  "
        f"history {len(load.dendrite.synapse_history):6d}  {load.sent / elapsed:5.1f} req/s\n"
    )


async def measure(args: argparse.Namespace, target: bt.AxonInfo) -> None:
    keypair = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
    dendrite = EgressDendrite(keypair, egress_ip=EGRESS_IP, source_address=EGRESS_IP)
    if args.stock:
        dendrite.synapse_history = []  # what bittensor's own __init__ sets
    load = Load(dendrite, target)
    out = sys.stdout
    try:
        started = time.monotonic()
        await load.run(args.warmup)
        base = rss_mib()
        out.write(line(load, "after warm-up", base, base, started))
        measured = 0
        while measured < args.requests:
            step = min(args.every, args.requests - measured)
            await load.run(step)
            measured += step
            out.write(line(load, f"+{measured}", rss_mib(), base, started))
            out.flush()

        if args.traced:
            tracemalloc.start(TRACE_FRAMES)
            # Objects allocated before tracing began and freed later would not count as
            # freed, so a bounded history's turnover would read as growth: compare two
            # snapshots both taken while tracing, after a traced warm-up.
            await load.run(TRACED_WARMUP)
            gc.collect()
            before, first = tracemalloc.take_snapshot(), tracemalloc.get_traced_memory()[0]
            traced_from = time.monotonic()
            await load.run(args.traced)
            traced_seconds = time.monotonic() - traced_from
            gc.collect()
            after, last = tracemalloc.take_snapshot(), tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            grown = last - first
            out.write(
                f"tracemalloc over {args.traced} more requests ({traced_seconds:.0f} s): "
                f"{grown / 1024:+.1f} KiB ({grown / args.traced:+.0f} B per request); "
                "lines that grew most:\n"
            )
            for stat in after.compare_to(before, "traceback")[:3]:
                out.write(
                    f"    {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  "
                    f"{where_from(stat.traceback)}\n"
                )
        out.write(f"replies: {dict(load.outcomes)}\n")
        for odd in load.odd_replies:
            out.write(f"    not accepted {odd}\n")
    finally:
        await dendrite.aclose_session()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="measured requests")
    parser.add_argument("--every", type=int, default=10_000, help="report RSS every N")
    parser.add_argument("--warmup", type=int, default=500, help="requests before the baseline")
    parser.add_argument("--traced", type=int, default=300, help="requests under tracemalloc")
    parser.add_argument("--stock", action="store_true", help="keep bittensor's unbounded list")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--wallet-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.wallet_dir)
        return

    with tempfile.TemporaryDirectory() as wallets:
        validator = generated_wallet(Path(wallets), "validator")
        port = free_port()
        command = [sys.executable, __file__, f"--serve={port}", f"--wallet-dir={wallets}"]
        with subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        ) as child:
            assert child.stdin is not None and child.stdout is not None
            try:
                if child.stdout.readline().strip() != "ready":
                    raise RuntimeError("the axon process did not start")
                wait_for(lambda: is_listening(port), timeout=20, what="the axon to listen")
                hotkey = validator.hotkey.ss58_address
                target = bt.AxonInfo(
                    version=1, ip="127.0.0.1", port=port, ip_type=4, hotkey=hotkey, coldkey=hotkey
                )
                variant = "stock list" if args.stock else "EgressDendrite (bounded)"
                sys.stdout.write(
                    f"{variant}: {args.warmup} warm-up + {args.requests} game_data_requests, "
                    f"one at a time, bittensor {bt.__version__}, {os.cpu_count()} CPUs\n"
                )
                asyncio.run(measure(args, target))
            finally:
                child.stdin.close()
                child.wait(30)


if __name__ == "__main__":
    main()
