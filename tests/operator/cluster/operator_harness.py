"""Runs the real operator (`python -m sparket_operator`) against the test cluster, and the
helpers the flow tests share: wallets as Secrets, pre-bound volumes, miner manifests.

The operator is a separate process, as in production, so a test can SIGKILL it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sparket_devkit.cluster import wait_for
from sparket_devkit.miner_objects import prebound_volume
from sparket_devkit.ports import free_port, http_ok
from sparket_devkit.processes import ManagedProcess, tail
from sparket_devkit.pytest_plugin import Cli

STORAGE_CLASS = "sparket-test-local"


@dataclass
class OperatorProcess:
    kubeconfig: Path
    workdir: Path
    namespaces: list[str]
    extra_env: dict[str, str] = field(default_factory=dict)
    process: ManagedProcess | None = None
    health_port: int = 0
    metrics_port: int = 0
    starts: int = 0

    def start(self) -> None:
        self.health_port, self.metrics_port = free_port(), free_port()
        self.starts += 1
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.workdir),
            "KUBECONFIG": str(self.kubeconfig),
            "SPARKET_OPERATOR_NAMESPACES": json.dumps(self.namespaces),
            "SPARKET_OPERATOR_HEALTH_HOST": "127.0.0.1",
            "SPARKET_OPERATOR_HEALTH_PORT": str(self.health_port),
            "SPARKET_OPERATOR_METRICS_PORT": str(self.metrics_port),
            # Pods of KWOK nodes have fake IPs that must never be dialled: poll nothing.
            "SPARKET_OPERATOR_STATUS_URL_TEMPLATE": "http://127.0.0.1:9/{namespace}/{name}",
            "SPARKET_OPERATOR_STATUS_POLL_SECONDS": "3600",
            "SPARKET_OPERATOR_RUNTIME_IMAGE": "registry.invalid/sparket-miner-runtime:test",
            **self.extra_env,
        }
        self.process = ManagedProcess(
            name="sparket-operator",
            argv=[sys.executable, "-m", "sparket_operator"],
            log_path=self.workdir / f"operator-{self.starts}.log",
            env=env,
        )
        self.process.start()
        self.process.wait_until(self.healthy, timeout=60, what="liveness endpoint answers")

    def healthy(self) -> bool:
        return http_ok(f"http://127.0.0.1:{self.health_port}/healthz", timeout=1)

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/", timeout=5) as r:
            return str(r.read().decode())

    def metric(self, name: str, **labels: str) -> float:
        """The sum of every sample of `name` whose labels include `labels`."""
        wanted = [f'{k}="{v}"' for k, v in labels.items()]
        total = 0.0
        for line in self.metrics().splitlines():
            if line.startswith("#"):
                continue
            series, value = line.rsplit(" ", 1)
            if series.split("{")[0] == name and all(w in series for w in wanted):
                total += float(value)
        return total

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye (a crash or an evicted pod)."""
        assert self.process is not None and self.process.popen is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(grace=15)

    def log(self) -> str:
        return tail(self.process.log_path, 60) if self.process else ""


def get_json(kubectl: Cli, *args: str) -> Any:
    return json.loads(kubectl("get", *args, "-o", "json").stdout)


def try_get_json(kubectl: Cli, *args: str) -> Any | None:
    result = kubectl("get", *args, "-o", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def apply(kubectl: Cli, *objects: dict[str, Any]) -> None:
    kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(objects))


def miner(namespace: str, name: str, hotkey: str, secret: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "sparket.io/v1alpha1",
        "kind": "SparketMiner",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "hotkey": hotkey,
            "wallet": {"secretName": secret},
            "leagues": ["nfl", "nba"],
            "storage": {"size": "1Gi", "storageClassName": STORAGE_CLASS},
            **spec,
        },
    }


def volume_for(namespace: str, miner_name: str) -> dict[str, Any]:
    """A PersistentVolume pre-bound to the miner's data claim (KWOK runs no provisioner)."""
    return prebound_volume(
        f"pv-{namespace}-{miner_name}",
        namespace=namespace,
        miner=miner_name,
        storage_class=STORAGE_CLASS,
        host_path=f"/var/lib/sparket-test/{namespace}/{miner_name}",
    )


def miner_status(kubectl: Cli, namespace: str, name: str) -> dict[str, Any]:
    found = try_get_json(kubectl, "sparketminer", name, "-n", namespace)
    return (found or {}).get("status") or {}


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in status.get("conditions", []) if c["type"] == kind), {})


def wait_status(
    kubectl: Cli,
    namespace: str,
    name: str,
    predicate: Callable[[dict[str, Any]], bool],
    *,
    what: str,
    timeout: float = 60,
    operator: OperatorProcess | None = None,
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        status = miner_status(kubectl, namespace, name)
        return status if predicate(status) else None

    try:
        result: dict[str, Any] = wait_for(check, timeout=timeout, what=what)
    except Exception as exc:  # add the evidence a human needs, then fail
        last = miner_status(kubectl, namespace, name)
        log = operator.log() if operator else ""
        raise AssertionError(f"{what}: last status {json.dumps(last)}\n{log}") from exc
    return result


def running(status: dict[str, Any]) -> bool:
    return status.get("phase") == "Running" and condition(status, "Ready").get("status") == "True"


def owned_objects(kubectl: Cli, namespace: str) -> dict[str, list[str]]:
    """Names of everything the operator made in `namespace`, by kind."""
    selector = "app.kubernetes.io/managed-by=sparket-operator"
    found: dict[str, list[str]] = {}
    for kind in ("statefulsets", "services", "configmaps"):
        items = get_json(kubectl, kind, "-n", namespace, "-l", selector)["items"]
        found[kind] = sorted(i["metadata"]["name"] for i in items)
    return found


def poll(seconds: float, every: float = 0.2) -> Iterator[float]:
    deadline = time.monotonic() + seconds
    while (now := time.monotonic()) < deadline:
        yield deadline - now
        time.sleep(every)
