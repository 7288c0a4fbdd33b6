"""Lay out a pod's volumes in a directory, as a kubelet would mount them.

Used by the operator/runtime contract tests, which run the runtime as a process with the
pod's args and env, in seconds and without a node (the real node runs the same pod spec in
tests/real_node and the demo): its volumes are filled from the pod spec (ConfigMap and
Secret items with their modes, emptyDirs, claims as directories that outlive the pod).
Without a container runtime there is no mount namespace, so every absolute pod path under a
mount, in env values and in YAML config files, is moved to where that volume lives here;
paths under no mount are reported (they would be on the pod's read-only root filesystem).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

CONFIG_SUFFIXES = (".yaml", ".yml")
KUBELET_DEFAULT_MODE = 0o644


def _under(path: str, mount: str) -> bool:
    """`path` is `mount` or inside it (whole path components: /tmpx is not under /tmp)."""
    return PurePosixPath(path).is_relative_to(PurePosixPath(mount))


def host_path(pod_path: str, mounts: Mapping[str, Path]) -> Path | None:
    """Where the pod path `pod_path` lives here (deepest mount wins); None if under none."""
    for mount in sorted(mounts, key=lambda m: len(PurePosixPath(m).parts), reverse=True):
        if _under(pod_path, mount):
            return mounts[mount] / PurePosixPath(pod_path).relative_to(mount)
    return None


def rewrite_paths(
    document: Any,
    mounts: Mapping[str, Path],
    outside: list[str],
    host_files: frozenset[str] = frozenset(),
) -> Any:
    """`document` with every absolute pod path under a mount replaced by its local path;
    absolute paths under no mount are appended to `outside`. `host_files` are left as
    they are: files of this machine shared with pods (what a hostPath volume would do)."""
    if isinstance(document, dict):
        return {
            key: rewrite_paths(value, mounts, outside, host_files)
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [rewrite_paths(value, mounts, outside, host_files) for value in document]
    if isinstance(document, str) and document in host_files:
        return document
    if isinstance(document, str) and document.startswith("/"):
        moved = host_path(document, mounts)
        if moved is None:
            outside.append(document)
            return document
        return str(moved)
    return document


@dataclass(frozen=True)
class Container:
    """One container as the kubelet would start it, with paths moved to local ones."""

    name: str
    image: str
    command: list[str]
    args: list[str]
    env: dict[str, str]
    mounts: dict[str, Path]  # mountPath -> local directory
    outside_mounts: list[str]  # absolute paths in env or config files under no mount


def stateful_set_pod_spec(stateful_set: Mapping[str, Any], ordinal: int = 0) -> dict[str, Any]:
    """The pod spec the StatefulSet controller would create for `ordinal`: the template
    plus one PVC volume per claim template (`<claim>-<set>-<ordinal>`)."""
    pod_spec = dict(stateful_set["spec"]["template"]["spec"])
    name = stateful_set["metadata"]["name"]
    claims = [
        {
            "name": claim["metadata"]["name"],
            "persistentVolumeClaim": {"claimName": f"{claim['metadata']['name']}-{name}-{ordinal}"},
        }
        for claim in stateful_set["spec"].get("volumeClaimTemplates", [])
    ]
    pod_spec["volumes"] = [*pod_spec.get("volumes", []), *claims]
    return pod_spec


def _write(target: Path, content: bytes, mode: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    target.chmod(mode)


def _items(volume: Mapping[str, Any], config_maps: Any, secrets: Any) -> tuple[Any, Any]:
    """(source, {key: bytes}) of a ConfigMap or Secret volume."""
    if "configMap" in volume:
        source = volume["configMap"]
        data = {k: v.encode("utf-8") for k, v in config_maps[source["name"]]["data"].items()}
        return source, data
    source = volume["secret"]
    raw = secrets[source["secretName"]]["data"]
    data = {k: base64.b64decode(v, validate=True) for k, v in raw.items()}
    return source, data


def materialise_volumes(
    pod_spec: Mapping[str, Any],
    *,
    config_maps: Mapping[str, Mapping[str, Any]],
    secrets: Mapping[str, Mapping[str, Any]],
    root: Path,
    claim_dir: Callable[[str], Path],
) -> dict[str, Path]:
    """Fill every volume of the pod under `root/volumes/<name>`; a claim is
    `claim_dir(claimName)` (kept across pods, like a PersistentVolume). Returns
    volume name -> local directory. Config files are not yet path-rewritten."""
    directories: dict[str, Path] = {}
    for volume in pod_spec.get("volumes", []):
        name = volume["name"]
        if "persistentVolumeClaim" in volume:
            target = claim_dir(volume["persistentVolumeClaim"]["claimName"])
            target.mkdir(parents=True, exist_ok=True)
        elif "emptyDir" in volume:
            target = root / "volumes" / name
            target.mkdir(parents=True)
        elif "configMap" in volume or "secret" in volume:
            target = root / "volumes" / name
            target.mkdir(parents=True)
            source, data = _items(volume, config_maps, secrets)
            default_mode = source.get("defaultMode", KUBELET_DEFAULT_MODE)
            # With `items`, only the listed keys are mounted, each at its `path`.
            items = source.get("items") or [{"key": key, "path": key} for key in data]
            for item in items:
                _write(target / item["path"], data[item["key"]], item.get("mode", default_mode))
        else:
            raise ValueError(f"volume {name}: a kind the local kubelet does not materialise")
        directories[name] = target
    return directories


def container_view(
    pod_spec: Mapping[str, Any],
    container_name: str,
    volumes: Mapping[str, Path],
    host_files: frozenset[str] = frozenset(),
) -> Container:
    """`container_name` with its mounts pointing at `volumes` and its env paths moved;
    YAML files in its ConfigMap mounts are rewritten in place the same way (`host_files`
    stay: see `rewrite_paths`)."""
    (container,) = [c for c in pod_spec["containers"] if c["name"] == container_name]
    config_map_volumes = {v["name"] for v in pod_spec.get("volumes", []) if "configMap" in v}
    mounts: dict[str, Path] = {}
    for mount in container.get("volumeMounts", []):
        if "subPath" in mount:
            raise ValueError(f"{container_name}: subPath mounts are not materialised")
        mounts[mount["mountPath"]] = volumes[mount["name"]]
    outside: list[str] = []
    for mount in container.get("volumeMounts", []):
        if mount["name"] not in config_map_volumes:
            continue
        for path in volumes[mount["name"]].rglob("*"):
            if path.suffix in CONFIG_SUFFIXES and path.is_file():
                document = yaml.safe_load(path.read_text(encoding="utf-8"))
                moved = rewrite_paths(document, mounts, outside, host_files)
                mode = path.stat().st_mode & 0o777
                _write(path, yaml.safe_dump(moved, sort_keys=True).encode("utf-8"), mode)
    env: dict[str, str] = {}
    for var in container.get("env", []):
        if "valueFrom" in var:
            raise ValueError(f"{container_name}: env {var['name']} is read from an object")
        env[var["name"]] = rewrite_paths(var.get("value", ""), mounts, outside, host_files)
    if "envFrom" in container:
        raise ValueError(f"{container_name}: envFrom is not materialised")
    return Container(
        name=container_name,
        image=container["image"],
        command=list(container.get("command", [])),
        args=list(container.get("args", [])),
        env=env,
        mounts=mounts,
        outside_mounts=outside,
    )
