"""Where the repo's tools and the cached control-plane binaries are."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

BUILD_SCRIPT = Path("tools") / "build-binaries.sh"


def repo_root() -> Path:
    """The checkout these tools were installed from (they are editable workspace members)."""
    override = os.environ.get("SPARKET_REPO_ROOT")
    if override:
        return Path(override)
    for parent in Path(__file__).resolve().parents:
        if (parent / BUILD_SCRIPT).exists():
            return parent
    raise RuntimeError("cannot find the repository root (set SPARKET_REPO_ROOT)")


def binaries_dir() -> Path:
    """The version-keyed cache's bin dir, as the build script computes it."""
    result = subprocess.run(
        ["bash", str(repo_root() / BUILD_SCRIPT), "--print-dir"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(result.stdout.strip())
