"""The in-memory cluster answers like the real API server where the operator relies on it,
and its StatefulSet controller and garbage collector do what Kubernetes' do."""

from __future__ import annotations

import copy

import pytest

from sparket_operator.kube import errors
from sparket_operator.kube.api import Obj, object_path, parse_path, resource_path
from sparket_operator.kube.memory import InMemoryKube, SimulatedCrash, Write

NS = "miners"
# Required node affinity to one node: how the operator pins a miner (the fake's pod then
# runs there and is Ready; an unpinned one would stay Pending).
_TERM = {
    "matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1"]}]
}
PINNED = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [_TERM]}
    }
}


def config_map(name: str, **data: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "data": data,
    }


def stateful_set(name: str, *, replicas: int = 1, when_deleted: str = "Delete") -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": when_deleted,
                "whenScaled": "Retain",
            },
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"affinity": PINNED}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {}}],
        },
    }


def kinds(kube: InMemoryKube) -> list[tuple[str, str]]:
    return [(o["kind"], o["metadata"]["name"]) for o in kube.objects()]


def test_paths_round_trip() -> None:
    path = resource_path("apps/v1", "StatefulSet", namespace=NS, name="alpha")
    parsed = parse_path(path)
    assert (parsed.api_version, parsed.kind, parsed.namespace, parsed.name) == (
        "apps/v1",
        "StatefulSet",
        NS,
        "alpha",
    )
    assert parse_path(resource_path("v1", "Node")).name is None
    with pytest.raises(ValueError, match="known kind"):
        parse_path("/api/v1/namespaces/x/widgets/y")


async def test_apply_creates_then_updates_keeping_what_the_server_owns() -> None:
    kube = InMemoryKube()
    created = await kube.apply(config_map("cm", a="1"))
    kube.put({**created, "metadata": {**created["metadata"], "labels": {"theirs": "x"}}})
    updated = await kube.apply(config_map("cm", a="2"))
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    assert updated["data"] == {"a": "2"}
    assert updated["metadata"]["labels"] == {"theirs": "x", "app": "cm"}
    assert kube.writes == [Write("apply", "ConfigMap", object_path(created))] * 2


async def test_errors_are_the_real_clients() -> None:
    kube = InMemoryKube()
    path = object_path(config_map("cm"))
    with pytest.raises(errors.NotFound):
        await kube.patch_status(path, {}, resource_version="1", kind="ConfigMap")
    live = await kube.apply(config_map("cm"))
    await kube.apply(config_map("cm", changed="yes"))
    with pytest.raises(errors.Conflict):  # a stale resourceVersion
        await kube.patch_status(
            path, {}, resource_version=live["metadata"]["resourceVersion"], kind="ConfigMap"
        )
    with pytest.raises(errors.Conflict):  # already exists
        await kube.create(resource_path("v1", "ConfigMap", namespace=NS), config_map("cm"))
    await kube.delete(resource_path("v1", "Pod", namespace=NS, name="none"))  # no 404 raised
    assert kube.writes[-1] == Write(
        "delete", "Pod", resource_path("v1", "Pod", namespace=NS, name="none")
    )
    assert await kube.get(resource_path("v1", "Pod", namespace=NS, name="none")) is None


async def test_status_is_a_json_merge_patch() -> None:
    kube = InMemoryKube()
    live = await kube.apply(config_map("cm"))
    path = object_path(live)
    version = live["metadata"]["resourceVersion"]
    first = await kube.patch_status(
        path, {"a": 1, "b": {"c": 2}}, resource_version=version, kind="X"
    )
    version = first["metadata"]["resourceVersion"]
    second = await kube.patch_status(
        path, {"a": None, "b": {"d": 3}}, resource_version=version, kind="X"
    )
    assert second["status"] == {"b": {"c": 2, "d": 3}}
    assert second["metadata"]["generation"] == 1  # status is not spec


async def test_node_ports_are_allocated_kept_and_refused_when_taken() -> None:
    kube = InMemoryKube()

    def service(name: str, node_port: int | None = None) -> Obj:
        port: Obj = {"name": "axon", "port": 8094}
        if node_port:
            port["nodePort"] = node_port
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"type": "NodePort", "ports": [port]},
        }

    first = await kube.apply(service("one"))
    again = await kube.apply(service("one"))
    assert first["spec"]["ports"][0]["nodePort"] == again["spec"]["ports"][0]["nodePort"]
    with pytest.raises(errors.Invalid, match="already allocated"):
        await kube.apply(service("two", first["spec"]["ports"][0]["nodePort"]))


async def test_label_selectors_and_namespaced_lists() -> None:
    kube = InMemoryKube()
    await kube.apply(config_map("a"))
    await kube.apply({**config_map("b"), "metadata": {"name": "b", "namespace": "other"}})
    everywhere = await kube.list_objects(resource_path("v1", "ConfigMap"))
    here = await kube.list_objects(resource_path("v1", "ConfigMap", namespace=NS))
    labelled = await kube.list_objects(resource_path("v1", "ConfigMap"), label_selector="app=a")
    assert [o["metadata"]["name"] for o in everywhere] == ["a", "b"]  # by path: miners < other
    assert (
        [o["metadata"]["name"] for o in here] == [o["metadata"]["name"] for o in labelled] == ["a"]
    )


async def test_a_stateful_set_makes_its_pod_and_claim_and_takes_them_when_deleted() -> None:
    kube = InMemoryKube()
    await kube.apply(stateful_set("s"))
    kube.run_controllers()
    assert sorted(kinds(kube)) == [
        ("PersistentVolumeClaim", "data-s-0"),
        ("Pod", "s-0"),
        ("StatefulSet", "s"),
    ]
    sts = kube.object(resource_path("apps/v1", "StatefulSet", namespace=NS, name="s"))
    pod = kube.object(resource_path("v1", "Pod", namespace=NS, name="s-0"))
    assert pod is not None and pod["spec"]["nodeName"] == "n1"
    assert sts is not None and sts["status"]["readyReplicas"] == 1
    assert sts["status"]["currentRevision"] == sts["status"]["updateRevision"]

    await kube.delete(object_path(stateful_set("s")))
    kube.run_controllers()
    assert kinds(kube) == []


async def test_retained_claims_outlive_their_stateful_set() -> None:
    kube = InMemoryKube()
    await kube.apply(stateful_set("s", when_deleted="Retain"))
    kube.run_controllers()
    await kube.delete(object_path(stateful_set("s")))
    kube.run_controllers()
    assert kinds(kube) == [("PersistentVolumeClaim", "data-s-0")]


async def test_a_new_template_replaces_the_pod_and_scaling_to_zero_removes_it() -> None:
    kube = InMemoryKube()
    await kube.apply(stateful_set("s"))
    kube.run_controllers()
    pod_path = resource_path("v1", "Pod", namespace=NS, name="s-0")
    before = kube.object(pod_path)
    changed = stateful_set("s")
    changed["spec"]["template"]["metadata"]["labels"]["new"] = "yes"
    await kube.apply(changed)
    kube.run_controllers()
    after = kube.object(pod_path)
    assert before is not None and after is not None
    assert after["metadata"]["uid"] != before["metadata"]["uid"]
    await kube.apply(stateful_set("s", replicas=0))
    kube.run_controllers()
    assert kube.object(pod_path) is None


async def test_crashes_land_or_not_as_asked_and_fire_once() -> None:
    kube = InMemoryKube()
    kube.crash_at_write(2)
    await kube.apply(config_map("one"))
    with pytest.raises(SimulatedCrash):
        await kube.apply(config_map("two"))
    assert [o["metadata"]["name"] for o in kube.objects()] == ["one"]
    await kube.apply(config_map("two"))  # the fault is spent

    kube.crash_after_write_to("Secret")
    await kube.apply(config_map("three"))
    secret = copy.deepcopy(config_map("s"))
    secret["kind"] = "Secret"
    with pytest.raises(SimulatedCrash):
        await kube.apply(secret)
    assert kube.object(object_path(secret)) is not None
    assert [str(w) for w in kube.writes] == [
        "apply ConfigMap one",
        "apply ConfigMap two",
        "apply ConfigMap three",
        "apply Secret s",
    ]


async def test_listeners_hear_every_change() -> None:
    kube = InMemoryKube()
    heard: list[tuple[str, str, bool]] = []
    kube.subscribe(
        lambda kind, obj, deleted: heard.append((kind, obj["metadata"]["name"], deleted))
    )
    await kube.apply(config_map("cm"))
    await kube.delete(object_path(config_map("cm")))
    assert heard == [("ConfigMap", "cm", False), ("ConfigMap", "cm", True)]
