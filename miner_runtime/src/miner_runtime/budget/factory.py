"""The budget coordinator a runtime's settings ask for: Redis (URL or Sentinel) wrapped to
fail closed, or the in-process backend for a fleet of one.

Redis's password and CA bundle are read here, once, from the files the settings name (a
mounted Secret): a missing, unreadable or empty file stops the runtime at start with one
line naming the setting, rather than looking like a Redis outage for ever after.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from miner_runtime.budget import connection
from miner_runtime.budget.coordinator import BudgetCoordinator
from miner_runtime.budget.failsafe import FailClosedCoordinator
from miner_runtime.budget.memory_backend import MemoryCoordinator
from miner_runtime.budget.model import Budgets, Rate
from miner_runtime.budget.redis_backend import UNAVAILABLE, RedisCoordinator
from miner_runtime.errors import ConfigError
from miner_runtime.settings import BudgetSettings, env_name


def budgets_from(settings: BudgetSettings) -> Budgets:
    return Budgets(
        hotkey=Rate(settings.hotkey_per_minute / 60.0, burst=settings.hotkey_burst),
        egress_ip=Rate(settings.egress_ip_per_second, burst=settings.burst),
        fleet=Rate(settings.fleet_per_second, burst=settings.burst),
        max_wait_seconds=settings.max_wait_seconds,
        failing_hotkeys_limit=settings.failing_hotkeys_limit,
        token_rotation_seconds=float(settings.token_rotation_seconds),
        token_clock_skew_seconds=settings.token_clock_skew_seconds,
    )


def coordinator_from_settings(settings: BudgetSettings) -> BudgetCoordinator:
    budgets = budgets_from(settings)
    if settings.sentinels:
        shared = RedisCoordinator.from_sentinel(
            [_host_port(entry) for entry in settings.sentinels],
            settings.sentinel_service,
            budgets,
            timeout=settings.redis_timeout_seconds,
            tls=settings.redis_tls,
            access=redis_access(settings),
        )
    elif settings.redis_url is not None:
        shared = RedisCoordinator.from_url(
            settings.redis_url.get_secret_value(),
            budgets,
            timeout=settings.redis_timeout_seconds,
            access=redis_access(settings),
        )
    else:
        return MemoryCoordinator(budgets)
    return FailClosedCoordinator(
        shared,
        budgets=budgets,
        colocated=settings.expected_colocated,
        fleet_size=settings.expected_fleet_size,
        # A refusal (NOPERM, ...) falls back like an outage, never through to the caller.
        unavailable=UNAVAILABLE + connection.REFUSED,
        diagnose=connection.diagnose,
    )


def redis_access(settings: BudgetSettings) -> connection.RedisAccess:
    """The credentials and CA bundle the settings name, read now (ConfigError if not)."""
    password = _read_setting_file("redis_password_file", settings.redis_password_file)
    ca_pem = _read_setting_file("redis_tls_ca_file", settings.redis_tls_ca_file)
    if ca_pem is not None and not _holds_a_certificate(ca_pem):
        # It would fail every handshake later, looking like an outage.
        raise ConfigError(
            f"{_invalid('redis_tls_ca_file')}: {settings.redis_tls_ca_file} holds no PEM "
            "certificate"
        )
    return connection.RedisAccess(
        username=settings.redis_username,
        password=password,
        ca_pem=ca_pem,
        sentinel_password=_read_setting_file(
            "sentinel_password_file", settings.sentinel_password_file
        ),
    )


def _read_setting_file(name: str, path: Path | None) -> str | None:
    """The text of the file setting `budget.<name>` names, without the line ending a
    Secret created from a file usually keeps (None when unset). Never the value in an
    error: only the setting and the path."""
    if path is None:
        return None
    where = _invalid(name)
    try:
        text = path.expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"{where}: cannot read {path} ({why})") from None
    text = text.rstrip("\r\n")
    if not text:
        raise ConfigError(f"{where}: {path} is empty")
    return text


def _holds_a_certificate(pem: str) -> bool:
    try:
        ssl.create_default_context().load_verify_locations(cadata=pem)
    except (ssl.SSLError, ValueError):
        return False
    return True


def _invalid(name: str) -> str:
    """The start of a settings error line for `budget.<name>`, as settings.py words it."""
    return f"invalid setting budget.{name} ({env_name(('budget', name))})"


def _host_port(entry: str) -> tuple[str, int]:
    host, _, port = entry.rpartition(":")
    return host, int(port)
