"""Stopping a node leaves the host as it found it, even after its daemons were killed
half-way (an interrupted demo or test): no process, mount, cgroup, link or iptables chain
of ours remains, and the kernel tunables the kubelet and kube-proxy changed are restored.

It starts a node of its own; the other modules' nodes are module-scoped, so none is up."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from sparket_local_cluster.control_plane import LocalCluster
from sparket_local_cluster.node import host
from sparket_local_cluster.node.layout import PAUSE_IMAGE
from sparket_local_cluster.node.node import REAL_NODE_LABEL, RealNode
from sparket_local_services.waits import wait_for
from sparket_testkit.kube_cli import Cli

pytestmark = pytest.mark.timeout(600)


def test_a_killed_node_is_cleaned_up_completely(
    node_cluster: LocalCluster, control_plane_bin_dir: Path, node_kubectl: Cli
) -> None:
    sysctls_before = host.read_sysctls()
    chains_before = host.iptables_chains()
    node = RealNode(cluster=node_cluster, bin_dir=control_plane_bin_dir)
    node.start()
    try:
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "left-behind", "namespace": "default"},
            "spec": {
                "nodeSelector": {REAL_NODE_LABEL: "true"},
                "containers": [{"name": "c", "image": PAUSE_IMAGE, "imagePullPolicy": "Never"}],
            },
        }
        node_kubectl("apply", "-f", "-", stdin=json.dumps(pod))
        wait_for(
            lambda: (
                json.loads(node_kubectl("get", "pod", "left-behind", "-o", "json").stdout)[
                    "status"
                ].get("phase")
                == "Running"
            ),
            timeout=120,
            what="a pod on the node",
        )
        during = node.leftovers()
        # Evidence that the detector sees what a running node holds.
        assert during.processes and during.mounts and during.cgroups and during.links
        assert during.chains
        started = [p.pid for p in node.processes]
        for pid in started:  # interrupted half-way: no daemon gets to clean up
            os.killpg(pid, signal.SIGKILL)
    finally:
        node.stop()
    assert not node.leftovers(), node.leftovers()
    assert not any(Path(f"/proc/{pid}").exists() for pid in started)
    assert host.read_sysctls() == sysctls_before
    assert host.iptables_chains() == chains_before
    assert not node.layout.data.exists() and not node.layout.state.exists()
    node_kubectl("delete", "pod", "left-behind", "--grace-period=0", "--force", check=False)
