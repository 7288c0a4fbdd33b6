"""The composition step: settings in, a fully wired `MinerApp` out.

Every service is built here, once, in dependency order, and handed to the parts that use
it; nothing is looked up later and nothing waits for `start()` to exist. Settings that
cannot work fail here, before any store is opened or port bound. Tests swap parts through
the keyword arguments (a scripted pricing engine, outcome source or cadence).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

import bittensor as bt
import httpx

from miner_runtime.app import MinerApp, Services
from miner_runtime.budget.factory import coordinator_from_settings
from miner_runtime.chain.client import ChainClient
from miner_runtime.chain.standing import Standing
from miner_runtime.chain.sync import ChainSnapshot, ChainSync
from miner_runtime.chain.watch import ChainWatch
from miner_runtime.errors import ConfigError
from miner_runtime.ingress.axon import ConnectionIngress, build_axon
from miner_runtime.observability.metrics import RuntimeMetrics
from miner_runtime.pacing import SERVE_RETRY_SECONDS, Cadence, Pacer
from miner_runtime.pricing.builtin import BuiltinEngine
from miner_runtime.pricing.engine import PricingEngine
from miner_runtime.pricing.factory import Pricing, pricing_from_settings
from miner_runtime.pricing.history import ResultsHistory
from miner_runtime.settings import Settings
from miner_runtime.storage import Stores, database_url, open_stores
from miner_runtime.submission.connection_info import ConnectionInfoIntake
from miner_runtime.submission.game_sync import GameSync
from miner_runtime.submission.gate import Gate
from miner_runtime.submission.odds_schedule import OddsSchedule
from miner_runtime.submission.outcome_checks import OutcomeChecks
from miner_runtime.submission.outcomes import (
    CombinedSource,
    FileOutcomeSource,
    OutcomeSource,
    StoredResultsSource,
)
from miner_runtime.submission.refits import ModelRefits
from miner_runtime.submission.rounds import OddsRounds
from miner_runtime.submission.status import WorkStatus
from miner_runtime.submission.submitter import Submitter
from miner_runtime.validator_client.dendrite import EgressDendrite
from miner_runtime.validator_client.transport import DendriteLink


def egress_ip_of(settings: Settings) -> str:
    """The IP validators see us at: configured, else the advertised one (one-IP hosts)."""
    if settings.egress_ip:
        return settings.egress_ip
    advertised_ip, _ = settings.axon.advertised
    if advertised_ip in ("0.0.0.0", "::"):
        raise ConfigError(
            "invalid setting egress_ip (SPARKET_EGRESS_IP): required when the axon "
            "advertises no concrete IP (set SPARKET_AXON__EXTERNAL_IP or SPARKET_EGRESS_IP)"
        )
    return advertised_ip


async def open_settings_stores(settings: Settings) -> Stores:
    """The runtime's database: SQLite in data_dir unless a URL is configured."""
    data_dir = settings.data_dir.expanduser()
    data_dir.mkdir(parents=True, exist_ok=True)
    configured = settings.database_url
    url = database_url(data_dir, configured.get_secret_value() if configured else None)
    return await asyncio.to_thread(open_stores, url)


async def compose(
    settings: Settings,
    *,
    wallet: bt.Wallet,
    chain: ChainClient,
    pricing: PricingEngine | None = None,
    outcomes: OutcomeSource | None = None,
    cadence: Cadence | None = None,
    source_address: str | None = None,
    rng: random.Random | None = None,
) -> MinerApp:
    """Build one hotkey's runtime. Call inside the event loop that will run it."""
    hotkey: str = wallet.hotkey.ss58_address
    egress_ip = egress_ip_of(settings)
    coordinator = coordinator_from_settings(settings.budget)
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(30.0), headers={"user-agent": "sparket-miner-runtime"}
    )
    built = pricing_from_settings(settings, http)
    stores = await open_settings_stores(settings)
    metrics = RuntimeMetrics()
    status = WorkStatus()
    link = DendriteLink(
        EgressDendrite(wallet.hotkey, egress_ip=egress_ip, source_address=source_address)
    )
    gate = Gate(
        link=link,
        coordinator=coordinator,
        hotkey=hotkey,
        egress_ip=egress_ip,
        metrics=metrics,
        status=status,
    )
    engine = pricing or built.engine
    submitter = Submitter(
        games=stores.games,
        odds=stores.odds,
        outcomes=stores.outcomes,
        gate=gate,
        pricing=engine,
        batch_size=settings.base_miner.batch_size,
        leagues=settings.base_miner.leagues,
    )
    watch = ChainWatch(
        ChainSync(chain, own_hotkey=hotkey, serve_retry_seconds=SERVE_RETRY_SECONDS),
        advertised=settings.axon.advertised,
        observe=lambda snapshot, standing: _count_chain(metrics, snapshot, standing),
    )
    loops = _loops(
        settings,
        built,
        stores,
        submitter,
        watch,
        builtin=built.builtin if pricing is None else None,
        outcomes=outcomes,
    )
    intake = ConnectionInfoIntake(gate, stores.endpoints, loops.odds)
    return MinerApp(
        Services(
            settings=settings,
            hotkey=hotkey,
            egress_ip=egress_ip,
            pacer=Pacer(cadence or Cadence.from_settings(settings), rng),
            metrics=metrics,
            status=status,
            http=http,
            pricing=engine,
            stores=stores,
            coordinator=coordinator,
            link=link,
            gate=gate,
            submitter=submitter,
            chain=watch,
            games=loops.games,
            refits=loops.refits,
            odds=loops.odds,
            outcomes=loops.outcomes,
            connection_info=intake,
            axon=_axon(settings, wallet, watch, intake),
        )
    )


@dataclass(frozen=True)
class _Loops:
    games: GameSync
    refits: ModelRefits
    odds: OddsSchedule
    outcomes: OutcomeChecks


def _loops(
    settings: Settings,
    built: Pricing,
    stores: Stores,
    submitter: Submitter,
    watch: ChainWatch,
    *,
    builtin: BuiltinEngine | None,
    outcomes: OutcomeSource | None,
) -> _Loops:
    """The background loops and what each reads: the stores' narrow calls, the chain watch."""
    history = ResultsHistory(
        store=stores.results,
        source=built.results,
        names=built.names,
        history_days=settings.pricing.history_days,
    )
    priced = frozenset(settings.base_miner.leagues)
    refits = ModelRefits(
        builtin, history, active_markets=stores.games.active_markets, priced_leagues=priced
    )
    return _Loops(
        games=GameSync(submitter, watch, after_sync=refits.refit_for_new_leagues),
        refits=refits,
        odds=OddsSchedule(OddsRounds(submitter), watch),
        outcomes=OutcomeChecks(
            submitter,
            watch,
            events_in_window=stores.games.events_in_outcome_window,
            history=history,
            sources=outcomes or _outcome_sources(settings, built, stores),
            priced_leagues=priced,
        ),
    )


def _axon(
    settings: Settings, wallet: bt.Wallet, watch: ChainWatch, intake: ConnectionInfoIntake
) -> bt.Axon:
    """Built here, started by `MinerApp.start` (it binds the port)."""
    advertised_ip, advertised_port = settings.axon.advertised
    return build_axon(
        wallet,
        ConnectionIngress(
            neurons=watch.neurons_by_hotkey,
            on_connection_info=intake.received,
            loop=asyncio.get_running_loop(),
            allow_unpermitted=settings.allow_unpermitted_validators,
        ),
        host=settings.axon.host,
        port=settings.axon.port,
        external_ip=advertised_ip,
        external_port=advertised_port,
    )


def _count_chain(metrics: RuntimeMetrics, snapshot: ChainSnapshot, standing: Standing) -> None:
    metrics.registered.set(1 if snapshot.own_uid is not None else 0)
    metrics.validators.labels("permitted").set(len(snapshot.validators))
    # The standing's gauges; a value not known now is left at its last reading.
    metrics.deregistered.set(1 if standing.deregistered else 0)
    metrics.incentive.set(standing.incentive)
    metrics.consensus.set(standing.consensus)
    if standing.emission_per_day is not None:
        metrics.emission_per_day.set(standing.emission_per_day)
    if standing.immunity_blocks_left is not None:
        metrics.immunity_blocks_left.set(standing.immunity_blocks_left)
    metrics.standing_block.set(standing.block)


def _outcome_sources(settings: Settings, built: Pricing, stores: Stores) -> OutcomeSource:
    """The results file (if configured) first, then the results history."""
    sources: list[OutcomeSource] = []
    if settings.base_miner.results_file:
        sources.append(FileOutcomeSource(settings.base_miner.results_file))
    if built.results is not None:
        sources.append(StoredResultsSource(stores.results, built.names))
    return CombinedSource(*sources)
