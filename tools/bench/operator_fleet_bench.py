"""1,000 SparketMiners applied at once against the real local control plane.

Measures what issue 4 asks for, with the real `python -m sparket_operator` process:

* time from the first create until every miner has status written for its current
  generation (target <= 120 s on the build machine);
* write calls per hour once nothing changes (target 0): the operator's own write counter
  over an idle window that includes several full resyncs;
* the operator's RSS with the whole fleet known (target <= 200 MB).

The wallet Secrets (one fresh hotkey each) and a pre-bound PersistentVolume per miner
(the test cluster has no provisioner) are created before the clock starts. KWOK runs the
nodes and makes the pods Running; the clock also records when all 1,000 are Running.

    python3 -m uv run --locked --all-packages python tools/bench/operator_fleet_bench.py
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import os
import signal
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from sparket_local_cluster.control_plane import FakeNode, LocalCluster
from sparket_local_cluster.miner_kube_objects import (
    local_storage_class,
    new_wallet,
    prebound_volume,
)
from sparket_local_services.paths import binaries_dir, repo_root
from sparket_local_services.ports import free_port, http_ok
from sparket_local_services.processes import ManagedProcess, vm_rss_kib
from sparket_local_services.waits import wait_for
from sparket_operator.api.crdgen import crd_manifest

NAMESPACE = "fleet"
MINERS = "/apis/sparket.io/v1alpha1/namespaces/fleet/sparketminers"


def vm_rss_mib(pid: int) -> float:
    return vm_rss_kib(pid) / 1024.0


def scrape(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if not line.startswith("#") and line.split("{")[0].split(" ")[0] == name
    )


def secrets(count: int, root: Path) -> list[tuple[str, dict[str, Any]]]:
    """(hotkey, wallet Secret) for `count` fresh hotkeys."""
    made = []
    for i in range(count):
        wallet = new_wallet(root, f"w{i}")
        made.append((wallet.hotkey, wallet.secret(NAMESPACE, f"wallet-{i}")))
    return made


STORAGE_CLASS = "bench-local"


def miner(i: int, hotkey: str) -> dict[str, Any]:
    return {
        "apiVersion": "sparket.io/v1alpha1",
        "kind": "SparketMiner",
        "metadata": {"name": f"miner-{i:04d}", "namespace": NAMESPACE},
        "spec": {
            "hotkey": hotkey,
            "wallet": {"secretName": f"wallet-{i}"},
            "leagues": ["nfl"],
            "storage": {"storageClassName": STORAGE_CLASS},
            # Small requests so that 1,000 pods fit the fake nodes' 32 CPUs each.
            "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}},
        },
    }


def volume(i: int) -> dict[str, Any]:
    return prebound_volume(
        f"bench-{i:04d}",
        namespace=NAMESPACE,
        miner=f"miner-{i:04d}",
        storage_class=STORAGE_CLASS,
        host_path=f"/var/lib/bench/{i}",
    )


def done_count(cluster: LocalCluster) -> tuple[int, collections.Counter[str]]:
    """(miners with status written for their generation, miners by phase)."""
    items = cluster.client().call("GET", MINERS, timeout=60)["items"]
    phases: collections.Counter[str] = collections.Counter()
    done = 0
    for item in items:
        status = item.get("status") or {}
        phases[str(status.get("phase"))] += 1
        if (
            status.get("phase")
            and status.get("observedGeneration") == item["metadata"]["generation"]
        ):
            done += 1
    return done, phases


def run(count: int, idle_seconds: float, resync_seconds: float, workdir: Path) -> dict[str, Any]:
    # Five KWOK nodes of 250 pods each hold the fleet (the default three hold 750).
    nodes = tuple(
        FakeNode(
            f"kwok-node-{i}", external_ip=f"203.0.113.{20 + i}", internal_ip=f"192.0.2.{20 + i}"
        )
        for i in range(5)
    )
    cluster = LocalCluster(workdir=workdir / "cluster", bin_dir=binaries_dir(), nodes=nodes)
    cluster.start()
    operator: ManagedProcess | None = None
    try:
        api = cluster.client()
        api.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd_manifest())
        wait_for(
            lambda: any(
                c["type"] == "Established" and c["status"] == "True"
                for c in api.call(
                    "GET",
                    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                    "sparketminers.sparket.io",
                )
                .get("status", {})
                .get("conditions")
                or []
            ),
            timeout=60,
            what="CRD established",
        )
        api.call("POST", "/api/v1/namespaces", {"metadata": {"name": NAMESPACE}})
        api.call(
            "POST",
            "/apis/storage.k8s.io/v1/storageclasses",
            local_storage_class(STORAGE_CLASS),
        )
        print(f"generating {count} hotkeys and Secrets ...", flush=True)
        wallets = secrets(count, workdir / "wallets")
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(
                pool.map(
                    lambda s: api.call("POST", f"/api/v1/namespaces/{NAMESPACE}/secrets", s[1]),
                    wallets,
                )
            )
            list(
                pool.map(
                    lambda i: api.call("POST", "/api/v1/persistentvolumes", volume(i)),
                    range(count),
                )
            )

        health, metrics = free_port(), free_port()
        operator = ManagedProcess(
            name="sparket-operator",
            argv=[sys.executable, "-m", "sparket_operator"],
            log_path=workdir / "operator.log",
            env={
                "PATH": os.environ["PATH"],
                "HOME": str(workdir),
                "KUBECONFIG": str(cluster.kubeconfig),
                "SPARKET_OPERATOR_NAMESPACES": json.dumps([NAMESPACE]),
                "SPARKET_OPERATOR_HEALTH_HOST": "127.0.0.1",
                "SPARKET_OPERATOR_HEALTH_PORT": str(health),
                "SPARKET_OPERATOR_METRICS_PORT": str(metrics),
                "SPARKET_OPERATOR_RESYNC_SECONDS": str(resync_seconds),
                "SPARKET_OPERATOR_STATUS_POLL_SECONDS": "3600",
                "SPARKET_OPERATOR_LOG_LEVEL": "WARNING",
            },
        )
        operator.start()
        operator.wait_until(
            lambda: http_ok(f"http://127.0.0.1:{health}/healthz", timeout=1),
            timeout=60,
            what="healthz",
        )
        rss_empty = vm_rss_mib(operator.pid)

        print(f"creating {count} SparketMiners ...", flush=True)
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(
                pool.map(
                    lambda pair: api.call("POST", MINERS, miner(pair[0], pair[1][0])),
                    enumerate(wallets),
                )
            )
        created = time.monotonic() - started
        progress: list[tuple[float, int]] = []
        while True:
            done, phases = done_count(cluster)
            progress.append((round(time.monotonic() - started, 1), done))
            if done == count:
                break
            if time.monotonic() - started > 900:
                raise RuntimeError(f"not converged after 900 s: {done}/{count}")
            time.sleep(2)
        converged = time.monotonic() - started
        rss_converged = vm_rss_mib(operator.pid)
        while phases.get("Running", 0) < count and time.monotonic() - started < 900:
            time.sleep(5)
            _, phases = done_count(cluster)
        all_running = time.monotonic() - started

        # Idle: wait until writes stop, then count writes over a window with resyncs.
        last, quiet = scrape(metrics, "sparket_operator_api_writes_total"), 0.0
        while quiet < 30 and time.monotonic() - started < 1200:
            time.sleep(5)
            now = scrape(metrics, "sparket_operator_api_writes_total")
            quiet = quiet + 5 if now == last else 0.0
            last = now
        reconciles_before = scrape(metrics, "sparket_operator_reconciles_total")
        time.sleep(idle_seconds)
        idle_writes = scrape(metrics, "sparket_operator_api_writes_total") - last
        idle_reconciles = scrape(metrics, "sparket_operator_reconciles_total") - reconciles_before
        rss_idle = vm_rss_mib(operator.pid)
        return {
            "miners": count,
            "create_calls_seconds": round(created, 1),
            "all_status_written_seconds": round(converged, 1),
            "all_running_seconds": round(all_running, 1),
            "progress": progress[:: max(1, len(progress) // 12)] + progress[-1:],
            "phases": dict(phases),
            "writes_total_at_convergence": last,
            "idle_window_seconds": idle_seconds,
            "idle_reconciles": idle_reconciles,
            "idle_writes": idle_writes,
            "idle_writes_per_hour": idle_writes * 3600.0 / idle_seconds,
            "rss_mib": {
                "empty": round(rss_empty, 1),
                "converged": round(rss_converged, 1),
                "idle": round(rss_idle, 1),
            },
        }
    finally:
        if operator is not None:
            operator.stop()
        cluster.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--miners", type=int, default=1000)
    parser.add_argument("--idle-seconds", type=float, default=180.0)
    parser.add_argument("--resync-seconds", type=float, default=60.0)
    args = parser.parse_args()
    # SIGTERM (timeout, Ctrl-C from a wrapper) must still stop the cluster in `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.chdir(repo_root())
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        result = run(args.miners, args.idle_seconds, args.resync_seconds, Path(tmp))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
