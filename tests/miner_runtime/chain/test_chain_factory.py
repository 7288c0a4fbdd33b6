"""`chain_from_settings`: a mock subnet seeded from a JSON file, including in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from miner_runtime.chain.client import MockChain
from miner_runtime.chain.factory import MOCK_NEURONS_SETTING, chain_from_settings
from miner_runtime.errors import ConfigError
from miner_runtime.settings import Settings

SETTING_LINE = "subtensor.mock_neurons_file (SPARKET_SUBTENSOR__MOCK_NEURONS_FILE)"


def _settings(file: Path | None, *, network: str = "mock") -> Settings:
    return Settings(subtensor={"network": network, "netuid": 57, "mock_neurons_file": file})


@pytest.fixture
def seed(tmp_path: Path, keys: Callable[[str], str], own_hotkey: str) -> list[dict[str, Any]]:
    return [
        {
            "hotkey": keys("val-a"),
            "coldkey": keys("owner"),
            "stake": 2500.0,
            "validator_permit": True,
            "ip": "127.0.0.2",
            "port": 30001,
        },
        {
            "hotkey": keys("miner-b"),
            "coldkey": keys("owner"),
            "stake": 1.5,
            "ip": "127.0.0.3",
            "port": 30002,
        },
        {"hotkey": own_hotkey, "coldkey": keys("owner")},
    ]


def _write(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "neurons.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _expected(seed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "uid": uid,
            "hotkey": n["hotkey"],
            "validator_permit": n.get("validator_permit", False),
            "ip": n.get("ip", "0.0.0.0"),
            "port": n.get("port", 0),
            "stake": n.get("stake", 0.0),
            "incentive": n.get("incentive", 0.0),
            "consensus": n.get("consensus", 0.0),
            "emission": n.get("emission", 0.0),
        }
        for uid, n in enumerate(seed)
    ]


def test_the_file_seeds_the_mock_subnet(
    tmp_path: Path, seed: list[dict[str, Any]], own_hotkey: str
) -> None:
    chain = chain_from_settings(_settings(_write(tmp_path, seed)), own_hotkey, wallet=None)
    assert isinstance(chain, MockChain)
    assert [vars(n) for n in chain.neurons()] == _expected(seed)
    assert chain.uid_of(own_hotkey) == 2
    # Built twice in one process (shared mock state): seeding is idempotent.
    again = chain_from_settings(_settings(_write(tmp_path, seed)), own_hotkey, wallet=None)
    assert [vars(n) for n in again.neurons()] == _expected(seed)


def test_without_a_file_the_subnet_is_empty(own_hotkey: str) -> None:
    chain = chain_from_settings(_settings(None), own_hotkey, wallet=None)
    assert chain.neurons() == [] and chain.block() == 0


def test_a_fresh_process_sees_the_seeded_subnet(
    tmp_path: Path, seed: list[dict[str, Any]], own_hotkey: str
) -> None:
    """What a runtime started for a demo or a kill -9 test does: settings from env only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKET_")}
    env |= {
        "SPARKET_SUBTENSOR__NETWORK": "mock",
        "SPARKET_SUBTENSOR__NETUID": "57",
        "SPARKET_SUBTENSOR__MOCK_NEURONS_FILE": str(_write(tmp_path, seed)),
    }
    script = (
        "import json, sys\n"
        "from miner_runtime.chain.factory import chain_from_settings\n"
        "from miner_runtime.settings import load_settings\n"
        "chain = chain_from_settings(load_settings(), sys.argv[1], wallet=None)\n"
        "print(json.dumps([vars(n) for n in chain.neurons()]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, own_hotkey],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == _expected(seed)


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        ("[{", "Invalid JSON"),
        ({"hotkey": "x"}, "valid array"),
        ([{"hotkey": "not-ss58", "coldkey": "KEY"}], "[0].hotkey: not an SS58 address"),
        ([{"hotkey": "KEY", "coldkey": "KEY", "ip": "1.2.3.4"}], "ip and port go together"),
        ([{"hotkey": "KEY", "coldkey": "KEY", "ip": "1.2.3", "port": 1}], "[0].ip:"),
        ([{"hotkey": "KEY", "coldkey": "KEY", "ip": "1.2.3.4", "port": 70000}], "[0].port:"),
        ([{"hotkey": "KEY", "coldkey": "KEY", "stake": -1}], "[0].stake:"),
        ([{"hotkey": "KEY", "coldkey": "KEY", "uid": 3}], "[0].uid: Extra inputs"),
        (
            [{"hotkey": "KEY", "coldkey": "KEY"}, {"hotkey": "KEY", "coldkey": "KEY"}],
            "listed twice",
        ),
    ],
)
def test_a_malformed_file_is_one_config_line(
    tmp_path: Path, own_hotkey: str, content: Any, detail: str
) -> None:
    if not isinstance(content, str):
        content = json.loads(json.dumps(content).replace("KEY", own_hotkey))
    path = _write(tmp_path, content)
    with pytest.raises(ConfigError) as caught:
        chain_from_settings(_settings(path), own_hotkey, wallet=None)
    message = str(caught.value)
    assert message.startswith(f"invalid setting {SETTING_LINE}: {path}: ")
    assert detail in message
    assert "\n" not in message
    # Nothing was written to the mock chain before the file was found bad.
    assert not MockChain(netuid=57, hotkey_ss58=own_hotkey).subnet_exists()


def test_a_missing_file_is_one_config_line(tmp_path: Path, own_hotkey: str) -> None:
    with pytest.raises(ConfigError, match=r"cannot read .*no-such\.json: No such file"):
        chain_from_settings(_settings(tmp_path / "no-such.json"), own_hotkey, wallet=None)


def test_the_file_is_refused_outside_the_mock_network(tmp_path: Path, own_hotkey: str) -> None:
    """Raised before any connection is attempted, so no network is touched."""
    path = _write(tmp_path, [])
    with pytest.raises(
        ConfigError, match=r"only used with subtensor\.network 'mock', not 'finney'"
    ):
        chain_from_settings(_settings(path, network="finney"), own_hotkey, wallet=None)
    assert MOCK_NEURONS_SETTING == SETTING_LINE


def test_inline_neurons_seed_the_mock_chain_like_the_file(own_hotkey: str) -> None:
    """A pod's settings file carries the simulated subnet inline (no file to mount)."""
    settings = Settings.model_validate(
        {
            "subtensor": {
                "network": "mock",
                "netuid": 57,
                "mock_neurons": [{"hotkey": own_hotkey, "coldkey": own_hotkey, "stake": 2.0}],
            }
        }
    )
    chain = chain_from_settings(settings, own_hotkey, wallet=None)
    assert isinstance(chain, MockChain)
    assert chain.uid_of(own_hotkey) is not None


def test_a_bad_inline_neuron_is_one_config_line_naming_the_entry(own_hotkey: str) -> None:
    settings = Settings.model_validate(
        {"subtensor": {"network": "mock", "mock_neurons": [{"hotkey": "nope", "coldkey": "x"}]}}
    )
    with pytest.raises(ConfigError) as caught:
        chain_from_settings(settings, own_hotkey, wallet=None)
    message = str(caught.value)
    assert message.startswith("invalid setting subtensor.mock_neurons: [0].hotkey: ")
    assert "\n" not in message
