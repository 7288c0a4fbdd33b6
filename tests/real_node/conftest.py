"""A cluster of its own with one real worker node (kubelet, containerd, runc, CNI,
kube-proxy) for the tests that must run real pods; KWOK's fake nodes serve the others."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sparket_local_cluster.control_plane import LocalCluster
from sparket_local_cluster.node.node import RealNode, missing_node_parts
from sparket_local_services.paths import repo_root
from sparket_testkit.kube_cli import Cli
from sparket_testkit.pytest_plugin import running_cluster

MINER_IMAGE = "localhost/sparket-miner-runtime:test"  # tools/images/build-local.sh, tag "test"

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="session")
def miner_image_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The runtime image, built by the project's own script, saved for containerd."""
    env = {**os.environ, "SPARKET_IMAGE_TAG": "test"}
    built = subprocess.run(
        ["bash", str(repo_root() / "tools" / "images" / "build-local.sh"), "miner-runtime"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    archive = tmp_path_factory.mktemp("images") / "miner.tar"
    subprocess.run(
        ["podman", "save", "-o", str(archive), MINER_IMAGE],
        check=True,
        timeout=600,
        capture_output=True,
    )
    return archive


@pytest.fixture(scope="session")
def node_cluster(
    tmp_path_factory: pytest.TempPathFactory, control_plane_bin_dir: Path
) -> Iterator[LocalCluster]:
    """A cluster of its own: the shared one's flow tests must never land on a real node."""
    with running_cluster(tmp_path_factory.mktemp("node-cluster"), control_plane_bin_dir) as cluster:
        yield cluster


@pytest.fixture(scope="module")  # one node at a time: a module's node is gone before the next
def real_node(
    node_cluster: LocalCluster, control_plane_bin_dir: Path, miner_image_archive: Path
) -> Iterator[RealNode]:
    missing = missing_node_parts(control_plane_bin_dir)
    if missing:
        pytest.fail(f"the real node needs: {', '.join(missing)}; run `make setup`", pytrace=False)
    node = RealNode(
        cluster=node_cluster, bin_dir=control_plane_bin_dir, images=(miner_image_archive,)
    )
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
