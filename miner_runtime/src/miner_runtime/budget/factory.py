"""The budget coordinator a runtime's settings ask for: Redis (URL or Sentinel) wrapped to
fail closed, or the in-process backend for a fleet of one."""

from __future__ import annotations

from miner_runtime.budget.coordinator import BudgetCoordinator
from miner_runtime.budget.failsafe import FailClosedCoordinator
from miner_runtime.budget.memory_backend import MemoryCoordinator
from miner_runtime.budget.model import Budgets, Rate
from miner_runtime.budget.redis_backend import UNAVAILABLE, RedisCoordinator
from miner_runtime.settings import BudgetSettings


def budgets_from(settings: BudgetSettings) -> Budgets:
    return Budgets(
        hotkey=Rate(settings.hotkey_per_minute / 60.0, burst=settings.hotkey_burst),
        egress_ip=Rate(settings.egress_ip_per_second, burst=settings.burst),
        fleet=Rate(settings.fleet_per_second, burst=settings.burst),
        max_wait_seconds=settings.max_wait_seconds,
        failing_hotkeys_limit=settings.failing_hotkeys_limit,
    )


def coordinator_from_settings(settings: BudgetSettings) -> BudgetCoordinator:
    budgets = budgets_from(settings)
    if settings.sentinels:
        shared = RedisCoordinator.from_sentinel(
            [_host_port(entry) for entry in settings.sentinels],
            settings.sentinel_service,
            budgets,
            timeout=settings.redis_timeout_seconds,
        )
    elif settings.redis_url is not None:
        shared = RedisCoordinator.from_url(
            settings.redis_url.get_secret_value(), budgets, timeout=settings.redis_timeout_seconds
        )
    else:
        return MemoryCoordinator(budgets)
    return FailClosedCoordinator(
        shared,
        budgets=budgets,
        colocated=settings.expected_colocated,
        fleet_size=settings.expected_fleet_size,
        unavailable=UNAVAILABLE,
    )


def _host_port(entry: str) -> tuple[str, int]:
    host, _, port = entry.rpartition(":")
    return host, int(port)
