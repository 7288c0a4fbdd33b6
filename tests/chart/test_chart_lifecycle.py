"""`helm upgrade` and `helm uninstall` on a real control plane: a settings change rolls the
operator, nothing is orphaned, and uninstall keeps the CRD (and users' SparketMiners) unless
crds.keep=false."""

from __future__ import annotations

from typing import Any

import pytest

from sparket_local_services.waits import wait_for
from sparket_testkit.harness.chart import (
    CHART,
    INSTANCE_LABEL,
    SAMPLE,
    documents,
    install,
    key_of,
    set_args,
)
from sparket_testkit.kube_cli import Cli, exists, get_json

pytestmark = pytest.mark.cluster

RELEASE, NS = "sparket-operator", "sparket"
CRD = "customresourcedefinition/sparketminers.sparket.io"
UPGRADE = (
    "operator.config.logLevel=DEBUG",
    # Drops the bundled Redis: its StatefulSet, Service, ConfigMap, NetworkPolicy and claim
    # must all go.
    "redis.mode=external",
    "redis.external.url=redis://budgets.example:6379/0",
)


def labelled_objects(kubectl: Cli) -> list[dict[str, Any]]:
    """Every object of any listable kind, in any namespace, carrying the release's
    instance label."""
    kinds = kubectl("api-resources", "--verbs=list,delete", "-o", "name").stdout.split()
    # v1 Endpoints mirror a Service of the same name (no owner reference; the endpoints
    # controller removes them with it): judged through their Service below.
    kinds = [k for k in kinds if k not in ("endpoints", "events", "events.events.k8s.io")]
    found = get_json(kubectl, ",".join(kinds), "-A", "-l", f"{INSTANCE_LABEL}={RELEASE}")
    items: list[dict[str, Any]] = found["items"]
    return items


def differences(kubectl: Cli, rendered: set[tuple[str, str, str]]) -> list[str]:
    """What differs between the cluster and `rendered`: a rendered object missing, or a
    labelled object that is neither rendered nor owned by a live object (controllers'
    ReplicaSets, Pods, claims and EndpointSlices are owned by rendered objects)."""
    items = labelled_objects(kubectl)
    live_uids = {i["metadata"]["uid"] for i in items}
    found = [f"missing {key}" for key in sorted(rendered - {key_of(i) for i in items})]
    for item in items:
        owners = item["metadata"].get("ownerReferences") or []
        if owners:
            if not all(o["uid"] in live_uids for o in owners):
                found.append(f"orphan {key_of(item)} (its owner is gone)")
        elif key_of(item) not in rendered:
            found.append(f"orphan {key_of(item)}")
    return found


def render(helm: Cli, *values: str) -> set[tuple[str, str, str]]:
    text = helm("template", RELEASE, str(CHART), "--namespace", NS, *set_args(values)).stdout
    return {key_of(obj) for obj in documents(text)}


def pod_template_checksum(kubectl: Cli) -> str:
    deployment = get_json(kubectl, "deployment", RELEASE, "-n", NS)
    checksum: str = deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    return checksum


def active_replica_set(kubectl: Cli) -> str | None:
    """The one ReplicaSet of the operator's Deployment with a Running pod, once settled."""
    selector = f"{INSTANCE_LABEL}={RELEASE},app.kubernetes.io/component=operator"
    sets = get_json(kubectl, "replicasets", "-n", NS, "-l", selector)["items"]
    active = [s for s in sets if s["spec"].get("replicas")]
    pods = get_json(kubectl, "pods", "-n", NS, "-l", selector)["items"]
    running = [p for p in pods if p.get("status", {}).get("phase") == "Running"]
    if len(active) == 1 and len(running) == 1:
        name: str = active[0]["metadata"]["name"]
        return name
    return None


def test_upgrade_rolls_the_operator_and_orphans_nothing_and_uninstall_keeps_the_crd(
    chart_helm: Cli, chart_kubectl: Cli
) -> None:
    """install → upgrade with changed settings and no bundled Redis → uninstall."""
    install(chart_helm, RELEASE, NS)
    first = wait_for(lambda: active_replica_set(chart_kubectl), timeout=60, what="the operator pod")
    checksum = pod_template_checksum(chart_kubectl)
    first_render = render(chart_helm)
    wait_for(
        lambda: differences(chart_kubectl, first_render) == [],
        timeout=60,
        what="the cluster matches the render",
        evidence=lambda: differences(chart_kubectl, first_render),
    )
    chart_kubectl("apply", "-f", str(SAMPLE))  # a user's SparketMiner, to survive uninstall

    chart_helm("upgrade", RELEASE, str(CHART), "--namespace", NS, *set_args(UPGRADE))
    assert pod_template_checksum(chart_kubectl) != checksum
    second = wait_for(
        lambda: (rs := active_replica_set(chart_kubectl)) != first and rs,
        timeout=60,
        what="the operator rolled to a new ReplicaSet",
    )
    assert second != first
    config = get_json(chart_kubectl, "configmap", f"{RELEASE}-config", "-n", NS)["data"]
    assert config["SPARKET_OPERATOR_LOG_LEVEL"] == "DEBUG"
    assert "budgets.example" in config["SPARKET_OPERATOR_RUNTIME_DEFAULTS"]

    new_render = render(chart_helm, *UPGRADE)
    assert not any(name.endswith("-redis") for _, _, name in new_render)
    wait_for(
        lambda: differences(chart_kubectl, new_render) == [],
        timeout=60,
        what="the cluster matches the new render, no orphans",
        evidence=lambda: differences(chart_kubectl, new_render),
    )
    assert not exists(chart_kubectl, "pvc", "data-sparket-operator-redis-0", "-n", NS)
    assert not exists(chart_kubectl, "endpoints", "sparket-operator-redis", "-n", NS)

    chart_helm("uninstall", RELEASE, "--namespace", NS, "--wait")

    def left() -> list[str]:
        return sorted(str(key_of(item)) for item in labelled_objects(chart_kubectl))

    kept = ("CustomResourceDefinition", "", "sparketminers.sparket.io")
    wait_for(lambda: left() == [str(kept)], timeout=60, what="only the CRD left", evidence=left)
    assert exists(chart_kubectl, "sparketminer", "miner-1", "-n", NS)
    assert not exists(chart_kubectl, "endpoints", f"{RELEASE}-metrics", "-n", NS)


def test_uninstall_with_crds_keep_false_deletes_the_crd(
    chart_helm: Cli, chart_kubectl: Cli
) -> None:
    """crds.keep=false: uninstall deletes the CRD (and so every SparketMiner). Reinstalling
    under the same release name adopts a CRD an earlier uninstall kept."""
    install(chart_helm, RELEASE, NS, "crds.keep=false")
    crd = get_json(chart_kubectl, CRD)
    assert "helm.sh/resource-policy" not in (crd["metadata"].get("annotations") or {})
    chart_helm("uninstall", RELEASE, "--namespace", NS, "--wait")
    wait_for(lambda: not exists(chart_kubectl, CRD), timeout=60, what="the CRD deleted")
