"""A whole operator against the in-memory cluster, driven step by step for unit tests.

`World` holds one `InMemoryKube` (the cluster, which outlives operator processes) and one
`Controller` (the process; `restart` replaces it with a fresh one, as after a crash).
The cluster's changes reach the controller the way kopf delivers watch events in
`handlers.registry`; `settle` runs queued reconciles and the cluster's own controllers
in turns until nothing is left to do.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from sparket_operator.controller.controller import Controller
from sparket_operator.controller.metrics import OperatorMetrics
from sparket_operator.kube.api import Obj, object_path, resource_path
from sparket_operator.kube.memory import InMemoryKube
from sparket_operator.reconcile.naming import MANAGED_BY, MANAGED_BY_LABEL
from sparket_operator.settings import OperatorSettings

NS = "miners"
NOW = "2026-02-01T10:00:00Z"
# Well-known development addresses (//Alice, //Bob, //Charlie): public, valid ss58.
ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
BOB = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
CHARLIE = "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y"
NODE = "worker-1"
NODE_IP = "203.0.113.10"
_OWNED_KINDS = ("Pod", "StatefulSet", "Service", "ConfigMap")


def miner_path(name: str, namespace: str = NS) -> str:
    return resource_path("sparket.io/v1alpha1", "SparketMiner", namespace=namespace, name=name)


def miner(name: str, hotkey: str, *, secret: str | None = None, **spec: Any) -> Obj:
    return {
        "apiVersion": "sparket.io/v1alpha1",
        "kind": "SparketMiner",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "hotkey": hotkey,
            "wallet": {"secretName": secret or f"{name}-wallet"},
            "leagues": ["nfl"],
            **spec,
        },
    }


def wallet_secret(name: str, hotkey: str, **extra: bytes) -> Obj:
    """A Secret shaped like a real unencrypted bittensor hotkey keyfile plus coldkeypub."""
    keyfile = {"ss58Address": hotkey, "secretSeed": "0x" + "11" * 32, "publicKey": "0x00"}
    files = {
        "hotkey": json.dumps(keyfile).encode(),
        "coldkeypub.txt": json.dumps({"ss58Address": CHARLIE, "publicKey": "0x01"}).encode(),
        **extra,
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NS},
        "data": {key: base64.b64encode(value).decode() for key, value in files.items()},
    }


def node(name: str = NODE, external_ip: str = NODE_IP) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {
            "addresses": [{"type": "ExternalIP", "address": external_ip}],
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


class World:
    def __init__(self, settings: OperatorSettings | None = None) -> None:
        self.kube = InMemoryKube()
        self.settings = settings or OperatorSettings(namespaces=[NS])
        self.controller = self._new_controller()
        self.kube.subscribe(self._deliver)

    def _new_controller(self) -> Controller:
        return Controller(
            api=self.kube, settings=self.settings, metrics=OperatorMetrics(), now=lambda: NOW
        )

    async def start(self) -> None:
        await self.controller.seed()

    async def restart(self) -> None:
        """A new operator process: nothing in memory, the same cluster."""
        self.controller = self._new_controller()
        await self.controller.seed()

    async def settle(self, *, max_rounds: int = 20) -> None:
        """Reconcile whatever is queued and let the cluster react, until both are quiet."""
        for _ in range(max_rounds):
            self.kube.run_controllers()
            queue = self.controller.queue
            if not len(queue):
                return
            for _ in range(len(queue)):  # the keys queued now; their requeues next round
                key = await queue.get()
                try:
                    await self.controller.handle(key)
                finally:
                    queue.done(key)
        raise AssertionError(f"no quiet after {max_rounds} rounds; writes: {self.kube.writes}")

    async def handle(self, name: str) -> None:
        """One reconcile of miner `name`, through the worker's own step."""
        await self.controller.handle((NS, name))

    def status(self, name: str) -> dict[str, Any]:
        found = self.kube.object(miner_path(name))
        assert found is not None, f"no miner {name}"
        status: dict[str, Any] = found.get("status") or {}
        return status

    def condition(self, name: str, kind: str) -> dict[str, Any]:
        conditions = self.status(name).get("conditions") or []
        return next((c for c in conditions if c["type"] == kind), {})

    def owned_paths(self) -> list[str]:
        """Every object an operator made or caused (all but miners, Secrets, Nodes and
        Events), by path."""
        skip = ("SparketMiner", "Secret", "Node", "Event")
        return [object_path(o) for o in self.kube.objects() if o["kind"] not in skip]

    def _deliver(self, kind: str, obj: Obj, deleted: bool) -> None:
        """What kopf would hand the handlers for this change (see handlers.registry)."""
        controller = self.controller
        if kind == "SparketMiner":
            controller.on_miner(obj, deleted=deleted)
        elif kind == "Secret":
            controller.on_secret(obj)
        elif kind == "Node":
            controller.on_node(obj, deleted=deleted)
        elif kind in _OWNED_KINDS and _managed(obj):
            controller.on_owned(obj, kind=kind, deleted=deleted)


def _managed(obj: Obj) -> bool:
    return (obj["metadata"].get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY
