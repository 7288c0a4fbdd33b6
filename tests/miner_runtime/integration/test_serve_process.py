"""`python -m miner_runtime serve` as its own process: configured by env only, JSON logs,
the axon up within seconds, a clean exit on SIGTERM, and no key material in the output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bittensor_wallet import Keypair

from sparket_local_services.ports import free_port, http_ok, is_listening
from sparket_local_services.waits import wait_for
from sparket_local_services.wallets import generated_wallet
from sparket_local_validator.mock_chain import validator_neuron


@pytest.fixture
def serve_env(tmp_path: Path) -> dict[str, str]:
    wallet = generated_wallet(tmp_path / "wallets", "miner")
    validator = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
    owner = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
    neurons = [
        {"hotkey": wallet.hotkey.ss58_address, "coldkey": wallet.coldkeypub.ss58_address},
        # Nobody listens on the port: the miner must cope with an absent validator.
        validator_neuron(validator.ss58_address, coldkey=owner.ss58_address, port=free_port()),
    ]
    neurons_file = tmp_path / "neurons.json"
    neurons_file.write_text(json.dumps(neurons))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKET_")}
    env.update(
        {
            "SPARKET_WALLET__NAME": "miner",
            "SPARKET_WALLET__HOTKEY": "default",
            "SPARKET_WALLET__PATH": str(tmp_path / "wallets"),
            "SPARKET_AXON__HOST": "127.0.0.1",
            "SPARKET_AXON__PORT": str(free_port()),
            "SPARKET_AXON__EXTERNAL_IP": "127.0.0.1",
            "SPARKET_SUBTENSOR__NETWORK": "mock",
            "SPARKET_SUBTENSOR__NETUID": "57",
            "SPARKET_SUBTENSOR__MOCK_NEURONS_FILE": str(neurons_file),
            "SPARKET_MINER_API_PORT": str(free_port()),
            "SPARKET_DATA_DIR": str(tmp_path / "data"),
            "SPARKET_EGRESS_IP": "127.0.0.2",
        }
    )
    return env


@pytest.fixture
def serving(serve_env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], float]]:
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "miner_runtime", "serve"],
        env=serve_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    port = int(serve_env["SPARKET_AXON__PORT"])
    try:
        wait_for(
            lambda: is_listening(port) or process.poll() is not None,
            timeout=30,
            what="the axon to listen",
        )
        assert process.poll() is None, process.communicate()[0]
        yield process, time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_runs_reports_and_stops_cleanly(
    serving: tuple[subprocess.Popen[str], float], serve_env: dict[str, str]
) -> None:
    process, seconds_to_axon = serving
    assert seconds_to_axon < 15  # the benchmark reports the real figure; this catches hangs
    api = f"http://127.0.0.1:{serve_env['SPARKET_MINER_API_PORT']}"
    wait_for(lambda: http_ok(f"{api}/ready"), timeout=20, what="/ready")
    status = httpx.get(f"{api}/status", timeout=5).json()
    assert status["registered"] is True and status["egress_ip"] == "127.0.0.2"

    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    lines = [line for line in output.splitlines() if line.strip()]
    events = [json.loads(line)["event"] for line in lines]  # every line is JSON
    assert "miner_started" in events and events[-1] == "miner_stopped"
    hotkey_file = Path(serve_env["SPARKET_WALLET__PATH"]) / "miner" / "hotkeys" / "default"
    secret = json.loads(hotkey_file.read_text())
    for field in ("secretPhrase", "secretSeed", "privateKey"):
        if secret.get(field):
            assert secret[field] not in output


def run_serve(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`serve` expected to stop on its own (bad settings): its exit code and output."""
    return subprocess.run(
        [sys.executable, "-m", "miner_runtime", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_invalid_setting_stops_serve_with_one_line(serve_env: dict[str, str]) -> None:
    env = serve_env | {"SPARKET_BASE_MINER__BATCH_SIZE": "500"}
    result = run_serve(env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "miner_runtime: invalid setting base_miner.batch_size "
        "(SPARKET_BASE_MINER__BATCH_SIZE): Input should be less than or equal to 200"
    ]


def test_a_wallet_holding_a_coldkey_is_refused(serve_env: dict[str, str], tmp_path: Path) -> None:
    (Path(serve_env["SPARKET_WALLET__PATH"]) / "miner" / "coldkey").write_text("{}")
    result = run_serve(serve_env)
    assert result.returncode == 2
    assert "holds a coldkey private key" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("budget_env", "says"),
    [
        (
            {"SPARKET_BUDGET__REDIS_URL": "redis://:pw-in-url-Qa71@127.0.0.1:1/0"},
            "miner_runtime: invalid setting budget.redis_url (SPARKET_BUDGET__REDIS_URL): "
            "must not carry credentials",
        ),
        (
            {
                "SPARKET_BUDGET__REDIS_URL": "redis://127.0.0.1:1/0",
                "SPARKET_BUDGET__REDIS_PASSWORD_FILE": "/nonexistent/budget-redis/password",
            },
            "miner_runtime: invalid setting budget.redis_password_file "
            "(SPARKET_BUDGET__REDIS_PASSWORD_FILE): cannot read /nonexistent/budget-redis/password",
        ),
    ],
    ids=["password-in-url", "missing-password-file"],
)
def test_budget_redis_credentials_problems_stop_serve_with_one_line(
    serve_env: dict[str, str], budget_env: dict[str, str], says: str
) -> None:
    """Caught at start, before anything is sent: not a Redis outage for ever after."""
    result = run_serve(serve_env | budget_env)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(says)
    assert "pw-in-url-Qa71" not in result.stderr + result.stdout
