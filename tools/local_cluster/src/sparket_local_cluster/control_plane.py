"""A real local Kubernetes control plane on loopback: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler and KWOK with fake nodes.

Everything listens on 127.0.0.1 on free ports. KWOK makes scheduled pods look Running on
fake nodes whose addresses come from documentation ranges (RFC 5737): they are labels in
the API, never dialled. `LocalCluster` is used both by `sparket-local-cluster cluster up` (the
processes outlive the command; `cluster down` stops them) and by the pytest fixture.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sparket_local_cluster.rest import ApiError, RestClient
from sparket_local_services.errors import StartupFailed
from sparket_local_services.pki import ClusterPki, make_cluster_pki
from sparket_local_services.ports import free_port, http_ok
from sparket_local_services.processes import ManagedProcess, stop_group

KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
SERVICE_CIDR = "10.96.0.0/16"
# Pod IPs KWOK hands out: TEST-NET-2, never routed, never dialled.
POD_CIDR = "198.51.100.0/24"


@dataclass(frozen=True)
class FakeNode:
    """A KWOK node. `external_ip` stands for the public IP a miner advertises and egresses
    from; addresses are from TEST-NET-3 (203.0.113.0/24) so nothing can reach them."""

    name: str
    external_ip: str
    internal_ip: str
    labels: dict[str, str] = field(default_factory=dict)

    def manifest(self) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.name,
                "annotations": {KWOK_NODE_ANNOTATION: "fake"},
                "labels": {
                    "kubernetes.io/hostname": self.name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "type": "kwok",
                    **self.labels,
                },
            },
            "spec": {},
            "status": {
                "addresses": [
                    {"type": "InternalIP", "address": self.internal_ip},
                    {"type": "ExternalIP", "address": self.external_ip},
                    {"type": "Hostname", "address": self.name},
                ],
                "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "250"},
                "capacity": {"cpu": "32", "memory": "256Gi", "pods": "250"},
                "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux"},
            },
        }


DEFAULT_NODES: tuple[FakeNode, ...] = (
    FakeNode(
        "kwok-node-a",
        external_ip="203.0.113.10",
        internal_ip="192.0.2.10",
        labels={"topology.kubernetes.io/zone": "zone-a"},
    ),
    FakeNode(
        "kwok-node-b",
        external_ip="203.0.113.11",
        internal_ip="192.0.2.11",
        labels={"topology.kubernetes.io/zone": "zone-a"},
    ),
    FakeNode(
        "kwok-node-c",
        external_ip="203.0.113.12",
        internal_ip="192.0.2.12",
        labels={"topology.kubernetes.io/zone": "zone-b"},
    ),
)

REQUIRED_BINARIES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "kwok-stages.yaml",  # KWOK's own fast node/pod stages, extracted at build time
)


def missing_binaries(bin_dir: Path) -> list[str]:
    return [name for name in REQUIRED_BINARIES if not (bin_dir / name).exists()]


def write_kubeconfig(path: Path, *, server: str, pki: ClusterPki) -> None:
    """A kubeconfig with the CA and admin credentials by path (kopf, kubectl, helm read it)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "sparket-local",
                "cluster": {"server": server, "certificate-authority": str(pki.ca_cert)},
            }
        ],
        "users": [
            {
                "name": "sparket-admin",
                "user": {
                    "client-certificate": str(pki.admin_cert),
                    "client-key": str(pki.admin_key),
                },
            }
        ],
        "contexts": [
            {
                "name": "sparket-local",
                "context": {"cluster": "sparket-local", "user": "sparket-admin"},
            }
        ],
        "current-context": "sparket-local",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)


@dataclass
class LocalCluster:
    """Start with `start()`, stop with `stop()`; `kubeconfig` is valid in between."""

    workdir: Path
    bin_dir: Path
    nodes: tuple[FakeNode, ...] = DEFAULT_NODES
    # Where KWOK takes pod IPs from ("gateway/prefix"; pods get the addresses after the
    # gateway). The demo's local kubelet gives each pod exactly that IP in a netns.
    pod_cidr: str = POD_CIDR
    # Set for a cluster with a real node: the API server also listens on this host address
    # and advertises it, so the `kubernetes` Service leads pods (the operator's) to it.
    # None: loopback only, which no pod can reach.
    pod_reachable_ip: str | None = None
    processes: list[ManagedProcess] = field(default_factory=list, init=False)
    server: str = field(default="", init=False)
    _pki: ClusterPki | None = field(default=None, init=False, repr=False)
    _etcd_url: str = field(default="", init=False, repr=False)

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    @property
    def pki(self) -> ClusterPki:
        if self._pki is None:
            raise RuntimeError("the cluster has not been started")
        return self._pki

    def _bin(self, name: str) -> str:
        return str(self.bin_dir / name)

    def _log(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"

    def start(self, *, timeout: float = 120.0) -> None:
        missing = missing_binaries(self.bin_dir)
        if missing:
            raise StartupFailed(
                f"missing control-plane binaries in {self.bin_dir}: {', '.join(missing)}; "
                "build them with `make binaries`"
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        api_ips = (self.pod_reachable_ip,) if self.pod_reachable_ip else ()
        self._pki = make_cluster_pki(self.workdir / "pki", api_ips=api_ips)
        try:
            self._start_etcd(timeout)
            self._start_apiserver(timeout)
            write_kubeconfig(self.kubeconfig, server=self.server, pki=self.pki)
            self._start_controllers()
            self._create_nodes()
            self._wait_nodes_ready(timeout)
            self._wait_default_service_account(timeout)
        except BaseException:
            self.stop()
            raise

    def client(self) -> RestClient:
        return RestClient(self.server, self.pki)

    def _start_etcd(self, timeout: float) -> None:
        client_port, peer_port = free_port(), free_port()
        client_url = f"http://127.0.0.1:{client_port}"
        peer_url = f"http://127.0.0.1:{peer_port}"
        self._etcd_url = client_url
        etcd = ManagedProcess(
            "etcd",
            [
                self._bin("etcd"),
                "--name=local",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={client_url}",
                f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=local={peer_url}",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
            self._log("etcd"),
        )
        etcd.start()
        self.processes.append(etcd)
        etcd.wait_until(
            lambda: http_ok(f"{client_url}/health"), timeout=timeout, what="etcd /health"
        )

    def _start_apiserver(self, timeout: float) -> None:
        port = free_port()
        self.server = f"https://127.0.0.1:{port}"
        pki = self.pki
        apiserver = ManagedProcess(
            "kube-apiserver",
            [
                self._bin("kube-apiserver"),
                f"--etcd-servers={self._etcd_url}",
                f"--bind-address={'0.0.0.0' if self.pod_reachable_ip else '127.0.0.1'}",
                f"--advertise-address={self.pod_reachable_ip or '127.0.0.1'}",
                f"--secure-port={port}",
                f"--cert-dir={self.workdir / 'apiserver-certs'}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki.sa_public}",
                f"--service-account-signing-key-file={pki.sa_private}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=Node,RBAC",
                # For a real node's kubelet (logs, exec, port-forward): the admin client
                # cert, and the node's InternalIP (its hostname does not resolve here).
                f"--kubelet-client-certificate={pki.admin_cert}",
                f"--kubelet-client-key={pki.admin_key}",
                "--kubelet-preferred-address-types=InternalIP",
                "--allow-privileged=true",
                "--profiling=false",
                "--v=1",
            ],
            self._log("kube-apiserver"),
        )
        apiserver.start()
        self.processes.append(apiserver)
        client = self.client()
        apiserver.wait_until(
            lambda: _readyz(client), timeout=timeout, what="kube-apiserver /readyz"
        )

    def _start_controllers(self) -> None:
        kubeconfig = str(self.kubeconfig)
        common = [
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
        ]
        kcm = ManagedProcess(
            "kube-controller-manager",
            [
                self._bin("kube-controller-manager"),
                *common,
                f"--secure-port={free_port()}",
                f"--root-ca-file={self.pki.ca_cert}",
                f"--service-account-private-key-file={self.pki.sa_private}",
                "--use-service-account-credentials=false",
                "--v=1",
            ],
            self._log("kube-controller-manager"),
        )
        scheduler = ManagedProcess(
            "kube-scheduler",
            [self._bin("kube-scheduler"), *common, f"--secure-port={free_port()}", "--v=1"],
            self._log("kube-scheduler"),
        )
        kwok = ManagedProcess(
            "kwok",
            [
                self._bin("kwok"),
                f"--kubeconfig={kubeconfig}",
                f"--config={self._bin('kwok-stages.yaml')}",
                "--manage-all-nodes=false",
                f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
                "--manage-nodes-with-label-selector=",
                "--manage-single-node=",
                f"--cidr={self.pod_cidr}",
                "--node-ip=192.0.2.1",
                "--node-lease-duration-seconds=40",
                f"--server-address=127.0.0.1:{free_port()}",
            ],
            self._log("kwok"),
        )
        for process in (kcm, scheduler, kwok):
            process.start()
            self.processes.append(process)

    def _create_nodes(self) -> None:
        client = self.client()
        for node in self.nodes:
            try:
                client.call("POST", "/api/v1/nodes", node.manifest())
            except ApiError as exc:
                if exc.status != 409:
                    raise

    def _wait_nodes_ready(self, timeout: float) -> None:
        client = self.client()
        wanted = {node.name for node in self.nodes}

        def all_ready() -> bool:
            items = client.call("GET", "/api/v1/nodes").get("items", [])
            ready = {
                item["metadata"]["name"]
                for item in items
                if any(
                    c.get("type") == "Ready" and c.get("status") == "True"
                    for c in item.get("status", {}).get("conditions", [])
                )
            }
            return wanted <= ready

        self._wait(all_ready, timeout, "KWOK nodes Ready", process_name="kwok")

    def _wait_default_service_account(self, timeout: float) -> None:
        client = self.client()

        def exists() -> bool:
            try:
                client.call("GET", "/api/v1/namespaces/default/serviceaccounts/default")
            except ApiError as exc:
                if exc.status == 404:
                    return False
                raise
            return True

        self._wait(
            exists, timeout, "the default ServiceAccount", process_name="kube-controller-manager"
        )

    def _wait(self, ready: Any, timeout: float, what: str, *, process_name: str) -> None:
        process = next(p for p in self.processes if p.name == process_name)
        process.wait_until(ready, timeout=timeout, what=what)

    def stop(self) -> None:
        """Stop every component, newest first; safe to call twice."""
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    def state(self) -> dict[str, Any]:
        """What `cluster down` needs to stop a detached cluster."""
        return {
            "server": self.server,
            "kubeconfig": str(self.kubeconfig),
            "processes": [{"name": p.name, "pgid": p.pid} for p in self.processes],
        }


def stop_detached(workdir: Path, *, remove: bool = True) -> list[str]:
    """Stop a cluster started by `cluster up` from its state file; return what was stopped."""
    state_path = workdir / "state.json"
    if not state_path.exists():
        return []
    state = json.loads(state_path.read_text())
    stopped = []
    for entry in reversed(state.get("processes", [])):
        if _owned_by(int(entry["pgid"]), workdir):
            stop_group(int(entry["pgid"]))
            stopped.append(str(entry["name"]))
    if remove:
        shutil.rmtree(workdir, ignore_errors=True)
    return stopped


def _owned_by(pid: int, workdir: Path) -> bool:
    """Guard against a recycled pid: only stop a process whose command line names our dir."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return str(workdir) in cmdline or str(workdir.resolve()) in cmdline


def _readyz(client: RestClient) -> bool:
    try:
        return client.text("/readyz").strip() == "ok"
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False
