"""The runtime's one settings tree.

Precedence: environment > config file > defaults. Environment names follow the subnet's
miner guide (`SPARKET_WALLET__NAME`, `SPARKET_AXON__PORT`, `SPARKET_BASE_MINER__BATCH_SIZE`,
`SPARKET_MINER_API_PORT`, ...), so an existing miner's environment carries over; unlike the
reference miner, `SPARKET_AXON__EXTERNAL_IP/EXTERNAL_PORT` are honoured, and the environment
beats the file. Validation only, no I/O: `load_settings` turns any invalid value into a
`ConfigError` whose one line names the setting.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from miner_runtime.errors import ConfigError
from miner_runtime.protocol.messages import League

ENV_PREFIX = "SPARKET_"
NESTED_DELIMITER = "__"
CONFIG_FILE_ENV = "SPARKET_CONFIG_FILE"

Port = Field(ge=1, le=65535)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WalletSettings(_Section):
    """Which hotkey to load. Only the hotkey file (and coldkeypub.txt) need exist."""

    name: str = Field(default="default", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    hotkey: str = Field(default="default", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    path: Path = Path("~/.bittensor/wallets")


class AxonSettings(_Section):
    """Where the axon listens and what it advertises on chain."""

    host: str = "0.0.0.0"  # the axon must accept validators from outside
    port: int = Field(default=8094, ge=1, le=65535)
    # Published with serve_axon; when unset, host/port are published (as the reference does).
    external_ip: str | None = None
    external_port: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("external_ip")
    @classmethod
    def _routable_ip(cls, value: str | None) -> str | None:
        if value is None:
            return None
        address = ipaddress.ip_address(value)  # raises ValueError: "not a valid IP address"
        if address.is_unspecified:
            raise ValueError("must be a concrete address validators can reach, not 0.0.0.0")
        return value

    @property
    def advertised(self) -> tuple[str, int]:
        return (self.external_ip or self.host, self.external_port or self.port)


class SubtensorSettings(_Section):
    network: str = "finney"
    chain_endpoint: str | None = None
    netuid: int = Field(default=57, ge=0, le=65535)
    # network "mock" only: a JSON list of neurons that seeds the in-process MockSubtensor, so
    # a runtime started as its own process sees a simulated subnet (see chain/factory.py).
    mock_neurons_file: Path | None = None
    # The same list inline (a pod's settings file carries it: no file to mount). One or the
    # other; each entry is checked like a line of the file.
    mock_neurons: list[dict[str, Any]] | None = None


class BaseMinerSettings(_Section):
    """The built-in miner's cadences and pricing knobs (names from the miner guide)."""

    enabled: bool = True
    batch_size: int = Field(default=50, ge=1, le=200)
    odds_refresh_seconds: int = Field(default=900, ge=60, le=86400)
    outcome_check_seconds: int = Field(default=300, ge=30, le=86400)
    stats_refresh_seconds: int = Field(default=3600, ge=60, le=604800)
    cache_ttl_seconds: int = Field(default=3600, ge=0, le=604800)
    market_blend_weight: float = Field(default=0.60, ge=0.0, le=1.0)
    # The total margin added to fair odds. Validators take 1/odds as our forecast and score
    # its calibration, so any margin costs score: none by default (the reference adds 0.045).
    vig: float = Field(default=0.0, ge=0.0, le=0.25)
    odds_api_key: SecretStr | None = None
    # Random spread of cycle start times, so hotkeys started together do not push together.
    jitter_seconds: float = Field(default=30.0, ge=0.0, le=3600.0)
    # Which leagues this hotkey prices (the SparketMiner's spec.leagues); default: all.
    leagues: tuple[League, ...] = tuple(League)
    # Final results to push as outcomes (JSON list of {event_id, result, score_home, ...}).
    results_file: Path | None = None


_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


class PricingSettings(_Section):
    """Where prices come from (docs/pricing.md): the built-in engine and its data, or a
    model sidecar on localhost."""

    # A model sidecar's base URL (http://127.0.0.1:<port>); unset: the built-in engine.
    model_url: str | None = None
    model_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # Finished games for ratings and outcome pushes: ESPN's public scoreboard, or none.
    results_source: Literal["espn", "none"] = "espn"
    espn_base_url: str = "https://site.api.espn.com/apis/site/v2/sports"
    # How much results history the ratings are fitted on (about a season and a bit).
    history_days: int = Field(default=400, ge=7, le=3650)
    # The Odds API key, read from this file (a mounted Secret); `base_miner.odds_api_key`
    # (the reference miner's env variable) also works. Without either, no market blend.
    odds_api_key_file: Path | None = None
    odds_api_base_url: str = "https://api.the-odds-api.com/v4"
    odds_api_regions: str = Field(default="us,eu,uk", pattern=r"^[a-z]{2}(,[a-z]{2})*$")
    # Extra spellings of team names: {"alias": "canonical full name"}.
    team_aliases: dict[str, str] = Field(default_factory=dict)

    @field_validator("model_url")
    @classmethod
    def _loopback_http(cls, value: str | None) -> str | None:
        if value is None:
            return None
        url = httpx.URL(value)
        if url.scheme != "http" or url.host not in _LOOPBACK_HOSTS or url.port is None:
            raise ValueError("must be http://127.0.0.1:<port> (the sidecar in the same pod)")
        return value.rstrip("/")


class BudgetSettings(_Section):
    """Fleet budgets (docs/decisions.md § Fleet budgets). Without `redis_url` or
    `sentinels` the budgets are kept in this process only (a fleet of one)."""

    # redis://host:port/db, or rediss:// for TLS. No credentials: the URL usually sits in a
    # ConfigMap, so a password in it is refused (see redis_password_file).
    redis_url: SecretStr | None = None
    # Sentinel instead of a URL: "host:port" entries and the monitored service name.
    sentinels: tuple[str, ...] = ()
    sentinel_service: str = "sparket-budgets"
    # AUTH, for the URL's server or Sentinel's master: an ACL user (unset: the default
    # user) and a file holding the password (a mounted Secret), read once at start.
    redis_username: str | None = Field(default=None, min_length=1, pattern=r"^\S+$")
    redis_password_file: Path | None = None
    # TLS with Sentinel (to the Sentinels and the master); a URL says it with rediss://.
    redis_tls: bool = False
    # The PEM CA bundle Redis's certificate must chain to, added to the system's CAs
    # (unset: the system's CAs alone). Only with TLS.
    redis_tls_ca_file: Path | None = None
    # The Sentinels' own password (their `requirepass`), from a file; Sentinel only.
    sentinel_password_file: Path | None = None
    hotkey_per_minute: float = Field(default=50.0, gt=0, le=59)
    hotkey_burst: int = Field(default=3, ge=1, le=4)
    egress_ip_per_second: float = Field(default=15.0, gt=0, le=100)
    fleet_per_second: float = Field(default=20.0, gt=0, le=90)
    burst: int = Field(default=4, ge=1, le=20)
    max_wait_seconds: float = Field(default=1.0, gt=0, le=60)
    # Distinct failing hotkeys on one egress IP, in a validator's life, after which only
    # those may still send there (the validator cools the IP down at 5).
    failing_hotkeys_limit: int = Field(default=4, ge=1, le=4)
    # The validator's `token_rotation_seconds` (upstream default 3600, minimum 60): a token
    # is never pushed past the end of the epoch after the one it was received in.
    token_rotation_seconds: int = Field(default=3600, ge=60, le=86400)
    # How late a CONNECTION_INFO may arrive after its round began, plus the clock skew
    # between the budget store and the validators (at most a quarter of the rotation).
    token_clock_skew_seconds: float = Field(default=60.0, ge=0, le=900)
    # While Redis cannot answer: how many hotkeys are expected on this egress IP and in
    # the whole fleet (the local share divides the IP's and the fleet's budgets by them;
    # the fleet size defaults to expected_colocated).
    expected_colocated: int = Field(default=16, ge=1, le=10000)
    expected_fleet_size: int | None = Field(default=None, ge=1, le=10000)
    redis_timeout_seconds: float = Field(default=0.5, gt=0, le=10)

    @model_validator(mode="after")
    def _fleet_holds_the_colocated(self) -> BudgetSettings:
        fleet = self.expected_fleet_size
        if fleet is not None and fleet < self.expected_colocated:
            raise ValueError("expected_fleet_size must be at least expected_colocated")
        if self.token_clock_skew_seconds * 4 > self.token_rotation_seconds:
            raise ValueError("token_clock_skew_seconds must be at most token_rotation_seconds / 4")
        return self

    @field_validator("sentinels")
    @classmethod
    def _host_ports(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            host, _, port = entry.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{entry!r} is not host:port")
        return value

    @field_validator("redis_url")
    @classmethod
    def _no_credentials_in_url(cls, value: SecretStr | None) -> SecretStr | None:
        """A URL is configuration and lands in ConfigMaps, `check-config` output and
        process listings; credentials there would leak, so they have settings of their own
        (the value is never echoed back)."""
        if value is None:
            return None
        parts = urlsplit(value.get_secret_value())
        if parts.username is not None or parts.password is not None:
            raise ValueError(
                "must not carry credentials (it sits in a ConfigMap): use "
                "budget.redis_username and budget.redis_password_file"
            )
        if parts.query:
            raise ValueError("must not carry query options: use the budget.redis_* settings")
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError("must be a redis:// or rediss:// URL")
        return value

    @model_validator(mode="after")
    def _access_fits_the_connection(self) -> BudgetSettings:
        """Credentials and TLS settings that would be silently ignored are refused: a CA
        file without TLS suggests an encrypted connection where there is none."""
        shared = self.redis_url is not None or bool(self.sentinels)
        access = {
            "redis_username": self.redis_username is not None,
            "redis_password_file": self.redis_password_file is not None,
            "redis_tls": self.redis_tls,
            "redis_tls_ca_file": self.redis_tls_ca_file is not None,
            "sentinel_password_file": self.sentinel_password_file is not None,
        }
        for name, given in access.items():
            if given and not shared:
                raise ValueError(f"budget.{name} needs budget.redis_url or budget.sentinels")
        if self.sentinel_password_file is not None and not self.sentinels:
            raise ValueError("budget.sentinel_password_file needs budget.sentinels")
        if self.redis_tls and not self.tls:  # a URL without sentinels: its scheme says
            raise ValueError("budget.redis_tls needs a rediss:// budget.redis_url")
        if self.redis_tls_ca_file is not None and not self.tls:
            raise ValueError(
                "budget.redis_tls_ca_file needs TLS: a rediss:// budget.redis_url, or "
                "budget.redis_tls with budget.sentinels"
            )
        return self

    @property
    def tls(self) -> bool:
        """Whether the budget store is reached over TLS (Sentinel: `redis_tls`; a URL: its
        scheme)."""
        if self.sentinels:
            return self.redis_tls
        url = self.redis_url
        return url is not None and url.get_secret_value().startswith("rediss://")


class Settings(BaseSettings):
    """Everything one miner process needs to know, from env, file and defaults."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED_DELIMITER,
        case_sensitive=False,
        extra="forbid",
        frozen=True,
    )

    wallet: WalletSettings = WalletSettings()
    axon: AxonSettings = AxonSettings()
    subtensor: SubtensorSettings = SubtensorSettings()
    base_miner: BaseMinerSettings = BaseMinerSettings()
    budget: BudgetSettings = BudgetSettings()
    pricing: PricingSettings = PricingSettings()
    # Flat names for compatibility with the reference miner's SPARKET_MINER_API_ENABLED/PORT.
    miner_api_enabled: bool = True
    miner_api_host: str = "127.0.0.1"
    miner_api_port: int = Field(default=8198, ge=1, le=65535)
    data_dir: Path = Path("~/.sparket")
    # Empty: SQLite in data_dir. Otherwise a SQLAlchemy URL, e.g. postgresql+psycopg://...
    database_url: SecretStr | None = None
    # The public IP validators see our requests come from; budgets are keyed on it and the
    # Dendrite reports it (no external IP lookup is ever made).
    egress_ip: str | None = None
    # Accept CONNECTION_INFO_PUSH from hotkeys without a validator permit (local nets only).
    allow_unpermitted_validators: bool = False

    @field_validator("egress_ip")
    @classmethod
    def _egress_is_ip(cls, value: str | None) -> str | None:
        if value is not None:
            ipaddress.ip_address(value)
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_FILE_ENV)
        if config_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=Path(config_file)))
        return tuple(sources)


def env_name(location: tuple[int | str, ...]) -> str:
    """The environment variable that sets the field at `location` (for error lines)."""
    return ENV_PREFIX + NESTED_DELIMITER.join(str(part).upper() for part in location)


def _describe(error: Any) -> str:
    location = tuple(part for part in error["loc"] if not isinstance(part, int))
    dotted = ".".join(str(part) for part in location) or "(root)"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"unknown setting {dotted} ({env_name(location)})"
    return f"invalid setting {dotted} ({env_name(location)}): {message}"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings or raise `ConfigError` with one line naming the first bad field."""
    config_file = os.environ.get(CONFIG_FILE_ENV)
    if config_file and not Path(config_file).is_file():
        raise ConfigError(f"invalid setting {CONFIG_FILE_ENV}: no such file {config_file}")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        errors = exc.errors()
        extra = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(_describe(errors[0]) + extra) from None
    except ValueError as exc:  # e.g. a YAML file that does not parse
        raise ConfigError(f"invalid config file {config_file}: {exc}") from None
