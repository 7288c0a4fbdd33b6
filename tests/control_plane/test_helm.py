"""Helm, built from the Go module proxy, installs a local chart into the local cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sparket_testkit.kube_cli import Cli

pytestmark = pytest.mark.cluster

CHART = Path(__file__).parent / "charts" / "throwaway"


def test_helm_install_and_uninstall_a_throwaway_chart(helm: Cli, kubectl: Cli) -> None:
    helm(
        "install",
        "smoke",
        str(CHART),
        "--namespace",
        "helm-smoke",
        "--create-namespace",
        "--set",
        "greeting=hi from helm",
        "--wait",
        "--timeout",
        "60s",
    )
    data = json.loads(
        kubectl("get", "configmap", "smoke-greeting", "-n", "helm-smoke", "-o", "json").stdout
    )["data"]
    assert data["greeting"] == "hi from helm"
    # The chart's kubeVersion constraint passed, and the server's version reached the template.
    assert data["kubeVersion"] == "v1.36.1"
    releases = json.loads(helm("list", "-n", "helm-smoke", "-o", "json").stdout)
    assert [(r["name"], r["status"]) for r in releases] == [("smoke", "deployed")]

    helm("uninstall", "smoke", "--namespace", "helm-smoke", "--wait")
    gone = kubectl("get", "configmap", "smoke-greeting", "-n", "helm-smoke", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
