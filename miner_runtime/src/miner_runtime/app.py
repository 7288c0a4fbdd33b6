"""The one place that wires the runtime: one event loop, ordered start and shutdown.

Start: storage (tokens survive restarts) -> the fleet's budget coordinator -> Axon (serving
within seconds) -> control API -> background loops: chain sync (registration, validators,
serve_axon once per change), game sync, odds cycles, outcome checks. Stop in reverse; the
store closes last, after every pending send has been completed or left pending (which
counts as possibly stored).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import bittensor as bt
import httpx

from miner_runtime.budget.coordinator import BudgetCoordinator
from miner_runtime.budget.factory import coordinator_from_settings
from miner_runtime.budget.failsafe import degraded_reason
from miner_runtime.chain.client import ChainClient, ChainError
from miner_runtime.chain.sync import ChainSnapshot, ChainSync, ServeStatus
from miner_runtime.errors import ConfigError
from miner_runtime.ingress.axon import ConnectionIngress, build_axon
from miner_runtime.logs import log_event
from miner_runtime.observability.metrics import RuntimeMetrics
from miner_runtime.observability.server import ControlServer, build_control_app
from miner_runtime.pricing.builtin import BuiltinEngine
from miner_runtime.pricing.engine import PricingEngine
from miner_runtime.pricing.factory import pricing_from_settings
from miner_runtime.pricing.history import ResultsHistory
from miner_runtime.protocol.messages import ConnectionInfo, League
from miner_runtime.settings import Settings
from miner_runtime.storage import Store, database_url
from miner_runtime.submission.gate import Gate, utc_now
from miner_runtime.submission.outcomes import (
    CombinedSource,
    FileOutcomeSource,
    OutcomeSource,
    StoredResultsSource,
)
from miner_runtime.submission.rounds import OddsRounds
from miner_runtime.submission.status import WorkStatus
from miner_runtime.submission.submitter import Submitter
from miner_runtime.validator_client.dendrite import EgressDendrite
from miner_runtime.validator_client.selection import NeuronView
from miner_runtime.validator_client.transport import DendriteLink

logger = logging.getLogger(__name__)

CHAIN_SYNC_SECONDS = 120.0  # the reference resyncs its metagraph about this often
GAME_SYNC_SECONDS = 300.0  # the reference's game sync cadence
SERVE_RETRY_SECONDS = 600.0  # the chain rate-limits serve_axon; do not hammer it


@dataclass(frozen=True)
class Cadence:
    """How often each loop runs. From settings in production; shorter in tests."""

    chain_sync_seconds: float
    game_sync_seconds: float
    odds_seconds: float
    outcome_seconds: float
    jitter_seconds: float
    stats_refresh_seconds: float = 3600.0
    # How long the first odds cycle waits for the first model fit (history back-fill).
    first_fit_wait_seconds: float = 120.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Cadence:
        base = settings.base_miner
        return cls(
            chain_sync_seconds=CHAIN_SYNC_SECONDS,
            game_sync_seconds=GAME_SYNC_SECONDS,
            odds_seconds=float(base.odds_refresh_seconds),
            outcome_seconds=float(base.outcome_check_seconds),
            jitter_seconds=float(base.jitter_seconds),
            stats_refresh_seconds=float(base.stats_refresh_seconds),
        )


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


class MinerApp:
    def __init__(
        self,
        settings: Settings,
        *,
        wallet: bt.Wallet,
        chain: ChainClient,
        pricing: PricingEngine | None = None,
        outcomes: OutcomeSource | None = None,
        cadence: Cadence | None = None,
        source_address: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.wallet = wallet
        self.hotkey: str = wallet.hotkey.ss58_address
        self.egress_ip = egress_ip_of(settings)
        self.cadence = cadence or Cadence.from_settings(settings)
        self.metrics = RuntimeMetrics()
        self.status = WorkStatus()
        self.chain_sync = ChainSync(
            chain, own_hotkey=self.hotkey, serve_retry_seconds=SERVE_RETRY_SECONDS
        )
        # One HTTP client for the data sources and the model sidecar (never validators).
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(30.0), headers={"user-agent": "sparket-miner-runtime"}
        )
        built = pricing_from_settings(settings, self._http)
        self.pricing: PricingEngine = pricing or built.engine
        self.builtin: BuiltinEngine | None = built.builtin if pricing is None else None
        self.results_source = built.results
        self.names = built.names
        self.history: ResultsHistory | None = None
        self._injected_outcomes = outcomes
        self.outcomes: OutcomeSource | None = None
        self._pricing_ready = asyncio.Event()
        self._fitted_leagues: set[League] = set()
        self._source_address = source_address
        self._rng = rng or random.Random()
        self.snapshot: ChainSnapshot | None = None
        self.served: bool = False
        self.store: Store | None = None
        self.coordinator: BudgetCoordinator | None = None
        self.gate: Gate | None = None
        self.submitter: Submitter | None = None
        self.rounds: OddsRounds | None = None
        self.axon: bt.Axon | None = None
        self._link: DendriteLink | None = None
        self._control: ControlServer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._chain_ready = asyncio.Event()
        # Set after the first game sync attempt: an odds cycle (or a catch-up) before it
        # would find no markets and then wait a whole refresh period.
        self._games_tried = asyncio.Event()
        self._catch_up: set[str] = set()
        self._wake_odds = asyncio.Event()
        self.started_at: dt.datetime | None = None

    # ---- start / stop --------------------------------------------------------------

    async def start(self) -> None:
        self.started_at = utc_now()
        data_dir = self.settings.data_dir.expanduser()
        data_dir.mkdir(parents=True, exist_ok=True)
        configured = self.settings.database_url
        url = database_url(data_dir, configured.get_secret_value() if configured else None)
        self.store = await asyncio.to_thread(Store.open, url)
        self.coordinator = coordinator_from_settings(self.settings.budget)
        dendrite = EgressDendrite(
            self.wallet.hotkey, egress_ip=self.egress_ip, source_address=self._source_address
        )
        self._link = DendriteLink(dendrite)
        self.gate = Gate(
            link=self._link,
            coordinator=self.coordinator,
            hotkey=self.hotkey,
            egress_ip=self.egress_ip,
            metrics=self.metrics,
            status=self.status,
        )
        for endpoint in await asyncio.to_thread(self.store.validator_endpoints):
            # Kept across a restart: the token serves again (its first-seen time kept).
            await self.gate.token_received(
                endpoint.validator_hotkey, endpoint.token, endpoint.token_received_at
            )
        self.history = ResultsHistory(
            store=self.store,
            source=self.results_source,
            names=self.names,
            history_days=self.settings.pricing.history_days,
        )
        self.outcomes = self._injected_outcomes or self._outcome_sources(self.store)
        self.submitter = Submitter(
            store=self.store,
            gate=self.gate,
            pricing=self.pricing,
            batch_size=self.settings.base_miner.batch_size,
            leagues=self.settings.base_miner.leagues,
        )
        self.rounds = OddsRounds(self.submitter)
        self._start_axon()
        if self.settings.miner_api_enabled:
            control = build_control_app(
                status=self.status_document, ready=self.readiness, registry=self.metrics.registry
            )
            self._control = ControlServer(
                control, host=self.settings.miner_api_host, port=self.settings.miner_api_port
            )
            await self._control.start()
        self._tasks = [
            asyncio.create_task(self._chain_loop(), name="chain"),
            asyncio.create_task(self._games_loop(), name="games"),
            asyncio.create_task(self._stats_loop(), name="stats"),
        ]
        if self.settings.base_miner.enabled:
            self._tasks += [
                asyncio.create_task(self._odds_loop(), name="odds"),
                # A push that raised ends the runtime, as a dead loop does (run_until).
                asyncio.create_task(self.rounds.wait_failed(), name="odds-rounds"),
                asyncio.create_task(self._outcome_loop(), name="outcomes"),
            ]
        log_event(
            logger,
            "miner_started",
            hotkey=self.hotkey,
            axon_port=self.settings.axon.port,
            advertised=_endpoint(self.settings.axon.advertised),
            egress_ip=self.egress_ip,
        )

    def _outcome_sources(self, store: Store) -> OutcomeSource:
        """The results file (if configured) first, then the results history."""
        sources: list[OutcomeSource] = []
        if self.settings.base_miner.results_file:
            sources.append(FileOutcomeSource(self.settings.base_miner.results_file))
        if self.results_source is not None:
            sources.append(StoredResultsSource(store, self.names))
        return CombinedSource(*sources)

    def _start_axon(self) -> None:
        advertised_ip, advertised_port = self.settings.axon.advertised
        ingress = ConnectionIngress(
            neurons=self._neurons_by_hotkey,
            on_connection_info=self._on_connection_info,
            loop=asyncio.get_running_loop(),
            allow_unpermitted=self.settings.allow_unpermitted_validators,
        )
        self.axon = build_axon(
            self.wallet,
            ingress,
            host=self.settings.axon.host,
            port=self.settings.axon.port,
            external_ip=advertised_ip,
            external_port=advertised_port,
        )
        self.axon.start()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._control is not None:
            await self._control.stop()
        if self.axon is not None:
            await asyncio.to_thread(self.axon.stop)
        if self._link is not None:
            await self._link.close()
        await self._http.aclose()
        if self.coordinator is not None:
            await self.coordinator.close()
        if self.store is not None:
            self.store.close()
        log_event(logger, "miner_stopped", hotkey=self.hotkey)

    async def run_until(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, or until a loop dies (then re-raise its error)."""
        await self.start()
        waiter = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait(
                [waiter, *self._tasks], return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                if task is not waiter:
                    task.result()
        finally:
            waiter.cancel()
            await self.stop()

    # ---- ingress -------------------------------------------------------------------

    def _neurons_by_hotkey(self) -> Mapping[str, NeuronView]:
        return self.snapshot.neurons_by_hotkey if self.snapshot is not None else {}

    async def _on_connection_info(self, validator_hotkey: str, info: ConnectionInfo) -> None:
        now = utc_now()
        assert self.store is not None and self.gate is not None
        unblocked = await self.gate.token_received(validator_hotkey, info.token, now)
        await asyncio.to_thread(
            self.store.save_validator_endpoint,
            validator_hotkey,
            info.host,
            info.port,
            info.token,
            now,
        )
        log_event(
            logger,
            "miner_validator_endpoint_updated",
            validator=validator_hotkey,
            host=info.host,
            port=info.port,
            step=info.step,
            token_received=True,
            pushes_resumed=unblocked,
        )
        if unblocked:
            # A new token: whatever waited for one (here or anywhere in the fleet) goes now.
            self._catch_up.add(validator_hotkey)
            self._wake_odds.set()

    # ---- loops ---------------------------------------------------------------------

    def _validators(self) -> list[NeuronView]:
        if self.snapshot is None or self.snapshot.own_uid is None:
            return []
        return list(self.snapshot.validators)

    def _jittered(self, seconds: float) -> float:
        jitter = min(self.cadence.jitter_seconds, seconds / 2)
        return max(0.0, seconds + self._rng.uniform(-jitter, jitter))

    async def _every(self, seconds: float, step: Callable[[], Awaitable[Any]]) -> None:
        while True:
            await step()
            await asyncio.sleep(self._jittered(seconds))

    async def _chain_loop(self) -> None:
        await self._every(self.cadence.chain_sync_seconds, self._sync_chain)

    async def _sync_chain(self) -> None:
        try:
            snapshot = await self.chain_sync.refresh()
        except ChainError as exc:
            # Keep mining on the last snapshot; the next sync tries again.
            log_event(logger, "chain_sync_failed", logging.WARNING, error=str(exc))
            return
        was_registered = self.snapshot is not None and self.snapshot.own_uid is not None
        self.snapshot = snapshot
        registered = snapshot.own_uid is not None
        self.metrics.registered.set(1 if registered else 0)
        self.metrics.validators.labels("permitted").set(len(snapshot.validators))
        if registered != was_registered or not self._chain_ready.is_set():
            log_event(
                logger,
                "miner_registration",
                registered=registered,
                uid=snapshot.own_uid,
                validators=len(snapshot.validators),
            )
        if registered:
            outcome = await self.chain_sync.ensure_served(self.settings.axon.advertised)
            served = outcome.status in (ServeStatus.SERVED, ServeStatus.UP_TO_DATE)
            if outcome.status is not ServeStatus.UP_TO_DATE or served != self.served:
                log_event(
                    logger,
                    "miner_axon_served",
                    logging.INFO if served else logging.WARNING,
                    status=outcome.status.value,
                    endpoint=_endpoint(outcome.endpoint),
                    detail=outcome.detail,
                )
            self.served = served
        self._chain_ready.set()

    async def _games_loop(self) -> None:
        await self._chain_ready.wait()
        await self._every(self.cadence.game_sync_seconds, self._sync_games)

    async def _sync_games(self) -> None:
        validators = self._validators()
        try:
            synced = (
                await self.submitter.sync_games(validators)
                if validators and self.submitter is not None
                else None
            )
            if synced is not None:
                await self._refit_for_new_leagues()
        finally:
            self._games_tried.set()

    def _priced_leagues(self) -> set[League]:
        return set(self.settings.base_miner.leagues)

    async def _stats_loop(self) -> None:
        """Keep the results history current and refit the built-in engine on it."""
        await self._games_tried.wait()
        if self.builtin is None or self.history is None:
            self._pricing_ready.set()
            return
        await self._every(self.cadence.stats_refresh_seconds, self._refit)

    async def _active_leagues(self) -> set[League]:
        """The leagues this hotkey prices that have markets open for odds now."""
        assert self.store is not None
        markets = await asyncio.to_thread(self.store.active_markets, utc_now())
        return {m.league for m in markets} & self._priced_leagues()

    async def _refit(self, leagues: set[League] | None = None) -> None:
        assert self.builtin is not None and self.history is not None
        now = utc_now()
        if leagues is None:
            leagues = await self._active_leagues()
        try:
            error = await self.history.refresh(leagues, now)
            self.builtin.history_failed(error)
            await self.history.refit(self.builtin, leagues, now)
            self._fitted_leagues = leagues
        finally:
            self._pricing_ready.set()

    async def _refit_for_new_leagues(self) -> None:
        """A league that a game sync brought since the last fit is fitted now, not up to an
        hour later (before the first fit, the stats loop's own fit covers it)."""
        if self.builtin is None or not self._pricing_ready.is_set():
            return
        leagues = await self._active_leagues()
        if leagues - self._fitted_leagues:
            await self._refit(leagues)

    async def _odds_loop(self) -> None:
        await self._chain_ready.wait()
        await self._games_tried.wait()
        # asyncio.timeout, not wait_for: Python 3.11's wait_for swallows a cancellation
        # that lands as the awaited event is set, and stop() then waits for ever.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.cadence.first_fit_wait_seconds):
                await self._pricing_ready.wait()
        await asyncio.sleep(self._rng.uniform(0, self.cadence.jitter_seconds))
        assert self.rounds is not None
        try:
            await self._odds_rounds(self.rounds)
        finally:
            await self.rounds.stop()  # before the store closes

    async def _odds_rounds(self, rounds: OddsRounds) -> None:
        """Rounds start on the cadence, counted from each round's start (not its end), so
        a round held at one validator delays neither the next round nor the others; a
        token that arrives between rounds starts a catch-up for its validator at once."""
        loop = asyncio.get_running_loop()
        next_round = loop.time()
        while True:
            validators = self._validators()
            if validators:
                await rounds.start(validators)
            next_round = max(next_round + self._jittered(self.cadence.odds_seconds), loop.time())
            while (remaining := next_round - loop.time()) > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await self._wake_odds.wait()
                self._wake_odds.clear()
                await self._catch_up_validators(rounds)

    async def _catch_up_validators(self, rounds: OddsRounds) -> None:
        wanted, self._catch_up = self._catch_up, set()
        validators = [v for v in self._validators() if v.hotkey in wanted]
        if validators:
            await rounds.start(validators)

    async def _outcome_loop(self) -> None:
        await self._chain_ready.wait()
        await self._every(self.cadence.outcome_seconds, self._check_outcomes)

    async def _check_outcomes(self) -> None:
        validators = self._validators()
        if not validators or self.submitter is None or self.store is None:
            return
        now = utc_now()
        events = await asyncio.to_thread(self.store.events_in_outcome_window, now)
        if not events or self.outcomes is None:
            return
        if self.history is not None:
            # Fresh scores for the leagues with events in the window (a short fetch).
            await self.history.refresh({e.league for e in events} & self._priced_leagues(), now)
        results = await self.outcomes.results(events)
        if results:
            await self.submitter.push_outcomes(validators, results)

    # ---- control API ---------------------------------------------------------------

    def readiness(self) -> tuple[bool, str]:
        if self.axon is None or not self.axon.started:
            return False, "axon not serving"
        if self.snapshot is None:
            return False, "chain not synced yet"
        if self.snapshot.own_uid is None:
            return False, "hotkey not registered"
        return True, "mining"

    def status_document(self) -> dict[str, Any]:
        now = utc_now()
        snapshot = self.snapshot
        registered = snapshot is not None and snapshot.own_uid is not None
        validators = [
            self._validator_status(v.hotkey, v.uid, v.stake, now)
            for v in (snapshot.validators if snapshot else ())
        ]
        cycle = self.status.last_cycle
        last = self.status.last_submission_at
        accepted_1h, rejected_1h = self.status.last_hour(now)
        return {
            "hotkey": self.hotkey,
            "uid": snapshot.own_uid if snapshot else None,
            "state": self.readiness()[1],
            "registered": registered,
            "axon": {
                "port": self.settings.axon.port,
                "advertised": _endpoint(self.settings.axon.advertised),
                "served_on_chain": self.served,
            },
            "egress_ip": self.egress_ip,
            "validators": validators,
            "validators_connected": sum(1 for v in validators if v["token_usable"]),
            "markets": {"active": self.status.active_markets},
            "games": {
                "synced": self.status.games_synced,
                "last_sync": _iso(self.status.last_game_sync_at),
                "skipped": dict(self.status.games_skipped),  # last reply, by reason
            },
            "last_cycle": None
            if cycle is None
            else {
                "at": cycle.started_at.isoformat(),
                "markets": cycle.markets,
                "batches": cycle.batches,
                "submitted": cycle.submitted,
                "skipped": cycle.skipped,
                "seconds": round(cycle.seconds, 3),
            },
            "submissions": {
                "accepted": sum(t.accepted for t in self.status.tallies.values()),
                "rejected": sum(sum(t.rejected.values()) for t in self.status.tallies.values()),
                "last_at": _iso(last),
                "accepted_last_hour": accepted_1h,
                "rejected_last_hour": rejected_1h,
            },
            "outcomes_sent": self.status.outcomes_sent,
            "pricing": self._pricing_status(),
            "budget_store": {
                "shared": self.settings.budget.redis_url is not None
                or bool(self.settings.budget.sentinels),
                "degraded": self.coordinator.degraded if self.coordinator else False,
                # unreachable, or auth / tls: refused, the configuration is at fault
                "reason": degraded_reason(self.coordinator) if self.coordinator else None,
            },
        }

    def _pricing_status(self) -> dict[str, Any]:
        condition = self.pricing.condition()
        return {
            "engine": condition.engine,
            "degraded": condition.degraded,
            "reasons": list(condition.reasons),
            **condition.detail,
            "quotes_dropped": self.status.quotes_dropped,
        }

    def _validator_status(
        self, validator: str, uid: int, stake: float, now: dt.datetime
    ) -> dict[str, Any]:
        """One validator's line: its token, what holds us back (our own pause or a fleet
        rule, with the reason), and what it answered."""
        own = self.gate.backoff.paused(validator, now) if self.gate else None
        budget = self.status.budgets.get(validator)
        held = budget.held_for(now) if budget else 0.0
        received = budget.token_received_at if budget else None
        tally = self.status.tallies.get(validator)
        reason: str | None
        if own is not None:
            paused, reason = own.remaining(now), own.reason
        else:
            paused, reason = held, budget.held_by if budget and held > 0 else None
        return {
            "hotkey": validator,
            "uid": uid,
            "stake": stake,
            "token_age_seconds": round((now - received).total_seconds(), 1) if received else None,
            "token_usable": budget.token_usable if budget else False,
            "paused_seconds": round(paused, 1),
            "pause_reason": reason,
            "failing_hotkeys": budget.failing_hotkeys if budget else 0,
            "banned": budget.banned if budget else False,
            "accepted": tally.accepted if tally else 0,
            "rejected": dict(tally.rejected) if tally else {},
        }


def _endpoint(address: tuple[str, int]) -> str:
    return f"{address[0]}:{address[1]}"


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
