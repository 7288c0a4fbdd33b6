"""The kube layer against the real API server: apply, error mapping, optimistic status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sparket_local_cluster.control_plane import LocalCluster
from sparket_local_cluster.miner_kube_objects import new_wallet
from sparket_operator.kube import errors
from sparket_operator.kube.api import resource_path
from sparket_operator.kube.client import RestKubeApi as KubeApi
from sparket_operator.kube.client import load_api_client
from sparket_testkit.harness.operator_flows import miner
from sparket_testkit.kube_cli import Cli, apply, get_json

pytestmark = pytest.mark.cluster


@pytest.fixture
async def api(k8s_cluster: LocalCluster) -> AsyncIterator[KubeApi]:
    writes: list[tuple[str, str]] = []
    client = KubeApi(
        load_api_client(str(k8s_cluster.kubeconfig)),
        field_manager="kube-test",
        on_write=lambda v, k: writes.append((v, k)),
    )
    client.writes = writes  # type: ignore[attr-defined]
    yield client
    client.close()


async def test_a_stale_status_write_is_a_conflict_and_a_fresh_one_lands(
    api: KubeApi, kubectl: Cli, ns: str, tmp_path: Path
) -> None:
    wallet = new_wallet(tmp_path, "k1")
    apply(kubectl, miner(ns, "conflicted", wallet.hotkey, "k1-wallet"))
    path = resource_path("sparket.io/v1alpha1", "SparketMiner", namespace=ns, name="conflicted")
    stale = await api.get(path)
    assert stale is not None
    kubectl("annotate", "sparketminer", "conflicted", "-n", ns, "someone=else")

    with pytest.raises(errors.Conflict):
        await api.patch_status(
            path,
            {"phase": "Pending"},
            resource_version=stale["metadata"]["resourceVersion"],
            kind="SparketMiner",
        )

    fresh = await api.get(path)
    assert fresh is not None
    await api.patch_status(
        path,
        {"phase": "Pending"},
        resource_version=fresh["metadata"]["resourceVersion"],
        kind="SparketMiner",
    )
    assert get_json(kubectl, "sparketminer", "conflicted", "-n", ns)["status"]["phase"] == "Pending"


async def test_errors_map_to_the_operators_tree(api: KubeApi, ns: str) -> None:
    missing = resource_path("v1", "ConfigMap", namespace=ns, name="nope")
    assert await api.get(missing) is None
    with pytest.raises(errors.Invalid) as invalid:
        await api.apply(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "bad", "namespace": ns},
                "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]},
            }
        )
    assert "nodePort" in str(invalid.value) and "while applying Service" in str(invalid.value)
    with pytest.raises(errors.NotFound):
        await api.patch_status(
            resource_path("sparket.io/v1alpha1", "SparketMiner", namespace=ns, name="gone"),
            {"phase": "Pending"},
            resource_version="1",
            kind="SparketMiner",
        )


async def test_server_side_apply_is_idempotent_and_counted(api: KubeApi, ns: str) -> None:
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "applied", "namespace": ns},
        "data": {"a": "1"},
    }
    first = await api.apply(config_map)
    second = await api.apply(config_map)
    assert first["metadata"]["resourceVersion"] == second["metadata"]["resourceVersion"]
    managers = [m["manager"] for m in second["metadata"]["managedFields"]]
    assert managers == ["kube-test"]
    assert api.writes == [("PATCH", "ConfigMap"), ("PATCH", "ConfigMap")]  # type: ignore[attr-defined]
