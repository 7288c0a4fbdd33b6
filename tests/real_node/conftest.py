"""A cluster of its own with one real worker node (kubelet, containerd, runc, CNI,
kube-proxy) for the tests that must run real pods; KWOK's fake nodes serve the others."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sparket_local_cluster.control_plane import LocalCluster
from sparket_local_cluster.node.images import build_local_images
from sparket_local_cluster.node.node import RealNode, missing_node_parts, node_ip
from sparket_testkit.kube_cli import Cli
from sparket_testkit.pytest_plugin import helm_for, running_cluster

MINER_IMAGE = "localhost/sparket-miner-runtime:test"  # tools/images/build-local.sh, tag "test"
OPERATOR_IMAGE = "localhost/sparket-operator:test"
MODEL_IMAGE = "localhost/sparket-model-example:test"  # the example pricing sidecar

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="session")
def image_archives(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ...]:
    """The runtime, operator and example model images, built by the project's own script,
    saved for containerd (no registry: the node's kubelet is told never to pull them)."""
    return build_local_images(
        ("miner-runtime", "operator", "model-example"), "test", tmp_path_factory.mktemp("images")
    )


@pytest.fixture(scope="session")
def node_cluster(
    tmp_path_factory: pytest.TempPathFactory, control_plane_bin_dir: Path
) -> Iterator[LocalCluster]:
    """A cluster of its own: the shared one's flow tests must never land on a real node.
    Its API server also answers at the node's IP, where the `kubernetes` Service sends the
    operator's pod."""
    with running_cluster(
        tmp_path_factory.mktemp("node-cluster"), control_plane_bin_dir, pod_reachable_ip=node_ip()
    ) as cluster:
        yield cluster


@pytest.fixture(scope="module")  # one node at a time: a module's node is gone before the next
def real_node(
    node_cluster: LocalCluster, control_plane_bin_dir: Path, image_archives: tuple[Path, ...]
) -> Iterator[RealNode]:
    missing = missing_node_parts(control_plane_bin_dir)
    if missing:
        pytest.fail(f"the real node needs: {', '.join(missing)}; run `make setup`", pytrace=False)
    node = RealNode(cluster=node_cluster, bin_dir=control_plane_bin_dir, images=image_archives)
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def node_kubectl(node_cluster: LocalCluster, control_plane_bin_dir: Path) -> Cli:
    program = control_plane_bin_dir / "kubectl"
    if not program.exists():
        found = subprocess.run(["which", "kubectl"], capture_output=True, text=True, check=False)
        program = Path(found.stdout.strip())
    return Cli(program, (f"--kubeconfig={node_cluster.kubeconfig}",))


@pytest.fixture(scope="session")
def node_helm(
    node_cluster: LocalCluster,
    control_plane_bin_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Cli:
    return helm_for(node_cluster, control_plane_bin_dir, tmp_path_factory.mktemp("node-helm"))
