"""Fixtures for operator tests on the real local control plane: the generated CRD installed."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sparket_local_cluster.control_plane import LocalCluster
from sparket_local_cluster.miner_kube_objects import local_storage_class
from sparket_local_cluster.operator_process import LocalOperator
from sparket_local_services.paths import repo_root
from sparket_operator.api.crdgen import CRD_NAME, DEFAULT_PATH
from sparket_testkit.harness.operator_flows import STORAGE_CLASS, operator_for
from sparket_testkit.kube_cli import Cli, apply


@pytest.fixture(scope="session")
def sparket_crd(kubectl: Cli) -> str:
    """The committed SparketMiner CRD, applied and Established; returns the CRD's name.

    Server-side apply under one field manager is idempotent, so any test module may use this.
    """
    kubectl("apply", "--server-side", "-f", str(repo_root() / DEFAULT_PATH))
    kubectl("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=60s")
    return CRD_NAME


@pytest.fixture(scope="session")
def test_storage(kubectl: Cli) -> str:
    """A StorageClass for pre-bound local volumes (the test cluster has no provisioner)."""
    apply(kubectl, local_storage_class(STORAGE_CLASS))
    return STORAGE_CLASS


_namespaces = itertools.count(1)


@pytest.fixture
def ns(kubectl: Cli, sparket_crd: str, test_storage: str) -> Iterator[str]:
    """A fresh namespace per test, deleted afterwards (kcm's namespace controller)."""
    name = f"flow-{next(_namespaces)}-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "namespace", name, "--wait=false")


@pytest.fixture
def start_operator(
    k8s_cluster: LocalCluster, tmp_path: Path, ns: str
) -> Iterator[Callable[..., LocalOperator]]:
    """Starts the real operator for the test's namespace; stopped at teardown."""
    started: list[LocalOperator] = []

    def start(**env: str) -> LocalOperator:
        process = operator_for(
            k8s_cluster.kubeconfig,
            tmp_path,
            [ns],
            {f"SPARKET_OPERATOR_{k.upper()}": v for k, v in env.items()},
        )
        started.append(process)
        process.start()
        return process

    yield start
    for process in started:
        process.stop()
