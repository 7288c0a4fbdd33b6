"""The coordinator the settings ask for, including Redis behind a real Sentinel."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from miner_runtime.budget.factory import budgets_from, coordinator_from_settings
from miner_runtime.budget.failsafe import FailClosedCoordinator
from miner_runtime.budget.memory_backend import MemoryCoordinator
from miner_runtime.budget.model import Ask, Denied, Grant
from miner_runtime.errors import ConfigError
from miner_runtime.settings import BudgetSettings, load_settings
from sparket_local_services.ports import free_port, is_listening
from sparket_local_services.processes import ManagedProcess
from sparket_local_services.services import RedisServer, find_redis_server


def test_no_redis_configured_means_an_in_process_backend() -> None:
    assert isinstance(coordinator_from_settings(BudgetSettings()), MemoryCoordinator)


def test_budgets_follow_the_settings() -> None:
    budgets = budgets_from(BudgetSettings(hotkey_per_minute=30, hotkey_burst=2))
    assert budgets.hotkey.interval_ms == 2000 and budgets.hotkey.burst == 2


def test_a_bad_sentinel_entry_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARKET_BUDGET__SENTINELS", '["no-port-here"]')
    with pytest.raises(ConfigError, match=r"budget.sentinels \(SPARKET_BUDGET__SENTINELS\)"):
        load_settings()


def test_a_hotkey_rate_at_the_validators_limit_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SPARKET_BUDGET__HOTKEY_PER_MINUTE", "60")
    with pytest.raises(ConfigError, match=r"budget\.hotkey_per_minute"):
        load_settings()


@pytest.fixture
def sentinel(redis_server: RedisServer, tmp_path: Path) -> Iterator[int]:
    """A real redis-server in Sentinel mode watching the session's Redis as its master."""
    port = free_port()
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor sparket-budgets 127.0.0.1 {redis_server.port} 1\n"
    )
    process = ManagedProcess(
        name="redis-sentinel",
        argv=[str(find_redis_server()), str(config), "--sentinel"],
        log_path=tmp_path / "sentinel.log",
    )
    process.start()

    process.wait_until(lambda: is_listening(port), timeout=20, what="sentinel accepting")
    yield port
    process.stop()


@pytest.mark.services
async def test_budgets_through_sentinel_and_fail_closed_on_an_unknown_service(
    sentinel: int,
) -> None:
    through = coordinator_from_settings(
        BudgetSettings(sentinels=(f"127.0.0.1:{sentinel}",), sentinel_service="sparket-budgets")
    )
    assert isinstance(through, FailClosedCoordinator)
    ask = Ask(validator=f"5V{uuid.uuid4().hex}", hotkey="hk", egress_ip="203.0.113.10")
    try:
        await through.record_token(ask.validator, "c" * 64)
        assert isinstance(await through.acquire(ask), Grant)
        assert not through.degraded
        assert await through.token(ask.validator) == "c" * 64
    finally:
        await through.close()

    nowhere = coordinator_from_settings(
        BudgetSettings(sentinels=(f"127.0.0.1:{sentinel}",), sentinel_service="no-such")
    )
    assert isinstance(nowhere, FailClosedCoordinator)
    try:
        decision = await nowhere.acquire(ask)
        assert isinstance(decision, Grant | Denied)
        assert nowhere.degraded  # answered by the local share, never on faith
    finally:
        await nowhere.close()
