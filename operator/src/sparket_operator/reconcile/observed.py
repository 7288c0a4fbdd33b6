"""What the operator saw in the cluster, as plain typed values for the pure functions.

`kube.observe` fills these from API objects; nothing here does I/O. Objects stay plain
dicts (the API's JSON) and the helpers read only the few fields decisions depend on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Obj = Mapping[str, Any]


@dataclass(frozen=True)
class NodeInfo:
    """A node as placement sees it: can a miner run there, and what is its public IP?"""

    name: str
    external_ip: str | None
    ready: bool
    schedulable: bool
    labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_object(cls, node: Obj) -> NodeInfo:
        status = node.get("status") or {}
        addresses = status.get("addresses") or []
        external = next((a["address"] for a in addresses if a.get("type") == "ExternalIP"), None)
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        return cls(
            name=node["metadata"]["name"],
            external_ip=external,
            ready=ready,
            schedulable=not (node.get("spec") or {}).get("unschedulable", False),
            labels=dict(node["metadata"].get("labels") or {}),
        )


@dataclass(frozen=True)
class Observed:
    """The miner's owned objects as they are now (None: does not exist)."""

    service: Obj | None = None
    config_map: Obj | None = None
    stateful_set: Obj | None = None
    pod: Obj | None = None


def annotation(obj: Obj | None, key: str) -> str | None:
    if obj is None:
        return None
    value = (obj.get("metadata") or {}).get("annotations", {}).get(key)
    return value if isinstance(value, str) else None


def pod_condition(pod: Obj | None, kind: str) -> Mapping[str, Any] | None:
    if pod is None:
        return None
    conditions = (pod.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == kind), None)


def pod_ready(pod: Obj | None) -> bool:
    ready = pod_condition(pod, "Ready")
    return ready is not None and ready.get("status") == "True"


def pod_node(pod: Obj | None) -> str | None:
    if pod is None:
        return None
    node = (pod.get("spec") or {}).get("nodeName")
    return node if isinstance(node, str) else None


def pod_ip(pod: Obj | None) -> str | None:
    if pod is None:
        return None
    ip = (pod.get("status") or {}).get("podIP")
    return ip if isinstance(ip, str) else None


def rollout_settled(stateful_set: Obj | None) -> bool:
    """The StatefulSet's pods all run its current template (nothing left to roll)."""
    if stateful_set is None:
        return False
    spec, status = stateful_set.get("spec") or {}, stateful_set.get("status") or {}
    wanted = spec.get("replicas", 1)
    if status.get("observedGeneration", 0) < stateful_set["metadata"].get("generation", 0):
        return False
    if wanted == 0:
        return True
    return (
        status.get("updateRevision") is not None
        and status.get("currentRevision") == status.get("updateRevision")
        and status.get("updatedReplicas", 0) >= wanted
        and status.get("readyReplicas", 0) >= wanted
    )


def pinned_node(stateful_set: Obj | None) -> str | None:
    """The node a StatefulSet's pod template is pinned to by required node affinity."""
    if stateful_set is None:
        return None
    pod_spec = ((stateful_set.get("spec") or {}).get("template") or {}).get("spec") or {}
    required = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    for term in required.get("nodeSelectorTerms") or []:
        for expression in term.get("matchExpressions") or []:
            values = expression.get("values") or []
            if (
                expression.get("key") == "kubernetes.io/hostname"
                and expression.get("operator") == "In"
                and len(values) == 1
            ):
                return str(values[0])
    return None
