"""Runs the real operator (`python -m sparket_operator`, see sparket_local_cluster.operator_process)
against the test cluster, and the helpers the flow tests share: wallets as Secrets,
pre-bound volumes, miner manifests.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sparket_local_cluster.miner_kube_objects import prebound_volume
from sparket_local_cluster.node.node import REAL_NODE_LABEL
from sparket_local_cluster.operator_process import NO_STATUS_POLL, LocalOperator
from sparket_local_services.waits import wait_for
from sparket_testkit.kube_cli import Cli, get_json, try_get_json

STORAGE_CLASS = "sparket-test-local"


def operator_for(
    kubeconfig: Path, workdir: Path, namespaces: list[str], extra_env: dict[str, str]
) -> LocalOperator:
    """The real operator watching `namespaces`, with the test's settings on top."""
    return LocalOperator(
        kubeconfig=kubeconfig,
        workdir=workdir,
        settings={
            "SPARKET_OPERATOR_NAMESPACES": json.dumps(namespaces),
            "SPARKET_OPERATOR_RUNTIME_IMAGE": "registry.invalid/sparket-miner-runtime:test",
            **NO_STATUS_POLL,
            **extra_env,
        },
    )


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


def real_node_miner(
    name: str,
    *,
    namespace: str,
    hotkey: str,
    storage_class: str,
    external_ip: str,
    leagues: tuple[str, ...] = ("nfl",),
    **spec: Any,
) -> dict[str, Any]:
    """`miner` for the real node: placed by its label, reached at the node's address through
    a NodePort (the node has no ExternalIP), its data on `storage_class`, on the runtime's
    mock chain; `spec` adds or replaces fields (e.g. `model`)."""
    return miner(
        namespace,
        name,
        hotkey,
        f"{name}-wallet",
        leagues=list(leagues),
        network={"subtensor": "mock", "netuid": 57},
        placement={"nodeSelector": {REAL_NODE_LABEL: "true"}},
        axon={"exposure": "NodePort", "externalIP": external_ip},
        storage={"size": "1Gi", "storageClassName": storage_class},
        **spec,
    )


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
    operator: LocalOperator | None = None,
    diagnose: Callable[[], str] | None = None,
) -> dict[str, Any]:
    """The miner's status once `predicate` holds; on timeout, an AssertionError with the
    last status, the operator's log and what `diagnose` adds (events, a pod's operator)."""

    def check() -> dict[str, Any] | None:
        status = miner_status(kubectl, namespace, name)
        return status if predicate(status) else None

    try:
        result: dict[str, Any] = wait_for(check, timeout=timeout, what=what)
    except Exception as exc:  # add the evidence a human needs, then fail
        last = miner_status(kubectl, namespace, name)
        log = operator.log() if operator else ""
        extra = diagnose() if diagnose else ""
        raise AssertionError(f"{what}: last status {json.dumps(last)}\n{log}\n{extra}") from exc
    return result


def running(status: dict[str, Any]) -> bool:
    return status.get("phase") == "Running" and condition(status, "Ready").get("status") == "True"


def owned_objects(kubectl: Cli, namespace: str) -> dict[str, list[str]]:
    """Names of everything the operator made for its miners in `namespace`, by kind (the
    namespace's fleet summary is not one miner's)."""
    selector = (
        "app.kubernetes.io/managed-by=sparket-operator,app.kubernetes.io/component!=fleet-summary"
    )
    found: dict[str, list[str]] = {}
    for kind in ("statefulsets", "services", "configmaps"):
        items = get_json(kubectl, kind, "-n", namespace, "-l", selector)["items"]
        found[kind] = sorted(i["metadata"]["name"] for i in items)
    return found
