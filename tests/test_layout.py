"""Guard rails of the layout: nothing shadows the standard library, layers stay one-way."""

from __future__ import annotations

import operator
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sparket_local_services.paths import repo_root

ROOT = repo_root()


def test_operator_folder_is_not_a_package_and_stdlib_operator_wins() -> None:
    assert not (ROOT / "operator" / "__init__.py").exists()
    assert operator.__file__ is not None and "site-packages" not in operator.__file__
    assert Path(operator.__file__).parent != ROOT / "operator"
    assert callable(operator.itemgetter)


def test_ruff_flags_a_module_that_shadows_the_stdlib(tmp_path: Path) -> None:
    shadow = tmp_path / "pkg" / "secrets.py"
    shadow.parent.mkdir()
    (shadow.parent / "__init__.py").write_text("")
    shadow.write_text('"""A module named like the stdlib one."""\n')
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--config",
            str(ROOT / "pyproject.toml"),
            "--select",
            "A005",
            str(shadow),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "A005" in result.stdout


def test_import_linter_rejects_kopf_in_reconcile(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "operator" / "src", src)
    reconcile = src / "sparket_operator" / "reconcile" / "__init__.py"
    reconcile.write_text(reconcile.read_text() + "\nimport kopf  # a layering violation\n")
    env = {**os.environ, "PYTHONPATH": str(src)}
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 1, result.stdout
    assert "reconcile is pure: no kopf, no Kubernetes client BROKEN" in result.stdout
    assert "sparket_operator.reconcile -> kopf" in result.stdout
