"""`kill -9` in the middle of an odds cycle, then a restart on the same data dir.

The runtime records every batch as pending in its database before sending it, and counts
a pending batch as possibly stored. So after a crash and a restart nothing may reach the
validator twice, and nothing may be lost but the one batch in doubt, which the database
still lists as pending. The miner is `python -m miner_runtime serve` in its own process
(a real `kill -9`); the validator is a `LocalValidator` in this one.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bittensor.utils.mock.subtensor_mock import MockSubtensor
from bittensor_wallet import Keypair

from miner_runtime.storage import OddsSend, database_url, open_stores
from sparket_local_services.ports import free_port, is_listening
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

NETUIDS = itertools.count(5000)
"""MockSubtensor state is process-wide: each test takes a netuid nobody else uses."""
BATCH_SIZE = 10
MARKETS = 300
HOUR = 3600.0
HOLD_LIMIT_SEC = 30.0
"""A held request is let go after this even if the test never releases it."""
LEAGUES = (
    ("nfl", "nfl"),
    ("nba", "nba"),
    ("epl", "soccer"),
    ("mlb", "mlb"),
    ("nhl", "nhl"),
    ("mls", "soccer"),
)


class WatchedCatalog(Catalog):
    """The validator's catalog, also counting every odds submission the validator receives.

    Odds ingest looks each submitted market up here once, before its 60 s-bucket dedupe,
    so `received` shows a batch sent twice even when the stored rows would hide it (a
    restart within the same minute). With `hold_at`, the lookup that finds `hold_at`
    submissions already received blocks until `release` (inside the validator's request):
    a batch the miner has sent but not had an answer to, for as long as the test needs.
    """

    def __init__(self, events: Iterable[Event], *, hold_at: int | None = None) -> None:
        super().__init__(events)
        self.hold_at = hold_at
        self.holding = threading.Event()
        self.release = threading.Event()
        self._received: Counter[int] = Counter()
        self._total = 0
        self._lock = threading.Lock()

    def event_of_market(self, market_id: int) -> Event | None:
        with self._lock:
            hold = self._total == self.hold_at and not self.holding.is_set()
            self._received[market_id] += 1
            self._total += 1
            if hold:
                self.holding.set()
        if hold:
            self.release.wait(HOLD_LIMIT_SEC)
        return super().event_of_market(market_id)

    def received(self) -> Counter[int]:
        with self._lock:
            return Counter(self._received)


def events(now: float) -> list[Event]:
    """Events over the next six days until MARKETS markets: US sports with a moneyline, a
    spread and a total each; soccer with a three-way moneyline and a total."""
    built: list[Event] = []
    market_ids = itertools.count(1000)
    total = 0
    for index in itertools.count():
        if total >= MARKETS:
            return built
        league, sport = LEAGUES[index % len(LEAGUES)]
        if sport == "soccer":
            kinds = [Market(next(market_ids)), Market(next(market_ids), "TOTAL", 2.5)]
        else:
            kinds = [
                Market(next(market_ids)),
                Market(next(market_ids), "SPREAD", -3.5 if index % 2 else 4.5),
                Market(next(market_ids), "TOTAL", 44.5),
            ]
        markets = tuple(kinds[: MARKETS - total])
        total += len(markets)
        built.append(
            Event(
                event_id=index + 1,
                start=now + HOUR + index * 1.25 * HOUR,
                markets=markets,
                home_team=f"Home {index}",
                away_team=f"Away {index}",
                league=league,
                sport=sport,
            )
        )
    raise AssertionError("unreachable")


def sides_of(event: Event, market: Market) -> int:
    """How many sides the miner prices: three for a soccer moneyline, else two."""
    return 3 if market.kind == "MONEYLINE" and event.sport == "soccer" else 2


class Rig:
    """The validator (this process), the miner's env and its processes, one at a time."""

    def __init__(self, tmp_path: Path, *, hold_at: int | None = None) -> None:
        self.tmp_path = tmp_path
        self.catalog = WatchedCatalog(events(time.time()), hold_at=hold_at)
        self.expected_sides = {
            market.market_id: sides_of(event, market)
            for event in self.catalog.events.values()
            for market in event.all_markets()
        }
        wallet = generated_wallet(tmp_path / "wallets", "miner")
        self.hotkey: str = wallet.hotkey.ss58_address
        validator_key = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
        owner = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
        validator_port, self.axon_port = free_port(), free_port()

        # The validator's chain (this process): the miner is registered, so the validator
        # takes its odds; its axon is published later (`publish_miner_axon`).
        self._subtensor, self._netuid = MockSubtensor(), next(NETUIDS)
        subtensor, netuid = self._subtensor, self._netuid
        register(subtensor, netuid, validator_key.ss58_address, owner.ss58_address)
        register(subtensor, netuid, self.hotkey, wallet.coldkeypub.ss58_address)
        serve_axon(subtensor, netuid, validator_key.ss58_address, "127.0.0.1", validator_port)
        view = chain_view(subtensor, netuid)
        self.validator = LocalValidator(
            validator_key,
            port=validator_port,
            registered_hotkeys=view.registered_hotkeys,
            push_targets=view.push_targets,
            catalog=self.catalog,
            push_interval_seconds=1.0,
        )

        # The miner's chain (its process): read from the neurons file.
        neurons = [
            {"hotkey": self.hotkey, "coldkey": wallet.coldkeypub.ss58_address},
            validator_neuron(
                validator_key.ss58_address, coldkey=owner.ss58_address, port=validator_port
            ),
        ]
        neurons_file = tmp_path / "neurons.json"
        neurons_file.write_text(json.dumps(neurons))
        self.data_dir = tmp_path / "data"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKET_")}
        self.env.update(
            {
                "SPARKET_WALLET__NAME": "miner",
                "SPARKET_WALLET__HOTKEY": "default",
                "SPARKET_WALLET__PATH": str(tmp_path / "wallets"),
                "SPARKET_AXON__HOST": "127.0.0.1",
                "SPARKET_AXON__PORT": str(self.axon_port),
                "SPARKET_AXON__EXTERNAL_IP": "127.0.0.1",
                "SPARKET_SUBTENSOR__NETWORK": "mock",
                "SPARKET_SUBTENSOR__NETUID": str(netuid),
                "SPARKET_SUBTENSOR__MOCK_NEURONS_FILE": str(neurons_file),
                "SPARKET_MINER_API_PORT": str(free_port()),
                "SPARKET_DATA_DIR": str(self.data_dir),
                # Not 127.0.0.1: a Dendrite rewrites a target IP equal to its own to 0.0.0.0.
                "SPARKET_EGRESS_IP": "127.0.0.2",
                "SPARKET_BASE_MINER__BATCH_SIZE": str(BATCH_SIZE),
                "SPARKET_BASE_MINER__ODDS_REFRESH_SECONDS": "60",
                "SPARKET_BASE_MINER__JITTER_SECONDS": "0",
            }
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []

    def start_miner(self) -> None:
        """Start `serve` with stdout in a file (a full pipe would stall the miner)."""
        assert self.process is None or self.process.poll() is not None
        log = self.tmp_path / f"miner-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "miner_runtime", "serve"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def start_first_miner(self) -> None:
        """Start the miner on an empty data dir; hand it the token after its first game sync.

        The validator pushes CONNECTION_INFO only to axons on its chain, so publishing the
        axon once the games are in orders the two. A token that arrives while the first
        game sync is still in flight makes a fresh runtime's catch-up cycle find no
        markets, and it then idles until the next odds refresh: a startup race of its
        own, not what this test is about.
        """
        self.start_miner()
        wait_for(
            lambda: self.log_events("fetch_game_data") or self.miner_exited(),
            timeout=30,
            interval=0.05,
            what="the miner's first game sync",
        )
        assert not self.miner_exited(), self.log_text()
        serve_axon(self._subtensor, self._netuid, self.hotkey, "127.0.0.1", self.axon_port)

    def miner_exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def kill_miner(self) -> None:
        assert self.process is not None
        assert self.process.poll() is None, self.log_text()  # it must not have died by itself
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(timeout=10) == -signal.SIGKILL
        # The port must be free again, or the restarted axon could not bind it.
        wait_for(lambda: not is_listening(self.axon_port), timeout=10, what="the axon to close")

    def stop_miner(self) -> None:
        """SIGTERM, and a clean exit is part of what is tested."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=30) == 0, self.log_text()

    def ensure_stopped(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_text(self, run: int = -1) -> str:
        return self.logs[run].read_text(errors="replace") if self.logs else ""

    def log_events(self, name: str, run: int = -1) -> list[dict[str, Any]]:
        """Complete JSON lines of `run`'s log named `name` (a line being written is skipped)."""
        lines = self.log_text(run).split("\n")[:-1]
        return [e for e in map(json.loads, lines) if e.get("event") == name]

    def stored(self) -> dict[int, Counter[str]]:
        """market_id -> how many rows of each side the validator stored from the miner."""
        sides: dict[int, Counter[str]] = {}
        for row in self.validator.odds_rows:
            if row.hotkey == self.hotkey:
                sides.setdefault(row.market_id, Counter())[row.side] += 1
        return sides

    def pending(self) -> list[OddsSend]:
        """The miner's pending odds rows; only while no miner process runs."""
        assert self.process is None or self.process.poll() is not None
        with open_stores(database_url(self.data_dir, None)) as stores:
            return stores.odds.pending_odds_sends(self.validator.hotkey)

    def first_cycle_after_restart(self) -> dict[str, Any]:
        """Wait for the restarted miner's first odds cycle to end; its log line."""

        def cycle() -> dict[str, Any] | None:
            assert self.process is not None and self.process.poll() is None, self.log_text()
            found = self.log_events("base_miner_odds_cycle")
            return found[0] if found else None

        line: dict[str, Any] = wait_for(
            cycle, timeout=40, interval=0.1, what="the first odds cycle after the restart"
        )
        return line

    def assert_clean_record(self) -> None:
        """Nothing the validator counts against anyone: no failure of any kind."""
        report: dict[str, Any] = self.validator.counters()
        failures = {k: v for k, v in report.items() if k.startswith("failures_") and v}
        assert failures == {}, report
        for key in ("rate_limited", "token_failures", "violations", "cooldown_responses"):
            assert report[key] == 0, (key, report)
        assert report["forbidden_responses"] == 0 and report["bans"] == [], report
        record = report["hotkeys"].get(self.hotkey)
        assert record is None or (record["failures"], record["violations"]) == (0, 0), record


@pytest.fixture
def rig(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Rig]:
    """A started validator; the miner process is killed at teardown whatever happened."""
    hold_at: int | None = getattr(request, "param", None)
    built = Rig(tmp_path, hold_at=hold_at)
    built.validator.start()
    try:
        yield built
    finally:
        built.catalog.release.set()
        built.ensure_stopped()
        built.validator.stop()


def check_restart(rig: Rig, at_crash: set[int], pending_at_crash: list[OddsSend]) -> None:
    """Restart on the same data dir and check the first cycle after it, and the end state.

    `at_crash`: the markets the validator stored from the first run.
    """
    markets = set(rig.expected_sides)
    in_doubt = {send.market_id for send in pending_at_crash}
    assert len(in_doubt) <= BATCH_SIZE, pending_at_crash  # at most one batch in flight
    accounted = at_crash | in_doubt
    assert len(at_crash) > 0 and len(accounted) < len(markets), "no crash mid-cycle"

    rig.start_miner()
    cycle = rig.first_cycle_after_restart()
    left = len(markets - accounted)
    assert (cycle["markets"], cycle["submitted"], cycle["skipped"]) == (
        len(markets),
        left,
        len(accounted),
    ), cycle
    assert cycle["batches"] == math.ceil(left / BATCH_SIZE), cycle
    rig.stop_miner()

    # (a) Nothing sent twice, nothing counted against the miner.
    received = rig.catalog.received()
    assert [m for m, n in received.items() if n > 1] == []
    stored = rig.stored()
    assert {m: c for m, c in stored.items() if max(c.values()) > 1} == {}
    assert {m: len(c) for m, c in stored.items() if len(c) != rig.expected_sides[m]} == {}
    assert set(received) == set(stored)  # everything received was valid, so stored
    rig.assert_clean_record()
    assert rig.log_events("submit_odds_rejected") == []

    # (b) Nothing lost: every market is stored, or in the one batch still in doubt.
    pending_now = rig.pending()
    assert pending_now == pending_at_crash  # the restart re-sent none and resolved none
    assert markets - set(stored) <= in_doubt
    assert set(stored) | in_doubt == markets


def test_kill_9_mid_cycle_then_restart_sends_nothing_twice_and_loses_nothing(rig: Rig) -> None:
    rig.start_first_miner()
    wait_for(
        lambda: len(rig.stored()) >= 6 * BATCH_SIZE or rig.miner_exited(),
        timeout=40,
        interval=0.05,
        what="a few batches stored from the first run",
    )
    rig.kill_miner()
    at_crash = set(rig.stored())
    check_restart(rig, at_crash, rig.pending())


@pytest.mark.parametrize("rig", [6 * BATCH_SIZE], indirect=True)
def test_kill_9_with_a_batch_in_flight_leaves_it_pending_and_never_resends_it(rig: Rig) -> None:
    """The validator holds the 7th batch mid-request; the miner dies waiting for the reply;
    then the validator stores it. The restarted miner must count it as sent."""
    rig.start_first_miner()
    wait_for(
        lambda: rig.catalog.holding.is_set() or rig.miner_exited(),
        timeout=40,
        interval=0.02,
        what="the validator to hold a batch",
    )
    rig.kill_miner()
    rig.catalog.release.set()
    wait_for(
        lambda: len(rig.stored()) == 7 * BATCH_SIZE,
        timeout=10,
        what="the held batch stored",
    )
    pending = rig.pending()
    held = {send.market_id for send in pending}
    assert len(held) == BATCH_SIZE, pending
    assert {send.created_at for send in pending} == {pending[0].created_at}  # one batch
    at_crash = set(rig.stored())
    assert held <= at_crash
    check_restart(rig, at_crash, pending)
