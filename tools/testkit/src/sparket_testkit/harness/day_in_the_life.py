"""A day in the life of a fleet, compressed: whole runtimes against three validators that
restart as real ones do.

The orchestrator (`run`) starts a persistent redis-server and three local validators
(the project's rule engine behind real bittensor Axons, each with its own catalog, a first
CONNECTION_INFO that comes a few seconds after start as upstream's first loop iteration,
pushes every `push_interval` and a token rotation of 60 s), then worker processes. Each
worker runs `MinerApp`s, the real runtime: its own Axon (CONNECTION_INFO from every
validator), game sync, per-validator odds rounds, store (SQLite), gate and fail-closed
Redis coordinator, bound to its egress IP (127.0.0.2 or 127.0.0.3). Only the chain
(MockSubtensor, one per worker process) and the pricing engine (the built-in engine on
league priors, its odds shifted every wall-clock minute so every market has a new price
each minute) stand in for the real ones.

During the run every validator restarts at random moments (some pairs back to back, the
others between its pushes), Redis restarts once, and the catalogs gain a league the fleet
has not priced yet. The catalogs also carry a league (`ncaaf`) and a market kind
(`PLAYER_PROP`) the runtime does not know, and fields it has never seen.

What is judged comes from the validators: their stored odds rows (what they accepted,
per hotkey and minute), their counters before every restart (what each process saw) and
their lifetime counters; the workers add every request's send time, their memory and
what the failure budget says at the end.

Secrets: each worker's wallets are in its own 0700 directory of the run, never in argv
or the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import itertools
import json
import logging
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

WORKER_START_SECONDS = 120.0
EGRESS_IPS = ("127.0.0.2", "127.0.0.3")
ROTATION_SECONDS = 60  # the validators' token rotation (upstream's minimum)
KNOWN_LEAGUE, NEW_LEAGUE, UNKNOWN_LEAGUE = "nfl", "nba", "ncaaf"
GAMES_PER_LEAGUE = 6
KINDS = ("MONEYLINE", "SPREAD", "TOTAL")


@dataclass(frozen=True)
class Plan:
    seconds: float = 600.0
    hotkeys_per_ip: int = 24
    workers: int = 4
    validators: int = 3
    restarts_per_validator: int = 6  # two back-to-back pairs and two singles
    warmup_seconds: float = 90.0  # apps start, first sync, first tokens: not judged
    odds_seconds: float = 20.0
    game_sync_seconds: float = 20.0
    push_interval: float = 30.0
    first_push_delay: tuple[float, float] = (1.0, 5.0)
    redis_restart_at: float = 0.6  # fraction of the run
    new_league_at: float = 0.4
    seed: int = 17

    @property
    def hotkeys(self) -> int:
        return self.hotkeys_per_ip * len(EGRESS_IPS)


@dataclass
class Timeline:
    """What the orchestrator did and when (wall-clock seconds)."""

    go: float = 0.0
    end: float = 0.0
    restarts: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    first_pushes: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    redis_restart: float = 0.0
    new_league: float = 0.0
    # Per validator, per process life: {ip: failing hotkeys} from its counters.
    failing_per_life: dict[str, list[dict[str, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )


# ---- orchestrator ------------------------------------------------------------------------


def run(plan: Plan, workdir: Path) -> dict[str, Any]:
    """Run the whole scenario (blocking) and return the figures `judge` computes."""
    from bittensor_wallet import Keypair

    from sparket_local_services.ports import free_port
    from sparket_local_services.services import RedisServer
    from sparket_local_validator.ingest import Catalog
    from sparket_local_validator.server import LocalValidator

    rng = random.Random(plan.seed)
    redis = RedisServer(workdir / "redis", persistent=True)
    redis.start()
    registered: list[str] = []
    targets: list[Any] = []
    start = time.time()
    validators = [
        LocalValidator(
            # bittensor_wallet's stub says bytes; the binding takes a hex string.
            Keypair.create_from_seed(os.urandom(32).hex()),  # type: ignore[arg-type]
            port=free_port(),
            registered_hotkeys=lambda: registered,
            push_targets=lambda: list(targets),
            catalog=Catalog(_events(start, (KNOWN_LEAGUE, UNKNOWN_LEAGUE), first_id=1)),
            push_interval_seconds=plan.push_interval,
            first_push_delay_seconds=rng.uniform(*plan.first_push_delay),
            token_rotation_seconds=ROTATION_SECONDS,
        )
        for _ in range(plan.validators)
    ]
    workers: list[subprocess.Popen[bytes]] = []
    timeline = Timeline()
    try:
        for validator in validators:
            validator.start()
        ready = _start_workers(plan, workdir, redis.url, validators, workers)
        registered.extend(hk for r in ready for hk in r["hotkeys"])
        targets.extend(_axon_info(axon) for r in ready for axon in r["axons"])
        for validator in validators:
            validator.sync_metagraph()
        timeline.go = time.time()
        _signal(workdir, "go", {"deadline": timeline.go + plan.seconds})
        _wait_for_markers(workdir, workers, "started")
        for validator in validators:  # the fleet is up: its first tokens
            validator.push_now().result(timeout=60)
        with _watch_pushes(validators, timeline), _watch(workers):
            _drive(plan, rng, validators, redis, timeline)
        timeline.end = time.time()
        _signal(workdir, "stop", {})
        tallies = [_collect(w, workdir / f"worker-{i}.out.json") for i, w in enumerate(workers)]
        for validator in validators:
            timeline.failing_per_life[validator.hotkey].append(_failing_by_ip(validator))
        return judge(plan, timeline, validators, tallies, ready)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        for validator in validators:
            validator.stop()
        redis.stop()


def _events(now: float, leagues: Sequence[str], first_id: int) -> list[Any]:
    """Scheduled games two days out, three markets each; unknown leagues carry an unknown
    kind and fields the runtime has never seen."""
    from sparket_local_validator.ingest import Event, Market

    events = []
    for index, league in enumerate(leagues):
        unknown = league == UNKNOWN_LEAGUE
        for game in range(GAMES_PER_LEAGUE):
            event_id = first_id + index * 100 + game
            kinds = ("PLAYER_PROP",) if unknown else KINDS
            lines = {"MONEYLINE": None, "SPREAD": -3.5, "TOTAL": 44.5, "PLAYER_PROP": 1.5}
            events.append(
                Event(
                    event_id=event_id,
                    start=now + 2 * 86400 + game * 3600,
                    markets=tuple(
                        Market(event_id * 10 + k, kind, lines[kind]) for k, kind in enumerate(kinds)
                    ),
                    home_team=f"{league.upper()} Home {game}",
                    away_team=f"{league.upper()} Away {game}",
                    league=league,
                    sport="cfb" if unknown else league,
                    extra={"neutral_site": False, "broadcast": {"tv": "local"}} if unknown else {},
                )
            )
    return events


def _schedule(plan: Plan, rng: random.Random, hotkeys: Sequence[str]) -> list[tuple[float, str]]:
    """(offset from go, action): each validator restarts `restarts_per_validator` times in
    as many episodes as that leaves with two back-to-back pairs, spread over the judged
    part of the run; one Redis restart; the new league."""
    actions: list[tuple[float, str]] = []
    episodes = plan.restarts_per_validator - 2
    begin, finish = plan.warmup_seconds, plan.seconds - 45.0
    span = (finish - begin) / episodes
    for hotkey in hotkeys:
        pairs = set(rng.sample(range(episodes), 2))
        for episode in range(episodes):
            at = begin + span * episode + rng.uniform(5.0, span - 10.0)
            actions.append((at, f"restart:{hotkey}"))
            if episode in pairs:
                actions.append((at + rng.uniform(1.0, 3.0), f"restart:{hotkey}"))
    actions.append((plan.seconds * plan.redis_restart_at, "redis"))
    actions.append((plan.seconds * plan.new_league_at, "league"))
    return sorted(actions)


def _drive(
    plan: Plan, rng: random.Random, validators: Sequence[Any], redis: Any, timeline: Timeline
) -> None:
    by_hotkey = {v.hotkey: v for v in validators}
    for offset, action in _schedule(plan, rng, list(by_hotkey)):
        _sleep_until(timeline.go + offset)
        if action == "redis":
            timeline.redis_restart = time.time()
            redis.restart()
        elif action == "league":
            timeline.new_league = time.time()
            for validator in validators:
                for event in _events(time.time(), (NEW_LEAGUE,), first_id=1000):
                    validator.add_event(event)
        else:
            validator = by_hotkey[action.split(":", 1)[1]]
            timeline.failing_per_life[validator.hotkey].append(_failing_by_ip(validator))
            timeline.restarts[validator.hotkey].append(time.time())
            validator.restart()
    _sleep_until(timeline.go + plan.seconds)


def _failing_by_ip(validator: Any) -> dict[str, int]:
    ips = validator.counters()["ips"]
    return {ip: int(record["failing_hotkeys"]) for ip, record in ips.items()}


@contextlib.contextmanager
def _watch_pushes(validators: Sequence[Any], timeline: Timeline) -> Iterator[None]:
    """Record when each validator process delivered its first CONNECTION_INFO round."""
    stop = threading.Event()

    def watch() -> None:
        seen = {v.hotkey: (v.restarts, bool(v.push_rounds)) for v in validators}
        while not stop.wait(0.05):
            for validator in validators:
                state = (validator.restarts, bool(validator.push_rounds))
                if state != seen[validator.hotkey] and state[1]:
                    timeline.first_pushes[validator.hotkey].append(time.time())
                seen[validator.hotkey] = state

    thread = threading.Thread(target=watch, name="push-watch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _start_workers(
    plan: Plan,
    workdir: Path,
    redis_url: str,
    validators: Sequence[Any],
    workers: list[subprocess.Popen[bytes]],
) -> list[dict[str, Any]]:
    per_worker = plan.hotkeys // plan.workers
    netuid = random.Random(plan.seed).randint(400, 900)
    for index in range(plan.workers):
        config = {
            "redis_url": redis_url,
            "netuid": netuid,
            "validators": [
                {
                    "hotkey": v.hotkey,
                    "coldkey": v.axon_info().coldkey,
                    "ip": v.host,
                    "port": v.port,
                }
                for v in validators
            ],
            "hotkeys": per_worker,
            "egress_ip": EGRESS_IPS[index % len(EGRESS_IPS)],
            "colocated": plan.hotkeys_per_ip,
            "fleet_size": plan.hotkeys,
            "odds_seconds": plan.odds_seconds,
            "game_sync_seconds": plan.game_sync_seconds,
            "workdir": str(workdir),
            "name": f"worker-{index}",
        }
        path = workdir / f"worker-{index}.json"
        path.write_text(json.dumps(config))
        with (workdir / f"worker-{index}.log").open("wb") as log:
            workers.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "sparket_testkit.harness.day_in_the_life",
                        "--worker",
                        str(path),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            )
    return _wait_for_markers(workdir, workers, "ready")


def _wait_for_markers(
    workdir: Path, workers: Sequence[subprocess.Popen[bytes]], marker: str
) -> list[dict[str, Any]]:
    from sparket_local_services.waits import wait_for

    found: list[dict[str, Any]] = []
    limit = time.monotonic() + WORKER_START_SECONDS
    for i, worker in enumerate(workers):
        path = workdir / f"worker-{i}.{marker}.json"
        log = workdir / f"worker-{i}.log"
        wait_for(
            functools.partial(_marked, path, worker, log),
            timeout=max(limit - time.monotonic(), 0.1),
            interval=0.1,
            what=f"worker-{i} to get to {marker}",
            evidence=functools.partial(_tail, log),
        )
        found.append(json.loads(path.read_text()))
    return found


def _marked(path: Path, worker: subprocess.Popen[bytes], log: Path) -> bool:
    """Whether the worker wrote `path`; an error (with its log) once it exited without."""
    if path.exists():
        return True
    if worker.poll() is not None:
        raise RuntimeError(f"{log.stem} exited before {path.name}:\n{_tail(log)}")
    return False


def _tail(log: Path) -> str:
    return log.read_text()[-4000:]


def _signal(workdir: Path, name: str, content: dict[str, Any]) -> None:
    tmp = workdir / f"{name}.json.tmp"
    tmp.write_text(json.dumps(content))
    tmp.rename(workdir / f"{name}.json")


def _axon_info(axon: dict[str, Any]) -> Any:
    import bittensor as bt

    return bt.AxonInfo(
        version=1,
        ip="127.0.0.1",
        port=axon["port"],
        ip_type=4,
        hotkey=axon["hotkey"],
        coldkey=axon["coldkey"],
    )


@contextlib.contextmanager
def _watch(workers: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    yield
    dead = [i for i, w in enumerate(workers) if w.poll() not in (None, 0)]
    if dead:
        raise RuntimeError(f"workers {dead} died during the run")


def _sleep_until(moment: float) -> None:
    """Let the run's scripted time pass: the next restart, or the end of the run."""
    time.sleep(max(0.0, moment - time.time()))


def _collect(worker: subprocess.Popen[bytes], out: Path) -> dict[str, Any]:
    worker.wait(timeout=120)
    if worker.returncode != 0 or not out.exists():
        log = out.with_name(out.name.replace(".out.json", ".log")).read_text()[-4000:]
        raise RuntimeError(f"{out.stem} failed with {worker.returncode}:\n{log}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


# ---- judging -----------------------------------------------------------------------------


def no_token_windows(timeline: Timeline, validator: str, grace: float) -> list[tuple[float, float]]:
    """From each restart until `grace` after the new process's first CONNECTION_INFO (a
    pair of restarts back to back is one window): the validator knows no token we hold."""
    windows: list[tuple[float, float]] = []
    pushes = sorted(timeline.first_pushes.get(validator, []))
    for restart in sorted(timeline.restarts.get(validator, [])):
        first = next((p for p in pushes if p > restart), timeline.end)
        end = first + grace
        if windows and restart <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], end))
        else:
            windows.append((restart, end))
    return windows


def judged_minutes(
    plan: Plan, timeline: Timeline, windows: Sequence[tuple[float, float]]
) -> list[int]:
    """Whole wall-clock minutes (the validator's 60 s buckets, and our prices' steps) after
    the warm-up and before the end, of which no-token windows cover at most half: 30 s
    hold at least one round (every `odds_seconds` ± jitter) or the catch-up that follows a
    new token, so every hotkey has had its chance to push in the minute."""
    first = int((timeline.go + plan.warmup_seconds) // 60) + 1
    last = int((timeline.go + plan.seconds) // 60)

    def covered(minute: int) -> float:
        start, end = minute * 60, minute * 60 + 60
        return sum(max(0.0, min(e, end) - max(s, start)) for s, e in windows)

    return [m for m in range(first, last) if covered(m) <= 30.0]


def judge(
    plan: Plan,
    timeline: Timeline,
    validators: Sequence[Any],
    tallies: Sequence[dict[str, Any]],
    ready: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """The figures the test asserts on and the closing note reports."""
    hotkeys = [hk for r in ready for hk in r["hotkeys"]]
    ip_of = {hk: r["egress_ip"] for r in ready for hk in r["hotkeys"]}
    report: dict[str, Any] = {"plan": asdict(plan), "validators": {}}
    trips = _round_trips(tallies, timeline.go)
    grace = catch_up_grace(plan, trips)
    for validator in validators:
        in_doubt = lost_to_restarts(tallies, validator.hotkey, timeline)
        judged = _judge_validator(plan, timeline, validator, hotkeys, ip_of, grace, in_doubt)
        judged["silent_hotkey_sends"] = _sends_around(
            tallies, validator.hotkey, judged["silent_hotkey_minutes"], timeline.go
        )
        report["validators"][validator.hotkey[:10]] = judged
    report["odds_round_trip_seconds"] = trips
    report["no_token_grace_seconds"] = grace
    report["per_second_max"] = _per_second_max(tallies, ip_of, timeline.go + plan.warmup_seconds)
    report["per_second_max_in_warmup"] = _per_second_max(tallies, ip_of, timeline.go)
    report["failure_budget_refusals_at_end"] = sum(t["failure_budget_at_end"] for t in tallies)
    report["memory"] = [t["memory"] for t in tallies]
    report["requests"] = sum(len(t["sends"]) for t in tallies)
    report["redis_outage_hotkeys"] = sum(t["outages"] for t in tallies)
    report["skipped_games"] = tallies[0]["skipped_games"]
    return report


def catch_up_grace(plan: Plan, trips: dict[str, Any]) -> float:
    """How long after a new token the last hotkey of an egress IP may wait for its turn: a
    push lease per (validator, egress IP) lets one push at a time leave (docs/decisions.md,
    "One push in flight per (validator, egress IP)"), so an IP's hotkeys catch up one round
    trip after another. This run's median round trip sets it, so a busy machine's longer
    trips are not counted against the fleet; 3 s (the token's proof) at the least."""
    return round(max(3.0, plan.hotkeys_per_ip * float(trips.get("p50", 0.0))), 1)


def _judge_validator(
    plan: Plan,
    timeline: Timeline,
    validator: Any,
    hotkeys: Sequence[str],
    ip_of: dict[str, str],
    grace: float,
    in_doubt: set[tuple[str, int]],
) -> dict[str, Any]:
    counters = validator.counters()
    windows = no_token_windows(timeline, validator.hotkey, grace=grace)
    minutes = judged_minutes(plan, timeline, windows)
    rows: dict[tuple[str, int], set[int]] = defaultdict(set)
    rows_at: dict[tuple[str, int], float] = {}  # the first row of each hotkey-minute
    for row in validator.odds_rows:
        key = (row.hotkey, int(row.received_at // 60))
        rows[key].add(row.market_id)
        rows_at[key] = min(rows_at.get(key, row.received_at), row.received_at)
    demand = accepted = 0
    silent: list[tuple[str, int]] = []
    excused: list[tuple[str, int]] = []  # the minute's push was lost in a restart: in doubt
    for minute in minutes:
        markets = _demanded_markets(timeline, minute, plan)
        for hotkey in hotkeys:
            got = rows.get((hotkey, minute), set())
            demand += len(markets)
            accepted += len(got & markets)
            if not got & markets:
                if (hotkey, minute) in in_doubt:
                    excused.append((hotkey[:8], minute))
                else:
                    silent.append((hotkey[:8], minute))
    received = sorted(row.received_at for row in validator.odds_rows)
    gaps = [(b - a, a) for a, b in itertools.pairwise(received) if a > timeline.go + 60]
    longest = max(gaps, default=(0.0, 0.0))
    lifetime = counters["lifetime"]
    failures = sum(int(v) for k, v in lifetime.items() if k.startswith("failures_"))
    failing = timeline.failing_per_life.get(validator.hotkey, [])
    restarts = len(timeline.restarts.get(validator.hotkey, []))
    return {
        "restarts": restarts,
        "no_token_windows": [(round(s - timeline.go, 1), round(e - s, 1)) for s, e in windows],
        "judged_minutes": len(minutes),
        "demand": demand,
        "accepted": accepted,
        "accepted_share": round(accepted / demand, 4) if demand else None,
        "silent_hotkey_minutes": silent,
        "in_doubt_hotkey_minutes": excused,
        "failures": failures,
        "failures_per_restart": round(failures / max(1, restarts), 2),
        "max_failing_hotkeys_per_ip_per_life": max(
            (n for life in failing for n in life.values()), default=0
        ),
        "lifetime": {k: int(v) for k, v in lifetime.items()},
        "first_row_into_minute_seconds": _first_row_offsets(rows_at, minutes, hotkeys),
        "longest_stall_seconds": round(longest[0], 1),
        "longest_stall_at": round(longest[1] - timeline.go, 1),
        "longest_stall_in_window": any(s - 5 <= longest[1] <= e for s, e in windows),
        "egress_ips": sorted(set(ip_of.values())),
    }


def lost_to_restarts(
    tallies: Sequence[dict[str, Any]], validator: str, timeline: Timeline
) -> set[tuple[str, int]]:
    """(hotkey, minute) of odds pushes to `validator` that were in flight when it restarted
    (the request left and no answer came). The runtime holds their rows as possibly stored
    and never sends them again, as it must not send anything twice (docs/decisions.md,
    in-doubt rows); the validator may have died before storing them. Prices change once a
    minute, so that hotkey's next row comes in the next minute: the minute is in doubt, not
    silent."""
    restarts = timeline.restarts.get(validator, [])
    lost = set()
    for tally in tallies:
        for at, to, hotkey, kind, _, _, trip, in_doubt in tally["sends"]:
            if to != validator or "ODDS" not in kind.upper() or not in_doubt:
                continue
            if any(at - 1.0 <= restart <= at + trip + 1.0 for restart in restarts):
                lost.add((hotkey, int(at // 60)))
    return lost


def _first_row_offsets(
    rows_at: dict[tuple[str, int], float], minutes: Sequence[int], hotkeys: Sequence[str]
) -> dict[str, float]:
    """How far into each judged minute a hotkey's first row came: the margin every hotkey
    had before its minute would have been silent (p50, p95, max, in seconds)."""
    offsets = sorted(
        rows_at[(hk, m)] - m * 60 for m in minutes for hk in hotkeys if (hk, m) in rows_at
    )
    if not offsets:
        return {}
    return {
        "p50": round(offsets[len(offsets) // 2], 1),
        "p95": round(offsets[int(len(offsets) * 0.95)], 1),
        "max": round(offsets[-1], 1),
    }


def _sends_around(
    tallies: Sequence[dict[str, Any]], validator: str, silent: Sequence[tuple[str, int]], go: float
) -> dict[str, list[tuple[Any, ...]]]:
    """For each silent (hotkey, minute): that hotkey's requests to the validator from a
    minute before to a minute after, as (seconds since go, type, reply, error, round trip)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for short, minute in silent[:5]:
        found[f"{short}@{round(minute * 60 - go, 1)}"] = [
            (round(at - go, 1), kind, reply, error, trip)
            for tally in tallies
            for at, to, hk, kind, reply, error, trip, _ in tally["sends"]
            if to == validator and hk.startswith(short) and abs(at - minute * 60 - 30) <= 90
        ]
    return found


def _round_trips(tallies: Sequence[dict[str, Any]], go: float) -> dict[str, Any]:
    """Odds pushes' round trips (the push lease is held for one), in seconds, and their
    median in each minute of the run: flat when the validators' cost per request is."""
    odds = [send for tally in tallies for send in tally["sends"] if "ODDS" in send[3].upper()]
    trips = sorted(send[6] for send in odds)
    if not trips:
        return {}
    by_minute: dict[int, list[float]] = defaultdict(list)
    for send in odds:
        by_minute[int((send[0] - go) // 60)].append(send[6])
    return {
        "p50": trips[len(trips) // 2],
        "p95": trips[int(len(trips) * 0.95)],
        "max": trips[-1],
        "p50_by_minute": [sorted(t)[len(t) // 2] for _, t in sorted(by_minute.items())],
    }


def _demanded_markets(timeline: Timeline, minute: int, plan: Plan) -> set[int]:
    """Every known-league market the fleet prices in `minute`: the first league from the
    start, the new one from two game syncs and a round after it was added."""
    markets = {e * 10 + k for e in range(1, 1 + GAMES_PER_LEAGUE) for k in range(len(KINDS))}
    settle = timeline.new_league + 2 * plan.game_sync_seconds + plan.odds_seconds
    if timeline.new_league and minute * 60 >= settle:
        markets |= {
            e * 10 + k for e in range(1000, 1000 + GAMES_PER_LEAGUE) for k in range(len(KINDS))
        }
    return markets


def _per_second_max(
    tallies: Sequence[dict[str, Any]], ip_of: dict[str, str], since: float
) -> dict[str, int]:
    """The most requests started in any one wall-clock second (and any 60 s) per hotkey,
    per egress IP and for the fleet, each toward one validator."""
    hotkey: Counter[tuple[str, str, int]] = Counter()
    minute: Counter[tuple[str, str, int]] = Counter()
    ip: Counter[tuple[str, str, int]] = Counter()
    fleet: Counter[tuple[str, int]] = Counter()
    for tally in tallies:
        for at, validator, hk, *_ in tally["sends"]:
            if at < since:
                continue
            hotkey[(validator, hk, int(at))] += 1
            minute[(validator, hk, int(at // 60))] += 1
            ip[(validator, ip_of[hk], int(at))] += 1
            fleet[(validator, int(at))] += 1
    return {
        "hotkey_per_second": max(hotkey.values(), default=0),
        "hotkey_per_minute": max(minute.values(), default=0),
        "egress_ip_per_second": max(ip.values(), default=0),
        "fleet_per_second": max(fleet.values(), default=0),
    }


# ---- worker ------------------------------------------------------------------------------


def _worker(config_path: Path) -> None:
    config = json.loads(config_path.read_text())
    asyncio.run(_work(config))


class _MinuteEngine:
    """The built-in engine on league priors, every odds value moved by a step that changes
    each wall-clock minute: each market has a new price every minute (so each minute holds
    demand for every market at every validator), and the same price within the minute."""

    def __init__(self) -> None:
        from miner_runtime.pricing.builtin import BuiltinEngine
        from miner_runtime.pricing.names import TeamNames

        self.inner = BuiltinEngine(names=TeamNames(), history_expected=False)

    async def quote(self, markets: Sequence[Any], now: dt.datetime) -> list[Any]:
        from miner_runtime.pricing.engine import Quote

        shift = 0.01 * (int(now.timestamp() // 60) % 7)
        return [
            Quote(
                market_id=q.market_id,
                kind=q.kind,
                odds={side: round(odds + shift, 2) for side, odds in q.odds.items()},
            )
            for q in await self.inner.quote(markets, now)
        ]

    def condition(self) -> Any:
        return self.inner.condition()


class _RecordingLink:
    """The runtime's own link, with every request noted: (start time, validator, hotkey,
    message type, reply kind, reply error, round trip in seconds, in doubt: the request left
    and no answer came, so the runtime holds it as possibly stored)."""

    def __init__(self, inner: Any, hotkey: str, sends: list[tuple[Any, ...]]) -> None:
        self.inner, self.hotkey, self.sends = inner, hotkey, sends

    async def send(self, validator: Any, message_type: Any, payload: dict[str, Any]) -> Any:
        started = time.time()
        reply = await self.inner.send(validator, message_type, payload)
        self.sends.append(
            (
                started,
                validator.hotkey,
                self.hotkey,
                str(message_type),
                str(reply.kind),
                reply.error,
                round(time.time() - started, 3),
                reply.kind.value == "unreachable" and not reply.never_delivered,
            )
        )
        return reply

    async def close(self) -> None:
        await self.inner.close()


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


async def _work(config: dict[str, Any]) -> None:
    from miner_runtime.budget.model import Ask, Denied, Rule
    from miner_runtime.chain.client import MockChain
    from miner_runtime.composition import compose
    from miner_runtime.logs import configure_logging
    from miner_runtime.pacing import Cadence
    from miner_runtime.settings import Settings
    from sparket_local_services.ports import free_port
    from sparket_local_services.waits import until
    from sparket_local_services.wallets import generated_wallet

    configure_logging(logging.WARNING)  # the post-mortem: every rejection and failure
    workdir, name = Path(config["workdir"]), config["name"]
    wallets = workdir / f"{name}-wallets"
    wallets.mkdir(mode=0o700)
    egress_ip, netuid = config["egress_ip"], config["netuid"]
    miners = [generated_wallet(wallets, f"m{i}") for i in range(config["hotkeys"])]
    ports = [free_port() for _ in miners]
    ready = {
        "egress_ip": egress_ip,
        "hotkeys": [w.hotkey.ss58_address for w in miners],
        "axons": [
            {"hotkey": w.hotkey.ss58_address, "coldkey": w.coldkeypub.ss58_address, "port": p}
            for w, p in zip(miners, ports, strict=True)
        ],
    }
    (workdir / f"{name}.ready.json").write_text(json.dumps(ready))
    go = workdir / "go.json"  # written by the orchestrator once every worker is ready
    await until(go.exists, within=2 * WORKER_START_SECONDS, what="the go signal")

    chain = MockChain(netuid=netuid, hotkey_ss58=miners[0].hotkey.ss58_address)
    chain.create_subnet()
    for spec in config["validators"]:
        chain.register(
            spec["hotkey"],
            spec["coldkey"],
            stake=1000.0,
            validator_permit=True,
            axon=(spec["ip"], spec["port"]),
        )
    cadence = Cadence(
        chain_sync_seconds=30.0,
        game_sync_seconds=config["game_sync_seconds"],
        odds_seconds=config["odds_seconds"],
        outcome_seconds=3600.0,
        jitter_seconds=3.0,
        first_fit_wait_seconds=0.0,
    )
    sends: list[tuple[Any, ...]] = []
    apps = []
    for wallet, port in zip(miners, ports, strict=True):
        chain.register(wallet.hotkey.ss58_address, wallet.coldkeypub.ss58_address)
        settings = Settings(
            wallet={"name": wallet.name, "hotkey": "default", "path": wallets},
            axon={"host": "127.0.0.1", "port": port, "external_ip": "127.0.0.1"},
            subtensor={"network": "mock", "netuid": netuid},
            miner_api_enabled=False,
            data_dir=workdir / name / wallet.name,
            egress_ip=egress_ip,
            pricing={"results_source": "none"},
            budget={
                "redis_url": config["redis_url"],
                "expected_colocated": config["colocated"],
                "expected_fleet_size": config["fleet_size"],
                "token_rotation_seconds": ROTATION_SECONDS,
                # Rounds to 50 axons take seconds under this load: a token may be seen
                # that long after its round began (at most a quarter of the rotation).
                "token_clock_skew_seconds": 12.0,
                # 12 runtimes share one event loop here, on 2 cores with 3 validators:
                # loop lag alone passes the 0.5 s default and reads as Redis down.
                "redis_timeout_seconds": 2.0,
            },
        )
        app = await compose(
            settings,
            wallet=wallet,
            chain=MockChain(netuid=netuid, hotkey_ss58=wallet.hotkey.ss58_address),
            pricing=_MinuteEngine(),
            cadence=cadence,
            source_address=egress_ip,
        )
        await app.start()
        app.services.gate.link = _RecordingLink(app.services.gate.link, app.hotkey, sends)
        apps.append(app)
    (workdir / f"{name}.started.json").write_text("{}")

    memory: list[tuple[float, int, int]] = []  # (time, requests so far, RSS KiB)
    stop = workdir / "stop.json"
    while not stop.exists():
        memory.append((time.time(), len(sends), _rss_kib()))
        await asyncio.sleep(5.0)  # the memory sampling interval (the stop is seen at a sample)
    refused_at_end = 0
    for app in apps:
        for spec in config["validators"]:
            decision = await app.services.coordinator.acquire(
                Ask(spec["hotkey"], app.hotkey, egress_ip)
            )
            if isinstance(decision, Denied) and decision.rule is Rule.FAILURE_BUDGET:
                refused_at_end += 1
    outages = sum(1 for app in apps if getattr(app.services.coordinator, "outages", 0))
    skipped = dict(apps[0].services.status.games_skipped)
    for app in apps:
        await app.stop()
    out = {
        "sends": sends,
        "memory": memory,
        "failure_budget_at_end": refused_at_end,
        "outages": outages,
        "skipped_games": skipped,
    }
    (workdir / f"{name}.out.json").write_text(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker", type=Path, help="run one worker from this config file")
    parser.add_argument("--seconds", type=float, default=Plan.seconds)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker)
        return
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        report = run(Plan(seconds=args.seconds), args.workdir or Path(tmp))
        sys.stdout.write(json.dumps(report, indent=2, default=str) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
