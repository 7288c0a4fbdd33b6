"""A local kubelet for the demo: runs the containers of pods that KWOK marks Running.

KWOK fakes a node's kubelet (pods look Running, nothing runs). This runs them for real on
this machine: for each Running pod on the watched nodes it makes a network namespace with
the pod's IP (`PodNetwork`), lays out its volumes from the API's ConfigMaps, Secrets and
claims (`materialise`), and starts each container's process there with the container's
env and args. Images are not pulled: a table maps an image repository to the local
command its entrypoint stands for. It also plays kube-proxy for NodePort Services. A pod
that goes away (or is being deleted) has its processes stopped and namespace removed; a
container that exits is started again after a back-off, as `restartPolicy: Always` says.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sparket_local_cluster.pods.materialise import container_view, materialise_volumes
from sparket_local_cluster.pods.network import NodePortRule, PodNetwork
from sparket_local_cluster.rest import ApiError, RestClient
from sparket_local_services.processes import ManagedProcess

log = logging.getLogger("sparket_local_cluster.kubelet")

RESTART_BACKOFF_SECONDS = 5.0
CONTAINER_PATH = "/usr/local/bin:/usr/bin:/bin"


def image_repository(image: str) -> str:
    """`registry/name:tag@digest` -> `name` (the last path part, without tag or digest)."""
    name = image.split("@")[0].rsplit("/", 1)[-1]
    return name.split(":")[0]


@dataclass
class RunningContainer:
    process: ManagedProcess
    argv: list[str]
    env: dict[str, str]
    restarts: int = 0
    exited_at: float | None = None


@dataclass
class RunningPod:
    key: tuple[str, str]  # (namespace, name)
    uid: str
    ip: str
    netns: str
    labels: dict[str, str]
    ports: dict[str, int]  # container port name -> number
    containers: dict[str, RunningContainer] = field(default_factory=dict)


def _selected(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def node_port_rules(services: list[dict[str, Any]], pods: list[RunningPod]) -> list[NodePortRule]:
    """kube-proxy's NodePort job for these Services and running pods (first match)."""
    rules: list[NodePortRule] = []
    for service in services:
        spec = service.get("spec", {})
        namespace = service["metadata"]["namespace"]
        selector = spec.get("selector") or {}
        backends = [p for p in pods if p.key[0] == namespace and _selected(selector, p.labels)]
        if not backends:
            continue
        pod = sorted(backends, key=lambda p: p.key)[0]
        for port in spec.get("ports", []):
            if "nodePort" not in port:
                continue
            target = port.get("targetPort", port["port"])
            number = pod.ports.get(target) if isinstance(target, str) else int(target)
            if number is not None:
                rules.append(NodePortRule(int(port["nodePort"]), pod.ip, number))
    return rules


@dataclass
class LocalKubelet:
    client: RestClient
    network: PodNetwork
    workdir: Path
    images: Mapping[str, list[str]]  # image repository -> entrypoint argv
    nodes: frozenset[str]
    poll_seconds: float = 1.0
    # Files of this machine every pod may read at their own path (like a hostPath volume).
    host_files: frozenset[str] = frozenset()
    pods: dict[str, RunningPod] = field(default_factory=dict, init=False)  # by uid
    errors: list[str] = field(default_factory=list, init=False)
    _rules: list[NodePortRule] = field(default_factory=list, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="local-kubelet", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop every container (SIGTERM, then SIGKILL after the grace) and namespace."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        for uid in list(self.pods):
            self._kill(uid)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync()
            except Exception as exc:  # thread boundary: keep running, remember why
                log.exception("local kubelet sync failed")
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self._stop.wait(self.poll_seconds)

    def sync(self) -> None:
        """One pass: start new Running pods, stop gone ones, restart exited containers,
        refresh the NodePort forwards."""
        items = self.client.call("GET", "/api/v1/pods")["items"]
        wanted = {
            pod["metadata"]["uid"]: pod
            for pod in items
            if pod["spec"].get("nodeName") in self.nodes
            and pod.get("status", {}).get("phase") == "Running"
            and pod.get("status", {}).get("podIP")
            and not pod["metadata"].get("deletionTimestamp")
        }
        for uid in [uid for uid in self.pods if uid not in wanted]:
            self._kill(uid)
        for uid, pod in wanted.items():
            if uid not in self.pods:
                self._launch(pod)
        self._restart_exited()
        services = self.client.call("GET", "/api/v1/services")["items"]
        rules = node_port_rules(services, list(self.pods.values()))
        if rules != self._rules:
            self.network.set_node_ports(rules)
            self._rules = rules

    def _objects(self, namespace: str, kind: str, names: set[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name in names:
            try:
                found[name] = self.client.call(
                    "GET", f"/api/v1/namespaces/{namespace}/{kind}/{name}"
                )
            except ApiError as exc:
                if exc.status != 404:
                    raise
        return found

    def _launch(self, pod: dict[str, Any]) -> None:
        meta, spec = pod["metadata"], pod["spec"]
        namespace, name, uid = meta["namespace"], meta["name"], meta["uid"]
        volumes = spec.get("volumes", [])
        config_maps = self._objects(
            namespace, "configmaps", {v["configMap"]["name"] for v in volumes if "configMap" in v}
        )
        secrets = self._objects(
            namespace, "secrets", {v["secret"]["secretName"] for v in volumes if "secret" in v}
        )
        root = self.workdir / "pods" / f"{namespace}_{name}_{uid[:8]}"
        local = materialise_volumes(
            spec,
            config_maps=config_maps,
            secrets=secrets,
            root=root,
            claim_dir=lambda claim: self.workdir / "claims" / namespace / claim,
        )
        netns = f"spk-{uid[:12]}"
        self.network.add_pod(netns, pod["status"]["podIP"])
        running = RunningPod(
            key=(namespace, name),
            uid=uid,
            ip=pod["status"]["podIP"],
            netns=netns,
            labels=dict(meta.get("labels") or {}),
            ports={
                port["name"]: int(port["containerPort"])
                for container in spec["containers"]
                for port in container.get("ports", [])
                if "name" in port
            },
        )
        self.pods[uid] = running
        for container in spec["containers"]:
            view = container_view(spec, container["name"], local, self.host_files)
            entrypoint = view.command or list(self.images.get(image_repository(view.image), []))
            if not entrypoint:
                self.errors.append(f"{namespace}/{name}: no local command for image {view.image}")
                continue
            argv = self.network.exec_argv(netns, [*entrypoint, *view.args])
            env = {"PATH": CONTAINER_PATH, **view.env}
            running.containers[view.name] = RunningContainer(
                self._start(root, view.name, argv, env), argv, env
            )
        log.info("started pod %s/%s at %s", namespace, name, running.ip)

    def _start(self, root: Path, name: str, argv: list[str], env: dict[str, str]) -> ManagedProcess:
        process = ManagedProcess(name, argv, root / "logs" / f"{name}.log", env=env, cwd=root)
        process.start()
        return process

    def _restart_exited(self) -> None:
        now = time.monotonic()
        for pod in self.pods.values():
            for name, container in pod.containers.items():
                if container.process.running():
                    continue
                if container.exited_at is None:
                    container.exited_at = now
                    log.warning("container %s of %s/%s exited", name, *pod.key)
                elif now - container.exited_at >= RESTART_BACKOFF_SECONDS:
                    root = container.process.log_path.parent.parent
                    container.process = self._start(root, name, container.argv, container.env)
                    container.restarts += 1
                    container.exited_at = None

    def _kill(self, uid: str) -> None:
        pod = self.pods.pop(uid)
        for container in pod.containers.values():
            container.process.stop(grace=15)
        self.network.remove_pod(pod.netns)
        log.info("stopped pod %s/%s", *pod.key)

    def crash_looping(self, restarts: int = 3) -> list[tuple[str, Path]]:
        """(pod/container, log) of containers restarted at least `restarts` times."""
        return [
            (f"{pod.key[1]}/{name}", container.process.log_path)
            for pod in self.pods.values()
            for name, container in pod.containers.items()
            if container.restarts >= restarts
        ]
