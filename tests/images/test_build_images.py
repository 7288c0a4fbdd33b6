"""The Dockerfile's two images build here and start the way the operator's pods run them.

tools/images/build-local.sh builds both targets with podman on a base made from the Debian
archive (no container registry needed); each image then runs with podman as a pod would:
read-only root, /tmp on a tmpfs, all capabilities dropped, no network. The image sizes and
the build time are logged at INFO and kept as the test's user properties (what
record_property writes to junit XML under junit_family=xunit1).
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from sparket_local_services.paths import repo_root

SCRIPT = repo_root() / "tools" / "images" / "build-local.sh"
TAG = "test"
MINER = f"localhost/sparket-miner-runtime:{TAG}"
OPERATOR = f"localhost/sparket-operator:{TAG}"
RUN_AS = "10001"
# Generous ceilings that catch a dev tool or the other member's stack slipping into an
# image (miner: ~333 MB, operator: ~278 MB on the Debian-made base).
SIZE_BUDGET = {MINER: 400_000_000, OPERATOR: 350_000_000}
WALLET_ROOT = "/var/run/sparket/wallets"  # where the operator mounts the wallet Secret

# What this VM type needs (same flags as the build script): runc, limits below the hard caps.
PODMAN_RUN = [
    "podman",
    "run",
    "--rm",
    "--runtime",
    "runc",
    "--ulimit",
    "nofile=16384:16384",
    "--ulimit",
    "nproc=4096:4096",
]
# The pod's container securityContext (restricted + read-only root) and its /tmp emptyDir.
POD_LIKE = [
    "--network",
    "none",
    "--read-only",
    "--tmpfs",
    "/tmp:rw,size=256m",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
]

# Build once for the whole module; a cold build (base included) takes about a minute here.
pytestmark = pytest.mark.timeout(900)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Built:
    seconds: float
    sizes: dict[str, int]


@pytest.fixture(scope="module")
def built() -> Built:
    env = {**os.environ, "SPARKET_IMAGE_TAG": TAG}
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-40:])
        pytest.fail(f"{SCRIPT.name} exited {result.returncode}:\n{tail}", pytrace=False)
    sizes = {
        image: int(_podman("image", "inspect", "--format", "{{.Size}}", image).strip())
        for image in (MINER, OPERATOR)
    }
    log.info("images built in %.1f s: %s", seconds, sizes)
    return Built(seconds=seconds, sizes=sizes)


def _podman(*args: str) -> str:
    return subprocess.run(
        ["podman", *args], capture_output=True, text=True, timeout=120, check=True
    ).stdout


def _run(
    image: str,
    args: Sequence[str] = (),
    *,
    entrypoint: str | None = None,
    env: dict[str, str] | None = None,
    volumes: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    cmd = [*PODMAN_RUN, *POD_LIKE]
    if entrypoint:
        cmd += ["--entrypoint", entrypoint]
    for name, value in (env or {}).items():
        cmd += ["--env", f"{name}={value}"]
    for volume in volumes:
        cmd += ["--volume", volume]
    return subprocess.run(
        [*cmd, image, *args], capture_output=True, text=True, timeout=120, check=False
    )


def _python(image: str, code: str) -> str:
    result = _run(image, ["-c", code], entrypoint="python")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_sizes_and_build_time_are_recorded(built: Built, request: pytest.FixtureRequest) -> None:
    # Test properties (what record_property adds, without its warning under junit xunit2).
    request.node.user_properties.append(("build_seconds", round(built.seconds, 1)))
    for image, size in built.sizes.items():
        request.node.user_properties.append((f"size_bytes[{image}]", size))
        log.info("%s: %d bytes (%.0f MB)", image, size, size / 1e6)
        assert size <= SIZE_BUDGET[image], f"{image} is {size / 1e6:.0f} MB"


@pytest.mark.parametrize("image", [MINER, OPERATOR])
def test_runs_as_uid_10001_without_the_build_tree(built: Built, image: str) -> None:
    result = _run(
        image,
        ["-c", "id -u; id -g; test ! -e /src && test ! -e /usr/local/bin/uv"],
        entrypoint="sh",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [RUN_AS, RUN_AS]


def test_miner_help(built: Built) -> None:
    result = _run(MINER, ["--help"])
    assert result.returncode == 0, result.stderr
    assert "check-config" in result.stdout
    assert "serve" in result.stdout


def test_miner_bad_setting_stops_with_one_line(built: Built) -> None:
    result = _run(MINER, ["check-config"], env={"SPARKET_AXON__PORT": "not-a-port"})
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert line.startswith("miner_runtime: invalid setting axon.port (SPARKET_AXON__PORT)")


def test_miner_serve_takes_the_wallet_from_a_mount(built: Built, tmp_path: Path) -> None:
    # An empty wallet mount: serve loads bittensor and the whole app, then refuses with one
    # line, as a pod whose Secret lacks the hotkey would.
    wallets = tmp_path / "wallets"
    (wallets / "default").mkdir(parents=True)
    result = _run(
        MINER,
        ["serve"],
        env={"SPARKET_WALLET__PATH": WALLET_ROOT},
        volumes=[f"{wallets}:{WALLET_ROOT}:ro"],
    )
    assert result.returncode == 2, result.stderr
    line = _one_line(result.stderr)
    assert line.startswith("miner_runtime: invalid setting wallet.hotkey (SPARKET_WALLET__HOTKEY)")
    assert f"{WALLET_ROOT}/default/hotkeys/default" in line


def test_operator_bad_log_level_stops_with_one_line(built: Built) -> None:
    result = _run(OPERATOR, env={"SPARKET_OPERATOR_LOG_LEVEL": "bogus"})
    assert result.returncode == 2, result.stderr
    line = _one_line(result.stderr)
    assert line.startswith("sparket-operator: invalid setting SPARKET_OPERATOR_LOG_LEVEL")


# Alembic's migration scripts run inside alembic, not on import: they only have to be there.
_IMPORT_ALL = (
    "import importlib, importlib.util, pkgutil, {pkg} as p\n"
    "names = [m.name for m in pkgutil.walk_packages(p.__path__, p.__name__ + '.')]\n"
    "for name in names:\n"
    "    if '.migrations.' not in name: importlib.import_module(name)\n"
    "print(len(names), importlib.util.find_spec('{absent}') is None)"
)


@pytest.mark.parametrize(
    ("image", "package", "absent"),
    [(MINER, "miner_runtime", "kopf"), (OPERATOR, "sparket_operator", "bittensor")],
)
def test_every_module_imports_and_the_other_stack_is_absent(
    built: Built, image: str, package: str, absent: str
) -> None:
    # Catches a dependency the code imports but its pyproject does not declare (the dev
    # venv has every member's dependencies, an image only its own).
    count, is_absent = _python(image, _IMPORT_ALL.format(pkg=package, absent=absent)).split()
    assert int(count) > 10
    assert is_absent == "True", f"{absent} is installed in {image}"
