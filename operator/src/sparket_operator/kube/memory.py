"""An API server in a dict, for tests: `InMemoryKube` is a `KubeApi` like the real one.

In the manner of controller-runtime's fake client: objects are stored by path, server-side
apply is a replace of what the applier sends that keeps what the server owns (uid,
creation time, versions, status, an allocated nodePort), and failures are the same
`kube.errors` the real client raises. Beyond a plain fake it

- records every write made through the protocol, in order (`writes`);
- tells listeners of every change, as watch events would (`subscribe`);
- stands in for the cluster's own controllers on demand (`run_controllers`): the
  StatefulSet controller (pods and claims, see `kube.simulated`) and the garbage
  collector (an object whose owners are all gone goes too);
- can kill the caller at a chosen write (`crash_at_write`, `crash_after_write_to`), so a
  test can check that a fresh operator recovers from any half-done reconcile, or fail
  one write with an API error (`fail_write`).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sparket_operator.kube import errors, simulated
from sparket_operator.kube.api import Obj, object_path, parse_path, resource_path

Listener = Callable[[str, Obj, bool], None]  # (kind, object, deleted)
NODE_PORTS = range(30000, 32768)
_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
T = TypeVar("T")


class SimulatedCrash(BaseException):
    """The operator process "died" at an injected point; raised by `InMemoryKube`. A
    BaseException, like SystemExit, so no `except Exception` in the operator survives it."""


@dataclass(frozen=True)
class Write:
    """One write that landed: verb (apply, patch_status, create, delete), kind and path."""

    verb: str
    kind: str
    path: str

    def __str__(self) -> str:
        return f"{self.verb} {self.kind} {self.path.rsplit('/', 1)[-1]}"


@dataclass(frozen=True)
class _Fault:
    number: int | None  # the write number (1-based, over all writes) to fail at
    kind: str | None  # or the next write to this kind
    landed: bool  # raise after the write reached the store (else before)
    error: BaseException

    def hits(self, number: int, kind: str) -> bool:
        return self.number == number or self.kind == kind


class InMemoryKube:
    def __init__(self, *, pods_become_ready: bool = True) -> None:
        self.writes: list[Write] = []
        self.pods_become_ready = pods_become_ready
        self._objects: dict[str, Obj] = {}
        self._listeners: list[Listener] = []
        self._version = 0
        self._fault: _Fault | None = None
        self._last_node_port = NODE_PORTS.start - 1

    # ---- the KubeApi verbs ------------------------------------------------------------

    async def get(self, path: str) -> Obj | None:
        found = self._objects.get(path)
        return copy.deepcopy(found) if found is not None else None

    async def list_objects(self, path: str, *, label_selector: str | None = None) -> list[Obj]:
        return self.objects(path, label_selector=label_selector)

    async def apply(self, obj: Mapping[str, Any]) -> Obj:
        path = object_path(obj)
        return self._write("apply", obj["kind"], path, lambda: self._apply(path, obj))

    async def patch_status(
        self, path: str, status: Mapping[str, Any], *, resource_version: str, kind: str
    ) -> Obj:
        return self._write(
            "patch_status", kind, path, lambda: self._patch_status(path, status, resource_version)
        )

    async def create(self, path: str, obj: Mapping[str, Any]) -> Obj:
        return self._write("create", str(obj.get("kind")), path, lambda: self._create(path, obj))

    async def delete(self, path: str) -> None:
        self._write("delete", parse_path(path).kind, path, lambda: self._drop(path))

    # ---- what a test does around the operator ------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def crash_at_write(self, number: int, *, landed: bool = False) -> None:
        """Raise `SimulatedCrash` at the `number`th write from now (1-based): before it
        reaches the store, or (`landed`) after it did and before its caller hears back."""
        number += len(self.writes)
        when = "after" if landed else "before"
        self._fault = _Fault(number, None, landed, SimulatedCrash(f"{when} write {number}"))

    def crash_after_write_to(self, kind: str) -> None:
        """Let the next write to `kind` land, then raise `SimulatedCrash`."""
        self._fault = _Fault(None, kind, True, SimulatedCrash(f"after a write to {kind}"))

    def fail_write(self, error: BaseException, *, number: int = 1) -> None:
        """Make the `number`th write from now raise `error` (e.g. `errors.Conflict`)
        without landing."""
        self._fault = _Fault(len(self.writes) + number, None, False, error)

    def put(self, obj: Mapping[str, Any]) -> Obj:
        """Create or replace `obj` as a user would (kubectl): not an operator write."""
        path = object_path(obj)
        existing = self._objects.get(path)
        stored = copy.deepcopy(dict(obj))
        if existing is not None and "status" not in stored and "status" in existing:
            stored["status"] = copy.deepcopy(existing["status"])
        return self._store(path, stored)

    def remove(self, path: str) -> None:
        """Delete as a user would; dependents go at the next `run_controllers`."""
        self._drop(path)

    def object(self, path: str) -> Obj | None:
        found = self._objects.get(path)
        return copy.deepcopy(found) if found is not None else None

    def objects(self, path: str = "", *, label_selector: str | None = None) -> list[Obj]:
        """Copies of the objects under collection `path` ("" for all), sorted by path."""
        wanted = _selector(label_selector)
        return [
            copy.deepcopy(obj)
            for key, obj in sorted(self._objects.items())
            if _in_collection(key, path)
            and all((obj["metadata"].get("labels") or {}).get(k) == v for k, v in wanted)
        ]

    def run_controllers(self) -> None:
        """Let the StatefulSet controller and the garbage collector catch up, until
        neither has anything left to do."""
        while self._sync_stateful_sets() | self._collect_garbage():
            pass

    # ---- writes -----------------------------------------------------------------------

    def _write(self, verb: str, kind: str, path: str, do: Callable[[], T]) -> T:
        fault = self._fault
        if fault is not None and fault.hits(len(self.writes) + 1, kind):
            self._fault = None
        else:
            fault = None
        if fault is not None and not fault.landed:
            raise fault.error
        result = do()
        self.writes.append(Write(verb, kind, path))
        if fault is not None:
            raise fault.error
        return result

    def _apply(self, path: str, obj: Mapping[str, Any]) -> Obj:
        existing = self._objects.get(path)
        applied = copy.deepcopy(dict(obj))
        if existing is not None:
            meta = applied["metadata"]
            for field in ("labels", "annotations"):  # others' keys stay, as with SSA
                merged = {**(existing["metadata"].get(field) or {}), **(meta.get(field) or {})}
                if merged:
                    meta[field] = merged
            if "status" in existing:
                applied["status"] = copy.deepcopy(existing["status"])
        if applied["kind"] == "Service":
            self._allocate_node_ports(path, applied, existing)
        return self._store(path, applied)

    def _patch_status(self, path: str, status: Mapping[str, Any], resource_version: str) -> Obj:
        existing = self._objects.get(path)
        if existing is None:
            raise errors.NotFound(f"while writing status of {path}: not found", status=404)
        if existing["metadata"]["resourceVersion"] != resource_version:
            raise errors.Conflict(f"while writing status of {path}: object changed", status=409)
        patched = copy.deepcopy(existing)
        patched["status"] = _merge_patch(existing.get("status") or {}, status)
        return self._store(path, patched)

    def _create(self, path: str, obj: Mapping[str, Any]) -> Obj:
        created = copy.deepcopy(dict(obj))
        meta = created.setdefault("metadata", {})
        target = parse_path(path)
        if target.namespace is not None:
            meta["namespace"] = target.namespace
        if not meta.get("name"):
            meta["name"] = f"{meta.get('generateName', '')}{self._version + 1:05d}"
        item = object_path(created)
        if item in self._objects:
            raise errors.Conflict(f"while creating in {path}: {item} already exists", status=409)
        return self._store(item, created)

    def _allocate_node_ports(self, path: str, service: Obj, existing: Obj | None) -> None:
        """NodePorts the API server assigns: kept across applies, refused when taken."""
        spec = service.get("spec") or {}
        if spec.get("type") not in ("NodePort", "LoadBalancer"):
            return
        before = {p.get("name"): p.get("nodePort") for p in _ports(existing)}
        taken = {
            p.get("nodePort") for key, s in self._objects.items() if key != path for p in _ports(s)
        }
        for port in spec.get("ports") or []:
            wanted = port.get("nodePort")
            if wanted is not None and wanted in taken:
                raise errors.Invalid(
                    f"while applying Service {path}: provided port {wanted} is already allocated",
                    status=422,
                )
            port["nodePort"] = wanted or before.get(port.get("name")) or self._free(taken)
            taken.add(port["nodePort"])

    def _free(self, taken: set[Any]) -> int:
        """The next free port after the last one handed out: like the real (random)
        allocator, a port just released is not at once given to someone else."""
        ports = [*NODE_PORTS[self._last_node_port - NODE_PORTS.start + 1 :], *NODE_PORTS]
        self._last_node_port = next(port for port in ports if port not in taken)
        return self._last_node_port

    # ---- the store --------------------------------------------------------------------

    def _store(self, path: str, obj: Obj) -> Obj:
        existing = self._objects.get(path)
        meta = obj["metadata"]
        self._version += 1
        meta["resourceVersion"] = str(self._version)
        if existing is None:
            meta["uid"] = meta.get("uid") or f"uid-{self._version:05d}"
            meta["creationTimestamp"] = meta.get("creationTimestamp") or _timestamp(self._version)
            meta["generation"] = 1
        else:
            old = existing["metadata"]
            meta["uid"], meta["creationTimestamp"] = old["uid"], old["creationTimestamp"]
            changed = obj.get("spec") != existing.get("spec")
            meta["generation"] = old.get("generation", 1) + (1 if changed else 0)
        self._objects[path] = obj
        self._notify(obj, deleted=False)
        return copy.deepcopy(obj)

    def _drop(self, path: str) -> None:
        gone = self._objects.pop(path, None)
        if gone is not None:
            self._notify(gone, deleted=True)

    def _notify(self, obj: Obj, *, deleted: bool) -> None:
        for listener in list(self._listeners):
            listener(obj["kind"], copy.deepcopy(obj), deleted)

    # ---- the cluster's own controllers ---------------------------------------------------

    def _sync_stateful_sets(self) -> bool:
        changed = False
        for sts in [o for o in self._objects.values() if o["kind"] == "StatefulSet"]:
            changed |= self._sync_stateful_set(sts)
        return changed

    def _sync_stateful_set(self, sts: Obj) -> bool:
        ns = sts["metadata"]["namespace"]
        changed = False
        wanted = simulated.replicas(sts)
        for ordinal in range(wanted):
            for claim in simulated.claims_for(sts, ordinal):
                if object_path(claim) not in self._objects:
                    self._store(object_path(claim), claim)
                    changed = True
            path = resource_path("v1", "Pod", namespace=ns, name=simulated.pod_name(sts, ordinal))
            pod = self._objects.get(path)
            stale = pod is not None and _revision_of(pod) != simulated.revision(sts)
            if stale:  # RollingUpdate: the old pod goes before its replacement starts
                self._drop(path)
            if pod is None or stale:
                self._store(path, simulated.pod_for(sts, ordinal, ready=self.pods_become_ready))
                changed = True
        for ordinal, path in self._ordinals_beyond(sts, wanted):
            self._drop(path)
            if simulated.delete_claims_on_scale_down(sts):
                for claim in simulated.claims_for(sts, ordinal):
                    self._drop(object_path(claim))
            changed = True
        pods = list(self._pods_of(sts))
        status = simulated.stateful_set_status(sts, pods)
        if sts.get("status") != status:
            updated = copy.deepcopy(sts)
            updated["status"] = status
            self._store(object_path(sts), updated)
            changed = True
        return changed

    def _pods_of(self, sts: Obj) -> Iterator[Obj]:
        uid = sts["metadata"]["uid"]
        for obj in list(self._objects.values()):
            if obj["kind"] == "Pod" and uid in _owner_uids(obj):
                yield obj

    def _ordinals_beyond(self, sts: Obj, wanted: int) -> list[tuple[int, str]]:
        prefix = f"{sts['metadata']['name']}-"
        found = []
        for pod in self._pods_of(sts):
            ordinal = pod["metadata"]["name"].removeprefix(prefix)
            if ordinal.isdigit() and int(ordinal) >= wanted:
                found.append((int(ordinal), object_path(pod)))
        return found

    def _collect_garbage(self) -> bool:
        """Delete every object whose owners are all gone (in the background, as the
        garbage collector does after an owner's deletion)."""
        live = {o["metadata"]["uid"] for o in self._objects.values()}
        orphans = [
            path
            for path, obj in self._objects.items()
            if _owner_uids(obj) and not (_owner_uids(obj) & live)
        ]
        for path in orphans:
            self._drop(path)
        return bool(orphans)


def _owner_uids(obj: Mapping[str, Any]) -> set[str]:
    return {str(ref["uid"]) for ref in obj["metadata"].get("ownerReferences") or []}


def _revision_of(pod: Mapping[str, Any]) -> str | None:
    value = (pod["metadata"].get("labels") or {}).get(simulated.REVISION_LABEL)
    return str(value) if value is not None else None


def _ports(service: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if service is None or service.get("kind") != "Service":
        return []
    return [p for p in (service.get("spec") or {}).get("ports") or [] if p.get("nodePort")]


def _timestamp(tick: int) -> str:
    return (_EPOCH + dt.timedelta(seconds=tick)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _in_collection(item: str, collection: str) -> bool:
    """Is `item` (an object's path) in `collection` (a namespaced or cluster-wide list)?"""
    if not collection:
        return True
    want, got = parse_path(collection), parse_path(item)
    return (want.api_version, want.kind) == (got.api_version, got.kind) and (
        want.namespace is None or want.namespace == got.namespace
    )


def _selector(label_selector: str | None) -> list[tuple[str, str]]:
    """Equality terms only (`a=b,c==d`), the one form the operator uses."""
    terms = []
    for term in (label_selector or "").split(","):
        if not term.strip():
            continue
        key, sep, value = term.partition("==") if "==" in term else term.partition("=")
        if not sep or "!" in key:
            raise ValueError(f"unsupported label selector term {term!r}")
        terms.append((key.strip(), value.strip()))
    return terms


def _merge_patch(target: Mapping[str, Any], patch: Mapping[str, Any]) -> Obj:
    """RFC 7386 JSON merge patch: null deletes, objects merge, anything else replaces."""
    result = copy.deepcopy(dict(target))
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = _merge_patch(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result
