"""`make demo` end to end: the README's run command reaches its end and leaves nothing.

Runs the real demo (`python -m sparket_local_cluster.demo --no-wait`, what tools/demo.sh runs)
as a subprocess: the project's images, control plane, a real node (containerd, kubelet,
kube-proxy, CoreDNS), the validator in its own network namespace, helm install (the
operator pod and the bundled Redis pod) and three miner pods. It must print Ready miners
with submissions counted, seen by the validator from the one egress IP, exit 0, and leave
no process, network namespace, link, mount, cgroup or iptables chain of its own behind;
interrupted half-way (Ctrl-C), it must leave nothing behind either.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from sparket_local_cluster.demo.validator_network import ValidatorNetwork
from sparket_local_cluster.node import host

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

NODE_DIRS = (Path("/var/lib/sparket-node"), Path("/run/spk"))


def _netns() -> list[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]


def _links() -> str:
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout


def _processes_under(*roots: Path) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if any(str(root) in cmdline for root in roots):
                found.append(cmdline)
    return found


def _node_runs() -> set[str]:
    return {str(p) for d in NODE_DIRS if d.is_dir() for p in d.iterdir()}


@dataclass(frozen=True)
class HostState:
    """What the demo may change on the host and must give back."""

    forwarding: str
    sysctls: dict[str, str]
    chains: set[tuple[str, str]]
    node_runs: set[str]

    @classmethod
    def now(cls) -> HostState:
        return cls(
            forwarding=Path("/proc/sys/net/ipv4/ip_forward").read_text(),
            sysctls=host.read_sysctls(),
            chains=host.iptables_chains(),
            node_runs=_node_runs(),
        )


def _run_demo(workdir: Path) -> list[str]:
    return [sys.executable, "-m", "sparket_local_cluster.demo", "--no-wait", "--dir", str(workdir)]


def test_the_demo_shows_a_ready_submitting_fleet_and_leaves_nothing_running(
    tmp_path: Path,
) -> None:
    before = HostState.now()
    workdir = tmp_path / "demo"
    result = subprocess.run(
        _run_demo(workdir),
        capture_output=True,
        text=True,
        timeout=840,
        env={**os.environ, "CI": "true"},
        stdin=subprocess.DEVNULL,
        check=False,
    )
    output = result.stdout
    assert result.returncode == 0, output[-3000:] + result.stderr[-3000:]

    table = output[output.index("$ kubectl get sparketminers") :]
    header, *rows = [line for line in table.splitlines()[1:] if line.strip()][:4]
    assert header.split()[:10] == [
        "NAME", "READY", "PHASE", "HOTKEY", "UID", "INCENTIVE", "EMISSION/DAY", "VALIDATORS",
        "SUBMITTED-1H", "AGE",
    ]  # fmt: skip
    egress_ip = ValidatorNetwork().egress_ip
    for index, row in enumerate(rows, start=1):
        name, ready, phase, _hotkey, uid, incentive, per_day, validators, submitted = row.split()[
            :9
        ]
        assert (name, ready, phase) == (f"miner-{index}", "True", "Running")
        assert int(uid) == index and int(validators) == 1 and int(submitted) > 0
        # The simulated chain scored each miner: its standing reaches the table.
        assert float(incentive) == pytest.approx(0.0125 * index, abs=1e-4)
        assert float(per_day) > 0
    # `kubectl sparket status`: the operator's fleet summary, every miner earning.
    status = output[output.index("$ kubectl sparket status") :].splitlines()
    headline = re.fullmatch(
        r"Fleet sparket: 3 miners, 3 Ready, 3 registered, 3 earning, ([0-9.]+) alpha/day",
        status[1],
    )
    assert headline is not None and float(headline.group(1)) > 0, status[:6]
    assert f"  egress {egress_ip}: 3 hotkeys (miner-1, miner-2, miner-3)" in status
    stored = re.search(r'"odds_rows": (\d+)', output)
    assert stored is not None and int(stored.group(1)) > 0
    # Every pod's traffic left the node masqueraded to the one egress IP (CNI's ipMasq).
    assert f"requests seen from: {egress_ip};" in output
    assert "IPs with failures or violations: none" in output
    # The fleet shared its budgets through the chart's bundled Redis, found by its Service
    # name through the node's DNS: no runtime ever fell back to its local share.
    miner_logs = sorted((workdir / "logs" / "pods").glob("miner-*-0.miner.log"))
    assert len(miner_logs) == 3
    for log in miner_logs:
        text = log.read_text()
        assert text.strip() and "budget_store_down" not in text, log
    budget_keys = re.search(r"the bundled Redis holds (\d+) fleet budget keys", output)
    assert budget_keys is not None and int(budget_keys.group(1)) > 0
    redis_log = (workdir / "logs" / "pods" / "sparket-operator-redis-0.redis.log").read_text()
    assert "Ready to accept connections" in redis_log
    assert output.rstrip().endswith("demo: stopped; nothing is left running")
    _assert_nothing_left(workdir, before)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_a_demo_interrupted_half_way_leaves_nothing_running(tmp_path: Path) -> None:
    """Ctrl-C while the fleet is coming up (control plane, node, validator, operator and
    Redis pods running, miners being applied): everything started so far is stopped. The
    demo is started with SIGINT ignored, as a shell's background job inherits it (how a CI
    run once met it): the demo must listen for it all the same."""
    before = HostState.now()
    workdir = tmp_path / "demo"
    demo = subprocess.Popen(
        _run_demo(workdir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CI": "true"},
        stdin=subprocess.DEVNULL,
        preexec_fn=_ignore_sigint,  # one signal call before exec
    )
    assert demo.stdout is not None
    seen = []
    try:
        for line in demo.stdout:  # the demo flushes each line
            seen.append(line)
            if "kubectl apply:" in line:
                break
        else:
            pytest.fail("the demo ended before applying its miners:\n" + "".join(seen))
        demo.send_signal(signal.SIGINT)
        _, errors = demo.communicate(timeout=300)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert demo.returncode == 130, errors[-3000:]
    assert "interrupted; everything it started has been stopped" in errors
    _assert_nothing_left(workdir, before)


def _assert_nothing_left(workdir: Path, before: HostState) -> None:
    """No namespace, link, mount, cgroup, iptables chain or process of the demo (its own
    or its node's); forwarding and the kernel tunables as they were."""
    after = HostState.now()
    assert [n for n in _netns() if n.startswith("spk-")] == []
    assert "spk" not in _links()
    assert after.forwarding == before.forwarding
    assert after.sysctls == before.sysctls
    assert after.chains == before.chains
    assert after.node_runs == before.node_runs  # the node's data and state dirs are gone
    assert host.kubepods_cgroups() == []
    assert host.mounts_under(*NODE_DIRS) == []
    assert _processes_under(workdir, *NODE_DIRS) == []
