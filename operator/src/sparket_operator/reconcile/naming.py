"""Names, labels and owner references of the objects the operator makes for one miner.

Every builder takes its names from here, so the kube layer can find an owned object by
name and the status code can read it back without re-deriving a format. Names derive only
from `metadata.name` and labels only from the name and the (immutable) hotkey, so none of
them ever changes for the life of a SparketMiner: a StatefulSet's selector and
volumeClaimTemplates cannot be changed after creation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sparket_operator.api import v1alpha1

APP_NAME = "sparket-miner"
COMPONENT = "miner"
MANAGED_BY = "sparket-operator"

NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MINER_LABEL = f"{v1alpha1.GROUP}/miner"
HOTKEY_LABEL = f"{v1alpha1.GROUP}/hotkey"

# On the pod template: a change of the rendered runtime config rolls the pod.
CONFIG_HASH_ANNOTATION = f"{v1alpha1.GROUP}/config-hash"
# On the pod template: the CR's restart annotation copied, so setting it rolls the pod.
RESTARTED_AT_ANNOTATION = v1alpha1.RESTART_ANNOTATION

# The StatefulSet's volumeClaimTemplate; its PVC is named `<template>-<statefulset>-<ordinal>`.
DATA_VOLUME = "data"


@dataclass(frozen=True)
class ObjectNames:
    """The names of everything one miner owns (all in the miner's namespace)."""

    stateful_set: str
    pod: str
    service: str
    config_map: str
    pvc: str

    @classmethod
    def of(cls, miner: v1alpha1.SparketMiner) -> ObjectNames:
        name = miner_name(miner)
        return cls(
            stateful_set=name,
            pod=f"{name}-0",
            service=f"{name}-axon",
            config_map=f"{name}-runtime",
            pvc=f"{DATA_VOLUME}-{name}-0",
        )


def miner_name(miner: v1alpha1.SparketMiner) -> str:
    return str(miner.metadata["name"])


def miner_namespace(miner: v1alpha1.SparketMiner) -> str:
    return str(miner.metadata["namespace"])


def selector_labels(miner: v1alpha1.SparketMiner) -> dict[str, str]:
    """The stable subset used in selectors (a StatefulSet's selector is immutable)."""
    return {NAME_LABEL: APP_NAME, INSTANCE_LABEL: miner_name(miner)}


def labels(miner: v1alpha1.SparketMiner) -> dict[str, str]:
    """The standard labels every owned object carries."""
    return {
        **selector_labels(miner),
        COMPONENT_LABEL: COMPONENT,
        MANAGED_BY_LABEL: MANAGED_BY,
        MINER_LABEL: miner_name(miner),
        HOTKEY_LABEL: miner.spec.hotkey,
    }


def owner_reference(miner: v1alpha1.SparketMiner) -> dict[str, Any]:
    """The controller reference: the miner's objects are garbage-collected with it."""
    uid = miner.metadata.get("uid")
    if not uid:
        raise ValueError(f"SparketMiner {miner_name(miner)} has no metadata.uid to own objects by")
    return {
        "apiVersion": v1alpha1.API_VERSION,
        "kind": v1alpha1.KIND,
        "name": miner_name(miner),
        "uid": str(uid),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def object_meta(miner: v1alpha1.SparketMiner, name: str) -> dict[str, Any]:
    """metadata for an owned object: name, namespace, standard labels, controller ref."""
    return {
        "name": name,
        "namespace": miner_namespace(miner),
        "labels": labels(miner),
        "ownerReferences": [owner_reference(miner)],
    }
