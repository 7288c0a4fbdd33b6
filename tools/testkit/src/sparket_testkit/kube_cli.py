"""kubectl and helm against the test cluster, and the JSON/YAML round trips tests make
with them: one place for `get -o json` and `apply -f -`, whichever test area calls."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Cli:
    """Runs one of the cluster's command-line clients against the test cluster."""

    program: Path
    base_args: tuple[str, ...]
    env: dict[str, str] | None = None

    def __call__(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.program), *self.base_args, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, **self.env} if self.env else None,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{self.program.name} {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stderr}{result.stdout}"
            )
        return result


def get_json(kubectl: Cli, *args: str) -> Any:
    return json.loads(kubectl("get", *args, "-o", "json").stdout)


def try_get_json(kubectl: Cli, *args: str) -> Any | None:
    """`get_json`, or None when the object is not there (or the get fails)."""
    result = kubectl("get", *args, "-o", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def exists(kubectl: Cli, *args: str) -> bool:
    return kubectl("get", *args, "-o", "name", check=False).returncode == 0


def apply(kubectl: Cli, *objects: dict[str, Any]) -> None:
    kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(objects))
