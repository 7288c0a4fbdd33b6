"""Read a miner's world from the API server into the pure `Observed` snapshot."""

from __future__ import annotations

import asyncio

from sparket_operator.api.v1alpha1 import SparketMiner
from sparket_operator.kube.api import KubeApi, Obj, resource_path
from sparket_operator.reconcile.naming import ObjectNames
from sparket_operator.reconcile.observed import Observed


async def owned(api: KubeApi, miner: SparketMiner) -> Observed:
    """The Service, ConfigMap, StatefulSet and pod of `miner`, read concurrently."""
    names = ObjectNames.of(miner)
    ns = str(miner.metadata["namespace"])
    service, config_map, stateful_set, pod = await asyncio.gather(
        api.get(resource_path("v1", "Service", namespace=ns, name=names.service)),
        api.get(resource_path("v1", "ConfigMap", namespace=ns, name=names.config_map)),
        api.get(resource_path("apps/v1", "StatefulSet", namespace=ns, name=names.stateful_set)),
        api.get(resource_path("v1", "Pod", namespace=ns, name=names.pod)),
    )
    return Observed(service=service, config_map=config_map, stateful_set=stateful_set, pod=pod)


async def secret(api: KubeApi, namespace: str, name: str) -> Obj | None:
    return await api.get(resource_path("v1", "Secret", namespace=namespace, name=name))


async def miner(api: KubeApi, namespace: str, name: str) -> Obj | None:
    return await api.get(
        resource_path("sparket.io/v1alpha1", "SparketMiner", namespace=namespace, name=name)
    )
