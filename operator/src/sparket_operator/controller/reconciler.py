"""One reconcile of one SparketMiner: read, check the gates, converge, publish status.

The shape is CNPG's: fetch (gone means done), guard, resolve what the miner depends on,
observe what it owns, converge, write status. Each gate that fails stops before anything
is created and says why in a condition (a miner refused at gate 1 or 2 also gives up
its endpoint claim):

1. the hotkey is not already run by an older SparketMiner;
2. the wallet Secret exists and holds exactly a readable hotkey for `spec.hotkey` (a Secret
   that holds a coldkey also takes a running miner's workload down);
3. the Service exists (so a NodePort is allocated), a node is chosen and the advertised
   endpoint and egress IP resolve, and no other miner advertises that endpoint (an
   endpoint known from the spec alone is checked before the Service is made);
4. the workload is applied, unless it is a new template for an available miner and the
   fleet's rollout budget is spent (then it waits for a slot).

Nothing is written when nothing changed: objects carry a content stamp, status is
compared before it is patched.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from sparket_operator.api import conditions as cond
from sparket_operator.api.v1alpha1 import PAUSED_ANNOTATION, SparketMiner, SparketMinerStatus
from sparket_operator.controller.fleet_cache import FleetCache
from sparket_operator.kube import errors, observe
from sparket_operator.kube.api import KubeApi, Obj, resource_path
from sparket_operator.reconcile import applied_hash, desired, events, network
from sparket_operator.reconcile.fleet import MinerKey
from sparket_operator.reconcile.naming import ObjectNames
from sparket_operator.reconcile.observed import (
    Observed,
    annotation,
    pinned_node,
    pod_ready,
    rollout_settled,
)
from sparket_operator.reconcile.placement import Resolution, choose_node, resolve
from sparket_operator.reconcile.status import Progress, compute_status
from sparket_operator.reconcile.wallet import WalletReason, check_wallet_secret
from sparket_operator.settings import OperatorSettings

logger = logging.getLogger(__name__)

# How soon to look again when waiting on something no watch event will announce.
WAIT_FOR_ROLLOUT_SLOT = 5.0
WAIT_FOR_ENDPOINT = 10.0


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_miner(raw: Mapping[str, object]) -> SparketMiner | None:
    """The typed miner, or None (logged) for an object the schema should have refused."""
    try:
        return SparketMiner.model_validate(raw)
    except ValidationError as exc:
        meta = raw.get("metadata") or {}
        where = f"{meta.get('namespace')}/{meta.get('name')}" if isinstance(meta, dict) else "?"
        logger.error("ignoring SparketMiner %s that does not parse: %s", where, exc)
        return None


@dataclass(frozen=True)
class Outcome:
    """What a reconcile decided: the phase it published and when to look again."""

    phase: str | None
    requeue_after: float | None = None


class Reconciler:
    def __init__(
        self,
        *,
        api: KubeApi,
        cache: FleetCache,
        settings: OperatorSettings,
        now: Callable[[], str] = utc_now,
    ) -> None:
        self.api = api
        self.cache = cache
        self.settings = settings
        self._now = now
        self._instance = socket.gethostname()

    async def reconcile(self, key: MinerKey) -> Outcome:
        namespace, name = key
        raw = await observe.miner(self.api, namespace, name)
        if raw is None:
            self.cache.miner_not_found(key)
            return Outcome(None)
        if raw["metadata"].get("deletionTimestamp"):
            return Outcome(None)  # owner references let the garbage collector finish
        miner = parse_miner(raw)
        if miner is None:
            return Outcome(None)
        self.cache.miner_seen(miner)
        paused = miner.spec.paused or annotation(raw, PAUSED_ANNOTATION) == "true"
        if paused and not miner.spec.paused:
            miner = miner.model_copy(
                update={"spec": miner.spec.model_copy(update={"paused": True})}
            )
        progress, observed, wait = await self._converge(key, miner, Progress(paused=paused))
        status = await self._publish(raw, miner, progress, observed)
        return Outcome(status.phase.value if status.phase else None, wait)

    # ---- the gates ------------------------------------------------------------------

    async def _converge(
        self, key: MinerKey, miner: SparketMiner, progress: Progress
    ) -> tuple[Progress, Observed, float | None]:
        owner = self.cache.hotkey_owner(miner.spec.hotkey)
        if owner is not None and owner.key != key:
            self.cache.miner_refused(key)
            progress = replace(progress, duplicate_of="/".join(owner.key))
            observed = await self._remove_workload(miner)
            return progress, observed, None

        secret = await observe.secret(self.api, key[0], miner.spec.wallet.secret_name)
        progress = replace(progress, wallet=check_wallet_secret(secret, hotkey=miner.spec.hotkey))
        if not progress.wallet or not progress.wallet.valid:
            self.cache.miner_refused(key)
            if progress.wallet and progress.wallet.reason == WalletReason.COLDKEY_PRESENT:
                # A running pod must not keep the Secret: its kubelet refreshes the mounted
                # files, and a private key pasted into coldkeypub.txt would reach the pod.
                return progress, await self._remove_workload(miner), None
            return progress, await observe.owned(self.api, miner), None

        observed = await observe.owned(self.api, miner)
        return await self._expose(key, miner, progress, observed)

    async def _expose(
        self, key: MinerKey, miner: SparketMiner, progress: Progress, observed: Observed
    ) -> tuple[Progress, Observed, float | None]:
        """The Service, the node, the endpoint and its claim.

        An endpoint the spec alone decides (a LoadBalancer at `axon.externalIP`) is claimed
        before the Service is applied, so a miner refused that endpoint never gets a Service:
        one made and deleted on every look would be two writes each time, and the deletion's
        watch event would queue the next look, for ever. Any other endpoint needs what is
        allocated to the Service (a nodePort, an ingress IP), so the Service comes first;
        those are one Service's each (unless a load balancer is told to share an IP), so
        such a refusal meets a stale claim and the next Service gets another port."""
        node = choose_node(
            miner.spec,
            pinned=pinned_node(observed.stateful_set),
            recorded=miner.status.node,
            nodes=self.cache.nodes(),
            load=self.cache.node_load(),
            shared_egress_ip=self.settings.egress_ip,
        )
        if node is not None:
            self.cache.placed(key, node)
        node_info = self.cache.node(node) if node else None
        egress_ip = self.settings.egress_ip
        foreseen = resolve(miner.spec, service=None, node=node_info, shared_egress_ip=egress_ip)
        if foreseen.ok and (owner := self._endpoint_owner(key, foreseen)):
            progress = replace(progress, node=node, resolution=foreseen, endpoint_owner=owner)
            return progress, await self._remove_workload(miner, observed), None

        try:
            service = await self._apply(
                applied_hash.stamped(network.build_service(miner)), observed.service
            )
        except errors.Invalid as exc:  # e.g. spec.axon.nodePort already allocated
            refused = Resolution(None, None, "ServiceRejected", str(exc))
            return replace(progress, resolution=refused), observed, None
        observed = replace(observed, service=service)
        resolution = resolve(
            miner.spec, service=service, node=node_info, shared_egress_ip=egress_ip
        )
        progress = replace(progress, node=node, resolution=resolution)
        if not resolution.ok:
            return progress, observed, WAIT_FOR_ENDPOINT
        if owner := self._endpoint_owner(key, resolution):
            progress = replace(progress, endpoint_owner=owner)
            return progress, await self._remove_workload(miner, observed), None
        return await self._converge_workload(key, miner, progress, observed)

    def _endpoint_owner(self, key: MinerKey, resolution: Resolution) -> str | None:
        """The miner ("namespace/name") that already advertises this endpoint, or None
        when `key` now holds the claim."""
        owner = self.cache.claim_endpoint(key, str(resolution.endpoint))
        return None if owner == key else "/".join(owner)

    async def _converge_workload(
        self, key: MinerKey, miner: SparketMiner, progress: Progress, observed: Observed
    ) -> tuple[Progress, Observed, float | None]:
        resolution = progress.resolution
        assert resolution is not None and resolution.endpoint is not None
        assert resolution.egress_ip is not None
        config_map, stateful_set = (
            applied_hash.stamped(obj)
            for obj in desired.desired_objects(
                miner,
                node=progress.node,
                advertised_ip=resolution.endpoint.ip,
                advertised_port=resolution.endpoint.port,
                egress_ip=resolution.egress_ip,
                image=self.settings.runtime_image,
                image_pull_policy=self.settings.image_pull_policy,
                runtime_defaults=self.settings.runtime_defaults,
                budget_secret=self.settings.budget_secret,
            )
        )
        template_hash = annotation(stateful_set, applied_hash.APPLIED_HASH_ANNOTATION)
        progress = replace(progress, template_hash=template_hash)
        live = observed.stateful_set
        changing = live is not None and applied_hash.needs_apply(live, stateful_set)
        if changing and not self.cache.may_roll(
            key, available=pod_ready(observed.pod), limit=self.settings.max_unavailable
        ):
            return replace(progress, rollout_queued=True), observed, WAIT_FOR_ROLLOUT_SLOT
        await self._apply(config_map, observed.config_map)
        live = await self._apply(stateful_set, live)
        observed = replace(observed, stateful_set=live)
        if rollout_settled(live) and (miner.spec.paused or pod_ready(observed.pod)):
            self.cache.rollout_settled(key)
        return progress, observed, None

    async def _apply(self, desired_obj: Obj, live: Mapping[str, Any] | None) -> Mapping[str, Any]:
        if live is not None and not applied_hash.needs_apply(live, desired_obj):
            return live
        return await self.api.apply(desired_obj)

    async def _remove_workload(
        self, miner: SparketMiner, observed: Observed | None = None
    ) -> Observed:
        """A refused miner must own nothing that runs: delete what an earlier pass made."""
        observed = observed or await observe.owned(self.api, miner)
        names = ObjectNames.of(miner)
        ns = str(miner.metadata["namespace"])
        if observed.stateful_set is not None:
            await self.api.delete(
                resource_path("apps/v1", "StatefulSet", namespace=ns, name=names.stateful_set)
            )
        if observed.service is not None:
            await self.api.delete(resource_path("v1", "Service", namespace=ns, name=names.service))
        return Observed(pod=observed.pod)

    # ---- status -----------------------------------------------------------------------

    async def _publish(
        self, raw: Obj, miner: SparketMiner, progress: Progress, observed: Observed
    ) -> SparketMinerStatus:
        key = (str(miner.metadata["namespace"]), str(miner.metadata["name"]))
        now = self._now()
        status = compute_status(
            miner,
            progress=progress,
            observed=observed,
            facts=self.cache.report(key),
            now=now,
            earning_grace_seconds=self.settings.earning_grace_seconds,
        )
        self.cache.miner_seen(miner.model_copy(update={"status": status}))
        if status == miner.status:
            return status
        await self.api.patch_status(
            resource_path("sparket.io/v1alpha1", "SparketMiner", namespace=key[0], name=key[1]),
            status.model_dump(by_alias=True, mode="json"),
            resource_version=str(raw["metadata"]["resourceVersion"]),
            kind="SparketMiner",
        )
        changes = cond.transitions(miner.status.conditions, status.conditions)
        for condition in events.worth_raising(changes):
            await self.api.create(
                resource_path("v1", "Event", namespace=key[0]),
                events.event_for(raw, condition, now=now, instance=self._instance),
            )
        return status
