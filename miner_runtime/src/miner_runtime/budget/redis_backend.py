"""The budget rules for a fleet, in Redis: one atomic Lua script per operation.

One acquire is one round trip (EVALSHA) that checks the pause and all three budgets and
reserves the slot. Keys share the validator's hash tag so the script's keys live in one
Redis Cluster slot. Scripts are package data (`lua/*.lua`), loaded once and called by
SHA; a server that lost them (restart, failover) gets them again transparently.
"""

from __future__ import annotations

from importlib import resources

import redis.asyncio as redis
from redis import exceptions as redis_errors
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript

from miner_runtime.budget.model import Ask, Budgets, Decision, Denied, Grant

PREFIX = "sparket"


def _script(name: str) -> str:
    return resources.files("miner_runtime.budget").joinpath("lua", name).read_text()


def _tag(validator: str) -> str:
    return f"{PREFIX}:{{v:{validator}}}"


def acquire_keys(ask: Ask) -> list[str]:
    tag = _tag(ask.validator)
    return [
        f"{tag}:fleet",
        f"{tag}:ip:{ask.egress_ip}",
        f"{tag}:hk:{ask.hotkey}",
        f"{tag}:pause:{ask.egress_ip}",
    ]


class RedisCoordinator:
    def __init__(self, client: redis.Redis, budgets: Budgets) -> None:
        self.client = client
        self.budgets = budgets
        self._acquire: AsyncScript = client.register_script(_script("acquire.lua"))
        self._pause: AsyncScript = client.register_script(_script("pause.lua"))
        self._args: list[int] = [
            n for rate in budgets.rates() for n in (rate.interval_ms, rate.tolerance_ms)
        ] + [round(budgets.max_wait_seconds * 1000)]

    @classmethod
    def from_url(cls, url: str, budgets: Budgets, *, timeout: float = 0.5) -> RedisCoordinator:
        """A client that fails fast (no retries, short timeouts): an unreachable Redis
        must hand over to the fail-closed local share at once, not after seconds."""
        client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        return cls(client, budgets)

    async def acquire(self, ask: Ask) -> Decision:
        granted, millis, reason = await self._acquire(keys=acquire_keys(ask), args=self._args)
        if int(granted):
            return Grant(int(millis) / 1000.0)
        return Denied(int(millis) / 1000.0, str(reason))

    async def pause(self, validator: str, egress_ip: str, seconds: float, reason: str) -> None:
        key = f"{_tag(validator)}:pause:{egress_ip}"
        await self._pause(keys=[key], args=[max(1, round(seconds * 1000)), reason])

    async def close(self) -> None:
        await self.client.aclose()


# What "Redis cannot answer" looks like to the fail-closed wrapper.
UNAVAILABLE: tuple[type[Exception], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.BusyLoadingError,
)
