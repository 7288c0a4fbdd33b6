"""Kubernetes objects a fleet test or benchmark needs around its SparketMiners: wallet
Secrets holding a fresh hotkey, and local volumes pre-bound to each miner's data claim
(the local control plane has no storage provisioner)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bittensor_wallet import Keypair, Wallet

from sparket_local_cluster.node.layout import NODE_NAME
from sparket_local_services.wallets import generated_wallet


@dataclass(frozen=True)
class WalletFiles:
    """A generated hotkey's ss58 and the two files a wallet Secret holds."""

    hotkey: str
    files: dict[str, bytes]

    def secret(self, namespace: str, name: str, **extra: bytes) -> dict[str, Any]:
        """The wallet Secret; `extra` adds keys (e.g. a coldkey, to test the refusal)."""
        return wallet_secret(namespace, name, {**self.files, **extra})


def new_wallet(root: Path, name: str) -> WalletFiles:
    wallet = generated_wallet(root, name)
    base = root / name
    return WalletFiles(
        hotkey=wallet.hotkey.ss58_address,
        files={
            "hotkey": (base / "hotkeys" / "default").read_bytes(),
            "coldkeypub.txt": (base / "coldkeypub.txt").read_bytes(),
        },
    )


def dev_wallet_secret(root: Path, namespace: str, name: str, uri: str) -> dict[str, Any]:
    """A wallet Secret for a well-known development key (`//Alice`, `//Bob`...): its hotkey
    keyfile in bittensor's layout (unencrypted JSON) and a coldkeypub.txt, nothing else.
    Public test keys only: the samples name them so that they can be tried as they are."""
    wallet = Wallet(name="dev", hotkey="hotkey", path=str(root))
    wallet.set_hotkey(Keypair.create_from_uri(uri), encrypt=False, overwrite=True)
    wallet.set_coldkeypub(Keypair.create_from_uri(f"{uri}//stash"), overwrite=True)
    base = root / "dev"
    files = {
        "hotkey": (base / "hotkeys" / "hotkey").read_bytes(),
        "coldkeypub.txt": (base / "coldkeypub.txt").read_bytes(),
    }
    return wallet_secret(namespace, name, files)


def wallet_secret(namespace: str, name: str, files: Mapping[str, bytes]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "data": {k: base64.b64encode(v).decode() for k, v in files.items()},
    }


def restricted_namespace(name: str) -> dict[str, Any]:
    """A Namespace that enforces Pod Security `restricted`, the profile our pods must pass."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
        },
    }


def local_storage_class(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name},
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "Immediate",
    }


def prebound_volume(
    name: str, *, namespace: str, miner: str, storage_class: str, host_path: str
) -> dict[str, Any]:
    """A 1Gi PersistentVolume bound in advance to `miner`'s data claim (`data-<miner>-0`)."""
    return _claimed_volume(
        name, namespace, miner, storage_class, {"hostPath": {"path": host_path}}, "Delete"
    )


def local_volume(
    name: str, *, namespace: str, miner: str, storage_class: str, path: str, node: str
) -> dict[str, Any]:
    """A 1Gi `local` PersistentVolume on a real node's disk, pre-bound to `miner`'s claim.

    Unlike a hostPath volume, a local one applies the pod's fsGroup, so the runtime (UID
    10001) can write its database there under the restricted profile."""
    on_node = {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}
    source = {
        "local": {"path": path},
        "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [on_node]}]}},
    }
    return _claimed_volume(name, namespace, miner, storage_class, source, "Retain")


def node_volume(
    path: Path, *, name: str, namespace: str, miner: str, storage_class: str
) -> dict[str, Any]:
    """`local_volume` on the real node at `path`, made first (a `local` volume's directory
    must exist before a pod mounts it)."""
    path.mkdir(parents=True, exist_ok=True)
    return local_volume(
        name,
        namespace=namespace,
        miner=miner,
        storage_class=storage_class,
        path=str(path),
        node=NODE_NAME,
    )


def _claimed_volume(
    name: str,
    namespace: str,
    miner: str,
    storage_class: str,
    source: dict[str, Any],
    reclaim: str,
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": storage_class,
            "persistentVolumeReclaimPolicy": reclaim,
            **source,
            "claimRef": {"namespace": namespace, "name": f"data-{miner}-0"},
        },
    }
