"""The budget rules for a fleet, in Redis: one atomic Lua script per operation.

One acquire is one round trip (EVALSHA) that checks the pause, the failure budget, the
token and all three budgets and reserves the slot: three commands inside
Redis (TIME, HMGET, HSET) on one hash per validator, whose name carries the validator as a
Redis Cluster hash tag. A check (the gates alone, just before a send that waited) is the
same script in its other mode. Scripts are
package data (`lua/*.lua`), loaded once and called by SHA; a server that lost them
(restart, failover) gets them again transparently.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from importlib import resources

import redis.asyncio as redis
from redis import exceptions as redis_errors
from redis.commands.core import AsyncScript

from miner_runtime.budget import connection
from miner_runtime.budget.model import (
    Ask,
    Budgets,
    Decision,
    Denied,
    FailureMemory,
    Grant,
    Rule,
)

PREFIX = "sparket"


def _script(name: str) -> str:
    return resources.files("miner_runtime.budget").joinpath("lua", name).read_text()


def _tag(validator: str) -> str:
    return f"{PREFIX}:{{v:{validator}}}"


def _wake_key(validator: str, egress_ip: str) -> str:
    return f"{_tag(validator)}:wake:{egress_ip}"


@functools.lru_cache(maxsize=4096)
def acquire_keys(ask: Ask) -> tuple[str, ...]:
    """(state hash key, then its fields: fleet, IP, hotkey, pause, failing; the hotkey)."""
    return (
        _tag(ask.validator),
        "fleet",
        f"ip:{ask.egress_ip}",
        f"hk:{ask.hotkey}",
        f"pause:{ask.egress_ip}",
        f"failing:{ask.egress_ip}",
        ask.hotkey,
    )


@functools.lru_cache(maxsize=4096)
def steer_field(egress_ip: str) -> str:
    return f"steer:{egress_ip}"


@functools.lru_cache(maxsize=4096)
def lease_field(egress_ip: str) -> str:
    return f"inflight:{egress_ip}"


class RedisCoordinator:
    def __init__(
        self,
        client: redis.Redis,
        budgets: Budgets,
        *,
        sentinels: Sequence[redis.Redis] = (),
        timeout: float = 0.5,
    ) -> None:
        self.client = client
        # A blocking wait must end well before the socket timeout would call Redis down.
        self._blocking_cap = timeout / 2
        self._sentinels = tuple(sentinels)  # closed with us
        self.budgets = budgets
        self._acquire_source = _script("acquire.lua")
        self._acquire_sha = hashlib.sha1(self._acquire_source.encode()).hexdigest()
        self._pause: AsyncScript = client.register_script(_script("pause.lua"))
        self._record_failure: AsyncScript = client.register_script(_script("record_failure.lua"))
        self._token: AsyncScript = client.register_script(_script("token.lua"))
        self._release: AsyncScript = client.register_script(_script("release.lua"))
        self._memory_ms = round(budgets.failure_memory_seconds * 1000)
        self._args: tuple[int, ...] = (
            *(n for rate in budgets.rates() for n in (rate.interval_ms, rate.tolerance_ms)),
            round(budgets.max_wait_seconds * 1000),
            budgets.failing_hotkeys_limit,
            self._memory_ms,
        )
        self._epoch_args = (
            round(budgets.token_rotation_seconds * 1000),
            round(budgets.token_clock_skew_seconds * 1000),
        )
        self._no_token_retry_ms = round(budgets.no_token_retry_seconds * 1000)
        self._steer_args = (
            round(budgets.steer_seconds * 1000),
            max(1, round(budgets.steer_retry_seconds * 1000)),
        )
        self._lease_args = (
            round(budgets.push_lease_seconds * 1000),
            max(1, round(budgets.busy_retry_seconds * 1000)),
        )

    @classmethod
    def from_url(
        cls,
        url: str,
        budgets: Budgets,
        *,
        timeout: float = 0.5,
        access: connection.RedisAccess | None = None,
    ) -> RedisCoordinator:
        """A client that fails fast (no retries, short timeouts): an unreachable Redis
        must hand over to the fail-closed local share at once, not after seconds."""
        access = access or connection.RedisAccess()
        client = connection.url_client(url, timeout=timeout, access=access)
        return cls(client, budgets, timeout=timeout)

    @classmethod
    def from_sentinel(
        cls,
        sentinels: list[tuple[str, int]],
        service: str,
        budgets: Budgets,
        *,
        timeout: float = 0.5,
        tls: bool = False,
        access: connection.RedisAccess | None = None,
    ) -> RedisCoordinator:
        """The master Sentinel names for `service`, found again after a failover."""
        client, sentinel_clients = connection.sentinel_clients(
            sentinels, service, timeout=timeout, tls=tls, access=access or connection.RedisAccess()
        )
        return cls(client, budgets, sentinels=sentinel_clients, timeout=timeout)

    async def acquire(self, ask: Ask) -> Decision:
        return await self._gatekeeper(ask, "reserve")

    async def check(self, ask: Ask) -> Decision:
        return await self._gatekeeper(ask, "check")

    async def _gatekeeper(self, ask: Ask, mode: str) -> Decision:
        """One EVALSHA (the hot path skips redis-py's Script wrapper); a server that lost
        the script (restart, failover) gets it loaded again and the call repeated."""
        key, *fields = acquire_keys(ask)
        ip = ask.egress_ip
        command = (
            1,
            key,
            *fields,
            *self._args,
            1 if ask.push else 0,
            mode,
            *self._epoch_args,
            self._no_token_retry_ms,
            steer_field(ip),
            *self._steer_args,
            lease_field(ip),
            *self._lease_args,
        )
        try:
            reply = await self.client.execute_command(  # type: ignore[no-untyped-call]
                "EVALSHA", self._acquire_sha, *command
            )
        except redis_errors.NoScriptError:
            await self.client.script_load(self._acquire_source)
            reply = await self.client.execute_command(  # type: ignore[no-untyped-call]
                "EVALSHA", self._acquire_sha, *command
            )
        if reply[0] == 1:
            return Grant(reply[1] / 1000.0, _text(reply[2]) or None, proving=reply[3] == 1)
        return Denied(reply[1] / 1000.0, Rule(_text(reply[2])), _text(reply[3]))

    async def pause(self, validator: str, egress_ip: str, seconds: float, reason: str) -> None:
        await self._pause(
            keys=[_tag(validator)],
            args=[f"pause:{egress_ip}", max(1, round(seconds * 1000)), reason],
        )

    async def release(self, validator: str, egress_ip: str, hotkey: str) -> None:
        await self._release(
            keys=[_tag(validator), _wake_key(validator, egress_ip)],
            args=[lease_field(egress_ip), hotkey],
        )

    async def await_release(self, validator: str, egress_ip: str, at_most: float) -> None:
        """Block (BLPOP, no polling) until a push lease on (validator, IP) is given back,
        or `at_most` seconds (kept under the client's socket timeout) pass."""
        seconds = max(0.01, min(at_most, self._blocking_cap))
        await self.client.blpop([_wake_key(validator, egress_ip)], timeout=seconds)  # type: ignore[misc]

    async def record_failure(
        self, validator: str, egress_ip: str, hotkey: str, rejected_token: str | None = None
    ) -> FailureMemory:
        distinct, restarted = await self._record_failure(
            keys=[_tag(validator)],
            args=[
                f"failing:{egress_ip}",
                hotkey,
                self._memory_ms,
                rejected_token or "",
                *self._epoch_args,
            ],
        )
        return FailureMemory(int(distinct), restarted == 1)

    async def record_token(self, validator: str, token: str, age_seconds: float = 0.0) -> None:
        age_ms = max(0, round(age_seconds * 1000))
        await self._token(keys=[_tag(validator)], args=["record", token, age_ms])

    async def token(self, validator: str) -> str | None:
        found = await self._token(keys=[_tag(validator)], args=["get", *self._epoch_args])
        return _text(found) if found else None

    async def token_accepted(self, validator: str, token: str) -> None:
        await self._token(keys=[_tag(validator)], args=["accepted", token, 0])

    async def token_suspect(self, validator: str) -> None:
        await self._token(keys=[_tag(validator)], args=["suspect", "", 0])

    @property
    def degraded(self) -> bool:
        return False

    async def close(self) -> None:
        await self.client.aclose()
        for sentinel in self._sentinels:
            await sentinel.aclose()


def _text(value: bytes | str | int) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# What "Redis cannot answer" looks like to the fail-closed wrapper.
UNAVAILABLE: tuple[type[Exception], ...] = (
    redis_errors.ConnectionError,  # includes sentinel's MasterNotFoundError
    redis_errors.TimeoutError,
    redis_errors.BusyLoadingError,
    # A full Redis (maxmemory with noeviction, as the chart runs it) refuses writes: the
    # budgets cannot be kept there, so the local share applies until it has room again.
    redis_errors.OutOfMemoryError,
)
