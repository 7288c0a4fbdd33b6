"""The control loop's moving parts in one place: intake of watch events, the work queue,
the workers, the periodic resync, the status poller and the fleet summary.

Watch events (delivered by kopf, see `handlers`) never reconcile anything themselves;
they update the in-memory fleet view (`FleetCache`) and queue the affected miner keys.
Workers take keys from the queue, one worker per key at a time, and run
`Reconciler.reconcile`. Before the first worker starts, `seed` lists every miner, node and
StatefulSet, so that the first duplicate-hotkey, endpoint and rollout decisions already
see the whole fleet.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from sparket_operator.controller.fleet_cache import FleetCache
from sparket_operator.controller.metrics import OperatorMetrics
from sparket_operator.controller.poller import StatusPoller
from sparket_operator.controller.reconciler import Reconciler, parse_miner, utc_now
from sparket_operator.controller.summaries import SummaryPublisher
from sparket_operator.controller.workqueue import WorkQueue
from sparket_operator.kube import errors
from sparket_operator.kube.api import KubeApi, resource_path
from sparket_operator.reconcile.fleet import MinerKey
from sparket_operator.reconcile.naming import MANAGED_BY, MANAGED_BY_LABEL, MINER_LABEL
from sparket_operator.reconcile.observed import NodeInfo, pod_ip, pod_ready, rollout_settled
from sparket_operator.settings import OperatorSettings

logger = logging.getLogger(__name__)

OWNED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY}"
MAX_BACKOFF = 60.0


def key_of(body: Mapping[str, Any]) -> MinerKey:
    meta = body["metadata"]
    return (str(meta.get("namespace", "")), str(meta["name"]))


def owner_key(body: Mapping[str, Any]) -> MinerKey | None:
    """The miner an owned object belongs to, from its label (None: not ours)."""
    meta = body.get("metadata") or {}
    miner = (meta.get("labels") or {}).get(MINER_LABEL)
    return (str(meta.get("namespace", "")), str(miner)) if miner else None


class Controller:
    def __init__(
        self,
        *,
        api: KubeApi,
        settings: OperatorSettings,
        metrics: OperatorMetrics,
        now: Callable[[], str] = utc_now,
    ):
        self.api = api
        self.settings = settings
        self.metrics = metrics
        self.cache = FleetCache()
        self.queue: WorkQueue[MinerKey] = WorkQueue()
        self.reconciler = Reconciler(api=api, cache=self.cache, settings=settings, now=now)
        self.poller = StatusPoller(
            cache=self.cache,
            changed=self.queue.add,
            url_template=settings.status_url_template,
            concurrency=settings.status_poll_concurrency,
            timeout=settings.status_poll_timeout_seconds,
            metrics=metrics,
        )
        self.summaries = SummaryPublisher(api=api, cache=self.cache, metrics=metrics)
        self._failures: Counter[MinerKey] = Counter()
        self._tasks: list[asyncio.Task[None]] = []

    # ---- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        await self.seed()
        for number in range(self.settings.workers):
            self._spawn(self._worker(), f"worker-{number}")
        self._spawn(self._resync(), "resync")
        self._spawn(self.poller.run(self.settings.status_poll_seconds), "status-poller")
        self._spawn(self.summaries.run(self.settings.fleet_summary_seconds), "fleet-summary")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self.queue.close()

    def _spawn(self, coroutine: Any, name: str) -> None:
        self._tasks.append(asyncio.create_task(coroutine, name=name))

    async def seed(self) -> None:
        """Learn the whole fleet before the first decision, and queue every miner."""
        miners = await self._list_in_scope("sparket.io/v1alpha1", "SparketMiner")
        for raw in miners:
            miner = parse_miner(raw)
            if miner is not None:
                self.cache.miner_seen(miner)
        for node in await self.api.list_objects(resource_path("v1", "Node")):
            self.on_node(node, deleted=False)
        for sts in await self._list_in_scope(
            "apps/v1", "StatefulSet", label_selector=OWNED_SELECTOR
        ):
            key = owner_key(sts)
            if key is not None and not rollout_settled(sts):
                self.cache.rollout_found_in_progress(key)
        for key in self.cache.miner_keys():
            self.queue.add(key)
        logger.info("seeded: %d miners, %d nodes", len(self.cache), self.cache.node_count())

    async def _list_in_scope(
        self, api_version: str, kind: str, *, label_selector: str | None = None
    ) -> list[Any]:
        namespaces: list[str | None] = (
            [None] if self.settings.clusterwide else list(self.settings.namespaces)
        )
        items: list[Any] = []
        for ns in namespaces:
            path = resource_path(api_version, kind, namespace=ns)
            items += await self.api.list_objects(path, label_selector=label_selector)
        return items

    # ---- event intake (called by the kopf handlers) ---------------------------------

    def on_miner(self, body: Mapping[str, Any], *, deleted: bool) -> None:
        key = key_of(body)
        if deleted:
            self.cache.miner_deleted(key)
            self.queue.forget(key)
            self._requeue_refused()
            return
        miner = parse_miner(body)
        if miner is not None:
            self.cache.miner_seen(miner)
        self.queue.add(key)

    def on_owned(self, body: Mapping[str, Any], *, kind: str, deleted: bool) -> None:
        key = owner_key(body)
        if key is None:
            return
        if kind == "Pod":
            if deleted:
                self.cache.pod_gone(key)
            else:
                self.cache.pod_seen(key, ready=pod_ready(body), ip=pod_ip(body))
        self.queue.add(key)

    def on_secret(self, body: Mapping[str, Any]) -> None:
        namespace, name = key_of(body)
        for key in self.cache.miners_using_secret(namespace, name):
            self.queue.add(key)

    def on_node(self, body: Mapping[str, Any], *, deleted: bool) -> None:
        if deleted:
            affected = self.cache.node_gone(str(body["metadata"]["name"]))
        else:
            affected = self.cache.node_seen(NodeInfo.from_object(body))
        for key in affected:
            self.queue.add(key)

    def _requeue_refused(self) -> None:
        """A deleted miner may free a hotkey or endpoint that another miner was refused."""
        for key in self.cache.refused():
            self.queue.add(key)

    # ---- workers ----------------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            try:
                await self.handle(key)
            finally:
                self.queue.done(key)
                self.metrics.queue_depth.set(len(self.queue))

    async def handle(self, key: MinerKey) -> None:
        """One step of a worker: reconcile `key`, count the result, and queue the next
        look (at once after a conflict, later after an error or when asked to wait)."""
        started = time.perf_counter()
        try:
            outcome = await self.reconciler.reconcile(key)
        except errors.Conflict:
            self.metrics.reconciles.labels("conflict").inc()
            self.queue.add_after(key, 0.1)  # someone wrote first: re-read and go again
            return
        except errors.NotFound as exc:
            self.metrics.reconciles.labels("gone").inc()
            logger.info("%s/%s: %s", *key, exc)
            return
        except errors.KubeError as exc:
            self._retry_later(key, f"{exc}")
            return
        except Exception:  # a worker must outlive any one miner's bug; logged with traceback
            logger.exception("%s/%s: reconcile failed", *key)
            self._retry_later(key, "unexpected error")
            return
        finally:
            self.metrics.reconcile_seconds.observe(time.perf_counter() - started)
        self._failures.pop(key, None)
        self.metrics.reconciles.labels("ok").inc()
        self.cache.phase_published(key, outcome.phase)
        self.metrics.set_phases(self.cache.phase_counts())
        self.metrics.rolling.set(self.cache.rolling_count())
        if outcome.requeue_after is not None:
            self.queue.add_after(key, outcome.requeue_after)

    def _retry_later(self, key: MinerKey, why: str) -> None:
        self._failures[key] += 1
        delay = min(MAX_BACKOFF, 0.5 * 2 ** self._failures[key])
        self.metrics.reconciles.labels("error").inc()
        logger.warning("%s/%s: %s; retrying in %.1fs", *key, why, delay)
        self.queue.add_after(key, delay)

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(self.settings.resync_seconds)
            for key in self.cache.miner_keys():
                self.queue.add(key)
