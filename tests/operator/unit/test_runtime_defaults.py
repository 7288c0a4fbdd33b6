"""Runtime defaults: settings every miner's runtime gets from the operator (the chart's
`runtime.config` and Redis section), merged beneath what the operator owns per miner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sparket_operator.api import v1alpha1
from sparket_operator.reconcile import config, desired
from sparket_operator.settings import ConfigError, OperatorSettings, load_settings

HOTKEY = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
DEFAULTS = {
    "budget": {"redis_url": "redis://sparket-redis.sparket.svc:6379/0", "expected_colocated": 8},
    "pricing": {"results_source": "none"},
    "subtensor": {"mock_neurons_file": "/var/lib/sparket/neurons.json"},
}


def _miner() -> v1alpha1.SparketMiner:
    return v1alpha1.SparketMiner.model_validate(
        {
            "apiVersion": v1alpha1.API_VERSION,
            "kind": v1alpha1.KIND,
            "metadata": {
                "name": "m",
                "namespace": "ns",
                "uid": "u-1",
                "generation": 1,
                "resourceVersion": "1",
            },
            "spec": {
                "hotkey": HOTKEY,
                "wallet": {"secretName": "m-wallet"},
                "network": {"subtensor": "mock", "netuid": 2},
                "leagues": ["nba"],
            },
        }
    )


def _document(defaults: dict[str, Any] | None) -> dict[str, Any]:
    return config.runtime_config(
        _miner().spec,
        advertised_ip="203.0.113.10",
        advertised_port=30001,
        egress_ip="203.0.113.10",
        defaults=defaults,
    )


def test_defaults_fill_sections_the_operator_also_writes_without_losing_either_side() -> None:
    document = _document(DEFAULTS)
    assert document["subtensor"] == {
        "network": "mock",
        "netuid": 2,
        "mock_neurons_file": "/var/lib/sparket/neurons.json",
    }
    assert document["budget"] == DEFAULTS["budget"]
    assert document["pricing"] == {"results_source": "none"}
    assert document["axon"]["external_port"] == 30001


def test_without_defaults_the_document_is_unchanged() -> None:
    assert _document(None) == _document({})
    assert "budget" not in _document(None)


def test_the_operator_wins_where_both_speak() -> None:
    assert config.merged({"a": {"b": 1, "c": 2}}, {"a": {"b": 3}}) == {"a": {"b": 3, "c": 2}}
    assert config.merged({"a": 1}, {"a": {"b": 2}}) == {"a": {"b": 2}}


def test_defaults_change_the_config_hash_so_pods_roll_onto_them() -> None:
    def config_map(defaults: dict[str, Any]) -> dict[str, Any]:
        objects = desired.desired_objects(
            _miner(),
            node=None,
            advertised_ip="203.0.113.10",
            advertised_port=30001,
            egress_ip="203.0.113.10",
            image="runtime:1",
            image_pull_policy="IfNotPresent",
            runtime_defaults=defaults,
        )
        return objects[0]

    before, after = config_map({}), config_map(DEFAULTS)
    annotation = "sparket.io/config-hash"
    assert (
        before["metadata"]["annotations"][annotation]
        != (after["metadata"]["annotations"][annotation])
    )


def test_the_runtime_accepts_the_merged_document() -> None:
    from miner_runtime.settings import Settings

    settings = Settings(**_document(DEFAULTS))
    assert settings.budget.redis_url is not None
    assert settings.budget.redis_url.get_secret_value() == DEFAULTS["budget"]["redis_url"]
    assert settings.budget.expected_colocated == 8
    assert settings.pricing.results_source == "none"
    assert settings.subtensor.mock_neurons_file == Path("/var/lib/sparket/neurons.json")


@pytest.mark.parametrize(
    ("defaults", "named"),
    [
        ({"axon": {"port": 1}}, "axon.port is set by the operator"),
        ({"wallet": {"path": "/x"}}, "wallet.path is set by the operator"),
        ({"subtensor": {"netuid": 3}}, "subtensor.netuid is set by the operator"),
        ({"base_miner": {"leagues": ["nfl"]}}, "base_miner.leagues is set by the operator"),
        ({"egress_ip": "198.51.100.1"}, "egress_ip is set by the operator"),
        ({"pricing": {"model_url": "http://127.0.0.1:1"}}, "pricing.model_url is set by"),
        ({"base_miner": {"odds_api_key": "k"}}, "base_miner.odds_api_key is a secret"),
        ({"database_url": "postgresql://u:p@db/x"}, "database_url is a secret"),
        ({"budget": {"redis_url": "redis://:hunter2@r:6379/0"}}, "carries a password"),
    ],
)
def test_owned_keys_and_secrets_are_refused_naming_the_key(
    defaults: dict[str, Any], named: str
) -> None:
    problem = config.runtime_defaults_problem(defaults)
    assert problem is not None and named in problem
    assert "hunter2" not in problem


def test_allowed_defaults_pass() -> None:
    assert config.runtime_defaults_problem(DEFAULTS) is None
    assert config.runtime_defaults_problem({}) is None


def test_the_setting_is_read_as_json_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARKET_OPERATOR_RUNTIME_DEFAULTS", json.dumps(DEFAULTS))
    assert load_settings().runtime_defaults == DEFAULTS
    monkeypatch.setenv("SPARKET_OPERATOR_RUNTIME_DEFAULTS", json.dumps({"axon": {"port": 1}}))
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert str(raised.value).startswith("invalid setting SPARKET_OPERATOR_RUNTIME_DEFAULTS:")
    assert "axon.port" in str(raised.value)
    monkeypatch.delenv("SPARKET_OPERATOR_RUNTIME_DEFAULTS")
    assert OperatorSettings().runtime_defaults == {}


def test_a_bad_value_stops_the_process_with_one_line_and_exit_2(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    env["SPARKET_OPERATOR_RUNTIME_DEFAULTS"] = json.dumps({"wallet": {"name": "x"}})
    result = subprocess.run(
        [sys.executable, "-m", "sparket_operator"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "SPARKET_OPERATOR_RUNTIME_DEFAULTS" in lines[0] and "wallet.name" in lines[0]


# --- the budget Redis's credentials Secret ---------------------------------------------


def test_a_budget_redis_secret_is_mounted_for_every_miner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARKET_OPERATOR_RUNTIME_DEFAULTS", json.dumps(DEFAULTS))
    monkeypatch.setenv("SPARKET_OPERATOR_BUDGET_REDIS_SECRET", "budget-redis")
    monkeypatch.setenv("SPARKET_OPERATOR_BUDGET_REDIS_CA_KEY", "ca.crt")
    settings = load_settings()
    assert settings.budget_secret == config.BudgetRedisSecret(
        "budget-redis", password_key="password", ca_key="ca.crt", sentinel_password_key=None
    )
    monkeypatch.setenv("SPARKET_OPERATOR_BUDGET_REDIS_SECRET", "")
    assert load_settings().budget_secret is None


@pytest.mark.parametrize(
    ("env", "says"),
    [
        (
            {"SPARKET_OPERATOR_BUDGET_REDIS_SECRET": "budget-redis"},
            "needs a budget Redis in SPARKET_OPERATOR_RUNTIME_DEFAULTS",
        ),
        (
            {
                "SPARKET_OPERATOR_RUNTIME_DEFAULTS": json.dumps(DEFAULTS),
                "SPARKET_OPERATOR_BUDGET_REDIS_SECRET": "budget-redis",
                "SPARKET_OPERATOR_BUDGET_REDIS_PASSWORD_KEY": "",
            },
            "names a Secret but no key to mount from it",
        ),
        (
            {
                "SPARKET_OPERATOR_RUNTIME_DEFAULTS": json.dumps(DEFAULTS),
                "SPARKET_OPERATOR_BUDGET_REDIS_SECRET": "budget-redis",
                "SPARKET_OPERATOR_BUDGET_REDIS_CA_KEY": "password",
            },
            "must name different keys",
        ),
        (
            {"SPARKET_OPERATOR_BUDGET_REDIS_SECRET": "Budget_Redis"},
            "invalid setting SPARKET_OPERATOR_BUDGET_REDIS_SECRET:",
        ),
        (
            {"SPARKET_OPERATOR_BUDGET_REDIS_CA_KEY": "ca/crt"},
            "invalid setting SPARKET_OPERATOR_BUDGET_REDIS_CA_KEY:",
        ),
    ],
    ids=["no-redis", "no-key", "same-key-twice", "bad-secret-name", "bad-key"],
)
def test_a_budget_secret_setting_that_cannot_work_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], says: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert says in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "setting", ["redis_password_file", "redis_tls_ca_file", "sentinel_password_file"]
)
def test_the_budget_secret_files_are_the_operators_to_name(setting: str) -> None:
    problem = config.runtime_defaults_problem({"budget": {setting: "/somewhere/else"}})
    assert (
        problem
        == f"budget.{setting} is set by the operator for each miner, not by runtime defaults"
    )


def test_the_runtime_accepts_the_document_with_the_budget_secret() -> None:
    from miner_runtime.settings import Settings

    secret = config.BudgetRedisSecret("budget-redis", ca_key="ca.crt")
    defaults = {"budget": {"redis_url": "rediss://budgets.example:6380/0"}}
    document = config.runtime_config(
        _miner().spec,
        advertised_ip="203.0.113.10",
        advertised_port=30001,
        egress_ip="203.0.113.10",
        defaults=defaults,
        budget_secret=secret,
    )
    budget = Settings(**document).budget
    assert budget.redis_password_file == Path(config.BUDGET_SECRET_ROOT) / "password"
    assert budget.redis_tls_ca_file == Path(config.BUDGET_SECRET_ROOT) / "ca.crt"
    assert budget.tls
