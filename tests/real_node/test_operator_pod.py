"""The operator as users run it: `helm install` of the chart, the operator a real pod from its
own image under Pod Security `restricted`, reaching the API server through the `kubernetes`
Service (kube-proxy) with its ServiceAccount's token, and running a miner pod, with the
example pricing sidecar beside its runtime, on the real node. Then the operator pod is
deleted: the Deployment's new pod adopts the running miner without touching it, and still
owns what it made.

Redis for the miners is a redis-server the test starts on the node's address (the chart's
`external` mode); the chain is the runtime's in-process MockSubtensor, seeded through the
chart's `runtime.config`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from sparket_local_cluster.miner_kube_objects import (
    local_storage_class,
    new_wallet,
    node_volume,
    restricted_namespace,
)
from sparket_local_cluster.node.layout import NODE_NAME
from sparket_local_cluster.node.node import REAL_NODE_LABEL, RealNode, node_ip
from sparket_local_services.paths import repo_root
from sparket_local_services.services import RedisServer
from sparket_local_services.waits import wait_for
from sparket_operator.api.crdgen import CRD_NAME, DEFAULT_PATH
from sparket_operator.reconcile.config import CONTROL_PORT
from sparket_testkit.harness.operator_flows import real_node_miner, running, wait_status
from sparket_testkit.kube_cli import Cli, apply, get_json, try_get_json

pytestmark = pytest.mark.timeout(900)

RELEASE_NS = "sparket-system"
NS = "pod-miners"
STORAGE_CLASS = "sparket-pod-local"
OPERATOR_SELECTOR = "app.kubernetes.io/component=operator"
MINER = "gamma"
MODEL_IMAGE = "localhost/sparket-model-example:test"  # built by the image_archives fixture


@pytest.fixture(scope="module")
def release(
    real_node: RealNode,
    node_kubectl: Cli,
    node_helm: Cli,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("operator-pod")
    redis = RedisServer(workdir / "redis", extra_bind=node_ip())
    redis.start()
    wallet = new_wallet(workdir / "keys", MINER)
    apply(
        node_kubectl,
        restricted_namespace(RELEASE_NS),
        restricted_namespace(NS),
        local_storage_class(STORAGE_CLASS),
        wallet.secret(NS, f"{MINER}-wallet"),
        node_volume(
            real_node.layout.volumes / f"pod-{MINER}",
            name=f"pv-pod-{MINER}",
            namespace=NS,
            miner=MINER,
            storage_class=STORAGE_CLASS,
        ),
    )
    # The CRD as `kubectl apply -f crds/` (the chart's crds.enabled=false mode): the node's
    # cluster is shared by this session's real-node modules, which apply it the same way.
    node_kubectl("apply", "--server-side", "-f", str(repo_root() / DEFAULT_PATH))
    node_kubectl("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=60s")
    values = workdir / "values.yaml"
    values.write_text(yaml.safe_dump(_values(wallet.hotkey, redis.port)))
    node_helm(
        "install", "sparket", str(repo_root() / "charts" / "sparket-operator"),
        "-n", RELEASE_NS, "-f", str(values), "--wait", "--timeout=300s",
        timeout=360,
    )  # fmt: skip
    try:
        yield {"wallet": wallet, "redis": redis}
    finally:
        node_kubectl(
            "-n", NS, "delete", "sparketminer", "--all", "--wait=true", check=False, timeout=180
        )  # fmt: skip
        node_helm("uninstall", "sparket", "-n", RELEASE_NS, "--wait", check=False, timeout=180)
        redis.stop()


def _values(hotkey: str, redis_port: int) -> dict[str, Any]:
    neurons = [{"hotkey": hotkey, "coldkey": hotkey, "stake": 1.0}]
    return {
        "crds": {"enabled": False},
        "operator": {
            "image": {
                "repository": "localhost/sparket-operator",
                "tag": "test",
                "pullPolicy": "Never",
            },
            # A real node has no ExternalIP: the shared egress IP is the node's address.
            "config": {"egressIP": node_ip(), "statusPollSeconds": 2},
            "nodeSelector": {REAL_NODE_LABEL: "true"},
        },
        "runtime": {
            "image": {"repository": "localhost/sparket-miner-runtime", "tag": "test"},
            "pullPolicy": "Never",
            "config": {
                "subtensor": {"mock_neurons": neurons},
                "pricing": {"results_source": "none"},
            },
        },
        "redis": {"mode": "external", "external": {"url": f"redis://{node_ip()}:{redis_port}/0"}},
    }


def _miner(hotkey: str) -> dict[str, Any]:
    # The example pricing sidecar, from its own image, beside the runtime.
    return real_node_miner(
        MINER,
        namespace=NS,
        hotkey=hotkey,
        storage_class=STORAGE_CLASS,
        external_ip=node_ip(),
        model={"image": MODEL_IMAGE},
    )


def _operator_pods(kubectl: Cli) -> list[dict[str, Any]]:
    found = get_json(kubectl, "pods", "-n", RELEASE_NS, "-l", OPERATOR_SELECTOR)["items"]
    return [p for p in found if not p["metadata"].get("deletionTimestamp")]


def _ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _diagnose(kubectl: Cli) -> str:
    logs = kubectl(
        "-n", RELEASE_NS, "logs", "-l", OPERATOR_SELECTOR, "--tail=60", check=False
    )  # fmt: skip
    events = kubectl("get", "events", "-A", check=False).stdout[-3000:]
    return f"{logs.stdout[-4000:]}{logs.stderr[-1000:]}\n{events}"


def _wait_miner_running(kubectl: Cli) -> dict[str, Any]:
    return wait_status(
        kubectl,
        NS,
        MINER,
        running,
        what=f"{MINER} Running and Ready",
        timeout=300,
        diagnose=lambda: _diagnose(kubectl),
    )


def test_the_operator_runs_as_a_restricted_pod_and_runs_a_miner(
    release: dict[str, Any], node_kubectl: Cli
) -> None:
    (pod,) = _operator_pods(node_kubectl)
    assert pod["spec"]["nodeName"] == NODE_NAME and _ready(pod), _diagnose(node_kubectl)
    # It talks to the API server as its ServiceAccount, through the `kubernetes` Service.
    assert pod["spec"]["serviceAccountName"]
    apply(node_kubectl, _miner(release["wallet"].hotkey))
    status = _wait_miner_running(node_kubectl)
    assert status["node"] == NODE_NAME
    assert status["egressIP"] == node_ip()
    # Its prices come from the sidecar in the same pod, on localhost.
    pod = get_json(node_kubectl, "pod", f"{MINER}-0", "-n", NS)
    assert [c["image"] for c in pod["spec"]["containers"]][1:] == [MODEL_IMAGE]
    runtime = pod["spec"]["containers"][0]["name"]
    fetched = node_kubectl(
        "-n", NS, "exec", f"{MINER}-0", "-c", runtime, "--", "python3", "-c",
        "import urllib.request; print(urllib.request.urlopen("
        f"'http://127.0.0.1:{CONTROL_PORT}/status', timeout=5).read().decode())",
    ).stdout  # fmt: skip
    pricing = json.loads(fetched)["pricing"]
    assert pricing["engine"] == "sidecar", pricing
    assert pricing["url"].startswith("http://127.0.0.1:"), pricing


def test_a_new_operator_pod_adopts_the_running_miner_without_touching_it(
    release: dict[str, Any], node_kubectl: Cli
) -> None:
    _wait_miner_running(node_kubectl)
    (old,) = _operator_pods(node_kubectl)
    before = _workload(node_kubectl)

    node_kubectl("-n", RELEASE_NS, "delete", "pod", old["metadata"]["name"], "--wait=true")
    new = wait_for(
        lambda: [
            p
            for p in _operator_pods(node_kubectl)
            if p["metadata"]["uid"] != old["metadata"]["uid"] and _ready(p)
        ],
        timeout=180,
        what="a new operator pod Ready",
    )[0]
    logs = node_kubectl("-n", RELEASE_NS, "logs", new["metadata"]["name"]).stdout
    # It listed what is there before reconciling (other modules' miners may be there too).
    assert re.search(r"seeded: [1-9]\d* miners", logs), logs[-3000:]

    # Adopted, not re-made: the same pod, never restarted, the same StatefulSet spec.
    _wait_miner_running(node_kubectl)
    after = _workload(node_kubectl)
    assert after == before, (before, after)

    # And still owned: a Service deleted by hand is made again by the new operator.
    service = f"{MINER}-axon"  # sparket_operator.reconcile.naming
    node_kubectl("-n", NS, "delete", "service", service, "--wait=true")
    wait_for(
        lambda: try_get_json(node_kubectl, "service", service, "-n", NS),
        timeout=120,
        what=f"the new operator to make Service {service} again",
    )


def _workload(kubectl: Cli) -> dict[str, Any]:
    pod = get_json(kubectl, "pod", f"{MINER}-0", "-n", NS)
    statefulset = get_json(kubectl, "statefulset", MINER, "-n", NS)
    statuses = pod["status"].get("containerStatuses") or []
    return {
        "pod": pod["metadata"]["uid"],
        "restarts": sum(s.get("restartCount", 0) for s in statuses),
        "statefulset_generation": statefulset["metadata"]["generation"],
    }
