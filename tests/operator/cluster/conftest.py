"""Fixtures for operator tests on the real local control plane: the generated CRD installed."""

from __future__ import annotations

import pytest

from sparket_devkit.paths import repo_root
from sparket_devkit.pytest_plugin import Cli
from sparket_operator.api.crdgen import CRD_NAME, DEFAULT_PATH


@pytest.fixture(scope="session")
def sparket_crd(kubectl: Cli) -> str:
    """The committed SparketMiner CRD, applied and Established; returns the CRD's name.

    Server-side apply under one field manager is idempotent, so any test module may use this.
    """
    kubectl("apply", "--server-side", "-f", str(repo_root() / DEFAULT_PATH))
    kubectl("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=60s")
    return CRD_NAME
