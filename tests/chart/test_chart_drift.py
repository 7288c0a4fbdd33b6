"""Generated and copied files match their sources, and monitoring only names metrics and
label values the code really exports: drift fails here, not on a user's cluster."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from miner_runtime.observability.metrics import RuntimeMetrics
from sparket_operator.controller.metrics import OperatorMetrics
from sparket_testkit.harness.chart import CHART, CRD_FILE, MONITORING, ROOT, documents, template
from sparket_testkit.kube_cli import Cli

pytestmark = pytest.mark.cluster

CHART_CRD = CHART / "files" / "crds" / "sparketminers.sparket.io.yaml"
DASHBOARD = CHART / "files" / "dashboards" / "sparket-fleet.json"
METRIC = re.compile(r"\bsparket_(?:miner|operator)_[a-z0-9_]+\b")
# A label matcher in PromQL: name="value" or name=~"a|b".
MATCHER = re.compile(r'\b([a-z_]+)(=~|=)"([^"]*)"')
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
}


def test_chart_crd_is_a_copy_of_crds() -> None:
    """Helm reads only files inside the chart, so it carries a copy of crds/: `make crds`
    must refresh both."""
    assert CHART_CRD.read_bytes() == CRD_FILE.read_bytes(), (
        f"{CHART_CRD.relative_to(ROOT)} differs from {CRD_FILE.relative_to(ROOT)}; run `make crds`"
    )


def test_rendered_crd_is_the_generated_crd(offline_helm: Cli) -> None:
    """The template only adds labels and the keep annotation; the API is untouched."""
    rendered = next(
        d for d in documents(template(offline_helm)) if d["kind"] == "CustomResourceDefinition"
    )
    source = yaml.safe_load(CRD_FILE.read_text())
    assert rendered["spec"] == source["spec"]
    assert rendered["metadata"]["name"] == source["metadata"]["name"]
    assert rendered["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}


def test_install_bundle_is_a_fresh_render() -> None:
    """manifests/install.yaml is exactly what tools/render-bundle.sh prints now."""
    fresh = subprocess.run(
        ["bash", str(ROOT / "tools" / "render-bundle.sh"), "--stdout"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    committed = (ROOT / "manifests" / "install.yaml").read_text()
    assert committed == fresh, "manifests/install.yaml is stale; run `make bundle`"


def exported_series() -> set[str]:
    """Every series name the runtime's and the operator's metrics expose."""
    names: set[str] = set()
    for metrics in (RuntimeMetrics(CollectorRegistry()), OperatorMetrics(CollectorRegistry())):
        for family in metrics.registry.collect():
            names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


def monitoring_queries(helm: Cli) -> dict[str, str]:
    """Every PromQL expression of the PrometheusRule and the dashboard, by where it is."""
    rendered = template(helm, *MONITORING)
    rule = next(d for d in documents(rendered) if d["kind"] == "PrometheusRule")
    queries = {f"alert {r['alert']}": r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]}
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            queries[f"panel {panel['title']!r} {target['refId']}"] = target["expr"]
    return queries


def source_text() -> str:
    sources = [*(ROOT / "miner_runtime" / "src").rglob("*.py")]
    sources += (ROOT / "operator" / "src").rglob("*.py")
    return "\n".join(Path(p).read_text() for p in sources)


def test_monitoring_uses_only_exported_metrics_and_label_values(offline_helm: Cli) -> None:
    """Each metric name in the alerts and dashboard panels is one the code exposes, and
    each label value they match on is a string literal in the code (a reply kind, a
    budget rule, a reconcile result, a phase)."""
    exported = exported_series()
    code = source_text()
    queries = monitoring_queries(offline_helm)
    assert len(queries) >= 20
    unknown = {
        (where, name)
        for where, expr in queries.items()
        for name in METRIC.findall(expr)
        if name not in exported
    }
    assert not unknown, sorted(unknown)
    values = {
        (where, label, value)
        for where, expr in queries.items()
        for label, _, alternatives in MATCHER.findall(expr)
        for value in alternatives.split("|")
    }
    assert {value for _, _, value in values} >= {"cooldown", "forbidden", "no_token", "error"}
    missing = {v for v in values if f'"{v[2]}"' not in code}
    assert not missing, sorted(missing)
