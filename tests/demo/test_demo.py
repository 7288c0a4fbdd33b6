"""`make demo` end to end: the README's run command reaches its end and leaves nothing.

Runs the real demo (`python -m sparket_local_cluster.demo --no-wait`, what tools/demo.sh runs)
as a subprocess: control plane, Redis, validator, helm install, operator, local kubelet
and three miners. It must print Ready miners with submissions counted, exit 0, and leave
no network namespace, NAT table, link or process of its own behind; interrupted half-way
(Ctrl-C), it must leave nothing behind either.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sparket_local_cluster.pods.network import NFT_TABLE, PodNetwork

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(400)]


def _netns() -> list[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]


def _links() -> str:
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout


def _processes_under(workdir: Path) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if str(workdir) in cmdline:
                found.append(cmdline)
    return found


def test_the_demo_shows_a_ready_submitting_fleet_and_leaves_nothing_running(
    tmp_path: Path,
) -> None:
    forwarding_before = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    workdir = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "sparket_local_cluster.demo", "--no-wait", "--dir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=360,
        env={**os.environ, "CI": "true"},
        stdin=subprocess.DEVNULL,
        check=False,
    )
    output = result.stdout
    assert result.returncode == 0, output[-3000:] + result.stderr[-3000:]

    table = output[output.index("$ kubectl get sparketminers") :]
    header, *rows = [line for line in table.splitlines()[1:] if line.strip()][:4]
    assert header.split()[:10] == [
        "NAME", "READY", "PHASE", "HOTKEY", "UID", "ENDPOINT", "EGRESS", "VALIDATORS",
        "SUBMITTED-1H", "AGE",
    ]  # fmt: skip
    node_ip = PodNetwork().node_ip
    for index, row in enumerate(rows, start=1):
        name, ready, phase, _hotkey, uid, endpoint, egress, validators, submitted = row.split()[:9]
        assert (name, ready, phase) == (f"miner-{index}", "True", "Running")
        assert endpoint == f"{node_ip}:{30090 + index}" and egress == node_ip
        assert int(uid) == index and int(validators) == 1 and int(submitted) > 0
    stored = re.search(r'"odds_rows": (\d+)', output)
    assert stored is not None and int(stored.group(1)) > 0
    assert "IPs with failures or violations: none" in output
    # The fleet shared its budgets through the demo's Redis: no runtime ever fell back to
    # its local share (a Redis the pods cannot reach once passed unnoticed here).
    miner_logs = list((workdir / "kubelet" / "pods").glob("*/logs/miner.log"))
    assert len(miner_logs) == 3
    for log in miner_logs:
        assert "budget_store_down" not in log.read_text(), log
    assert output.rstrip().endswith("demo: stopped; nothing is left running")
    _assert_nothing_left(workdir, forwarding_before)


def test_a_demo_interrupted_half_way_leaves_nothing_running(tmp_path: Path) -> None:
    """Ctrl-C while the fleet is coming up (control plane, Redis, validator, operator and
    kubelet running, miners being applied): everything started so far is stopped."""
    forwarding_before = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    workdir = tmp_path / "demo"
    demo = subprocess.Popen(
        [sys.executable, "-m", "sparket_local_cluster.demo", "--no-wait", "--dir", str(workdir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CI": "true"},
        stdin=subprocess.DEVNULL,
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
        _, errors = demo.communicate(timeout=180)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert demo.returncode == 130, errors[-3000:]
    assert "interrupted; everything it started has been stopped" in errors
    _assert_nothing_left(workdir, forwarding_before)


def _assert_nothing_left(workdir: Path, forwarding_before: str) -> None:
    """No namespace, link, NAT table or process of the demo; forwarding as it was."""
    assert [n for n in _netns() if n.startswith("spk-")] == []
    assert "spk" not in _links()
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert NFT_TABLE not in tables
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == forwarding_before
    assert _processes_under(workdir) == []
