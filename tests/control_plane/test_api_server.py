"""The local control plane is the real thing: schema, CEL, status subresource, versions."""

from __future__ import annotations

import json

import pytest

from sparket_local_cluster.control_plane import DEFAULT_NODES, LocalCluster
from sparket_testkit.kube_cli import Cli

pytestmark = pytest.mark.cluster

WIDGET_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.test.sparket.dev
spec:
  group: test.sparket.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wdg]}
  versions:
    - name: v1
      served: true
      storage: true
      subresources: {status: {}}
      additionalPrinterColumns:
        - {name: Size, type: integer, jsonPath: .spec.size}
        - {name: Phase, type: string, jsonPath: .status.phase}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [size, mode]
              properties:
                size: {type: integer, minimum: 1, maximum: 10}
                mode: {type: string, enum: [small, large]}
                owner:
                  type: string
                  x-kubernetes-validations:
                    - {rule: "self == oldSelf", message: "spec.owner is immutable"}
              x-kubernetes-validations:
                - rule: "self.size <= 5 || self.mode == 'large'"
                  message: "spec.size above 5 needs spec.mode large"
            status:
              type: object
              properties:
                phase: {type: string}
"""


def widget(name: str, **spec: object) -> str:
    return json.dumps(
        {
            "apiVersion": "test.sparket.dev/v1",
            "kind": "Widget",
            "metadata": {"name": name, "namespace": "default"},
            "spec": spec,
        }
    )


@pytest.fixture(scope="module")
def widget_crd(kubectl: Cli) -> None:
    kubectl("apply", "-f", "-", stdin=WIDGET_CRD)
    kubectl("wait", "--for=condition=Established", "crd/widgets.test.sparket.dev", "--timeout=60s")


def test_apiserver_reports_its_real_version(kubectl: Cli) -> None:
    version = json.loads(kubectl("version", "-o", "json").stdout)["serverVersion"]
    assert version["gitVersion"] == "v1.36.1"
    assert (version["major"], version["minor"]) == ("1", "36")


def test_fake_nodes_have_distinct_external_ips(kubectl: Cli) -> None:
    nodes = json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"]
    external = {
        node["metadata"]["name"]: next(
            a["address"] for a in node["status"]["addresses"] if a["type"] == "ExternalIP"
        )
        for node in nodes
    }
    assert external == {n.name: n.external_ip for n in DEFAULT_NODES}
    assert len(set(external.values())) == len(DEFAULT_NODES)


@pytest.mark.usefixtures("widget_crd")
def test_valid_custom_resource_is_accepted_and_listed_with_printer_columns(kubectl: Cli) -> None:
    kubectl("apply", "-f", "-", stdin=widget("ok-widget", size=3, mode="small"))
    table = kubectl("get", "wdg", "ok-widget").stdout
    assert table.split()[:3] == ["NAME", "SIZE", "PHASE"]
    assert "ok-widget" in table and " 3 " in table


@pytest.mark.usefixtures("widget_crd")
def test_cel_rule_rejects_invalid_object_with_its_message(kubectl: Cli) -> None:
    result = kubectl(
        "apply", "-f", "-", stdin=widget("big-small", size=8, mode="small"), check=False
    )
    assert result.returncode != 0
    assert "spec.size above 5 needs spec.mode large" in result.stderr
    assert kubectl("get", "wdg", "big-small", check=False).returncode != 0


@pytest.mark.usefixtures("widget_crd")
def test_structural_schema_rejects_out_of_range_and_unknown_fields(kubectl: Cli) -> None:
    too_big = kubectl(
        "apply", "-f", "-", stdin=widget("too-big", size=11, mode="large"), check=False
    )
    assert too_big.returncode != 0
    assert "spec.size" in too_big.stderr and "10" in too_big.stderr

    unknown = kubectl(
        "apply",
        "--validate=strict",
        "-f",
        "-",
        stdin=widget("typo", size=2, mode="small", colour="red"),
        check=False,
    )
    assert unknown.returncode != 0
    assert 'unknown field "spec.colour"' in unknown.stderr


@pytest.mark.usefixtures("widget_crd")
def test_transition_rule_makes_a_field_immutable(kubectl: Cli) -> None:
    kubectl("apply", "-f", "-", stdin=widget("owned", size=2, mode="small", owner="alice"))
    changed = kubectl(
        "apply", "-f", "-", stdin=widget("owned", size=2, mode="small", owner="bob"), check=False
    )
    assert changed.returncode != 0
    assert "spec.owner is immutable" in changed.stderr


@pytest.mark.usefixtures("widget_crd")
def test_status_is_a_subresource(kubectl: Cli) -> None:
    kubectl("apply", "-f", "-", stdin=widget("with-status", size=1, mode="small"))
    # A write to the main resource cannot set status...
    kubectl("patch", "wdg", "with-status", "--type=merge", "-p", '{"status":{"phase":"Hacked"}}')
    get_phase = ("get", "wdg", "with-status", "-o", "jsonpath={.status.phase}")
    assert kubectl(*get_phase).stdout == ""
    # ...only a write to /status can, and it does not bump the generation.
    before = kubectl("get", "wdg", "with-status", "-o", "jsonpath={.metadata.generation}").stdout
    kubectl(
        "patch",
        "wdg",
        "with-status",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Ready"}}',
    )
    assert kubectl(*get_phase).stdout == "Ready"
    after = kubectl("get", "wdg", "with-status", "-o", "jsonpath={.metadata.generation}").stdout
    assert before == after == "1"


def test_cluster_object_exposes_kubeconfig_on_loopback(k8s_cluster: LocalCluster) -> None:
    assert k8s_cluster.server.startswith("https://127.0.0.1:")
    assert k8s_cluster.kubeconfig.stat().st_mode & 0o077 == 0
