"""Helpers the chart tests share: the chart, its value combinations, rendering, the //Alice
wallet Secret, and the real operator run locally with a chart ServiceAccount's token."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from sparket_local_cluster.control_plane import LocalCluster
from sparket_local_cluster.kubeconfig import token_kubeconfig as write_token_kubeconfig
from sparket_local_cluster.miner_kube_objects import dev_wallet_secret
from sparket_local_services.paths import repo_root
from sparket_testkit.kube_cli import Cli, get_json

ROOT = repo_root()
CHART = ROOT / "charts" / "sparket-operator"
CRD_FILE = ROOT / "crds" / "sparketminers.sparket.io.yaml"
SAMPLE = ROOT / "manifests" / "sparketminer.yaml"
INSTANCE_LABEL = "app.kubernetes.io/instance"

# The sample's hotkey: //Alice, the well-known development key, so a test can hold its keyfile.
ALICE_URI = "//Alice"

MONITORING = (
    "metrics.serviceMonitor.enabled=true",
    "metrics.podMonitor.enabled=true",
    "metrics.prometheusRule.enabled=true",
    "grafana.dashboard.enabled=true",
)
SCOPES = {
    "cluster": ("rbac.scope=cluster",),
    "namespaced": ("rbac.scope=namespaced", "watchNamespaces={fleet-a,fleet-b}"),
}
MODES = {
    "bundled": ("redis.mode=bundled",),
    # A production Redis: an ACL user, the password and CA from a Secret, TLS.
    "external": (
        "redis.mode=external",
        "redis.external.url=rediss://budgets.example:6380/1",
        "redis.external.username=sparket",
        "redis.external.existingSecret=budget-redis",
        "redis.external.tls.caKey=ca.crt",
    ),
    "sentinel": (
        "redis.mode=sentinel",
        "redis.sentinel.hosts={sentinel-0.budgets:26379,sentinel-1.budgets:26379}",
        "redis.sentinel.existingSecret=budget-redis",
        "redis.sentinel.sentinelPasswordKey=sentinel-password",
        "redis.sentinel.tls.enabled=true",
        "redis.sentinel.tls.caKey=ca.crt",
    ),
}
# Every value combination the lint and server dry-run tests cover, by a readable id.
COMBOS: dict[str, tuple[str, ...]] = {
    "defaults": (),
    **{
        f"{scope}-{mode}-monitoring": (*SCOPES[scope], *MODES[mode], *MONITORING)
        for scope in SCOPES
        for mode in MODES
    },
    "all-optional-off": (
        "operator.replicas=0",
        "crds.enabled=false",
        "rbac.create=false",
        "serviceAccount.create=false",
        "serviceAccount.name=existing-operator",
        "redis.bundled.persistence.enabled=false",
        "redis.bundled.networkPolicy.enabled=false",
    ),
}


def tool(bin_dir: Path, name: str) -> Path:
    found = shutil.which(name, path=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        raise AssertionError(f"missing: {name}; run `make setup`")
    return Path(found)


def set_args(values: tuple[str, ...] | list[str]) -> list[str]:
    return [arg for value in values for arg in ("--set", value)]


def template(
    helm: Cli, *values: str, release: str = "sparket-operator", ns: str = "sparket"
) -> str:
    return helm("template", release, str(CHART), "--namespace", ns, *set_args(values)).stdout


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def key_of(obj: dict[str, Any]) -> tuple[str, str, str]:
    """(kind, namespace, name): what identifies an object in a render or in the cluster."""
    meta = obj["metadata"]
    return (obj["kind"], meta.get("namespace", ""), meta["name"])


def install(helm: Cli, release: str, ns: str, *values: str, create_ns: bool = True) -> None:
    extra = ["--create-namespace"] if create_ns else []
    helm("install", release, str(CHART), "--namespace", ns, *extra, *set_args(values))


def alice_wallet_secret(root: Path, namespace: str, name: str) -> dict[str, Any]:
    """The wallet Secret the sample names: //Alice's hotkey keyfile, nothing else."""
    return dev_wallet_secret(root, namespace, name, ALICE_URI)


def sample_miner(namespace: str | None = None) -> dict[str, Any]:
    """manifests/sparketminer.yaml, optionally moved to another namespace."""
    miner: dict[str, Any] = yaml.safe_load(SAMPLE.read_text())
    if namespace is not None:
        miner["metadata"]["namespace"] = namespace
    return miner


def token_kubeconfig(
    kubectl: Cli, cluster: LocalCluster, path: Path, *, namespace: str, account: str
) -> Path:
    """A kubeconfig for the ServiceAccount `namespace/account` (written by
    sparket_local_cluster.kubeconfig)."""
    token = kubectl("create", "token", account, "-n", namespace, "--duration=1h").stdout.strip()
    return write_token_kubeconfig(
        path, server=cluster.server, ca_cert=cluster.pki.ca_cert, token=token, account=account
    )


def chart_settings(kubectl: Cli, namespace: str, release_fullname: str) -> dict[str, str]:
    """The SPARKET_OPERATOR_* settings the chart installed (its ConfigMap's data)."""
    config_map = get_json(kubectl, "configmap", f"{release_fullname}-config", "-n", namespace)
    data: dict[str, str] = config_map["data"]
    return data
