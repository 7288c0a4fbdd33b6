"""Real pods on a real kubelet: what KWOK's fake nodes could never prove.

The node runs containerd v2 with runc, the CNI bridge and kube-proxy (docs/development.md,
"The real node"). A namespace enforcing Pod Security `restricted` admits our pod shape;
the runtime image runs as a pod under it; a readiness probe gates its endpoints; a NodePort
reaches it on 127.0.0.1 through kube-proxy; a killed container is restarted by the kubelet.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from sparket_local_cluster import miner_kube_objects
from sparket_local_cluster.node.layout import PAUSE_IMAGE, POD_CIDR
from sparket_local_cluster.node.node import REAL_NODE_LABEL, RealNode
from sparket_local_services.waits import wait_for
from sparket_testkit.kube_cli import Cli

pytestmark = pytest.mark.timeout(900)

NAMESPACE = "restricted-pods"
MINER_IMAGE = "localhost/sparket-miner-runtime:test"  # built by the real_node fixture
# The container securityContext our chart's pods use (restricted, read-only root).
RESTRICTED: dict[str, Any] = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _apply(kubectl: Cli, *objects: dict[str, Any]) -> None:
    kubectl(
        "apply",
        "-f",
        "-",
        stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}),
    )


def _pod(name: str, image: str, **container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": name}},
        "spec": {
            "nodeSelector": {REAL_NODE_LABEL: "true"},
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "main",
                    "image": image,
                    "imagePullPolicy": "Never",
                    "securityContext": RESTRICTED,
                    **container,
                }
            ],
        },
    }


def _get(kubectl: Cli, kind: str, name: str) -> dict[str, Any]:
    return dict(json.loads(kubectl("-n", NAMESPACE, "get", kind, name, "-o", "json").stdout))


@pytest.fixture(scope="module")
def restricted_namespace(real_node: RealNode, node_kubectl: Cli) -> str:
    _apply(node_kubectl, miner_kube_objects.restricted_namespace(NAMESPACE))
    return NAMESPACE


def test_the_node_joins_with_its_runtime_and_images(real_node: RealNode, node_kubectl: Cli) -> None:
    node = json.loads(node_kubectl("get", "node", "sparket-node", "-o", "json").stdout)
    info = node["status"]["nodeInfo"]
    assert info["containerRuntimeVersion"] == "containerd://2.3.7"
    assert info["kubeletVersion"] == "v1.36.1"
    assert {PAUSE_IMAGE, MINER_IMAGE} <= set(real_node.image_names)


def test_restricted_namespace_refuses_a_privileged_pod(
    restricted_namespace: str, node_kubectl: Cli
) -> None:
    pod = _pod("privileged", PAUSE_IMAGE)
    pod["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    refused = node_kubectl("apply", "-f", "-", stdin=json.dumps(pod), check=False)
    assert refused.returncode != 0
    assert 'violates PodSecurity "restricted:latest"' in refused.stderr


def test_a_restricted_pod_runs_on_the_real_node_with_a_pod_network_address(
    restricted_namespace: str, node_kubectl: Cli
) -> None:
    _apply(node_kubectl, _pod("sandbox-only", PAUSE_IMAGE))
    pod = wait_for(
        lambda: (
            (p := _get(node_kubectl, "pod", "sandbox-only"))["status"].get("phase") == "Running"
            and p
        ),
        timeout=120,
        what="the pause pod Running",
    )
    assert pod["spec"]["nodeName"] == "sparket-node"
    prefix = POD_CIDR.rsplit(".", 1)[0] + "."
    assert pod["status"]["podIP"].startswith(prefix)


def test_the_runtime_image_serves_through_a_nodeport_once_ready(
    restricted_namespace: str, node_kubectl: Cli
) -> None:
    """Readiness gates the Service's endpoints; kube-proxy routes 127.0.0.1:nodePort."""
    server = _pod(
        "runtime-image",
        MINER_IMAGE,
        command=["python3", "-m", "http.server", "8080", "--directory", "/tmp"],
        ports=[{"containerPort": 8080}],
        readinessProbe={"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1},
        volumeMounts=[{"name": "tmp", "mountPath": "/tmp"}],
    )
    server["spec"]["volumes"] = [{"name": "tmp", "emptyDir": {}}]
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "runtime-image", "namespace": NAMESPACE},
        "spec": {
            "type": "NodePort",
            "selector": {"app": "runtime-image"},
            "ports": [{"port": 8080}],
        },
    }
    _apply(node_kubectl, server, service)
    wait_for(
        lambda: any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in _get(node_kubectl, "pod", "runtime-image")["status"].get("conditions", [])
        ),
        timeout=180,
        what="the runtime image pod Ready",
    )
    node_port = _get(node_kubectl, "service", "runtime-image")["spec"]["ports"][0]["nodePort"]

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{node_port}/", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    wait_for(answers, timeout=60, what=f"127.0.0.1:{node_port} through kube-proxy")
    user = node_kubectl("-n", NAMESPACE, "exec", "runtime-image", "--", "id", "-u").stdout.strip()
    assert user == "10001"
    write = node_kubectl(
        "-n", NAMESPACE, "exec", "runtime-image", "--", "touch", "/probe", check=False
    )
    assert write.returncode != 0 and "Read-only file system" in write.stderr + write.stdout


def test_the_kubelet_restarts_a_container_that_dies(
    restricted_namespace: str, node_kubectl: Cli
) -> None:
    _apply(
        node_kubectl,
        _pod(
            "dies",
            MINER_IMAGE,
            command=["python3", "-c", "import time; time.sleep(1); raise SystemExit(3)"],
        ),
    )
    status = wait_for(
        lambda: (
            (
                s := _get(node_kubectl, "pod", "dies")["status"].get("containerStatuses", [{}])[0]
            ).get("restartCount", 0)
            >= 1
            and s
        ),
        timeout=120,
        what="a restart of the dying container",
    )
    assert status["lastState"]["terminated"]["exitCode"] == 3
