"""Fixtures for the chart tests: a local control plane per test module.

The chart owns the SparketMiner CRD (rendered from its templates), while other test
modules apply the same CRD with kubectl into the session's shared cluster; helm refuses to
adopt an object another field manager created. So these tests never touch the shared
cluster: each module starts its own (about 4 s) and stops it at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sparket_local_cluster.control_plane import LocalCluster
from sparket_testkit.harness.chart import tool
from sparket_testkit.kube_cli import Cli


@pytest.fixture(scope="module")
def chart_cluster(
    tmp_path_factory: pytest.TempPathFactory, control_plane_bin_dir: Path
) -> Iterator[LocalCluster]:
    cluster = LocalCluster(
        workdir=tmp_path_factory.mktemp("chart-cluster"), bin_dir=control_plane_bin_dir
    )
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def chart_kubectl(chart_cluster: LocalCluster, control_plane_bin_dir: Path) -> Cli:
    return Cli(
        tool(control_plane_bin_dir, "kubectl"), (f"--kubeconfig={chart_cluster.kubeconfig}",)
    )


def _helm_env(home: Path) -> dict[str, str]:
    """Helm's cache, config and data in a throwaway dir: no user setting leaks in."""
    return {f"HELM_{kind}_HOME": str(home / kind.lower()) for kind in ("CACHE", "CONFIG", "DATA")}


@pytest.fixture(scope="module")
def chart_helm(
    chart_cluster: LocalCluster,
    control_plane_bin_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Cli:
    return Cli(
        tool(control_plane_bin_dir, "helm"),
        (f"--kubeconfig={chart_cluster.kubeconfig}",),
        _helm_env(tmp_path_factory.mktemp("helm-home")),
    )


@pytest.fixture(scope="session")
def offline_helm(control_plane_bin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """Helm for lint and template, which need no cluster."""
    return Cli(
        tool(control_plane_bin_dir, "helm"), (), _helm_env(tmp_path_factory.mktemp("helm-off"))
    )
