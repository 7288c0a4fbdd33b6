"""Controllers run for real: Deployments make pods that KWOK runs; GC follows owners."""

from __future__ import annotations

import ipaddress
import json

import pytest

from sparket_local_cluster.control_plane import DEFAULT_NODES, POD_CIDR
from sparket_local_services.waits import wait_for
from sparket_testkit.kube_cli import Cli

pytestmark = pytest.mark.cluster

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleeper, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: sleeper}}
  template:
    metadata: {labels: {app: sleeper}}
    spec:
      containers:
        - {name: main, image: registry.invalid/sleeper:1, command: [sleep, infinity]}
"""


def test_deployment_pods_reach_running_on_kwok_nodes(kubectl: Cli) -> None:
    kubectl("apply", "-f", "-", stdin=DEPLOYMENT)

    def running_pods() -> list[dict[str, object]]:
        pods = json.loads(kubectl("get", "pods", "-l", "app=sleeper", "-o", "json").stdout)
        items = pods["items"]
        running = [p for p in items if p["status"].get("phase") == "Running"]
        return running if len(running) == 2 else []

    pods = wait_for(running_pods, timeout=90, what="2 sleeper pods Running")
    fake_nodes = {node.name for node in DEFAULT_NODES}
    for pod in pods:
        assert pod["spec"]["nodeName"] in fake_nodes
        # A pod IP from KWOK's range: a label to read, never an address to dial.
        assert ipaddress.ip_address(pod["status"]["podIP"]) in ipaddress.ip_network(POD_CIDR)
    kubectl("rollout", "status", "deployment/sleeper", "--timeout=60s")
    kubectl("delete", "deployment", "sleeper", "--wait=true")


def test_deleting_an_owner_garbage_collects_what_it_owns(kubectl: Cli) -> None:
    kubectl("create", "configmap", "gc-owner", "--from-literal=role=owner")
    owner_uid = kubectl("get", "configmap", "gc-owner", "-o", "jsonpath={.metadata.uid}").stdout
    child = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "gc-child",
            "namespace": "default",
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "gc-owner", "uid": owner_uid}
            ],
        },
        "data": {"role": "child"},
    }
    kubectl("apply", "-f", "-", stdin=json.dumps(child))
    assert kubectl("get", "configmap", "gc-child", check=False).returncode == 0

    kubectl("delete", "configmap", "gc-owner")

    def child_gone() -> bool:
        return kubectl("get", "configmap", "gc-child", check=False).returncode != 0

    assert wait_for(child_gone, timeout=60, what="gc-child collected by the garbage collector")
