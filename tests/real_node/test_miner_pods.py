"""The operator's SparketMiners as real pods on the real node, under Pod Security
`restricted`: what the pod spec promises, enforced by a kubelet, containerd and runc.

The operator runs as a process (the chart's container, the way the demo runs it); the
runtime image is the project's own, built by tools/images/build-local.sh; the chain is the
runtime's in-process MockSubtensor, seeded inline through the operator's runtime defaults.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from sparket_local_cluster.control_plane import LocalCluster
from sparket_local_cluster.miner_kube_objects import (
    local_storage_class,
    new_wallet,
    node_volume,
    restricted_namespace,
)
from sparket_local_cluster.node.layout import NODE_NAME
from sparket_local_cluster.node.node import RealNode, node_ip
from sparket_local_cluster.operator_process import LocalOperator
from sparket_local_services.paths import repo_root
from sparket_local_services.waits import wait_for
from sparket_operator.api.crdgen import CRD_NAME, DEFAULT_PATH
from sparket_testkit.harness.operator_flows import (
    condition,
    miner_status,
    operator_for,
    real_node_miner,
    running,
    wait_status,
)
from sparket_testkit.kube_cli import Cli, apply, try_get_json

pytestmark = pytest.mark.timeout(900)

NS = "real-miners"
STORAGE_CLASS = "sparket-real-local"
MINER_IMAGE = "localhost/sparket-miner-runtime:test"  # built by the real_node fixture
WALLET_ROOT = "/var/run/sparket/wallets"
# Run inside the runtime container (its image has Python, no shell tools to rely on).
LIST_FILES = (
    "import os; print(sorted(os.path.join(d, f) for d, _, fs in "
    "os.walk('{root}', followlinks=True) for f in fs if not f.startswith('..')))"
)
INODES = (
    "import os; print(sorted((e.name, e.stat().st_ino) "
    "for e in os.scandir('{root}') if e.is_file()))"
)


@pytest.fixture(scope="module")
def fleet(
    real_node: RealNode,
    node_cluster: LocalCluster,
    node_kubectl: Cli,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Any]]:
    node_kubectl("apply", "--server-side", "-f", str(repo_root() / DEFAULT_PATH))
    node_kubectl("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=60s")
    keys = tmp_path_factory.mktemp("keys")
    wallets = {name: new_wallet(keys, name) for name in ("alpha", "beta")}
    apply(
        node_kubectl,
        restricted_namespace(NS),
        local_storage_class(STORAGE_CLASS),
    )
    for name, wallet in wallets.items():
        apply(
            node_kubectl,
            wallet.secret(NS, f"{name}-wallet"),
            node_volume(
                real_node.layout.volumes / name,
                name=f"pv-real-{name}",
                namespace=NS,
                miner=name,
                storage_class=STORAGE_CLASS,
            ),
        )
    neurons = [{"hotkey": w.hotkey, "coldkey": w.hotkey, "stake": 1.0} for w in wallets.values()]
    operator = operator_for(
        node_cluster.kubeconfig,
        tmp_path_factory.mktemp("operator"),
        [NS],
        {
            "SPARKET_OPERATOR_RUNTIME_IMAGE": MINER_IMAGE,
            "SPARKET_OPERATOR_IMAGE_PULL_POLICY": "Never",
            "SPARKET_OPERATOR_RUNTIME_DEFAULTS": json.dumps(
                {"subtensor": {"mock_neurons": neurons}, "pricing": {"results_source": "none"}}
            ),
            "SPARKET_OPERATOR_STATUS_URL_TEMPLATE": "http://{pod_ip}:{port}/status",
            "SPARKET_OPERATOR_STATUS_POLL_SECONDS": "2",
            # A real node has no ExternalIP (as on kind or k3s): the documented set-up is a
            # shared egress IP plus spec.axon.externalIP, here the node's own address.
            "SPARKET_OPERATOR_EGRESS_IP": node_ip(),
        },
    )
    operator.start()
    try:
        for name, wallet in wallets.items():
            apply(node_kubectl, _miner(name, wallet.hotkey))
        yield {"operator": operator, "wallets": wallets, "node": real_node}
    finally:
        operator.stop()


def _miner(name: str, hotkey: str) -> dict[str, Any]:
    return real_node_miner(
        name,
        namespace=NS,
        hotkey=hotkey,
        storage_class=STORAGE_CLASS,
        external_ip=node_ip(),
        leagues=("nfl", "nba"),
    )


def _pod(kubectl: Cli, name: str) -> dict[str, Any]:
    return dict(json.loads(kubectl("-n", NS, "get", "pod", f"{name}-0", "-o", "json").stdout))


def _wait_running(kubectl: Cli, name: str, operator: LocalOperator) -> dict[str, Any]:
    return wait_status(
        kubectl,
        NS,
        name,
        running,
        what=f"{name} Running and Ready",
        timeout=240,
        diagnose=lambda: (
            kubectl("-n", NS, "get", "events", check=False).stdout[-3000:]
            + "\n"
            + operator.log_tail(60)
        ),
    )


def test_miners_run_ready_under_restricted_on_the_real_node(
    fleet: dict[str, Any], node_kubectl: Cli
) -> None:
    for name in ("alpha", "beta"):
        status = _wait_running(node_kubectl, name, fleet["operator"])
        assert status["node"] == NODE_NAME
        pod = _pod(node_kubectl, name)
        assert pod["spec"]["nodeName"] == NODE_NAME
        ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "True"  # the kubelet's probe of the runtime's /ready


def test_the_wallet_mount_is_read_only_and_holds_only_the_hotkey_and_coldkeypub(
    fleet: dict[str, Any], node_kubectl: Cli
) -> None:
    _wait_running(node_kubectl, "alpha", fleet["operator"])
    listed = node_kubectl(
        "-n", NS, "exec", "alpha-0", "--", "python3", "-c",
        LIST_FILES.format(root=WALLET_ROOT),
    ).stdout  # fmt: skip
    files = {path.rsplit("/", 1)[-1] for path in json.loads(listed.replace("'", '"'))}
    assert files == {"default", "coldkeypub.txt"}
    mounts = node_kubectl("-n", NS, "exec", "alpha-0", "--", "cat", "/proc/self/mountinfo").stdout
    (wallet_mount,) = [
        # /var/run is a link to /run in the image, so the mount point reads /run/...
        line.split()
        for line in mounts.splitlines()
        if line.split()[4].endswith("/sparket/wallets")
    ]
    assert "ro" in wallet_mount[5].split(",")  # the mount itself, not only the file modes
    write = node_kubectl(
        "-n", NS, "exec", "alpha-0", "--", "python3", "-c",
        f"open('{WALLET_ROOT}/planted', 'w')",
        check=False,
    )  # fmt: skip
    assert write.returncode != 0 and "Read-only file system" in write.stderr


def test_a_crashed_runtime_is_restarted_by_the_kubelet_and_keeps_its_data(
    fleet: dict[str, Any], node_kubectl: Cli
) -> None:
    _wait_running(node_kubectl, "beta", fleet["operator"])
    stat = INODES.format(root="/var/lib/sparket")
    before = node_kubectl("-n", NS, "exec", "beta-0", "--", "python3", "-c", stat).stdout
    assert "runtime.db" in before or ".db" in before, before
    (pid,) = fleet["node"].container_pids("beta-0", NS)
    os.kill(pid, signal.SIGKILL)  # a crash, from outside: no shutdown path runs
    wait_for(
        lambda: (
            (_pod(node_kubectl, "beta")["status"].get("containerStatuses") or [{}])[0].get(
                "restartCount", 0
            )
            >= 1
        ),
        timeout=120,
        what="the kubelet restarting the crashed runtime",
        evidence=lambda: json.dumps(_pod(node_kubectl, "beta")["status"].get("containerStatuses")),
    )
    _wait_running(node_kubectl, "beta", fleet["operator"])
    after = node_kubectl("-n", NS, "exec", "beta-0", "--", "python3", "-c", stat).stdout
    assert after == before  # the same files, the same inodes: the PVC, not a fresh dir


def test_a_coldkey_added_later_stops_the_miner_and_never_reaches_a_pod(
    fleet: dict[str, Any], node_kubectl: Cli
) -> None:
    _wait_running(node_kubectl, "alpha", fleet["operator"])
    leaked = b'{"secretPhrase": "word word word word word word word word word word word word"}'
    wallet = fleet["wallets"]["alpha"]
    apply(node_kubectl, wallet.secret(NS, "alpha-wallet", coldkey=leaked))
    status = wait_for(
        lambda: (
            (s := miner_status(node_kubectl, NS, "alpha"))
            and condition(s, "Ready").get("reason") == "ColdkeyPresent"
            and s
        ),
        timeout=120,
        what="ColdkeyPresent on alpha",
    )
    assert "coldkey" in condition(status, "Ready")["message"]
    wait_for(
        lambda: try_get_json(node_kubectl, "pod", "alpha-0", "-n", NS) is None,
        timeout=120,
        what="alpha's pod gone",
    )


def test_deleting_a_miner_removes_its_pod_service_and_claim(
    fleet: dict[str, Any], node_kubectl: Cli
) -> None:
    _wait_running(node_kubectl, "beta", fleet["operator"])
    node_kubectl("-n", NS, "delete", "sparketminer", "beta", "--wait=true", "--timeout=120s")

    def gone() -> bool:
        return all(
            try_get_json(node_kubectl, kind, name, "-n", NS) is None
            for kind, name in (("pod", "beta-0"), ("service", "beta-axon"), ("pvc", "data-beta-0"))
        )

    wait_for(gone, timeout=180, what="beta's pod, Service and claim deleted")
