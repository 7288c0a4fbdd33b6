"""The operator -> runtime contract for a production budget Redis: what the operator renders
for `SPARKET_OPERATOR_BUDGET_REDIS_SECRET`, laid out as a kubelet would mount it, is what
the runtime needs to log in to a real redis-server with a password over verified TLS.

The pod is materialised by the testkit (`sparket_testkit.pod_materialise`, as in the main
contract test); the runtime's settings are loaded from the rendered config file through the env the
container sets, and its budget coordinator talks to the server. The password exists only
in the Secret and in the file the volume puts it in.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from miner_runtime.budget.factory import coordinator_from_settings
from miner_runtime.budget.failsafe import FailClosedCoordinator
from miner_runtime.budget.model import Ask, Grant
from miner_runtime.settings import BudgetSettings, load_settings
from sparket_local_services.pki import ServerPki, make_server_pki
from sparket_local_services.services import RedisServer
from sparket_local_services.wallets import generated_wallet
from sparket_operator.api import v1alpha1
from sparket_operator.reconcile import config, desired, workload
from sparket_operator.settings import OperatorSettings
from sparket_testkit.pod_materialise import (
    container_view,
    materialise_volumes,
    stateful_set_pod_spec,
)

pytestmark = pytest.mark.services

PASSWORD = "pw-contract-budgets-Lz48"
NAMESPACE = "miners"


@pytest.fixture
def pki(tmp_path: Path) -> ServerPki:
    return make_server_pki(tmp_path / "pki", common_name="budgets")


@pytest.fixture
def tls_redis(tmp_path: Path, pki: ServerPki) -> Iterator[RedisServer]:
    server = RedisServer(workdir=tmp_path / "redis", password=PASSWORD, tls=pki)
    server.start()
    yield server
    server.stop()


def _secret(name: str, data: dict[str, bytes]) -> dict[str, object]:
    """A Secret as the API server returns it: base64 `data`."""
    encoded = {key: base64.b64encode(value).decode("ascii") for key, value in data.items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": encoded}


def _runtime_budget_as_mounted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str, pki: ServerPki
) -> BudgetSettings:
    """Render, mount and load: the runtime's budget settings as a miner pod would have them."""
    # 1. The operator's settings as the chart renders them, and a miner.
    for name, value in {
        "SPARKET_OPERATOR_RUNTIME_DEFAULTS": json.dumps({"budget": {"redis_url": redis_url}}),
        "SPARKET_OPERATOR_BUDGET_REDIS_SECRET": "budget-redis",
        # Not the default key names: the file names in the pod stay the same.
        "SPARKET_OPERATOR_BUDGET_REDIS_PASSWORD_KEY": "redis-password",
        "SPARKET_OPERATOR_BUDGET_REDIS_CA_KEY": "ca.crt",
    }.items():
        monkeypatch.setenv(name, value)
    settings = OperatorSettings()
    wallet = generated_wallet(tmp_path / "keys", "fleet")
    miner = v1alpha1.SparketMiner.model_validate(
        {
            "apiVersion": v1alpha1.API_VERSION,
            "kind": v1alpha1.KIND,
            "metadata": {"name": "m", "namespace": NAMESPACE, "uid": "u-1", "generation": 1},
            "spec": {
                "hotkey": wallet.hotkey.ss58_address,
                "wallet": {"secretName": "m-wallet", "walletName": "fleet"},
                "network": {"subtensor": "mock", "netuid": 2},
                "leagues": ["nfl"],
            },
        }
    )
    config_map, stateful_set = desired.desired_objects(
        miner,
        node=None,
        advertised_ip="203.0.113.10",
        advertised_port=31000,
        egress_ip="203.0.113.10",
        image="runtime:1",
        image_pull_policy="IfNotPresent",
        runtime_defaults=settings.runtime_defaults,
        budget_secret=settings.budget_secret,
    )
    assert PASSWORD not in json.dumps([config_map, stateful_set])

    # 2. The pod as the kubelet would lay it out, from the Secrets as the API has them.
    secrets = {
        "m-wallet": _secret(
            "m-wallet",
            {
                "hotkey": Path(wallet.hotkey_file.path).read_bytes(),
                "coldkeypub.txt": Path(wallet.coldkeypub_file.path).read_bytes(),
            },
        ),
        "budget-redis": _secret(
            "budget-redis",
            {
                "redis-password": (PASSWORD + "\n").encode(),
                "ca.crt": pki.ca_cert.read_bytes(),
                "unrelated": b"never mounted",
            },
        ),
    }
    pod_spec = stateful_set_pod_spec(stateful_set)
    volumes = materialise_volumes(
        pod_spec,
        config_maps={config_map["metadata"]["name"]: config_map},
        secrets=secrets,
        root=tmp_path / "pod",
        claim_dir=lambda claim: tmp_path / "pod" / "claims" / claim,
    )
    pod = container_view(pod_spec, workload.MINER_CONTAINER, volumes)
    assert pod.outside_mounts == []
    budget_dir = pod.mounts[config.BUDGET_SECRET_ROOT]
    assert sorted(p.name for p in budget_dir.iterdir()) == ["ca.crt", "password"]
    assert all(PASSWORD not in value for value in pod.env.values())

    # 3. The runtime's settings from that file (its budget store then logs in: the test).
    for name, value in pod.env.items():
        monkeypatch.setenv(name, value)
    runtime = load_settings()
    assert runtime.budget.redis_password_file == budget_dir / "password"
    return runtime.budget


async def test_the_mounted_budget_secret_logs_the_runtime_in_over_tls(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tls_redis: RedisServer,
    pki: ServerPki,
) -> None:
    budget = _runtime_budget_as_mounted(tmp_path, monkeypatch, tls_redis.url, pki)
    coordinator = coordinator_from_settings(budget)
    assert isinstance(coordinator, FailClosedCoordinator)
    try:
        decision = await coordinator.acquire(Ask("5Vcontract", "hk", "203.0.113.10"))
        assert isinstance(decision, Grant)
        assert not coordinator.degraded and coordinator.reason is None
    finally:
        await coordinator.close()
