"""The user's path on a real control plane: `helm install`, a wallet Secret, the real
operator running with nothing but the chart's ServiceAccount, `kubectl apply -f
manifests/sparketminer.yaml`, `kubectl get sparketminers`. Plus restricted Pod Security."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sparket_local_cluster.control_plane import LocalCluster
from sparket_local_cluster.miner_kube_objects import local_storage_class, prebound_volume
from sparket_local_cluster.operator_process import NO_STATUS_POLL, LocalOperator
from sparket_local_services.waits import wait_for
from sparket_testkit.harness.chart import (
    CRD_FILE,
    SAMPLE,
    alice_wallet_secret,
    chart_settings,
    install,
    sample_miner,
    token_kubeconfig,
)
from sparket_testkit.kube_cli import Cli, apply, exists, get_json

pytestmark = pytest.mark.cluster

# What an operator that lacks a permission says: kopf's fallbacks and the API's refusals.
PERMISSION_TROUBLE = ("Not enough permissions", "Forbidden", "forbidden", " 403")


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    fullname: str

    @property
    def account(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.fullname}"


@pytest.fixture(scope="module")
def default_release(chart_helm: Cli) -> Release:
    """The documented install: `helm install sparket-operator charts/sparket-operator -n
    sparket --create-namespace`, default values (cluster scope, bundled Redis, the CRD)."""
    install(chart_helm, "sparket-operator", "sparket")
    return Release("sparket-operator", "sparket", "sparket-operator")


@pytest.fixture
def run_operator(chart_cluster: LocalCluster, chart_kubectl: Cli, tmp_path: Path) -> Iterator[Any]:
    """Starts the real operator as the release's ServiceAccount; stopped at teardown."""
    started: list[LocalOperator] = []

    def start(release: Release) -> LocalOperator:
        kubeconfig = token_kubeconfig(
            chart_kubectl,
            chart_cluster,
            tmp_path / "sa-kubeconfig",
            namespace=release.namespace,
            account=release.fullname,
        )
        operator = LocalOperator(
            kubeconfig=kubeconfig,
            settings={
                **chart_settings(chart_kubectl, release.namespace, release.fullname),
                **NO_STATUS_POLL,
            },
            workdir=tmp_path,
        )
        started.append(operator)
        operator.start()
        return operator

    yield start
    for operator in started:
        operator.stop()


def printer_columns() -> list[str]:
    """The header `kubectl get sparketminers` prints, from the CRD's printer columns."""
    crd = yaml.safe_load(CRD_FILE.read_text())
    columns = crd["spec"]["versions"][0]["additionalPrinterColumns"]
    return ["NAME", *(c["name"].upper() for c in columns if not c.get("priority"))]


def phases() -> list[str]:
    crd = yaml.safe_load(CRD_FILE.read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    enum: list[str] = schema["properties"]["status"]["properties"]["phase"]["enum"]
    return enum


def reconcile_sample(
    kubectl: Cli, operator: LocalOperator, namespace: str, tmp_path: Path
) -> dict[str, Any]:
    """The wallet Secret and the sample SparketMiner into `namespace`; returns the miner's
    runtime config once the operator made its StatefulSet, Service and ConfigMap and
    judged the wallet valid."""
    apply(kubectl, alice_wallet_secret(tmp_path / "wallets", namespace, "miner-1-wallet"))
    if namespace == "sparket":
        kubectl("apply", "-f", str(SAMPLE))  # verbatim, as the docs say
    else:
        apply(kubectl, sample_miner(namespace))

    def made() -> bool:
        return all(
            exists(kubectl, kind, name, "-n", namespace)
            for kind, name in (
                ("statefulset", "miner-1"),
                ("service", "miner-1-axon"),
                ("configmap", "miner-1-runtime"),
            )
        )

    wait_for(
        made, timeout=60, what="the operator made miner-1's objects", evidence=operator.log_tail
    )

    def wallet_valid() -> bool:
        status = get_json(kubectl, "sparketminer", "miner-1", "-n", namespace).get("status", {})
        return any(
            c["type"] == "WalletValid" and c["status"] == "True"
            for c in status.get("conditions", [])
        )

    wait_for(wallet_valid, timeout=60, what="status WalletValid=True", evidence=operator.log_tail)
    config_map = get_json(kubectl, "configmap", "miner-1-runtime", "-n", namespace)
    runtime: dict[str, Any] = yaml.safe_load(config_map["data"]["runtime.yaml"])
    return runtime


def assert_no_permission_trouble(operator: LocalOperator, kubectl: Cli, namespace: str) -> None:
    """Nothing the operator logged or wrote into the miner's status says it was refused."""
    status = get_json(kubectl, "sparketminer", "miner-1", "-n", namespace)["status"]
    said = [c.get("message", "") for c in status["conditions"]] + operator.log().splitlines()
    trouble = [line for line in said if any(t in line for t in PERMISSION_TROUBLE)]
    assert not trouble, "\n".join(trouble)
    assert operator.metric("sparket_operator_reconciles_total", result="error") == 0
    assert operator.metric("sparket_operator_reconciles_total", result="ok") >= 1


def can_i(kubectl: Cli, release: Release, *args: str) -> bool:
    result = kubectl("auth", "can-i", *args, f"--as={release.account}", check=False)
    return result.stdout.strip() == "yes"


def test_user_path_cluster_scope(
    chart_kubectl: Cli, default_release: Release, run_operator: Any, tmp_path: Path
) -> None:
    """Default install: the operator, as the chart's ServiceAccount and nothing more,
    reconciles manifests/sparketminer.yaml; `kubectl get sparketminers` is the dashboard."""
    operator = run_operator(default_release)
    assert operator.env["SPARKET_OPERATOR_NAMESPACES"] == "[]"  # cluster-wide
    runtime = reconcile_sample(chart_kubectl, operator, "sparket", tmp_path)
    # The budget store every miner is told about is the chart's bundled Redis.
    assert runtime["budget"]["redis_url"] == "redis://sparket-operator-redis.sparket.svc:6379/0"
    assert_no_permission_trouble(operator, chart_kubectl, "sparket")

    def table() -> list[str] | None:
        out = chart_kubectl("get", "sparketminers", "-n", "sparket").stdout.splitlines()
        rows = [line.split() for line in out[1:]]
        phased = any(row[0] == "miner-1" and row[2] in phases() for row in rows)
        return out if phased else None

    out = wait_for(table, timeout=60, what="a miner-1 row with a phase", evidence=operator.log_tail)
    assert out[0].split() == printer_columns()
    assert [row.split()[0] for row in out[1:]] == ["miner-1"]

    # A second miner with the same hotkey is refused with an Event: the Events permission.
    duplicate = sample_miner("sparket")
    duplicate["metadata"]["name"] = "miner-2"
    apply(chart_kubectl, duplicate)

    def refusal_event() -> list[str]:
        events = get_json(
            chart_kubectl, "events", "-n", "sparket", "--field-selector=involvedObject.name=miner-2"
        )["items"]
        return [e["reason"] for e in events]

    reasons = wait_for(
        refusal_event, timeout=60, what="an Event on miner-2", evidence=operator.log_tail
    )
    assert "DuplicateHotkey" in reasons
    assert not exists(chart_kubectl, "statefulset", "miner-2", "-n", "sparket")

    # Least privilege: what the operator does not need, it cannot do.
    assert can_i(chart_kubectl, default_release, "get", "secrets", "-n", "sparket")
    assert not can_i(chart_kubectl, default_release, "create", "secrets", "-n", "sparket")
    assert not can_i(chart_kubectl, default_release, "delete", "pods", "-n", "sparket")
    assert not can_i(chart_kubectl, default_release, "create", "pods", "-n", "sparket")
    assert not can_i(chart_kubectl, default_release, "list", "clusterroles")
    assert not can_i(chart_kubectl, default_release, "delete", "customresourcedefinitions")


def test_user_path_namespaced_scope(
    chart_kubectl: Cli,
    chart_helm: Cli,
    default_release: Release,
    run_operator: Any,
    tmp_path: Path,
) -> None:
    """rbac.scope=namespaced: a Role in the watched namespace (not the release's) is all
    the operator needs there, plus its small ClusterRole; an external Redis with an ACL
    user, TLS and its credentials in a Secret reaches the miners (the Secret by name and
    mount only: the operator never reads it). The CRD comes from the default release
    (crds.enabled=false here)."""
    chart_kubectl("create", "namespace", "tenant-miners")
    install(
        chart_helm,
        "tenant",
        "tenant-system",
        "rbac.scope=namespaced",
        "watchNamespaces={tenant-miners}",
        "crds.enabled=false",
        "redis.mode=external",
        "redis.external.url=rediss://budgets.example:6380/2",
        "redis.external.username=sparket",
        "redis.external.existingSecret=budget-redis",
        "redis.external.tls.caKey=ca.crt",
    )
    release = Release("tenant", "tenant-system", "tenant-sparket-operator")
    operator = run_operator(release)
    assert operator.env["SPARKET_OPERATOR_NAMESPACES"] == '["tenant-miners"]'
    assert operator.env["SPARKET_OPERATOR_BUDGET_REDIS_SECRET"] == "budget-redis"
    runtime = reconcile_sample(chart_kubectl, operator, "tenant-miners", tmp_path)
    assert runtime["budget"] == {
        "redis_url": "rediss://budgets.example:6380/2",
        "redis_username": "sparket",
        "redis_password_file": "/var/run/sparket/budget-redis/password",
        "redis_tls_ca_file": "/var/run/sparket/budget-redis/ca.crt",
    }
    pod = get_json(chart_kubectl, "statefulset", "miner-1", "-n", "tenant-miners")["spec"][
        "template"
    ]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "budget-redis"]
    assert volume["secret"]["secretName"] == "budget-redis"
    assert volume["secret"]["items"] == [
        {"key": "password", "path": "password"},
        {"key": "ca.crt", "path": "ca.crt"},
    ]
    assert_no_permission_trouble(operator, chart_kubectl, "tenant-miners")

    assert can_i(chart_kubectl, release, "patch", "statefulsets", "-n", "tenant-miners")
    assert can_i(chart_kubectl, release, "list", "nodes")
    assert not can_i(chart_kubectl, release, "get", "secrets", "-n", "sparket")
    assert not can_i(chart_kubectl, release, "list", "sparketminers", "--all-namespaces")
    assert not can_i(chart_kubectl, release, "get", "secrets", "-n", "tenant-system")


def test_restricted_pod_security_admits_operator_and_redis(
    chart_kubectl: Cli, chart_helm: Cli
) -> None:
    """In a namespace enforcing the `restricted` Pod Security Standard, the operator's and
    the bundled Redis's pods are admitted and run (KWOK runs them); a pod that is not
    restricted is refused there, so the namespace really enforces."""
    ns = "restricted"
    chart_kubectl("create", "namespace", ns)
    chart_kubectl("label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted")
    refused = chart_kubectl(
        "run", "probe", "-n", ns, "--image=busybox", "--dry-run=server", check=False
    )
    assert refused.returncode != 0 and "violates PodSecurity" in refused.stderr

    # A volume for Redis's claim (the test cluster has no provisioner).
    apply(
        chart_kubectl,
        local_storage_class("chart-test-local"),
        prebound_volume(
            "pv-psa-redis",
            namespace=ns,
            miner="psa-sparket-operator-redis",
            storage_class="chart-test-local",
            host_path="/var/lib/chart-test/redis",
        ),
    )
    install(
        chart_helm,
        "psa",
        ns,
        "crds.enabled=false",
        "redis.bundled.persistence.storageClass=chart-test-local",
        create_ns=False,
    )

    def running(component: str) -> bool:
        pods = get_json(
            chart_kubectl,
            "pods",
            "-n",
            ns,
            "-l",
            f"app.kubernetes.io/instance=psa,app.kubernetes.io/component={component}",
        )["items"]
        return len(pods) == 1 and pods[0].get("status", {}).get("phase") == "Running"

    wait_for(lambda: running("operator") and running("redis"), timeout=60, what="both pods Running")
    events = get_json(chart_kubectl, "events", "-n", ns)["items"]
    failed = [e for e in events if e.get("reason") == "FailedCreate"]
    assert not failed, [e.get("message") for e in failed]
