"""Odds rounds on a fixed cadence, each validator on its own.

A round prices the active markets once and starts one push task per validator. A
validator whose previous push still runs (held by a pause, steering or the push lease)
is skipped for this round and counted, never waited for: a slow or held validator must
not delay the others, and rounds start on their cadence whatever the last one cost
(docs/decisions.md § Fleet budgets, "No stalls around tokens"). A catch-up (a new token
arrived) starts a round for that validator alone, at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from miner_runtime.logs import log_event
from miner_runtime.submission.status import CycleReport
from miner_runtime.submission.submitter import Priced, PushResult, Submitter
from miner_runtime.validator_client.selection import NeuronView

logger = logging.getLogger(__name__)


class OddsRounds:
    def __init__(self, submitter: Submitter) -> None:
        self.submitter = submitter
        self._pushing: dict[str, asyncio.Task[PushResult]] = {}
        self._reports: set[asyncio.Task[CycleReport]] = set()
        self._failed = asyncio.Event()
        self._error: BaseException | None = None

    def pushing(self, validator: str) -> bool:
        """True while a push to `validator` from an earlier round still runs."""
        task = self._pushing.get(validator)
        return task is not None and not task.done()

    async def finished(self, validator: str) -> PushResult | None:
        """Wait for the push to `validator` started last to end; None if none was."""
        task = self._pushing.get(validator)
        return await asyncio.shield(task) if task is not None else None

    async def start(self, validators: Sequence[NeuronView]) -> list[str]:
        """Price once and start a push to every validator not still busy with an earlier
        one; returns as soon as the pushes are started (their report follows when they
        end). Returns the hotkeys of the validators this round pushes to."""
        idle = [v for v in validators if not self.pushing(v.hotkey)]
        for busy in (v for v in validators if self.pushing(v.hotkey)):
            self.submitter.metrics.odds_rounds_skipped.labels(busy.hotkey).inc()
            log_event(logger, "odds_round_skipped", logging.DEBUG, validator=busy.hotkey)
        if not idle:
            return []
        priced = await self.submitter.price()
        pushes = []
        for validator in idle:
            task = asyncio.create_task(
                self.submitter.push_odds(validator, priced.quotes),
                name=f"odds:{validator.hotkey[:8]}",
            )
            self._pushing[validator.hotkey] = task
            pushes.append(task)
        report = asyncio.create_task(self._report(priced, pushes))
        self._reports.add(report)
        report.add_done_callback(self._ended)
        return [v.hotkey for v in idle]

    async def _report(self, priced: Priced, pushes: list[asyncio.Task[PushResult]]) -> CycleReport:
        """The round's figures once all its pushes ended; a push that raised is re-raised
        here, and so reaches `wait_failed`."""
        results = await asyncio.gather(*pushes)
        return self.submitter.report(priced, results)

    def _ended(self, report: asyncio.Task[CycleReport]) -> None:
        self._reports.discard(report)
        if not report.cancelled() and (error := report.exception()) is not None:
            self._error = error
            self._failed.set()

    async def wait_failed(self) -> None:
        """Raise the error of a round whose push raised (a bug: the runtime stops on it,
        as it does when any of its loops dies); never returns otherwise."""
        await self._failed.wait()
        assert self._error is not None
        raise self._error

    async def idle(self) -> None:
        """Wait until every push started so far has ended (tests, orderly shutdown)."""
        while self._reports:
            await asyncio.gather(*list(self._reports), return_exceptions=True)

    async def stop(self) -> None:
        """Cancel what is in flight: a push cancelled after it left stays pending, which
        counts as possibly stored (never sent twice), exactly as after a crash."""
        tasks = [*self._pushing.values(), *self._reports]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._pushing.clear()
