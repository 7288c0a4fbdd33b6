"""What the operator needs from an API server, and how it names objects: one protocol.

The controller only ever speaks these six verbs on URL paths. `kube.client.RestKubeApi`
serves them from a real API server, `kube.memory.InMemoryKube` from a dict (for tests,
like controller-runtime's fake client); code that takes a `KubeApi` cannot tell them
apart, which is the point.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, unquote

Obj = dict[str, Any]

# (apiVersion/kind) -> (URL prefix, plural); the kinds the operator reads or writes, and
# the claims its StatefulSets make (which only the in-memory cluster ever stores itself).
_RESOURCES: dict[str, tuple[str, str]] = {
    "v1/Service": ("/api/v1", "services"),
    "v1/ConfigMap": ("/api/v1", "configmaps"),
    "v1/Secret": ("/api/v1", "secrets"),
    "v1/Pod": ("/api/v1", "pods"),
    "v1/PersistentVolumeClaim": ("/api/v1", "persistentvolumeclaims"),
    "v1/Node": ("/api/v1", "nodes"),
    "v1/Event": ("/api/v1", "events"),
    "apps/v1/StatefulSet": ("/apis/apps/v1", "statefulsets"),
    "sparket.io/v1alpha1/SparketMiner": ("/apis/sparket.io/v1alpha1", "sparketminers"),
}
_BY_PLURAL = {
    (prefix, plural): tuple(key.rsplit("/", 1)) for key, (prefix, plural) in _RESOURCES.items()
}


class KubeApi(Protocol):
    """The verbs the controller uses. Reads return None / [] for nothing; writes raise
    `kube.errors` (NotFound, Conflict, Invalid, Transient)."""

    async def get(self, path: str) -> Obj | None: ...

    async def list_objects(self, path: str, *, label_selector: str | None = None) -> list[Obj]: ...

    async def apply(self, obj: Mapping[str, Any]) -> Obj: ...

    async def patch_status(
        self, path: str, status: Mapping[str, Any], *, resource_version: str, kind: str
    ) -> Obj: ...

    async def create(self, path: str, obj: Mapping[str, Any]) -> Obj: ...

    async def delete(self, path: str) -> None: ...


def resource_path(
    api_version: str, kind: str, *, namespace: str | None = None, name: str | None = None
) -> str:
    try:
        prefix, plural = _RESOURCES[f"{api_version}/{kind}"]
    except KeyError:
        raise ValueError(f"unknown kind {api_version}/{kind}") from None
    path = prefix
    if namespace is not None:
        path += f"/namespaces/{quote(namespace)}"
    path += f"/{plural}"
    if name is not None:
        path += f"/{quote(name)}"
    return path


def object_path(obj: Mapping[str, Any]) -> str:
    """The path of `obj` itself, from its apiVersion, kind, namespace and name."""
    meta = obj["metadata"]
    return resource_path(
        obj["apiVersion"], obj["kind"], namespace=meta.get("namespace"), name=meta["name"]
    )


@dataclass(frozen=True)
class ParsedPath:
    """A path taken apart; `name` is None for a collection (list or create)."""

    api_version: str
    kind: str
    namespace: str | None
    name: str | None


def parse_path(path: str) -> ParsedPath:
    """The inverse of `resource_path`, for the known kinds (ValueError otherwise)."""
    parts = path.strip("/").split("/")
    prefix_len = 2 if parts[:1] == ["api"] else 3
    prefix, rest = "/" + "/".join(parts[:prefix_len]), parts[prefix_len:]
    namespace = None
    if len(rest) >= 2 and rest[0] == "namespaces":
        namespace, rest = unquote(rest[1]), rest[2:]
    if not rest or len(rest) > 2 or (prefix, rest[0]) not in _BY_PLURAL:
        raise ValueError(f"not a path of a known kind: {path}")
    api_version, kind = _BY_PLURAL[(prefix, rest[0])]
    return ParsedPath(api_version, kind, namespace, unquote(rest[1]) if len(rest) == 2 else None)
