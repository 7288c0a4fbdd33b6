"""The one chain setting: `subtensor.mock_neurons_file` (SPARKET_SUBTENSOR__MOCK_NEURONS_FILE)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from miner_runtime.settings import env_name, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SPARKET_"):
            monkeypatch.delenv(name)


def test_no_mock_neurons_file_by_default() -> None:
    assert load_settings().subtensor.mock_neurons_file is None


def test_mock_neurons_file_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARKET_SUBTENSOR__NETWORK", "mock")
    monkeypatch.setenv("SPARKET_SUBTENSOR__MOCK_NEURONS_FILE", "/etc/sparket/neurons.json")
    subtensor = load_settings().subtensor
    assert subtensor.network == "mock"
    assert subtensor.mock_neurons_file == Path("/etc/sparket/neurons.json")
    assert env_name(("subtensor", "mock_neurons_file")) == "SPARKET_SUBTENSOR__MOCK_NEURONS_FILE"
