"""Settings: guide-compatible env names, env > file > defaults, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from miner_runtime.errors import ConfigError
from miner_runtime.settings import CONFIG_FILE_ENV, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("SPARKET_"):
            monkeypatch.delenv(name)


def test_defaults_match_the_miner_guide() -> None:
    settings = load_settings()
    base = settings.base_miner
    assert (base.enabled, base.batch_size, base.odds_refresh_seconds) == (True, 50, 900)
    assert (base.outcome_check_seconds, base.stats_refresh_seconds) == (300, 3600)
    assert (base.cache_ttl_seconds, base.market_blend_weight) == (3600, 0.60)
    # The one deliberate difference: no margin (validators score 1/odds; docs/pricing.md).
    assert base.vig == 0.0
    assert base.odds_api_key is None
    assert (settings.miner_api_enabled, settings.miner_api_port) == (True, 8198)
    assert settings.axon.advertised == ("0.0.0.0", 8094)


def test_guide_env_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARKET_WALLET__NAME", "fleet")
    monkeypatch.setenv("SPARKET_WALLET__HOTKEY", "hk07")
    monkeypatch.setenv("SPARKET_AXON__PORT", "30107")
    monkeypatch.setenv("SPARKET_AXON__EXTERNAL_IP", "203.0.113.10")
    monkeypatch.setenv("SPARKET_AXON__EXTERNAL_PORT", "31007")
    monkeypatch.setenv("SPARKET_BASE_MINER__BATCH_SIZE", "25")
    monkeypatch.setenv("SPARKET_BASE_MINER__ENABLED", "false")
    monkeypatch.setenv("SPARKET_MINER_API_ENABLED", "false")
    monkeypatch.setenv("SPARKET_MINER_API_PORT", "9100")
    settings = load_settings()
    assert (settings.wallet.name, settings.wallet.hotkey) == ("fleet", "hk07")
    # Unlike the reference miner, the external endpoint is honoured.
    assert settings.axon.advertised == ("203.0.113.10", 31007)
    assert settings.axon.port == 30107
    assert settings.base_miner.batch_size == 25 and settings.base_miner.enabled is False
    assert (settings.miner_api_enabled, settings.miner_api_port) == (False, 9100)


def test_env_beats_file_beats_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "miner.yaml"
    config.write_text(
        "base_miner:\n  batch_size: 10\n  vig: 0.03\naxon:\n  port: 9000\nminer_api_port: 9200\n"
    )
    monkeypatch.setenv(CONFIG_FILE_ENV, str(config))
    monkeypatch.setenv("SPARKET_BASE_MINER__BATCH_SIZE", "20")
    settings = load_settings()
    assert settings.base_miner.batch_size == 20  # env wins over the file
    assert settings.base_miner.vig == 0.03  # the file wins over the default
    assert settings.axon.port == 9000
    assert settings.miner_api_port == 9200
    assert settings.base_miner.outcome_check_seconds == 300  # default


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        (
            "SPARKET_BASE_MINER__BATCH_SIZE",
            "500",
            "invalid setting base_miner.batch_size (SPARKET_BASE_MINER__BATCH_SIZE): "
            "Input should be less than or equal to 200",
        ),
        (
            "SPARKET_BASE_MINER__BATCH_SIZE",
            "0",
            "invalid setting base_miner.batch_size (SPARKET_BASE_MINER__BATCH_SIZE): "
            "Input should be greater than or equal to 1",
        ),
        (
            "SPARKET_AXON__EXTERNAL_IP",
            "not-an-ip",
            "invalid setting axon.external_ip (SPARKET_AXON__EXTERNAL_IP)",
        ),
        (
            "SPARKET_AXON__EXTERNAL_IP",
            "0.0.0.0",
            "invalid setting axon.external_ip (SPARKET_AXON__EXTERNAL_IP): must be a concrete",
        ),
        (
            "SPARKET_MINER_API_PORT",
            "70000",
            "invalid setting miner_api_port (SPARKET_MINER_API_PORT)",
        ),
        (
            "SPARKET_BASE_MINER__MARKET_BLEND_WEIGHT",
            "1.5",
            "invalid setting base_miner.market_blend_weight",
        ),
        ("SPARKET_EGRESS_IP", "node-a", "invalid setting egress_ip (SPARKET_EGRESS_IP)"),
    ],
)
def test_invalid_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    line = str(caught.value)
    assert line.startswith(expected)
    assert "\n" not in line


def test_unknown_key_in_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "miner.yaml"
    config.write_text("base_miner:\n  batch_sise: 10\n")
    monkeypatch.setenv(CONFIG_FILE_ENV, str(config))
    with pytest.raises(ConfigError, match=r"unknown setting base_miner\.batch_sise"):
        load_settings()


def test_missing_config_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CONFIG_FILE_ENV, str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match=r"SPARKET_CONFIG_FILE: no such file"):
        load_settings()


def _check_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith("SPARKET_")}
    return subprocess.run(
        [sys.executable, "-m", "miner_runtime", "check-config"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_config_exits_2_with_one_line() -> None:
    result = _check_config({"SPARKET_BASE_MINER__BATCH_SIZE": "201"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "miner_runtime: invalid setting base_miner.batch_size "
        "(SPARKET_BASE_MINER__BATCH_SIZE): Input should be less than or equal to 200"
    ]


def test_check_config_never_prints_secrets() -> None:
    result = _check_config({"SPARKET_BASE_MINER__ODDS_API_KEY": "very-secret-key-123"})
    assert result.returncode == 0, result.stderr
    assert "very-secret-key-123" not in result.stdout + result.stderr
    assert '"config_ok"' in result.stdout
