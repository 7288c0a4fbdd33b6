"""Collects each runtime's own report (`/status`) on a timer, a bounded number at a time.

Pods with an IP are asked, Ready or not: a runtime that is up but not Ready (not
registered, deregistered) says why in its report. A changed report re-queues the miner
so its status columns follow; an unchanged one costs no write. A runtime that does not
answer loses its report (the miner's runtime conditions go Unknown), it does not stall
the others: every request has a timeout and the number in flight is capped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import httpx

from sparket_operator.controller.fleet_cache import FleetCache
from sparket_operator.controller.metrics import OperatorMetrics
from sparket_operator.reconcile.config import CONTROL_PORT
from sparket_operator.reconcile.fleet import MinerKey
from sparket_operator.reconcile.runtime_report import (
    RuntimeReport,
    RuntimeReportError,
    parse_status,
)

logger = logging.getLogger(__name__)


def status_url(template: str, key: MinerKey, pod_ip: str) -> str:
    return template.format(pod_ip=pod_ip, port=CONTROL_PORT, namespace=key[0], name=key[1])


async def fetch_facts(client: httpx.AsyncClient, url: str) -> RuntimeReport:
    response = await client.get(url)
    response.raise_for_status()
    document = response.json()
    if not isinstance(document, dict):
        raise RuntimeReportError("the status document is not a JSON object")
    return parse_status(document)


class StatusPoller:
    def __init__(
        self,
        *,
        cache: FleetCache,
        changed: Callable[[MinerKey], None],
        url_template: str,
        concurrency: int,
        timeout: float,
        metrics: OperatorMetrics,
    ) -> None:
        self._cache = cache
        self._changed = changed
        self._template = url_template
        self._limit = asyncio.Semaphore(concurrency)
        self._timeout = timeout
        self._metrics = metrics

    async def poll_once(self, client: httpx.AsyncClient) -> None:
        targets = self._cache.poll_targets()
        for gone in self._cache.forget_reports_except(key for key, _ in targets):
            self._changed(gone)
        await asyncio.gather(*(self._poll(client, key, ip) for key, ip in targets))

    async def run(self, every: float) -> None:
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            while True:
                await self.poll_once(client)
                await asyncio.sleep(every)

    async def _poll(self, client: httpx.AsyncClient, key: MinerKey, pod_ip: str) -> None:
        url = status_url(self._template, key, pod_ip)
        async with self._limit:
            try:
                facts = await fetch_facts(client, url)
            except (httpx.HTTPError, RuntimeReportError, ValueError) as exc:
                self._metrics.status_polls.labels("error").inc()
                logger.info("no status from %s/%s: %s", *key, exc)
                if self._cache.report_forgotten(key):
                    self._changed(key)
                return
        self._metrics.status_polls.labels("ok").inc()
        if self._cache.report_updated(key, facts):
            self._changed(key)
