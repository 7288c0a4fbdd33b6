"""What the cluster's own controllers make of a StatefulSet, as pure functions.

`kube.memory.InMemoryKube` uses these to stand in for the StatefulSet controller and
the kubelet, just far enough for tests: one pod per ordinal, started (and Ready, when
asked) at once, replaced when the template changes, and one claim per
volumeClaimTemplate, owned by the StatefulSet when its
`persistentVolumeClaimRetentionPolicy.whenDeleted` is `Delete` (as Kubernetes does).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sparket_operator.kube.api import Obj
from sparket_operator.reconcile.observed import pinned_node, pod_ready

REVISION_LABEL = "controller-revision-hash"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"


def revision(stateful_set: Mapping[str, Any]) -> str:
    """The name of the template's revision, as the StatefulSet controller labels pods."""
    template = json.dumps(stateful_set["spec"]["template"], sort_keys=True)
    name = stateful_set["metadata"]["name"]
    return f"{name}-{hashlib.sha256(template.encode()).hexdigest()[:10]}"


def owner_reference(owner: Mapping[str, Any]) -> Obj:
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def replicas(stateful_set: Mapping[str, Any]) -> int:
    return int(stateful_set["spec"].get("replicas", 1))


def pod_name(stateful_set: Mapping[str, Any], ordinal: int) -> str:
    return f"{stateful_set['metadata']['name']}-{ordinal}"


def claim_name(template: Mapping[str, Any], stateful_set: Mapping[str, Any], ordinal: int) -> str:
    return f"{template['metadata']['name']}-{stateful_set['metadata']['name']}-{ordinal}"


def pod_for(stateful_set: Mapping[str, Any], ordinal: int, *, ready: bool) -> Obj:
    """The pod the StatefulSet controller makes for `ordinal`, as the kubelet runs it."""
    template = copy.deepcopy(stateful_set["spec"]["template"])
    meta = template.get("metadata") or {}
    name = pod_name(stateful_set, ordinal)
    spec = template.get("spec") or {}
    node = pinned_node(stateful_set)
    if node is not None:
        spec["nodeName"] = node
    ready_status = "True" if ready and node is not None else "False"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": stateful_set["metadata"]["namespace"],
            "labels": {
                **(meta.get("labels") or {}),
                REVISION_LABEL: revision(stateful_set),
                POD_NAME_LABEL: name,
            },
            "annotations": dict(meta.get("annotations") or {}),
            "ownerReferences": [owner_reference(stateful_set)],
        },
        "spec": spec,
        "status": {
            "phase": "Running" if ready_status == "True" else "Pending",
            "podIP": f"10.244.0.{ordinal + 10}" if ready_status == "True" else None,
            "conditions": [
                {"type": "PodScheduled", "status": "True" if node else "False"},
                {"type": "Ready", "status": ready_status},
            ],
        },
    }


def claims_for(stateful_set: Mapping[str, Any], ordinal: int) -> list[Obj]:
    """The PersistentVolumeClaims of `ordinal`, one per volumeClaimTemplate."""
    policy = stateful_set["spec"].get("persistentVolumeClaimRetentionPolicy") or {}
    owned = policy.get("whenDeleted") == "Delete"
    claims = []
    for template in stateful_set["spec"].get("volumeClaimTemplates") or []:
        meta: Obj = {
            "name": claim_name(template, stateful_set, ordinal),
            "namespace": stateful_set["metadata"]["namespace"],
            "labels": dict((template.get("metadata") or {}).get("labels") or {}),
        }
        if owned:
            meta["ownerReferences"] = [owner_reference(stateful_set)]
        claims.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": meta,
                "spec": copy.deepcopy(template.get("spec") or {}),
                "status": {"phase": "Bound"},
            }
        )
    return claims


def delete_claims_on_scale_down(stateful_set: Mapping[str, Any]) -> bool:
    policy = stateful_set["spec"].get("persistentVolumeClaimRetentionPolicy") or {}
    return policy.get("whenScaled") == "Delete"


def stateful_set_status(stateful_set: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> Obj:
    """The status the controller reports for `pods` (those of this StatefulSet)."""
    current = revision(stateful_set)
    updated = [p for p in pods if p["metadata"]["labels"].get(REVISION_LABEL) == current]
    ready = [p for p in pods if pod_ready(p)]
    previous = (stateful_set.get("status") or {}).get("currentRevision")
    return {
        "observedGeneration": stateful_set["metadata"].get("generation", 1),
        "replicas": len(pods),
        "readyReplicas": len(ready),
        "updatedReplicas": len(updated),
        "currentRevision": current if len(updated) == len(pods) else previous,
        "updateRevision": current,
    }
