"""The reconcile's gates, in order, against the in-memory cluster (kube.memory).

For each gate: which writes a reconcile makes and in which order, what it leaves unwritten
while the gate holds, and the status it publishes. The operator is the real Controller;
the cluster's watch events reach it as kopf would deliver them (operator_world).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from sparket_operator.controller.reconciler import WAIT_FOR_ENDPOINT, WAIT_FOR_ROLLOUT_SLOT
from sparket_operator.kube.api import resource_path
from sparket_operator.settings import OperatorSettings
from sparket_testkit.harness.operator_world import (
    ALICE,
    BOB,
    CHARLIE,
    NODE,
    NODE_IP,
    NS,
    World,
    miner,
    miner_path,
    node,
    wallet_secret,
)


def sts_path(name: str) -> str:
    return resource_path("apps/v1", "StatefulSet", namespace=NS, name=name)


class Writes:
    """The writes made since it was created, Events left out (they follow conditions)."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._mark = len(world.kube.writes)

    def __call__(self) -> list[str]:
        return [str(w) for w in self._world.kube.writes[self._mark :] if w.kind != "Event"]

    def events(self) -> list[str]:
        return [w.path for w in self._world.kube.writes[self._mark :] if w.kind == "Event"]


@pytest.fixture
async def world() -> World:
    world = World()
    world.kube.put(node())
    await world.start()
    return world


async def running(world: World, name: str, hotkey: str, **spec: Any) -> None:
    world.kube.put(wallet_secret(f"{name}-wallet", hotkey))
    world.kube.put(miner(name, hotkey, **spec))
    await world.settle()
    assert world.status(name)["phase"] == "Running"


async def test_a_new_miner_gets_its_service_then_config_then_workload_then_status(
    world: World,
) -> None:
    world.kube.put(wallet_secret("alpha-wallet", ALICE))
    world.kube.put(miner("alpha", ALICE))
    writes = Writes(world)
    await world.handle("alpha")
    assert writes() == [
        "apply Service alpha-axon",
        "apply ConfigMap alpha-runtime",
        "apply StatefulSet alpha",
        "patch_status SparketMiner alpha",
    ]
    status = world.status("alpha")
    assert status["phase"] == "Pending"  # the workload exists, its pod not yet
    assert status["endpoint"] == f"{NODE_IP}:30000" and status["node"] == NODE
    assert world.condition("alpha", "Exposed")["status"] == "True"
    assert world.condition("alpha", "Available")["reason"] == "NoPod"
    sts = world.kube.object(sts_path("alpha"))
    assert sts is not None
    owner = world.kube.object(miner_path("alpha"))
    assert owner is not None
    assert [r["uid"] for r in sts["metadata"]["ownerReferences"]] == [owner["metadata"]["uid"]]

    await world.settle()
    assert world.status("alpha")["phase"] == "Running"
    assert world.condition("alpha", "Ready")["reason"] == "MinerReady"
    assert writes()[4:] == [
        "patch_status SparketMiner alpha"
    ]  # Starting never shows: Ready at once
    assert len(writes.events()) == 1  # Ready=True is worth one Event
    assert set(world.owned_paths()) == {
        resource_path("v1", "Service", namespace=NS, name="alpha-axon"),
        resource_path("v1", "ConfigMap", namespace=NS, name="alpha-runtime"),
        sts_path("alpha"),
        resource_path("v1", "Pod", namespace=NS, name="alpha-0"),
        resource_path("v1", "PersistentVolumeClaim", namespace=NS, name="data-alpha-0"),
    }


async def test_a_converged_miner_costs_no_write_not_even_after_a_restart(world: World) -> None:
    await running(world, "alpha", ALICE)
    writes = Writes(world)
    await world.handle("alpha")
    await world.restart()
    await world.settle()
    assert writes() == [] and writes.events() == []


async def test_without_its_wallet_secret_a_miner_gets_only_its_status(world: World) -> None:
    world.kube.put(miner("alpha", ALICE))
    writes = Writes(world)
    await world.settle()
    assert writes() == ["patch_status SparketMiner alpha"]
    assert world.condition("alpha", "WalletValid")["reason"] == "SecretNotFound"
    assert world.condition("alpha", "Exposed")["reason"] == "NotResolved"
    assert world.status("alpha")["phase"] == "Pending"
    assert world.owned_paths() == []

    world.kube.put(wallet_secret("alpha-wallet", ALICE))  # the Secret's event requeues it
    await world.settle()
    assert world.status("alpha")["phase"] == "Running"


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        (wallet_secret("alpha-wallet", ALICE, coldkey=b"{}"), "ColdkeyPresent"),
        (wallet_secret("alpha-wallet", BOB), "HotkeyMismatch"),
    ],
)
async def test_a_wallet_the_user_must_fix_refuses_the_miner_before_anything_is_made(
    world: World, secret: dict[str, object], reason: str
) -> None:
    world.kube.put(secret)
    world.kube.put(miner("alpha", ALICE))
    writes = Writes(world)
    await world.settle()
    assert writes() == ["patch_status SparketMiner alpha"]
    assert world.condition("alpha", "WalletValid")["reason"] == reason
    assert world.status("alpha")["phase"] == "Invalid"
    assert world.owned_paths() == []


async def test_a_duplicate_hotkey_is_refused_first_and_runs_once_the_owner_is_gone(
    world: World,
) -> None:
    await running(world, "alpha", ALICE)
    alpha_objects = world.owned_paths()
    world.kube.put(miner("beta", ALICE))  # not even its Secret exists: the first gate wins
    writes = Writes(world)
    await world.settle()
    assert writes() == ["patch_status SparketMiner beta"]
    assert world.condition("beta", "HotkeyUnique")["reason"] == "DuplicateHotkey"
    assert f"{NS}/alpha" in world.condition("beta", "HotkeyUnique")["message"]
    assert world.condition("beta", "WalletValid")["reason"] == "NotChecked"
    assert world.status("beta")["phase"] == "Invalid"
    assert world.owned_paths() == alpha_objects

    world.kube.put(wallet_secret("beta-wallet", ALICE))
    world.kube.remove(miner_path("alpha"))
    await world.settle()  # the deletion requeues the miners it refused
    assert world.status("beta")["phase"] == "Running"
    assert all("alpha" not in path for path in world.owned_paths())  # collected


async def test_an_older_owner_of_the_hotkey_takes_the_running_miners_workload_down(
    world: World,
) -> None:
    await running(world, "beta", ALICE)
    older = miner("alpha", ALICE)
    older["metadata"]["creationTimestamp"] = "2020-01-01T00:00:00Z"
    world.kube.put(wallet_secret("alpha-wallet", ALICE))
    world.kube.put(older)
    writes = Writes(world)
    await world.handle("beta")
    assert writes() == [
        "delete StatefulSet beta",
        "delete Service beta-axon",
        "patch_status SparketMiner beta",
    ]
    assert world.status("beta")["phase"] == "Invalid"
    await world.settle()
    beta_left = [p for p in world.owned_paths() if "beta" in p]
    assert beta_left == [resource_path("v1", "ConfigMap", namespace=NS, name="beta-runtime")]
    assert world.status("alpha")["phase"] == "Running"


async def test_a_node_port_taken_by_another_service_refuses_the_service_and_stops(
    world: World,
) -> None:
    await running(world, "alpha", ALICE, axon={"nodePort": 30080})
    world.kube.put(wallet_secret("beta-wallet", BOB))
    world.kube.put(miner("beta", BOB, axon={"nodePort": 30080}))
    writes = Writes(world)
    await world.settle()
    assert writes() == ["patch_status SparketMiner beta"]
    assert world.condition("beta", "Exposed")["reason"] == "ServiceRejected"
    assert "30080" in world.condition("beta", "Exposed")["message"]
    assert world.status("beta")["phase"] == "Pending"
    assert all("beta" not in path for path in world.owned_paths())


async def test_without_an_eligible_node_only_the_service_exists_and_it_looks_again() -> None:
    world = World()
    await world.start()
    world.kube.put(wallet_secret("alpha-wallet", ALICE))
    world.kube.put(miner("alpha", ALICE))
    writes = Writes(world)
    outcome = await world.controller.reconciler.reconcile((NS, "alpha"))
    assert outcome.requeue_after == WAIT_FOR_ENDPOINT
    assert writes() == ["apply Service alpha-axon", "patch_status SparketMiner alpha"]
    assert world.condition("alpha", "Exposed")["reason"] == "NoEligibleNode"
    assert world.owned_paths() == [resource_path("v1", "Service", namespace=NS, name="alpha-axon")]

    world.kube.put(node())
    await world.handle("alpha")  # what the timer would do
    await world.settle()
    assert world.status("alpha")["phase"] == "Running"


async def test_a_second_miner_resolving_the_same_endpoint_gets_no_service(
    world: World,
) -> None:
    shared = {"exposure": "LoadBalancer", "externalIP": "198.51.100.7"}
    await running(world, "alpha", ALICE, axon=shared)
    world.kube.put(wallet_secret("beta-wallet", BOB))
    world.kube.put(miner("beta", BOB, axon=shared))
    writes = Writes(world)
    await world.handle("beta")
    # The spec alone decides this endpoint: it is refused before a Service is made.
    assert writes() == ["patch_status SparketMiner beta"]
    assert world.condition("beta", "Exposed")["reason"] == "EndpointConflict"
    assert world.status("beta")["phase"] == "Invalid"
    assert world.status("alpha")["endpoint"] == "198.51.100.7:8094"
    assert all("beta" not in path for path in world.owned_paths())


async def test_a_miner_refused_for_its_endpoint_comes_to_rest(world: World) -> None:
    shared = {"exposure": "LoadBalancer", "externalIP": "198.51.100.7"}
    await running(world, "alpha", ALICE, axon=shared)
    world.kube.put(wallet_secret("beta-wallet", BOB))
    world.kube.put(miner("beta", BOB, axon=shared))
    await world.settle(max_rounds=5)
    assert world.condition("beta", "Exposed")["reason"] == "EndpointConflict"
    writes = Writes(world)
    await world.handle("beta")
    assert writes() == [] and writes.events() == []


async def test_a_miner_moved_onto_anothers_endpoint_loses_its_objects_and_frees_its_own(
    world: World,
) -> None:
    shared = {"exposure": "LoadBalancer", "externalIP": "198.51.100.7"}
    own = {"exposure": "LoadBalancer", "externalIP": "198.51.100.8"}
    await running(world, "alpha", ALICE, axon=shared)
    await running(world, "beta", BOB, axon=own)
    world.kube.put(miner("beta", BOB, axon=shared))
    writes = Writes(world)
    await world.handle("beta")
    assert writes() == [
        "delete StatefulSet beta",
        "delete Service beta-axon",
        "patch_status SparketMiner beta",
    ]
    assert world.condition("beta", "Exposed")["reason"] == "EndpointConflict"
    await world.settle()
    assert [p for p in world.owned_paths() if "beta" in p] == [
        resource_path("v1", "ConfigMap", namespace=NS, name="beta-runtime")
    ]

    await running(world, "gamma", CHARLIE, axon=own)  # beta no longer holds 198.51.100.8
    assert world.status("gamma")["endpoint"] == "198.51.100.8:8094"


async def test_the_owner_of_a_hotkey_may_take_the_port_its_refused_duplicate_freed(
    world: World,
) -> None:
    await running(world, "beta", BOB)
    port = int(world.status("beta")["endpoint"].rsplit(":", 1)[1])
    older = miner("alpha", BOB, axon={"nodePort": port})
    older["metadata"]["creationTimestamp"] = "2020-01-01T00:00:00Z"
    world.kube.put(wallet_secret("alpha-wallet", BOB))
    world.kube.put(older)
    await world.handle("alpha")  # the port is still beta's Service's
    assert world.condition("alpha", "Exposed")["reason"] == "ServiceRejected"
    await world.handle("beta")  # refused: its Service goes, the port is free
    await world.handle("alpha")
    assert world.condition("alpha", "Exposed")["reason"] == "EndpointResolved"


async def test_a_new_template_waits_for_a_rollout_slot_without_touching_its_objects() -> None:
    world = World(OperatorSettings(namespaces=[NS], max_unavailable=1))
    world.kube.put(node())
    await world.start()
    await running(world, "alpha", ALICE)
    await running(world, "beta", BOB)
    for name, hotkey in (("alpha", ALICE), ("beta", BOB)):
        world.kube.put(miner(name, hotkey, cadence={"oddsRefreshSeconds": 600}))
    writes = Writes(world)
    await world.handle("alpha")
    outcome = await world.controller.reconciler.reconcile((NS, "beta"))
    assert outcome.requeue_after == WAIT_FOR_ROLLOUT_SLOT
    assert writes() == [
        "apply ConfigMap alpha-runtime",
        "apply StatefulSet alpha",
        "patch_status SparketMiner alpha",
        "patch_status SparketMiner beta",
    ]
    assert world.condition("beta", "UpToDate")["reason"] == "RolloutQueued"
    assert world.condition("alpha", "UpToDate")["reason"] == "Rolling"

    await world.settle()  # alpha's pod is replaced and Ready: its slot is free again
    assert world.condition("alpha", "UpToDate")["reason"] == "Current"
    await world.handle("beta")  # what the timer would do
    await world.settle()
    assert world.condition("beta", "UpToDate")["reason"] == "Current"
    assert writes()[-4:-1] == [
        "apply ConfigMap beta-runtime",
        "apply StatefulSet beta",
        "patch_status SparketMiner beta",
    ]


async def test_a_paused_miner_keeps_its_objects_but_runs_no_pod(world: World) -> None:
    await running(world, "alpha", ALICE)
    world.kube.put(miner("alpha", ALICE, paused=True))
    writes = Writes(world)
    await world.settle()
    # The config is the same; the workload scales to zero, status follows it down.
    assert writes()[:2] == ["apply StatefulSet alpha", "patch_status SparketMiner alpha"]
    assert set(writes()[2:]) <= {"patch_status SparketMiner alpha"}
    sts = world.kube.object(sts_path("alpha"))
    assert sts is not None and sts["spec"]["replicas"] == 0
    assert world.status("alpha")["phase"] == "Paused"
    assert resource_path("v1", "Pod", namespace=NS, name="alpha-0") not in world.owned_paths()
    pvc = resource_path("v1", "PersistentVolumeClaim", namespace=NS, name="data-alpha-0")
    assert pvc in world.owned_paths()  # whenScaled: Retain keeps its data


@pytest.mark.parametrize(
    "leak",
    [
        {"coldkey": b'{"secretPhrase": "twelve words"}'},
        {"coldkeypub.txt": b'{"privateKey": "0x00", "ss58Address": "x"}'},
    ],
    ids=["as-its-own-key", "inside-coldkeypub"],
)
async def test_a_coldkey_added_to_a_running_miners_secret_takes_its_workload_down(
    world: World, leak: dict[str, bytes]
) -> None:
    """A kubelet refreshes a running pod's Secret files, so a private key pasted into
    coldkeypub.txt would reach the pod: the workload goes, not only the status."""
    await running(world, "alpha", ALICE)
    assert sts_path("alpha") in world.owned_paths()
    secret = wallet_secret("alpha-wallet", ALICE)
    secret["data"].update({k: base64.b64encode(v).decode() for k, v in leak.items()})
    world.kube.put(secret)
    await world.settle()
    assert world.condition("alpha", "WalletValid")["reason"] == "ColdkeyPresent"
    assert world.status("alpha")["phase"] == "Invalid"
    assert sts_path("alpha") not in world.owned_paths()
