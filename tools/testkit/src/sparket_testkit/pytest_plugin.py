"""pytest fixtures for real parts: the local control plane, Redis, PostgreSQL.

Loaded by `tests/conftest.py`. Every server is started by the fixture on free loopback
ports and stopped at the end of the session; none is assumed to be running. The control
plane's binaries must be built first (`make binaries`, part of `make setup`): building
them takes minutes on a cold machine, far longer than any test's timeout.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sparket_local_cluster.control_plane import LocalCluster, missing_binaries
from sparket_local_services.paths import binaries_dir
from sparket_local_services.services import PostgresServer, RedisServer
from sparket_testkit import loopback_only
from sparket_testkit.kube_cli import Cli


def pytest_configure(config: pytest.Config) -> None:
    loopback_only.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    loopback_only.uninstall()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long simulations whose figures are rates and delays (`timing`) run first, before any
    session fixture has started a control plane, a Redis or a PostgreSQL that would keep
    running beside them: a busy machine stretches round trips, and they judge our fleet,
    not the machine. The order of the others is kept."""
    items.sort(key=lambda item: item.get_closest_marker("timing") is None)


@pytest.fixture(scope="session")
def control_plane_bin_dir() -> Path:
    bin_dir = binaries_dir()
    missing = missing_binaries(bin_dir)
    if missing:
        pytest.fail(
            f"control-plane binaries missing in {bin_dir}: {', '.join(missing)}; "
            "run `make binaries` (or `make setup`) first",
            pytrace=False,
        )
    return bin_dir


@pytest.fixture(scope="session")
def k8s_cluster(
    tmp_path_factory: pytest.TempPathFactory, control_plane_bin_dir: Path
) -> Iterator[LocalCluster]:
    """etcd + kube-apiserver + kcm + scheduler + KWOK with three fake nodes."""
    with running_cluster(tmp_path_factory.mktemp("cluster"), control_plane_bin_dir) as cluster:
        yield cluster


@contextlib.contextmanager
def running_cluster(
    workdir: Path, bin_dir: Path, *, pod_reachable_ip: str | None = None
) -> Iterator[LocalCluster]:
    """A local control plane for the block's duration (a module may need its own)."""
    cluster = LocalCluster(workdir=workdir, bin_dir=bin_dir, pod_reachable_ip=pod_reachable_ip)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _tool(bin_dir: Path, name: str) -> Path:
    for candidate in (bin_dir / name, *(Path(p) / name for p in os.environ["PATH"].split(":"))):
        if candidate.exists():
            return candidate
    pytest.fail(f"missing: {name}; run `make setup`", pytrace=False)


@pytest.fixture(scope="session")
def kubectl(k8s_cluster: LocalCluster, control_plane_bin_dir: Path) -> Cli:
    return Cli(_tool(control_plane_bin_dir, "kubectl"), (f"--kubeconfig={k8s_cluster.kubeconfig}",))


@pytest.fixture(scope="session")
def helm(
    k8s_cluster: LocalCluster, control_plane_bin_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Cli:
    return helm_for(k8s_cluster, control_plane_bin_dir, tmp_path_factory.mktemp("helm-home"))


def helm_for(cluster: LocalCluster, bin_dir: Path, home: Path) -> Cli:
    """helm on `cluster`, with its cache, config and data in `home` (never the user's)."""
    env = {f"HELM_{kind}_HOME": str(home / kind.lower()) for kind in ("CACHE", "CONFIG", "DATA")}
    return Cli(_tool(bin_dir, "helm"), (f"--kubeconfig={cluster.kubeconfig}",), env)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(workdir=tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
