"""The real operator (`python -m sparket_operator`) as a local process against a cluster.

Shared by the operator's flow tests, the chart tests and the demo: each gives the settings
(`SPARKET_OPERATOR_*`, from a test or from what the chart renders) and a kubeconfig; the
probe and metrics servers always move to free loopback ports, since a process outside a pod
must not take the pod's fixed ones. A separate process, as in production, so a test can
SIGKILL it.
"""

from __future__ import annotations

import os
import signal
import sys
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sparket_local_services.ports import free_port, http_ok
from sparket_local_services.processes import ManagedProcess, tail

# For tests: pods of KWOK nodes have fake IPs that must never be dialled, so the runtime
# /status poll goes to a closed loopback port, rarely. (The demo's pods have real IPs.)
NO_STATUS_POLL = {
    "SPARKET_OPERATOR_STATUS_URL_TEMPLATE": "http://127.0.0.1:9/{namespace}/{name}",
    "SPARKET_OPERATOR_STATUS_POLL_SECONDS": "3600",
}


@dataclass
class LocalOperator:
    kubeconfig: Path
    workdir: Path
    settings: Mapping[str, str] = field(default_factory=dict)
    process: ManagedProcess | None = None
    health_port: int = 0
    metrics_port: int = 0
    starts: int = 0
    env: dict[str, str] = field(default_factory=dict)

    def start(self, timeout: float = 60.0) -> None:
        """Start (again: a fresh log per start) and wait until /healthz answers."""
        self.health_port, self.metrics_port = free_port(), free_port()
        self.starts += 1
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.workdir),
            "KUBECONFIG": str(self.kubeconfig),
            **self.settings,
            "SPARKET_OPERATOR_HEALTH_HOST": "127.0.0.1",
            "SPARKET_OPERATOR_HEALTH_PORT": str(self.health_port),
            "SPARKET_OPERATOR_METRICS_PORT": str(self.metrics_port),
        }
        self.process = ManagedProcess(
            name="sparket-operator",
            argv=[sys.executable, "-m", "sparket_operator"],
            log_path=self.workdir / f"operator-{self.starts}.log",
            env=self.env,
        )
        self.process.start()
        self.process.wait_until(self.healthy, timeout=timeout, what="the operator's /healthz")

    def healthy(self) -> bool:
        return http_ok(f"http://127.0.0.1:{self.health_port}/healthz", timeout=1)

    def running(self) -> bool:
        return self.process is not None and self.process.running()

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())

    def metric(self, name: str, **labels: str) -> float:
        """The sum of every sample of `name` whose labels include `labels`."""
        wanted = [f'{k}="{v}"' for k, v in labels.items()]
        total = 0.0
        for line in self.metrics().splitlines():
            if line.startswith("#") or not line:
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
        return self.process.log_path.read_text(errors="replace") if self.process else ""

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.process.log_path, lines) if self.process else ""
