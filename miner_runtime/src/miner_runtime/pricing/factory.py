"""Builds the pricing engine and its data sources from `pricing.*` settings."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from miner_runtime.errors import ConfigError
from miner_runtime.pricing.builtin import BuiltinEngine
from miner_runtime.pricing.engine import PricingEngine
from miner_runtime.pricing.names import TeamNames
from miner_runtime.pricing.results import ResultsSource
from miner_runtime.pricing.sidecar import SidecarEngine
from miner_runtime.pricing.sources.espn import EspnResults
from miner_runtime.pricing.sources.theodds import OddsApiClient
from miner_runtime.settings import Settings


@dataclass(frozen=True)
class Pricing:
    engine: PricingEngine
    names: TeamNames
    # Set when the built-in engine prices (it is refitted on the results history).
    builtin: BuiltinEngine | None
    # Where finished games come from (ratings and outcome pushes); None: nowhere.
    results: ResultsSource | None


def odds_api_key(settings: Settings) -> str | None:
    """The Odds API key: from the mounted file if configured, else the reference's env variable."""
    key_file = settings.pricing.odds_api_key_file
    if key_file is not None:
        try:
            key = key_file.expanduser().read_text().strip()
        except OSError as exc:
            raise ConfigError(
                f"invalid setting pricing.odds_api_key_file: cannot read {key_file} "
                f"({exc.strerror})"
            ) from None
        if not key:
            raise ConfigError(f"invalid setting pricing.odds_api_key_file: {key_file} is empty")
        return key
    secret = settings.base_miner.odds_api_key
    return secret.get_secret_value() if secret is not None else None


def pricing_from_settings(settings: Settings, client: httpx.AsyncClient) -> Pricing:
    config = settings.pricing
    names = TeamNames(config.team_aliases)
    results: ResultsSource | None = (
        EspnResults(client, base_url=config.espn_base_url)
        if config.results_source == "espn"
        else None
    )
    if config.model_url is not None:
        sidecar = SidecarEngine(
            client, base_url=config.model_url, timeout=config.model_timeout_seconds
        )
        return Pricing(engine=sidecar, names=names, builtin=None, results=results)
    key = odds_api_key(settings)
    market_odds = (
        OddsApiClient(
            client,
            api_key=key,
            base_url=config.odds_api_base_url,
            regions=config.odds_api_regions,
            cache_ttl_seconds=float(settings.base_miner.cache_ttl_seconds),
        )
        if key
        else None
    )
    builtin = BuiltinEngine(
        names=names,
        vig=settings.base_miner.vig,
        market_weight=settings.base_miner.market_blend_weight,
        market_odds=market_odds,
        history_expected=results is not None,
    )
    return Pricing(engine=builtin, names=names, builtin=builtin, results=results)
