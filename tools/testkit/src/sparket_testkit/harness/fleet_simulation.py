"""A fleet against one validator: many hotkeys on two egress IPs, one real Redis between them.

The orchestrator (`run`) starts a redis-server with its append-only file on (as a
production budget store runs), the project's local validator (the real rule engine behind
a real bittensor Axon) and worker processes. Each worker
(`python -m sparket_testkit.harness.fleet_simulation --worker CONFIG`) plays a slice of the
fleet: per hotkey, the runtime's own `Gate` on its own fail-closed Redis coordinator and
its own `EgressDendrite` bound to the group's 127.0.0.x source address; and one bittensor
Axon with the runtime's `ConnectionIngress`
that hands every CONNECTION_INFO to all of its hotkeys (as each runtime's own axon would).
Demand is synthetic and endless: every hotkey pushes odds as fast as the gate lets it, so
the budgets, not the demand, set the pace. Midway the validator restarts (every token dies)
and later Redis is down for a few seconds.

What is judged comes from the validator's own counters (totals across its restart) and
the workers' tallies of what was accepted when.

Secrets: each worker's hotkey seeds are in a 0600 file in the run's directory, never in
argv or the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import json
import os
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

WORKER_START_SECONDS = 90.0


@dataclass(frozen=True)
class Group:
    """Hotkeys sharing one egress IP, split over `processes` worker processes."""

    egress_ip: str
    hotkeys: int
    processes: int


@dataclass(frozen=True)
class Plan:
    seconds: float = 180.0
    groups: tuple[Group, ...] = (Group("127.0.0.2", 64, 4), Group("127.0.0.3", 16, 1))
    # One push in flight per (validator, egress IP) bounds each IP to 1 / round trip; on
    # this 2-core machine a round trip under the full load is ~100 ms (docs/decisions.md).
    fleet_per_second: float = 12.0
    validator_restart_at: float = 0.35  # fractions of the run
    redis_restart_at: float = 0.70
    # Redis is lost for this long, not bounced: redis-py's own reconnect retries hide a
    # bounce of a few milliseconds, and then no hotkey ever meets the outage under test.
    redis_outage_seconds: float = 4.0

    @property
    def fleet_size(self) -> int:
        return sum(g.hotkeys for g in self.groups)


@dataclass
class Report:
    plan: Plan
    lifetime: dict[str, int]  # the validator's counters, summed over its restarts
    restarts: int
    hotkeys_that_saw_redis_down: int
    per_second: Counter[int] = field(default_factory=Counter)  # accepted, by wall second
    send_ms: int = 0  # summed over every reply
    replies: Counter[str] = field(default_factory=Counter)  # reply kind/error -> count
    refusals: Counter[str] = field(default_factory=Counter)  # budget rule -> count

    @property
    def seconds(self) -> float:
        """Of demand: from the start signal to the end."""
        return self.plan.seconds

    @property
    def accepted_by_workers(self) -> int:
        return self.replies["accepted"]

    @property
    def failures(self) -> int:
        return sum(v for k, v in self.lifetime.items() if k.startswith("failures_"))

    @property
    def accepted_per_second(self) -> float:
        return self.lifetime["requests_accepted"] / self.seconds

    @property
    def steady_per_second(self) -> float:
        """Accepted per second over the seconds with no disruption nearby: the median."""
        counts = sorted(self.per_second.values())
        return float(counts[len(counts) // 2]) if counts else 0.0

    def each_second(self) -> list[int]:
        """Accepted replies in every second of the run, the silent ones (the Redis outage)
        included."""
        if not self.per_second:
            return []
        return [self.per_second[k] for k in range(min(self.per_second), max(self.per_second) + 1)]

    def summary(self) -> dict[str, Any]:
        return {
            "hotkeys": self.plan.fleet_size,
            "seconds": round(self.seconds, 1),
            "fleet_cap_per_second": self.plan.fleet_per_second,
            "accepted_per_second": round(self.accepted_per_second, 2),
            "share_of_cap": round(self.accepted_per_second / self.plan.fleet_per_second, 3),
            "validator_restarts": self.restarts,
            "hotkeys_that_saw_redis_down": self.hotkeys_that_saw_redis_down,
            "failures": self.failures,
            "cooldowns": self.lifetime["hotkey_cooldowns_started"]
            + self.lifetime["ip_cooldowns_started"],
            "violations": self.lifetime["violations"],
            "bans": self.lifetime["hotkey_bans"]
            + self.lifetime["ip_bans"]
            + self.lifetime["scanner_bans"],
            "steady_per_second": round(self.steady_per_second, 2),
            "mean_round_trip_ms": round(self.send_ms / max(1, sum(self.replies.values()))),
            "accepted_each_second": self.each_second(),
            "slowest_second": min(self.each_second(), default=0),
            "replies": dict(self.replies),
            "refusals": dict(self.refusals),
        }


# ---- orchestrator ------------------------------------------------------------------------


def run(plan: Plan, workdir: Path) -> Report:
    """Run the whole simulation (blocking) and report what the validator counted."""
    from bittensor_wallet import Keypair

    from sparket_local_services.ports import free_port
    from sparket_local_services.services import RedisServer
    from sparket_local_validator.server import LocalValidator

    redis = RedisServer(workdir / "redis", persistent=True)
    redis.start()
    seeds = {g.egress_ip: [secrets.token_hex(32) for _ in range(g.hotkeys)] for g in plan.groups}
    # bittensor_wallet's stub says bytes, but the binding takes the seed as a hex string.
    registered = [
        Keypair.create_from_seed(seed).ss58_address  # type: ignore[arg-type]
        for group in seeds.values()
        for seed in group
    ]
    targets: list[Any] = []
    validator = LocalValidator(
        Keypair.create_from_seed(secrets.token_hex(32)),  # type: ignore[arg-type]
        port=free_port(),
        registered_hotkeys=lambda: registered,
        push_targets=lambda: list(targets),
    )
    validator.start()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        ready = _start_workers(plan, workdir, redis.url, validator, seeds, workers)
        targets.extend(_axon_info(r) for r in ready)
        # The fleet knows the validator's token before demand starts, as a running fleet
        # does; a new token still has to be proven by a push first.
        validator.push_now().result(timeout=30)
        begun = time.monotonic()
        deadline = time.time() + plan.seconds
        _tell_workers(workdir, deadline)
        with _watch(workers):
            _sleep_until(begun + plan.seconds * plan.validator_restart_at)
            validator.restart()
            _sleep_until(begun + plan.seconds * plan.redis_restart_at)
            redis.stop()
            _sleep_until(time.monotonic() + plan.redis_outage_seconds)
            redis.start()
            _sleep_until(begun + plan.seconds)
        tallies = [
            _collect(worker, workdir / f"worker-{i}.out.json") for i, worker in enumerate(workers)
        ]
        counters = validator.counters()
        lifetime = counters["lifetime"]
        assert isinstance(lifetime, dict)
        report = Report(
            plan=plan,
            lifetime={str(k): int(v) for k, v in lifetime.items()},
            restarts=int(str(counters["restarts"])),
            hotkeys_that_saw_redis_down=sum(t["outages"] for t in tallies),
        )
        for tally in tallies:
            report.replies.update(tally["replies"])
            report.refusals.update(tally["refusals"])
            report.per_second.update({int(k): v for k, v in tally["per_second"].items()})
            report.send_ms += tally["send_ms"]
        return report
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        validator.stop()
        redis.stop()


def _start_workers(
    plan: Plan,
    workdir: Path,
    redis_url: str,
    validator: Any,
    seeds_by_ip: dict[str, list[str]],
    workers: list[subprocess.Popen[bytes]],
) -> list[dict[str, Any]]:
    from sparket_local_services.waits import wait_for

    index = 0
    for group in plan.groups:
        share = -(-group.hotkeys // group.processes)
        seeds = seeds_by_ip[group.egress_ip]
        for start in range(0, group.hotkeys, share):
            config = {
                "redis_url": redis_url,
                "validator": {
                    "hotkey": validator.hotkey,
                    "ip": validator.host,
                    "port": validator.port,
                },
                "egress_ip": group.egress_ip,
                "colocated": group.hotkeys,
                "fleet_size": plan.fleet_size,
                "fleet_per_second": plan.fleet_per_second,
                "workdir": str(workdir),
                "name": f"worker-{index}",
            }
            secret = workdir / f"worker-{index}.seeds"
            secret.touch(mode=0o600)
            secret.write_text(json.dumps(seeds[start : start + share]))
            path = workdir / f"worker-{index}.json"
            path.write_text(json.dumps(config))
            with (workdir / f"worker-{index}.log").open("wb") as log:
                workers.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "sparket_testkit.harness.fleet_simulation",
                            "--worker",
                            str(path),
                        ],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                    )
                )
            index += 1
    ready: list[dict[str, Any]] = []
    limit = time.monotonic() + WORKER_START_SECONDS
    for i, worker in enumerate(workers):
        marker = workdir / f"worker-{i}.ready.json"
        log_path = workdir / f"worker-{i}.log"
        wait_for(
            functools.partial(_marked, marker, worker, log_path),
            timeout=max(limit - time.monotonic(), 0.1),
            interval=0.1,
            what=f"worker-{i} to start",
            evidence=functools.partial(_tail, log_path),
        )
        ready.append(json.loads(marker.read_text()))
    return ready


def _marked(path: Path, worker: subprocess.Popen[bytes], log: Path) -> bool:
    """Whether the worker wrote `path`; an error (with its log) once it exited without."""
    if path.exists():
        return True
    if worker.poll() is not None:
        raise RuntimeError(f"{log.stem} did not start:\n{_tail(log)}")
    return False


def _tail(log: Path) -> str:
    return log.read_text()[-3000:]


def _tell_workers(workdir: Path, deadline: float) -> None:
    """Start signal: every worker begins its demand loop and stops at `deadline`."""
    (workdir / "go.json.tmp").write_text(json.dumps({"deadline": deadline}))
    (workdir / "go.json.tmp").rename(workdir / "go.json")


def _axon_info(ready: dict[str, Any]) -> Any:
    import bittensor as bt

    return bt.AxonInfo(
        version=1,
        ip="127.0.0.1",
        port=ready["port"],
        ip_type=4,
        hotkey=ready["hotkey"],
        coldkey=ready["coldkey"],
    )


@contextlib.contextmanager
def _watch(workers: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    yield
    dead = [i for i, w in enumerate(workers) if w.poll() not in (None, 0)]
    if dead:
        raise RuntimeError(f"workers {dead} died during the run")


def _sleep_until(moment: float) -> None:
    """Let the run's scripted time pass: to the validator's or Redis's restart, or the end."""
    time.sleep(max(0.0, moment - time.monotonic()))


def _collect(worker: subprocess.Popen[bytes], out: Path) -> dict[str, Any]:
    worker.wait(timeout=60)
    if worker.returncode != 0 or not out.exists():
        log = out.with_name(out.name.replace(".out.json", ".log")).read_text()[-3000:]
        raise RuntimeError(f"{out.stem} failed with {worker.returncode}:\n{log}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


# ---- worker ------------------------------------------------------------------------------


def _worker(config_path: Path) -> None:
    config = json.loads(config_path.read_text())
    asyncio.run(_work(config))


async def _work(config: dict[str, Any]) -> None:
    from bittensor_wallet import Keypair

    from miner_runtime.budget.factory import coordinator_from_settings
    from miner_runtime.ingress.axon import ConnectionIngress, build_axon
    from miner_runtime.protocol.messages import ConnectionInfo
    from miner_runtime.settings import BudgetSettings
    from miner_runtime.submission.gate import Gate
    from miner_runtime.validator_client.dendrite import EgressDendrite
    from miner_runtime.validator_client.selection import NeuronView
    from miner_runtime.validator_client.transport import DendriteLink
    from sparket_local_services.ports import free_port
    from sparket_local_services.waits import until
    from sparket_local_services.wallets import generated_wallet

    workdir, name = Path(config["workdir"]), config["name"]
    seeds = json.loads((workdir / f"{name}.seeds").read_text())
    egress_ip = config["egress_ip"]
    spec = config["validator"]
    validator = NeuronView(
        uid=0, hotkey=spec["hotkey"], validator_permit=True, ip=spec["ip"], port=spec["port"]
    )
    settings = BudgetSettings(
        redis_url=config["redis_url"],
        fleet_per_second=config["fleet_per_second"],
        expected_colocated=config["colocated"],
        expected_fleet_size=config["fleet_size"],
    )
    gates, links = [], []
    for seed in seeds:
        keypair = Keypair.create_from_seed(seed)
        link = DendriteLink(EgressDendrite(keypair, egress_ip=egress_ip, source_address=egress_ip))
        links.append(link)
        gates.append(
            Gate(
                link=link,
                coordinator=coordinator_from_settings(settings),
                hotkey=keypair.ss58_address,
                egress_ip=egress_ip,
            )
        )

    async def on_connection_info(sender: str, info: ConnectionInfo) -> None:
        now = dt.datetime.now(dt.UTC)
        for gate in gates:
            await gate.token_received(sender, info.token, now)

    wallet = generated_wallet(workdir / f"{name}-wallet", name)
    ingress = ConnectionIngress(
        neurons=lambda: {validator.hotkey: validator},
        on_connection_info=on_connection_info,
        loop=asyncio.get_running_loop(),
        allow_unpermitted=False,
    )
    port = free_port()
    axon = build_axon(
        wallet, ingress, host="127.0.0.1", port=port, external_ip="127.0.0.1", external_port=port
    )
    axon.start()
    ready = {
        "hotkey": wallet.hotkey.ss58_address,
        "coldkey": wallet.coldkeypub.ss58_address,
        "port": port,
    }
    (workdir / f"{name}.ready.json").write_text(json.dumps(ready))

    go = workdir / "go.json"  # written by the orchestrator once every worker is ready
    await until(go.exists, within=2 * WORKER_START_SECONDS, what="the go signal")
    deadline = json.loads(go.read_text())["deadline"]
    replies: Counter[str] = Counter()
    per_second: Counter[int] = Counter()  # accepted replies by wall-clock second
    send_ms = [0]  # total time from send to reply, for the mean round trip
    try:
        await asyncio.gather(
            *(_demand(gate, validator, deadline, replies, per_second, send_ms) for gate in gates)
        )
    finally:
        axon.stop()
        for gate, link in zip(gates, links, strict=True):
            await link.close()
            await gate.coordinator.close()
    refusals: Counter[str] = Counter()
    for gate in gates:
        for sample in next(iter(gate.metrics.budget_refusals.collect())).samples:
            if sample.name.endswith("_total") and sample.value:
                refusals[sample.labels["rule"]] += int(sample.value)
    out = {
        "outages": sum(1 for gate in gates if getattr(gate.coordinator, "outages", 0)),
        "replies": replies,
        "refusals": refusals,
        "per_second": per_second,
        "send_ms": send_ms[0],
    }
    (workdir / f"{name}.out.json").write_text(json.dumps(out))


async def _demand(
    gate: Any,
    validator: Any,
    deadline: float,
    replies: Counter[str],
    per_second: Counter[int],
    send_ms: list[int],
) -> None:
    """Push odds for ever (until `deadline`): the gate decides when."""
    from miner_runtime.protocol.synapse import SynapseType

    market = 0
    while time.time() < deadline:
        async with gate.turn(validator.hotkey, push=True) as admitted:
            if admitted is not None and time.time() < deadline:
                market += 1
                sent_at = time.perf_counter()
                reply = await gate.send(
                    validator, SynapseType.ODDS_PUSH, functools.partial(_odds, market), admitted
                )
                if reply is not None:
                    send_ms[0] += round((time.perf_counter() - sent_at) * 1000)
                    replies["accepted" if reply.ok else reply.error or reply.kind.value] += 1
                    if reply.ok:
                        per_second[int(time.time())] += 1
                    if not reply.ok:  # to the worker's log, for a post-mortem
                        line = f"{time.time():.3f} {gate.hotkey} {reply.kind} {reply.error}\n"
                        sys.stdout.write(line)
                        sys.stdout.flush()
                    continue
        held = gate.status.budget(validator.hotkey).held_for(dt.datetime.now(dt.UTC))
        await asyncio.sleep(min(max(held, 0.2), 2.0))  # a miner's retry: the hold, 0.2-2 s


def _odds(market: int, token: str | None) -> dict[str, Any]:
    """One market's odds, with the token the gate's final check gave."""
    return {
        "submissions": [
            {
                "market_id": market,
                "kind": "moneyline",
                "prices": [{"side": "home", "odds_eu": 1.9}, {"side": "away", "odds_eu": 2.0}],
            }
        ],
        "token": token,
    }


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
        sys.stdout.write(json.dumps(report.summary() | {"plan": asdict(report.plan)}, indent=2))
        sys.stdout.write("\n")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
