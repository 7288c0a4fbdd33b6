"""The runtime's import contracts (pyproject.toml, [tool.importlinter]) really bite.

Each test lints a copy of the runtime's source, first as it is (every contract kept), then
with one forbidden import injected: an upward import, an import between independent
siblings, and a database import in the pure send rules. A contract that could not fail
would pass all of `make check` and prove nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sparket_local_services.paths import repo_root

ROOT = repo_root()
LAYERS = "Runtime layers: app -> submission -> services -> validator_client -> protocol"
SEND_RULES = "Send rules are pure: no database"


def _copy_runtime(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    shutil.copytree(
        ROOT / "miner_runtime" / "src", src, ignore=shutil.ignore_patterns("__pycache__")
    )
    return src


def _lint(src: Path) -> tuple[int, str]:
    """lint-imports with the repository's contracts, the runtime taken from `src`."""
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "400"}
    located = subprocess.run(
        [sys.executable, "-c", "import miner_runtime; print(miner_runtime.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert Path(located.stdout.strip()).is_relative_to(src), "linting the copy, not the tree"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "lint-imports"),
            "--config",
            str(ROOT / "pyproject.toml"),
            "--no-cache",
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=ROOT,
    )
    return result.returncode, " ".join(result.stdout.split())  # unwrapped, one space


def test_the_runtime_as_it_is_keeps_its_contracts(tmp_path: Path) -> None:
    returncode, report = _lint(_copy_runtime(tmp_path))
    assert returncode == 0, report
    assert f"{LAYERS} KEPT" in report
    assert f"{SEND_RULES} KEPT" in report


@pytest.mark.parametrize(
    ("module", "injected", "contract", "finding"),
    [
        pytest.param(
            "protocol/markets.py",
            "import miner_runtime.submission",
            LAYERS,
            "miner_runtime.protocol is not allowed to import miner_runtime.submission",
            id="upward",
        ),
        pytest.param(
            "pricing/engine.py",
            "import miner_runtime.storage",
            LAYERS,
            "miner_runtime.pricing is not allowed to import miner_runtime.storage",
            id="between-independent-siblings",
        ),
        pytest.param(
            "storage/send_rules.py",
            "import sqlalchemy",
            SEND_RULES,
            "miner_runtime.storage.send_rules -> sqlalchemy",
            id="database-in-send-rules",
        ),
    ],
)
def test_a_forbidden_import_breaks_the_contract_it_crosses(
    tmp_path: Path, module: str, injected: str, contract: str, finding: str
) -> None:
    src = _copy_runtime(tmp_path)
    target = src / "miner_runtime" / module
    target.write_text(target.read_text() + f"\n{injected}  # a layering violation\n")
    returncode, report = _lint(src)
    assert returncode == 1, report
    assert f"{contract} BROKEN" in report
    assert finding in report
