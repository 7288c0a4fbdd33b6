"""Start-up time and memory of `python -m miner_runtime serve`, one hotkey per process.

A fleet runs one runtime per hotkey, so per-process figures set node sizing:

* start-up: process start to the axon accepting TCP connections, median of 5 runs (each
  on a fresh data dir, so the SQLite migrations are included), stopped with SIGTERM;
* memory: VmRSS right after start, then the maximum over ~20 s after the first odds cycle
  that submitted, with a `LocalValidator` in this process serving 500 markets (the
  runtime syncs, prices and submits all of them), next to `import bittensor` alone.

    python3 -m uv run --locked --all-packages python tools/bench/runtime_bench.py
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bittensor.utils.mock.subtensor_mock import MockSubtensor
from bittensor_wallet import Keypair

from sparket_local_services.ports import free_port, is_listening
from sparket_local_services.processes import vm_rss_kib
from sparket_local_services.waits import wait_for
from sparket_local_services.wallets import generated_wallet
from sparket_local_validator.ingest import Catalog, Event, Market
from sparket_local_validator.mock_chain import (
    chain_view,
    register,
    serve_axon,
    validator_neuron,
)
from sparket_local_validator.server import LocalValidator

NETUID = 5999  # this process's MockSubtensor only; the runtime's chain is its own
HOUR = 3600.0
MIB = 1024.0
LEAGUES = (("nfl", "nfl"), ("nba", "nba"), ("epl", "soccer"), ("mlb", "mlb"), ("nhl", "nhl"))


def generated_keypair() -> Keypair:
    return Keypair.create_from_mnemonic(Keypair.generate_mnemonic())


def catalog(markets: int, now: float) -> Catalog:
    """`markets` markets over the next six days: US sports with a moneyline, spread and
    total each, soccer with a three-way moneyline and a total."""
    events: list[Event] = []
    ids = itertools.count(1)
    total = 0
    for index in itertools.count():
        if total >= markets:
            break
        league, sport = LEAGUES[index % len(LEAGUES)]
        kinds = [Market(next(ids))]
        kinds.append(
            Market(next(ids), "TOTAL", 2.5)
            if sport == "soccer"
            else Market(next(ids), "SPREAD", -3.5)
        )
        if sport != "soccer":
            kinds.append(Market(next(ids), "TOTAL", 44.5))
        chosen = tuple(kinds[: markets - total])
        total += len(chosen)
        events.append(
            Event(
                event_id=index + 1,
                start=now + HOUR + (index % 120) * HOUR,  # all within the 7-day window
                markets=chosen,
                home_team=f"Home {index}",
                away_team=f"Away {index}",
                league=league,
                sport=sport,
            )
        )
    return Catalog(events)


class Miner:
    """One `serve` process's environment: generated wallet, neurons file, free ports."""

    def __init__(self, root: Path, *, validator: Keypair, validator_port: int) -> None:
        self.root = root
        wallet = generated_wallet(root / "wallets", "miner")
        self.hotkey: str = wallet.hotkey.ss58_address
        self.coldkey: str = wallet.coldkeypub.ss58_address
        self.axon_port = free_port()
        neurons = [
            {"hotkey": self.hotkey, "coldkey": self.coldkey},
            validator_neuron(
                validator.ss58_address,
                coldkey=generated_keypair().ss58_address,
                port=validator_port,
            ),
        ]
        (root / "neurons.json").write_text(json.dumps(neurons))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKET_")}
        self.env.update(
            {
                "SPARKET_WALLET__NAME": "miner",
                "SPARKET_WALLET__HOTKEY": "default",
                "SPARKET_WALLET__PATH": str(root / "wallets"),
                "SPARKET_AXON__HOST": "127.0.0.1",
                "SPARKET_AXON__PORT": str(self.axon_port),
                "SPARKET_AXON__EXTERNAL_IP": "127.0.0.1",
                "SPARKET_SUBTENSOR__NETWORK": "mock",
                "SPARKET_SUBTENSOR__NETUID": str(NETUID),
                "SPARKET_SUBTENSOR__MOCK_NEURONS_FILE": str(root / "neurons.json"),
                "SPARKET_MINER_API_PORT": str(free_port()),
                "SPARKET_DATA_DIR": str(root / "data"),
                # Not 127.0.0.1: a Dendrite rewrites a target IP equal to its own to 0.0.0.0.
                "SPARKET_EGRESS_IP": "127.0.0.2",
                "SPARKET_BASE_MINER__ODDS_REFRESH_SECONDS": "60",
                "SPARKET_BASE_MINER__JITTER_SECONDS": "0",
            }
        )
        self.log = root / "miner.log"

    @contextlib.contextmanager
    def running(self) -> Iterator[subprocess.Popen[bytes]]:
        """The process, stopped with SIGTERM on exit (killed if it does not stop)."""
        with self.log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "miner_runtime", "serve"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def events(self, name: str) -> list[dict[str, Any]]:
        """Complete JSON log lines named `name` (a line being written is skipped)."""
        lines = self.log.read_text(errors="replace").split("\n")[:-1]
        return [e for e in map(json.loads, lines) if e.get("event") == name]

    def wait_listening(self, process: subprocess.Popen[bytes]) -> None:
        wait_for(
            lambda: is_listening(self.axon_port) or process.poll() is not None,
            timeout=60,
            interval=0.01,
            what="the axon",
        )
        if process.poll() is not None:
            raise RuntimeError(f"serve exited with {process.returncode}: {self.log.read_text()}")


def seconds_to_axon(runs: int) -> list[float]:
    """Process start to a TCP connect on the axon, each run on a fresh data dir."""
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            # Nobody listens on the validator's port: start-up must not depend on it.
            miner = Miner(Path(tmp), validator=generated_keypair(), validator_port=free_port())
            started = time.monotonic()
            with miner.running() as process:
                miner.wait_listening(process)
                results.append(time.monotonic() - started)
                process.send_signal(signal.SIGTERM)
                if process.wait(timeout=30) != 0:
                    raise RuntimeError(f"serve exited with {process.returncode} on SIGTERM")
    return results


def memory(markets: int, window: float) -> dict[str, float]:
    """RSS (KiB) after start and the max over `window` s after the first submitting cycle."""
    subtensor = MockSubtensor()
    validator_key, port = generated_keypair(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        miner = Miner(Path(tmp), validator=validator_key, validator_port=port)
        register(subtensor, NETUID, validator_key.ss58_address)
        register(subtensor, NETUID, miner.hotkey, miner.coldkey)
        serve_axon(subtensor, NETUID, validator_key.ss58_address, "127.0.0.1", port)
        view = chain_view(subtensor, NETUID)
        validator = LocalValidator(
            validator_key,
            port=port,
            registered_hotkeys=view.registered_hotkeys,
            push_targets=view.push_targets,
            catalog=catalog(markets, time.time()),
            push_interval_seconds=5.0,
        )
        with validator, miner.running() as process:
            miner.wait_listening(process)
            after_start = vm_rss_kib(process.pid)
            # The token only after the first game sync: one that lands during it leaves a
            # fresh runtime without markets until the next odds refresh.
            wait_for(lambda: miner.events("fetch_game_data"), timeout=60, what="game sync")
            serve_axon(subtensor, NETUID, miner.hotkey, "127.0.0.1", miner.axon_port)
            cycles = wait_for(
                lambda: [c for c in miner.events("base_miner_odds_cycle") if c["submitted"]],
                timeout=90,
                interval=0.1,
                what="an odds cycle that submitted",
            )
            stored = {r.market_id for r in validator.odds_rows if r.hotkey == miner.hotkey}
            samples = []
            deadline = time.monotonic() + window
            while time.monotonic() < deadline:
                samples.append(vm_rss_kib(process.pid))
                time.sleep(0.25)  # sampling period, not a wait for a condition
        return {
            "after_start": after_start,
            "steady_max": max(samples),
            "submitted": cycles[0]["submitted"],
            "stored": len(stored),
        }


def import_bittensor_kib() -> int:
    code = (
        "import bittensor, pathlib\n"
        "for l in pathlib.Path('/proc/self/status').read_text().splitlines():\n"
        "    if l.startswith('VmRSS:'): print(l.split()[1])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return int(out.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--markets", type=int, default=500)
    parser.add_argument("--window", type=float, default=20.0)
    args = parser.parse_args()

    startup = seconds_to_axon(args.runs)
    runs = ", ".join(f"{s:.2f}" for s in startup)
    print(f"start to axon accepting TCP: median {statistics.median(startup):.2f} s ({runs})")
    rss = memory(args.markets, args.window)
    print(
        f"markets submitted in the first cycle: {rss['submitted']:.0f}, stored at the "
        f"validator: {rss['stored']:.0f} of {args.markets}"
    )
    print(f"RSS right after start: {rss['after_start'] / MIB:.1f} MiB")
    print(
        f"RSS steady state (max over {args.window:.0f} s after the first cycle, "
        f"{args.markets} markets): {rss['steady_max'] / MIB:.1f} MiB"
    )
    print(f"RSS of `import bittensor` alone: {import_bittensor_kib() / MIB:.1f} MiB")


if __name__ == "__main__":
    main()
