"""A whole runtime against a password-protected budget Redis: `/status` tells a refused
login (`auth`) apart from a working store, and the password shows up nowhere it serves
or logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from miner_runtime.budget.model import Ask, Denied, Grant
from miner_runtime.logs import JsonFormatter
from miner_runtime.settings import BudgetSettings
from sparket_local_services.services import RedisServer
from sparket_testkit.harness.miner_app import AppFactory, MinerUnderTest

pytestmark = pytest.mark.services

PASSWORD = "pw-runtime-store-Rt64"
WRONG = "pw-runtime-wrong-Yb20"


@pytest.fixture
def protected_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(workdir=tmp_path / "redis", password=PASSWORD)
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("given", [PASSWORD, WRONG], ids=["right", "wrong"])
async def test_status_reports_the_budget_store_and_never_its_password(
    miner: MinerUnderTest,
    start_app: AppFactory,
    protected_redis: RedisServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    given: str,
) -> None:
    password_file = tmp_path / "secret" / "password"
    password_file.parent.mkdir()
    password_file.write_text(given + "\n")
    budget = BudgetSettings(redis_url=protected_redis.url, redis_password_file=password_file)
    settings = miner.settings.model_copy(update={"budget": budget})
    with caplog.at_level(logging.DEBUG):
        app = await start_app(settings)
        decision = await app.services.coordinator.acquire(
            Ask("5Vvalidator", app.hotkey, app.services.egress_ip)
        )
        # Answered by Redis, or by the local share (which may make it wait): never raised.
        assert isinstance(decision, Grant | Denied)
        base = f"http://127.0.0.1:{settings.miner_api_port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            response = await client.get("/status")
    store = response.json()["budget_store"]
    if given == PASSWORD:
        assert store == {"shared": True, "degraded": False, "reason": None}
    else:
        assert store == {"shared": True, "degraded": True, "reason": "auth"}
        assert any(r.getMessage() == "budget_store_refused" for r in caplog.records)
    formatter = JsonFormatter()
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    for secret in (PASSWORD, WRONG):
        assert secret not in response.text and secret not in logged
        assert secret not in repr(app.services.settings) and secret not in repr(
            app.services.coordinator
        )
