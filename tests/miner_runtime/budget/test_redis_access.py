"""A production budget store: AUTH (password or ACL user) and TLS, standalone and Sentinel.

Every server here is a real redis-server (and redis-sentinel) started by the test with
`requirepass`, ACL users or a TLS port only, with certificates made in-process. The
credentials reach the runtime as files, as a mounted Secret would; a wrong one must leave
the runtime on its local share (never open), say why once, and never print the secret.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from miner_runtime.budget.connection import AUTH, TLS, UNREACHABLE, RedisAccess
from miner_runtime.budget.coordinator import BudgetCoordinator
from miner_runtime.budget.factory import coordinator_from_settings, redis_access
from miner_runtime.budget.failsafe import FailClosedCoordinator, degraded_reason
from miner_runtime.budget.model import Ask, Denied, Grant
from miner_runtime.errors import ConfigError
from miner_runtime.logs import JsonFormatter
from miner_runtime.settings import BudgetSettings, load_settings
from sparket_local_services.pki import ServerPki, make_server_pki
from sparket_local_services.ports import free_port, is_listening
from sparket_local_services.processes import ManagedProcess
from sparket_local_services.services import RedisServer, find_redis_server

# Distinctive values, so that finding one in a log line or a document cannot be chance.
PASSWORD = "pw-budgets-Zq81vX"
USER = "sparket"
USER_PASSWORD = "pw-acl-user-Wm27"
SENTINEL_PASSWORD = "pw-sentinel-Kd55"
WRONG = "pw-wrong-Hh03"
SECRETS = (PASSWORD, USER_PASSWORD, SENTINEL_PASSWORD, WRONG)
# The least-privilege ACL user docs/install.md recommends: the budget keys only, the
# command groups the scripts and the push-lease wake-ups use, nothing dangerous.
LEAST_PRIVILEGE = (
    f"{USER} on >{USER_PASSWORD} ~sparket:* resetchannels -@all +@read +@write +@scripting "
    "+@connection +@blocking +time -@dangerous"
)
# An ACL user that may log in but not run the budget scripts.
POWERLESS = "watcher on >pw-watcher-Pp19 ~* -@all +ping"
SERVICE = "sparket-budgets"
EGRESS = "203.0.113.10"


def _ask() -> Ask:
    return Ask(validator=f"5V{uuid.uuid4().hex}", hotkey="hk", egress_ip=EGRESS)


def _secret_file(directory: Path, name: str, value: str) -> Path:
    """A password as `kubectl create secret --from-file` would mount it: with its newline."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(value + "\n")
    return path


def _json_lines(records: list[logging.LogRecord]) -> str:
    """The log records as the runtime prints them (JSON with every structured field)."""
    formatter = JsonFormatter()
    return "\n".join(formatter.format(record) for record in records)


async def _spin(coordinator: BudgetCoordinator, asks: int = 4) -> list[float]:
    """The waits of `asks` acquires for one hotkey: a local share's spacing shows."""
    ask = _ask()
    waits = []
    for _ in range(asks):
        decision = await coordinator.acquire(ask)
        assert isinstance(decision, Grant)  # never an exception, never a refusal on faith
        waits.append(decision.wait)
    return waits


# --- settings and files: refused at start, naming the setting, never echoing a secret ----


@pytest.mark.parametrize(
    "url",
    [
        f"redis://:{PASSWORD}@redis.example:6379/0",
        f"rediss://{USER}:{PASSWORD}@redis.example:6380/0",
        f"redis://redis.example:6379/0?password={PASSWORD}",
    ],
    ids=["password", "user-and-password", "query"],
)
def test_a_password_in_the_url_is_refused_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("SPARKET_BUDGET__REDIS_URL", url)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    line = str(raised.value)
    assert line.startswith("invalid setting budget.redis_url (SPARKET_BUDGET__REDIS_URL): ")
    assert "\n" not in line and PASSWORD not in line


@pytest.mark.parametrize(
    ("budget", "says"),
    [
        ({"redis_password_file": "/p"}, "budget.redis_password_file needs budget.redis_url"),
        ({"redis_username": USER}, "budget.redis_username needs budget.redis_url"),
        (
            {"redis_url": "redis://r:6379/0", "redis_tls_ca_file": "/ca.crt"},
            "budget.redis_tls_ca_file needs TLS",
        ),
        ({"redis_url": "redis://r:6379/0", "redis_tls": True}, "needs a rediss://"),
        (
            {"redis_url": "redis://r:6379/0", "sentinel_password_file": "/p"},
            "budget.sentinel_password_file needs budget.sentinels",
        ),
        (
            {"sentinels": ["s:26379"], "redis_tls_ca_file": "/ca.crt"},
            "budget.redis_tls_ca_file needs TLS",
        ),
        ({"redis_url": "unix:///run/redis.sock"}, "must be a redis:// or rediss:// URL"),
    ],
    ids=[
        "password-without-redis",
        "user-without-redis",
        "ca-without-tls",
        "tls-flag-with-plain-url",
        "sentinel-password-without-sentinels",
        "sentinel-ca-without-tls",
        "unix-socket",
    ],
)
def test_access_settings_that_would_be_ignored_are_refused(
    budget: dict[str, Any], says: str
) -> None:
    with pytest.raises(ConfigError, match=r"^invalid setting budget[ .]") as raised:
        load_settings(budget=budget)
    assert says in str(raised.value)


def test_valid_access_settings_load() -> None:
    tls_url = load_settings(
        budget={"redis_url": "rediss://r:6380/0", "redis_tls_ca_file": "/ca.crt"}
    ).budget
    assert tls_url.tls
    sentinel = load_settings(
        budget={"sentinels": ["s:26379"], "redis_tls": True, "sentinel_password_file": "/p"}
    ).budget
    assert sentinel.tls
    assert not load_settings(budget={"redis_url": "redis://r:6379/0"}).budget.tls


@pytest.mark.parametrize(
    ("setting", "make", "says"),
    [
        ("redis_password_file", lambda d: d / "absent", "cannot read"),
        ("redis_password_file", lambda d: d, "cannot read"),  # a directory: unreadable
        ("redis_password_file", lambda d: _secret_file(d, "empty", ""), "is empty"),
        ("redis_tls_ca_file", lambda d: _secret_file(d, "ca.crt", "not a certificate"), "no PEM"),
        ("sentinel_password_file", lambda d: d / "absent", "cannot read"),
    ],
    ids=["missing", "unreadable", "empty", "ca-without-certificate", "sentinel-missing"],
)
def test_an_unusable_file_stops_the_start_with_one_line_naming_the_setting(
    tmp_path: Path, setting: str, make: Any, says: str
) -> None:
    budget: dict[str, Any] = {"sentinels": ["127.0.0.1:1"], "redis_tls": True}
    budget[setting] = make(tmp_path)
    with pytest.raises(ConfigError) as raised:
        coordinator_from_settings(BudgetSettings(**budget))
    line = str(raised.value)
    env = "SPARKET_BUDGET__" + setting.upper()
    assert line.startswith(f"invalid setting budget.{setting} ({env}): ")
    assert says in line and "\n" not in line


def test_the_password_is_read_without_its_line_ending_and_never_shown(tmp_path: Path) -> None:
    settings = BudgetSettings(
        redis_url="redis://127.0.0.1:1/0",
        redis_username=USER,
        redis_password_file=_secret_file(tmp_path, "password", PASSWORD),
    )
    access = redis_access(settings)
    assert access.password == PASSWORD and access.username == USER
    shown = [
        repr(access),
        str(access),
        repr(settings),
        json.dumps(settings.model_dump(mode="json")),
    ]
    assert not any(PASSWORD in text for text in shown)


# --- real servers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ServerPki:
    return make_server_pki(tmp_path_factory.mktemp("redis-pki"), common_name="budgets")


@pytest.fixture(scope="module")
def wrong_pki(tmp_path_factory: pytest.TempPathFactory) -> ServerPki:
    """Another CA altogether: Redis's certificate does not chain to it."""
    return make_server_pki(tmp_path_factory.mktemp("other-pki"), common_name="other")


@pytest.fixture(scope="module")
def secured_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """`requirepass` for the default user, plus a least-privilege and a powerless ACL user."""
    server = RedisServer(
        workdir=tmp_path_factory.mktemp("redis-auth"),
        password=PASSWORD,
        acl=(LEAST_PRIVILEGE, POWERLESS),
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory, pki: ServerPki) -> Iterator[RedisServer]:
    """TLS only (no plain port) and a password."""
    server = RedisServer(workdir=tmp_path_factory.mktemp("redis-tls"), password=PASSWORD, tls=pki)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    return tmp_path / "secret"


def _coordinator(**budget: Any) -> FailClosedCoordinator:
    """What the factory builds for these settings; grants up to 10 s out, so the local
    share's spacing (1.2 s at the default 50/min a hotkey) shows instead of refusals."""
    budget.setdefault("max_wait_seconds", 10.0)
    built = coordinator_from_settings(BudgetSettings(**budget))
    assert isinstance(built, FailClosedCoordinator)
    return built


@pytest.mark.services
async def test_the_password_from_a_file_opens_the_shared_store(
    secured_redis: RedisServer, secrets_dir: Path
) -> None:
    coordinator = _coordinator(
        redis_url=secured_redis.url,
        redis_password_file=_secret_file(secrets_dir, "password", PASSWORD),
    )
    try:
        ask = _ask()
        await coordinator.record_token(ask.validator, "t" * 64)
        assert await coordinator.token(ask.validator) == "t" * 64  # read back from Redis
        assert isinstance(await coordinator.acquire(ask), Grant)
        assert not coordinator.degraded and coordinator.reason is None
    finally:
        await coordinator.close()


@pytest.mark.services
async def test_a_least_privilege_acl_user_runs_every_budget_operation(
    secured_redis: RedisServer, secrets_dir: Path
) -> None:
    coordinator = _coordinator(
        redis_url=secured_redis.url,
        redis_username=USER,
        redis_password_file=_secret_file(secrets_dir, "password", USER_PASSWORD),
    )
    ask = _ask()
    push = Ask(ask.validator, ask.hotkey, ask.egress_ip, push=True)
    try:
        shared = coordinator.primary
        await shared.record_token(ask.validator, "t" * 64)
        assert await shared.token(ask.validator) == "t" * 64
        assert isinstance(await shared.acquire(ask), Grant)
        # Allowed to run (its verdict is the gates' business, not the ACL's).
        assert isinstance(await shared.check(push), Grant | Denied)
        await shared.release(ask.validator, EGRESS, ask.hotkey)
        await shared.await_release(ask.validator, EGRESS, 0.05)
        await shared.token_accepted(ask.validator, "t" * 64)
        await shared.token_suspect(ask.validator)
        await shared.record_failure(ask.validator, EGRESS, ask.hotkey)
        await shared.pause(ask.validator, EGRESS, 1.0, "cooldown")
        assert not coordinator.degraded
    finally:
        await coordinator.close()


@pytest.mark.services
@pytest.mark.parametrize(
    ("username", "password"),
    [(None, WRONG), (None, None), (USER, WRONG), ("watcher", "pw-watcher-Pp19")],
    ids=["wrong-password", "no-password-noauth", "wrong-acl-password", "acl-user-without-rights"],
)
async def test_a_refused_login_falls_back_to_the_local_share_with_the_auth_reason(
    secured_redis: RedisServer,
    secrets_dir: Path,
    caplog: pytest.LogCaptureFixture,
    username: str | None,
    password: str | None,
) -> None:
    budget: dict[str, Any] = {"redis_url": secured_redis.url, "expected_colocated": 8}
    if username is not None:
        budget["redis_username"] = username
    if password is not None:
        budget["redis_password_file"] = _secret_file(secrets_dir, "password", password)
    coordinator = _coordinator(**budget)
    try:
        with caplog.at_level(logging.DEBUG):
            waits = await _spin(coordinator)
            assert coordinator.degraded and coordinator.reason == AUTH
            assert degraded_reason(coordinator) == AUTH
            await asyncio.sleep(1.1)  # past the 1 s retry: Redis is asked, and refuses, again
            await _spin(coordinator, asks=1)
        # The local share (the default hotkey rate, 50/min, is the smallest: no burst),
        # not the shared store's burst of 3.
        interval = 60 / 50.0
        assert [b - a for a, b in itertools.pairwise(waits)] == pytest.approx(
            [interval] * 3, abs=0.05
        )
        assert coordinator.reason == AUTH and coordinator.outages == 1
        refused = [r for r in caplog.records if r.getMessage() == "budget_store_refused"]
        assert len(refused) == 1  # once, however often Redis refuses
        assert refused[0].levelno == logging.ERROR
        line = json.loads(_json_lines(refused))
        assert line["reason"] == AUTH and "budget.redis_password_file" in line["fix"]
        assert not any(secret in _json_lines(caplog.records) for secret in SECRETS)
    finally:
        await coordinator.close()


@pytest.mark.services
async def test_rediss_with_the_ca_bundle_verifies_and_authenticates(
    tls_redis: RedisServer, pki: ServerPki, secrets_dir: Path
) -> None:
    assert tls_redis.url.startswith("rediss://127.0.0.1:")
    coordinator = _coordinator(
        redis_url=tls_redis.url,
        redis_password_file=_secret_file(secrets_dir, "password", PASSWORD),
        redis_tls_ca_file=pki.ca_cert,
    )
    try:
        assert isinstance(await coordinator.acquire(_ask()), Grant)
        assert not coordinator.degraded
    finally:
        await coordinator.close()


@pytest.mark.services
@pytest.mark.parametrize("ca", ["wrong-ca", "system-cas"])
async def test_a_certificate_that_does_not_verify_fails_closed_with_the_tls_reason(
    tls_redis: RedisServer,
    wrong_pki: ServerPki,
    secrets_dir: Path,
    caplog: pytest.LogCaptureFixture,
    ca: str,
) -> None:
    budget: dict[str, Any] = {
        "redis_url": tls_redis.url,
        "redis_password_file": _secret_file(secrets_dir, "password", PASSWORD),
    }
    if ca == "wrong-ca":
        budget["redis_tls_ca_file"] = wrong_pki.ca_cert
    coordinator = _coordinator(**budget)
    try:
        with caplog.at_level(logging.WARNING):
            await _spin(coordinator)
        assert coordinator.degraded and coordinator.reason == TLS
        refused = [r for r in caplog.records if r.getMessage() == "budget_store_refused"]
        assert len(refused) == 1 and "redis_tls_ca_file" in json.loads(_json_lines(refused))["fix"]
        assert PASSWORD not in _json_lines(caplog.records)
    finally:
        await coordinator.close()


@pytest.mark.services
async def test_plain_redis_to_a_tls_port_is_an_outage_not_a_grant(
    tls_redis: RedisServer, secrets_dir: Path
) -> None:
    coordinator = _coordinator(
        redis_url=tls_redis.url.replace("rediss://", "redis://"),
        redis_password_file=_secret_file(secrets_dir, "password", PASSWORD),
    )
    try:
        await _spin(coordinator)
        assert coordinator.degraded and coordinator.reason == UNREACHABLE
    finally:
        await coordinator.close()


# --- Sentinel ---------------------------------------------------------------------------


@dataclass
class Sentinel:
    port: int
    process: ManagedProcess


def _start_sentinel(
    directory: Path, master: RedisServer, *, password: str | None, tls: ServerPki | None
) -> Sentinel:
    """A real redis-sentinel watching `master`, which it logs in to with PASSWORD; its own
    `requirepass` is `password`; with `tls` it serves and reaches the master over TLS only."""
    port = free_port()
    lines = [f"bind 127.0.0.1\ndir {directory}"]
    if tls is None:
        lines.append(f"port {port}")
    else:
        lines += [
            f"port 0\ntls-port {port}\ntls-replication yes\ntls-auth-clients no",
            f"tls-cert-file {tls.server_cert}\ntls-key-file {tls.server_key}",
            f"tls-ca-cert-file {tls.ca_cert}",
        ]
    if password is not None:
        lines.append(f"requirepass {password}")
    lines += [
        f"sentinel monitor {SERVICE} 127.0.0.1 {master.port} 1",
        f"sentinel auth-pass {SERVICE} {PASSWORD}",
    ]
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "sentinel.conf"
    config.write_text("\n".join(lines) + "\n")
    config.chmod(0o600)
    process = ManagedProcess(
        name="redis-sentinel",
        argv=[str(find_redis_server()), str(config), "--sentinel"],
        log_path=directory / "sentinel.log",
    )
    process.start()
    process.wait_until(lambda: is_listening(port), timeout=20, what="sentinel accepting")
    return Sentinel(port, process)


@pytest.fixture(scope="module")
def tls_sentinel(
    tmp_path_factory: pytest.TempPathFactory, tls_redis: RedisServer, pki: ServerPki
) -> Iterator[Sentinel]:
    sentinel = _start_sentinel(
        tmp_path_factory.mktemp("sentinel-tls"), tls_redis, password=SENTINEL_PASSWORD, tls=pki
    )
    yield sentinel
    sentinel.process.stop()


@pytest.fixture(scope="module")
def plain_sentinel(
    tmp_path_factory: pytest.TempPathFactory, secured_redis: RedisServer
) -> Iterator[Sentinel]:
    sentinel = _start_sentinel(
        tmp_path_factory.mktemp("sentinel"), secured_redis, password=SENTINEL_PASSWORD, tls=None
    )
    yield sentinel
    sentinel.process.stop()


def _sentinel_budget(sentinel: Sentinel, secrets_dir: Path, **extra: Any) -> dict[str, Any]:
    return {
        "sentinels": [f"127.0.0.1:{sentinel.port}"],
        "sentinel_service": SERVICE,
        "redis_password_file": _secret_file(secrets_dir, "password", PASSWORD),
        **extra,
    }


@pytest.mark.services
async def test_sentinel_with_its_own_password_and_an_authenticated_master(
    plain_sentinel: Sentinel, secrets_dir: Path
) -> None:
    secret = _secret_file(secrets_dir, "sentinel-password", SENTINEL_PASSWORD)
    coordinator = _coordinator(
        **_sentinel_budget(plain_sentinel, secrets_dir, sentinel_password_file=secret)
    )
    try:
        assert isinstance(await coordinator.acquire(_ask()), Grant)
        assert not coordinator.degraded
    finally:
        await coordinator.close()


@pytest.mark.services
async def test_sentinel_and_master_over_tls_with_auth(
    tls_sentinel: Sentinel, pki: ServerPki, secrets_dir: Path
) -> None:
    secret = _secret_file(secrets_dir, "sentinel-password", SENTINEL_PASSWORD)
    coordinator = _coordinator(
        **_sentinel_budget(
            tls_sentinel,
            secrets_dir,
            sentinel_password_file=secret,
            redis_tls=True,
            redis_tls_ca_file=pki.ca_cert,
        )
    )
    try:
        assert isinstance(await coordinator.acquire(_ask()), Grant)
        assert not coordinator.degraded
    finally:
        await coordinator.close()


@pytest.mark.services
@pytest.mark.parametrize("refused_by", ["sentinel", "master"])
async def test_a_sentinel_or_master_refusing_the_password_is_the_auth_reason(
    plain_sentinel: Sentinel, secrets_dir: Path, caplog: pytest.LogCaptureFixture, refused_by: str
) -> None:
    sentinel_password = WRONG if refused_by == "sentinel" else SENTINEL_PASSWORD
    budget = _sentinel_budget(
        plain_sentinel,
        secrets_dir,
        sentinel_password_file=_secret_file(secrets_dir, "sentinel", sentinel_password),
    )
    if refused_by == "master":
        budget["redis_password_file"] = _secret_file(secrets_dir, "password", WRONG)
    coordinator = _coordinator(**budget)
    try:
        with caplog.at_level(logging.DEBUG):
            await _spin(coordinator)
        assert coordinator.degraded and coordinator.reason == AUTH
        assert not any(secret in _json_lines(caplog.records) for secret in SECRETS)
    finally:
        await coordinator.close()


def test_access_reprs_hide_every_secret() -> None:
    access = RedisAccess(
        username=USER, password=PASSWORD, ca_pem="PEM", sentinel_password=SENTINEL_PASSWORD
    )
    assert USER in repr(access)
    assert PASSWORD not in repr(access) and SENTINEL_PASSWORD not in repr(access)


@pytest.mark.services
async def test_an_error_reply_that_is_no_refusal_is_raised_not_hidden(
    secured_redis: RedisServer, secrets_dir: Path
) -> None:
    """Only refusals and outages fall back: a script failing on the data (here a budget
    hash that is not a hash) is a bug, and must surface rather than pass for an outage."""
    coordinator = _coordinator(
        redis_url=secured_redis.url,
        redis_password_file=_secret_file(secrets_dir, "password", PASSWORD),
    )
    ask = _ask()
    raw = aioredis.Redis.from_url(secured_redis.url, password=PASSWORD)
    try:
        await raw.set(f"sparket:{{v:{ask.validator}}}", "not a hash")
        with pytest.raises(redis_errors.ResponseError, match="WRONGTYPE"):
            await coordinator.acquire(ask)
        assert not coordinator.degraded
    finally:
        await raw.aclose()
        await coordinator.close()


@pytest.mark.services
async def test_a_full_redis_fails_closed_to_the_local_share(
    secured_redis: RedisServer, secrets_dir: Path
) -> None:
    """With maxmemory and noeviction (as the chart runs it) a full Redis refuses every
    write with OOM: the budgets cannot be kept there, so the local share applies, never
    open, and the shared store is used again once it has room."""
    coordinator = _coordinator(
        redis_url=secured_redis.url,
        redis_password_file=_secret_file(secrets_dir, "password", PASSWORD),
    )
    raw = aioredis.Redis.from_url(secured_redis.url, password=PASSWORD)
    try:
        await raw.config_set("maxmemory-policy", "noeviction")
        await raw.config_set("maxmemory", "1")  # below what the server already uses: full
        ask = _ask()
        assert isinstance(await coordinator.acquire(ask), Grant)  # the local share's
        assert coordinator.degraded and coordinator.reason == UNREACHABLE
        await raw.config_set("maxmemory", "0")
        await asyncio.sleep(1.1)  # past the 1 s retry interval: the shared store is asked again
        assert isinstance(await coordinator.acquire(_ask()), Grant)
        assert not coordinator.degraded
    finally:
        await raw.config_set("maxmemory", "0")
        await raw.aclose()
        await coordinator.close()
