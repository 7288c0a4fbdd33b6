"""The operator's one settings tree: environment (prefix SPARKET_OPERATOR_) over defaults.

Invalid values stop the process with one line naming the variable (see `load_settings`).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sparket_operator.reconcile.config import BudgetRedisSecret, runtime_defaults_problem

ENV_PREFIX = "SPARKET_OPERATOR_"
# A Secret key, as the API server allows them; "" means "no such item".
_SECRET_KEY = r"^[-._a-zA-Z0-9]*$"


class ConfigError(ValueError):
    """A setting is invalid; the message is one line naming it."""


class OperatorSettings(BaseSettings):
    """Everything the operator process is told, from `SPARKET_OPERATOR_*` variables."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    # Namespaces to watch; empty means cluster-wide (one operator for the whole fleet, so
    # duplicate hotkeys across namespaces are caught too).
    namespaces: list[str] = []
    # The miner runtime image when a SparketMiner does not name one.
    runtime_image: str = Field(default="sparket-miner-runtime:0.1.0", min_length=1)
    image_pull_policy: str = Field(default="IfNotPresent", pattern="^(Always|IfNotPresent|Never)$")
    # A shared NAT IP all miners egress through; empty: each node's ExternalIP. Fleet
    # budgets are keyed on this, so it must be the address validators actually see.
    egress_ip: str | None = None
    # Fleet-wide: at most this many available miners are taken down at once by a rollout.
    max_unavailable: int = Field(default=2, ge=1, le=1000)
    # Reconciles run by this many workers; each key is handled by one worker at a time.
    workers: int = Field(default=8, ge=1, le=128)
    # Every miner is re-checked this often even without events (level-triggered safety).
    resync_seconds: float = Field(default=600.0, ge=10.0)
    # Runtime /status polling: period, parallel requests, and the URL (placeholders
    # {pod_ip}, {port}, {namespace}, {name}).
    status_poll_seconds: float = Field(default=60.0, ge=1.0)
    status_poll_concurrency: int = Field(default=16, ge=1, le=256)
    status_poll_timeout_seconds: float = Field(default=5.0, gt=0.0, le=60.0)
    status_url_template: str = "http://{pod_ip}:{port}/status"
    # How often the per-namespace fleet summary (ConfigMap sparket-fleet-summary) is
    # recomputed; it is written only when it changed.
    fleet_summary_seconds: float = Field(default=30.0, ge=1.0)
    # How long a registered miner may show zero incentive before Earning turns False.
    earning_grace_seconds: float = Field(default=86400.0, ge=0.0)
    # Miner-runtime settings for every miner (the runtime's own snake_case tree, e.g.
    # {"budget": {"redis_url": "redis://redis:6379/0"}}), merged beneath what the operator
    # writes; keys the operator owns, or secrets, are refused at start (see _runtime_defaults).
    runtime_defaults: dict[str, Any] = {}
    # The budget Redis's credentials: a Secret of this name in each miner's namespace,
    # mounted read-only into every miner pod (only the keys below) and named by file in
    # the runtime config; empty: none. Its keys: the Redis password (AUTH, or the ACL
    # user's, see runtime_defaults' budget.redis_username), a PEM CA bundle for TLS, and
    # Sentinel's own password; "" leaves an item out.
    budget_redis_secret: str = Field(
        default="", max_length=253, pattern=r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$"
    )
    budget_redis_password_key: str = Field(default="password", max_length=253, pattern=_SECRET_KEY)
    budget_redis_ca_key: str = Field(default="", max_length=253, pattern=_SECRET_KEY)
    budget_sentinel_password_key: str = Field(default="", max_length=253, pattern=_SECRET_KEY)
    field_manager: str = "sparket-operator"
    # Probes and metrics of the operator process itself.
    health_host: str = "0.0.0.0"
    health_port: int = Field(default=8080, ge=1, le=65535)
    metrics_port: int = Field(default=9090, ge=0, le=65535)  # 0: no metrics server
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")

    @field_validator("egress_ip")
    @classmethod
    def _is_ip(cls, value: str | None) -> str | None:
        if value:
            ipaddress.ip_address(value)
            return value
        return None

    @field_validator("runtime_defaults")
    @classmethod
    def _runtime_defaults(cls, value: dict[str, Any]) -> dict[str, Any]:
        problem = runtime_defaults_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _budget_secret_items(self) -> OperatorSettings:
        """A named Secret must say what to mount from it, each item from its own key."""
        keys = [
            key
            for key in (
                self.budget_redis_password_key,
                self.budget_redis_ca_key,
                self.budget_sentinel_password_key,
            )
            if key
        ]
        if len(set(keys)) != len(keys):
            raise ValueError(
                "SPARKET_OPERATOR_BUDGET_REDIS_PASSWORD_KEY, _CA_KEY and "
                "SPARKET_OPERATOR_BUDGET_SENTINEL_PASSWORD_KEY must name different keys"
            )
        if not self.budget_redis_secret:
            return self
        if not keys:
            raise ValueError(
                "SPARKET_OPERATOR_BUDGET_REDIS_SECRET names a Secret but no key to mount from it"
            )
        budget = self.runtime_defaults.get("budget")
        if not isinstance(budget, dict) or not (budget.get("redis_url") or budget.get("sentinels")):
            # Every runtime would refuse credentials for a Redis it is not told of.
            raise ValueError(
                "SPARKET_OPERATOR_BUDGET_REDIS_SECRET needs a budget Redis in "
                "SPARKET_OPERATOR_RUNTIME_DEFAULTS (budget.redis_url or budget.sentinels)"
            )
        return self

    @property
    def clusterwide(self) -> bool:
        return not self.namespaces

    @property
    def budget_secret(self) -> BudgetRedisSecret | None:
        """The budget Redis Secret every miner pod mounts, or None."""
        if not self.budget_redis_secret:
            return None
        return BudgetRedisSecret(
            name=self.budget_redis_secret,
            password_key=self.budget_redis_password_key or None,
            ca_key=self.budget_redis_ca_key or None,
            sentinel_password_key=self.budget_sentinel_password_key or None,
        )


def load_settings() -> OperatorSettings:
    try:
        return OperatorSettings()
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"] if not isinstance(p, int))
        message = str(error["msg"]).removeprefix("Value error, ")
        if not field:  # a rule across settings: its message names them
            raise ConfigError(f"invalid settings: {message}") from None
        env = ENV_PREFIX + field.split(".")[0].upper()
        raise ConfigError(f"invalid setting {env}: {message}") from None
