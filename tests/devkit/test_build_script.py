"""tools/build-binaries.sh fails with one line and leaves no half-built cache."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sparket_local_services.paths import repo_root

SCRIPT = repo_root() / "tools" / "build-binaries.sh"


def _run(cache: Path, env_overrides: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPARKET_CACHE_DIR": str(cache), **env_overrides}
    return subprocess.run(
        ["bash", str(SCRIPT), "etcd"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_missing_go_is_one_clear_line(tmp_path: Path) -> None:
    bare_path = ":".join(d for d in ("/usr/bin", "/bin") if not Path(d, "go").exists())
    result = _run(tmp_path / "cache", {"PATH": bare_path})
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("build-binaries: missing: the Go toolchain")
    assert not any((tmp_path / "cache").glob("etcd-*"))


def test_unreachable_module_proxy_fails_fast_without_a_half_built_cache(tmp_path: Path) -> None:
    go = shutil.which("go")
    assert go, "the Go toolchain is needed to run this test (make setup checks for it)"
    result = _run(
        tmp_path / "cache",
        {
            "GOPROXY": "off",  # no module can be fetched: what a closed registry looks like
            "GOMODCACHE": str(tmp_path / "modcache"),
            "GOCACHE": str(tmp_path / "gocache"),
        },
    )
    assert result.returncode == 1
    assert "build-binaries: failed: downloading etcd" in result.stderr
    leftovers = sorted(p.name for p in (tmp_path / "cache").iterdir() if p.name != ".build.lock")
    assert leftovers == []


def test_print_dir_names_the_bin_dir_under_the_cache(tmp_path: Path) -> None:
    env = {**os.environ, "SPARKET_CACHE_DIR": str(tmp_path)}
    out = subprocess.run(
        ["bash", str(SCRIPT), "--print-dir"], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == str(tmp_path / "bin")


def test_the_coredns_wrapper_module_pins_the_version_the_cache_is_keyed_by() -> None:
    """The cache key names COREDNS_VERSION; the build uses tools/coredns/go.mod's."""
    versions = dict(
        line.split("=", 1)
        for line in (SCRIPT.parent / "versions.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    go_mod = (SCRIPT.parent / "coredns" / "go.mod").read_text()
    assert f"github.com/coredns/coredns v{versions['COREDNS_VERSION']}\n" in go_mod
