"""A reconcile killed between any two writes leaves nothing a fresh operator cannot finish.

Each scenario is first run cleanly against the in-memory cluster and its writes recorded;
then, for every one of those writes, the operator is killed just before it lands and just
after (`InMemoryKube.crash_at_write`), the cluster's controllers carry on without it, and
a fresh Controller (nothing in memory, the same cluster) runs to a quiet state. It must
end exactly where the clean run ended: the same objects (no duplicates, nothing left
behind, pods and claims included), each owned by a live owner, and the same status. The
crash points come from the recorded writes, so a write added to the reconcile is covered
without touching this file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from sparket_operator.kube.api import resource_path
from sparket_operator.kube.memory import SimulatedCrash, Write
from sparket_testkit.harness.operator_world import (
    ALICE,
    BOB,
    NS,
    World,
    miner,
    miner_path,
    node,
    wallet_secret,
)

Step = Callable[[World], Awaitable[None]]


async def _nothing(world: World) -> None:
    return None


async def _alpha_running(world: World) -> None:
    world.kube.put(wallet_secret("alpha-wallet", ALICE))
    world.kube.put(miner("alpha", ALICE))
    await world.settle()


async def _beta_running(world: World) -> None:
    world.kube.put(wallet_secret("beta-wallet", BOB))
    world.kube.put(miner("beta", BOB))
    await world.settle()


async def _create_alpha(world: World) -> None:
    world.kube.put(wallet_secret("alpha-wallet", ALICE))
    world.kube.put(miner("alpha", ALICE))


async def _change_alpha(world: World) -> None:
    world.kube.put(miner("alpha", ALICE, cadence={"oddsRefreshSeconds": 600}))


async def _pause_alpha(world: World) -> None:
    world.kube.put(miner("alpha", ALICE, paused=True))


async def _older_owner_of_betas_hotkey(world: World) -> None:
    older = miner("alpha", BOB)
    older["metadata"]["creationTimestamp"] = "2020-01-01T00:00:00Z"
    world.kube.put(wallet_secret("alpha-wallet", BOB))
    world.kube.put(older)
    world.controller.queue.add((NS, "beta"))  # as the periodic resync would


@dataclass(frozen=True)
class Scenario:
    before: Step  # converged before the recorded part starts
    change: Step  # what the recorded reconciles react to


SCENARIOS = {
    "create": Scenario(_nothing, _create_alpha),
    "rollout": Scenario(_alpha_running, _change_alpha),
    "pause": Scenario(_alpha_running, _pause_alpha),
    "refuse-duplicate": Scenario(_beta_running, _older_owner_of_betas_hotkey),
}


async def _prepared(scenario: Scenario) -> World:
    world = World()
    world.kube.put(node())
    await world.start()
    await scenario.before(world)
    await scenario.change(world)
    return world


async def _clean_run(scenario: Scenario) -> tuple[World, list[Write]]:
    world = await _prepared(scenario)
    mark = len(world.kube.writes)
    await world.settle()
    return world, world.kube.writes[mark:]


def _crash_points() -> list[Any]:
    points = []
    for name, scenario in SCENARIOS.items():
        _, writes = asyncio.run(_clean_run(scenario))
        assert writes, f"scenario {name} writes nothing"
        for number, write in enumerate(writes, 1):
            for landed in (False, True):
                when = "after" if landed else "before"
                label = f"{name}-{when}-{number}-{write.verb}-{write.kind}"
                points.append(pytest.param(name, number, landed, id=label))
    return points


CRASH_POINTS = _crash_points()


async def _crash_then_recover(scenario: Scenario, number: int, *, landed: bool) -> World:
    world = await _prepared(scenario)
    world.kube.crash_at_write(number, landed=landed)
    with pytest.raises(SimulatedCrash):
        await world.settle()
    world.kube.run_controllers()  # the cluster goes on while no operator runs
    return world


def _statuses(world: World) -> dict[str, Any]:
    return {
        m["metadata"]["name"]: m.get("status")
        for m in world.kube.objects(resource_path("sparket.io/v1alpha1", "SparketMiner"))
    }


def _assert_every_owned_object_has_a_live_owner(world: World) -> None:
    live = {o["metadata"]["uid"] for o in world.kube.objects()}
    for obj in world.kube.objects():
        if obj["kind"] in ("SparketMiner", "Secret", "Node", "Event"):
            continue
        owners = {ref["uid"] for ref in obj["metadata"].get("ownerReferences") or []}
        assert owners and owners <= live, f"orphan {obj['kind']} {obj['metadata']['name']}"


@pytest.mark.parametrize(("scenario", "number", "landed"), CRASH_POINTS)
async def test_a_fresh_operator_finishes_what_a_killed_one_started(
    scenario: str, number: int, landed: bool
) -> None:
    clean, _ = await _clean_run(SCENARIOS[scenario])
    world = await _crash_then_recover(SCENARIOS[scenario], number, landed=landed)

    await world.restart()
    await world.settle()

    assert world.owned_paths() == clean.owned_paths()
    _assert_every_owned_object_has_a_live_owner(world)
    assert _statuses(world) == _statuses(clean)


@pytest.mark.parametrize(
    ("scenario", "number", "landed"), [p for p in CRASH_POINTS if p.values[0] == "create"]
)
async def test_a_miner_deleted_while_no_operator_runs_leaves_nothing_behind(
    scenario: str, number: int, landed: bool
) -> None:
    world = await _crash_then_recover(SCENARIOS[scenario], number, landed=landed)
    world.kube.remove(miner_path("alpha"))
    world.kube.run_controllers()

    await world.restart()
    await world.settle()

    assert world.owned_paths() == []
    assert world.controller.cache.miner_keys() == []
