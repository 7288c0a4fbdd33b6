"""Publishes the fleet summary of each namespace (`api.fleet_summary`) and its metrics.

Recomputed from the fleet cache on a timer, written only when it changed: the first time a
namespace is seen, the live ConfigMap is read and compared, so an operator restart over an
unchanged fleet writes nothing either.
"""

from __future__ import annotations

import asyncio
import json
import logging

from sparket_operator.api.fleet_summary import SUMMARY_CONFIGMAP, SUMMARY_KEY, FleetSummary
from sparket_operator.controller.fleet_cache import FleetCache
from sparket_operator.controller.metrics import OperatorMetrics
from sparket_operator.kube import errors
from sparket_operator.kube.api import KubeApi, resource_path
from sparket_operator.reconcile.fleet_summary import empty_summary, summarize
from sparket_operator.reconcile.naming import MANAGED_BY, MANAGED_BY_LABEL

logger = logging.getLogger(__name__)


def summary_text(summary: FleetSummary) -> str:
    return json.dumps(summary.model_dump(by_alias=True, mode="json"), indent=2, sort_keys=True)


def summary_configmap(summary: FleetSummary) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": SUMMARY_CONFIGMAP,
            "namespace": summary.namespace,
            "labels": {
                MANAGED_BY_LABEL: MANAGED_BY,
                "app.kubernetes.io/component": "fleet-summary",
            },
        },
        "data": {SUMMARY_KEY: summary_text(summary)},
    }


class SummaryPublisher:
    def __init__(self, *, api: KubeApi, cache: FleetCache, metrics: OperatorMetrics) -> None:
        self._api = api
        self._cache = cache
        self._metrics = metrics
        self._written: dict[str, str] = {}  # namespace -> the summary text it holds

    async def run(self, every: float) -> None:
        while True:
            try:
                await self.publish_once()
            except errors.KubeError as exc:
                logger.warning("fleet summary not written: %s", exc)
            await asyncio.sleep(every)

    async def publish_once(self) -> None:
        summaries = summarize(self._cache.statuses(), self._cache.reports())
        self._metrics.show_fleet(summaries.values())
        for namespace in set(self._written) - set(summaries):  # its last miner went
            summaries[namespace] = empty_summary(namespace)
        for namespace, summary in summaries.items():
            text = summary_text(summary)
            if namespace not in self._written:
                self._written[namespace] = await self._live_text(namespace)
            if self._written[namespace] == text:
                continue
            await self._api.apply(summary_configmap(summary))
            self._written[namespace] = text

    async def _live_text(self, namespace: str) -> str:
        path = resource_path("v1", "ConfigMap", namespace=namespace, name=SUMMARY_CONFIGMAP)
        live = await self._api.get(path)
        return str(((live or {}).get("data") or {}).get(SUMMARY_KEY, ""))
