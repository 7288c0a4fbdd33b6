"""A wired runtime's life: ordered start, run until told to stop (or a loop dies), and
ordered shutdown. Everything it runs was built by `composition.compose`, so nothing here is
ever half-made: no attribute is None waiting for `start()`.

Start: tokens kept across a restart -> Axon (serving within seconds) -> control API ->
loops: chain watch, game sync, model refits, odds schedule, outcome checks. Stop in
reverse; the stores close last, after every pending send has been completed or left
pending (which counts as possibly stored).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass

import bittensor as bt
import httpx

from miner_runtime.budget.coordinator import BudgetCoordinator
from miner_runtime.budget.failsafe import degraded_reason
from miner_runtime.chain.sync import ChainSnapshot
from miner_runtime.chain.watch import ChainWatch, endpoint_text
from miner_runtime.clock import utc_now
from miner_runtime.logs import log_event
from miner_runtime.observability.metrics import RuntimeMetrics
from miner_runtime.observability.server import ControlServer, build_control_app
from miner_runtime.observability.status import AxonStatus, BudgetStoreStatus, RuntimeStatus
from miner_runtime.pacing import Pacer
from miner_runtime.pricing.engine import PricingEngine
from miner_runtime.settings import Settings
from miner_runtime.status_builder import build_status
from miner_runtime.storage import Stores
from miner_runtime.submission.connection_info import ConnectionInfoIntake
from miner_runtime.submission.game_sync import GameSync
from miner_runtime.submission.gate import Gate
from miner_runtime.submission.odds_schedule import OddsSchedule
from miner_runtime.submission.outcome_checks import OutcomeChecks
from miner_runtime.submission.refits import ModelRefits
from miner_runtime.submission.status import WorkStatus
from miner_runtime.submission.submitter import Submitter
from miner_runtime.validator_client.transport import DendriteLink

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """Every part of one runtime, fully wired. Built once by `composition.compose`."""

    settings: Settings
    hotkey: str
    egress_ip: str
    pacer: Pacer
    metrics: RuntimeMetrics
    status: WorkStatus
    http: httpx.AsyncClient  # data sources and the model sidecar only, never validators
    pricing: PricingEngine
    stores: Stores
    coordinator: BudgetCoordinator
    link: DendriteLink
    gate: Gate
    submitter: Submitter
    chain: ChainWatch
    games: GameSync
    refits: ModelRefits
    odds: OddsSchedule
    outcomes: OutcomeChecks
    connection_info: ConnectionInfoIntake
    axon: bt.Axon


class LoopEnded(RuntimeError):
    """A runtime loop returned: a bug, never a way to stop."""


class MinerApp:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.started_at: dt.datetime | None = None
        self._tasks: list[asyncio.Task[None]] = []
        settings = services.settings
        self.control = (
            ControlServer(
                build_control_app(
                    status=self.status_document,
                    ready=self.readiness,
                    registry=services.metrics.registry,
                ),
                host=settings.miner_api_host,
                port=settings.miner_api_port,
            )
            if settings.miner_api_enabled
            else None
        )

    # Read by tests, the control API and the harnesses; each is one service's state.
    @property
    def hotkey(self) -> str:
        return self.services.hotkey

    @property
    def snapshot(self) -> ChainSnapshot | None:
        return self.services.chain.snapshot

    # ---- start / stop --------------------------------------------------------------

    async def start(self) -> None:
        s = self.services
        self.started_at = utc_now()
        await s.connection_info.restore_tokens()
        s.axon.start()
        if self.control is not None:
            await self.control.start()
        self._tasks = [
            asyncio.create_task(s.chain.run(s.pacer), name="chain"),
            asyncio.create_task(s.games.run(s.pacer), name="games"),
            asyncio.create_task(s.refits.run(s.pacer, s.games.tried), name="stats"),
        ]
        if s.settings.base_miner.enabled:
            self._tasks += [
                asyncio.create_task(
                    s.odds.run(s.pacer, games_tried=s.games.tried, pricing_ready=s.refits.ready),
                    name="odds",
                ),
                # A push that raised ends the runtime, as a dead loop does (run_until).
                asyncio.create_task(s.odds.rounds.wait_failed(), name="odds-rounds"),
                asyncio.create_task(s.outcomes.run(s.pacer), name="outcomes"),
            ]
        log_event(
            logger,
            "miner_started",
            hotkey=s.hotkey,
            axon_port=s.settings.axon.port,
            advertised=endpoint_text(s.settings.axon.advertised),
            egress_ip=s.egress_ip,
        )

    async def stop(self) -> None:
        s = self.services
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self.control is not None:
            await self.control.stop()
        await asyncio.to_thread(s.axon.stop)
        await s.link.close()
        await s.http.aclose()
        await s.coordinator.close()
        s.stores.close()
        log_event(logger, "miner_stopped", hotkey=s.hotkey)

    async def run_until(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, or until a loop ends: its error is re-raised, and a loop
        that returned is an error too (every loop runs until cancelled; one that returned
        once stopped every miner with a model sidecar, exit code 0, in a loop of restarts)."""
        await self.start()
        waiter = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait(
                [waiter, *self._tasks], return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                if task is not waiter:
                    task.result()
                    raise LoopEnded(f"the runtime's {task.get_name()} loop ended on its own")
        finally:
            waiter.cancel()
            await self.stop()

    # ---- control API ---------------------------------------------------------------

    def readiness(self) -> tuple[bool, str]:
        if not self.services.axon.started:
            return False, "axon not serving"
        snapshot = self.services.chain.snapshot
        if snapshot is None:
            return False, "chain not synced yet"
        if snapshot.own_uid is None:
            standing = self.services.chain.standing
            if standing is not None and standing.deregistered:
                return False, f"deregistered: {standing.deregistered_reason}"
            return False, "hotkey not registered"
        return True, "mining"

    def status_document(self) -> RuntimeStatus:
        s = self.services
        now = utc_now()
        snapshot = s.chain.snapshot
        validators = snapshot.validators if snapshot else ()
        own_pauses = {
            v.hotkey: pause
            for v in validators
            if (pause := s.gate.backoff.paused(v.hotkey, now)) is not None
        }
        budget = s.settings.budget
        return build_status(
            hotkey=s.hotkey,
            state=self.readiness()[1],
            snapshot=snapshot,
            axon=AxonStatus(
                port=s.settings.axon.port,
                advertised=endpoint_text(s.settings.axon.advertised),
                served_on_chain=s.chain.served,
            ),
            egress_ip=s.egress_ip,
            work=s.status,
            own_pauses=own_pauses,
            pricing=s.pricing.condition(),
            budget_store=BudgetStoreStatus(
                shared=budget.redis_url is not None or bool(budget.sentinels),
                degraded=s.coordinator.degraded,
                # unreachable, or auth / tls: refused, the configuration is at fault
                reason=degraded_reason(s.coordinator),
            ),
            standing=s.chain.standing,
            now=now,
        )
