"""`RealNode`: one real worker node joined to a running `LocalCluster`.

Start: preflight (root, runc, iptables, binaries) -> snapshot the host state it will change
-> CNI config -> containerd -> the sandbox image and the given image archives -> CoreDNS
(the cluster DNS, on the node's IP) -> kubelet
(client cert `system:node:sparket-node`) until the Node is Ready -> kube-proxy. Stop, in the
order that leaves nothing behind: kubelet -> every pod sandbox through CRI (so CNI releases
its addresses and rules) -> kube-proxy and its rules -> containerd and CoreDNS -> leftover shims and
container processes -> cgroups -> mounts (before any directory is removed: a volume's bind
mount must never be walked into) -> links -> iptables chains -> sysctls -> directories.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sparket_local_cluster.control_plane import LocalCluster
from sparket_local_cluster.node import host
from sparket_local_cluster.node.config import (
    cni_conflist,
    containerd_config,
    corefile,
    kube_proxy_config,
    kubelet_config,
)
from sparket_local_cluster.node.images import import_images, pause_image_archive
from sparket_local_cluster.node.layout import NODE_NAME, PAUSE_IMAGE, NodeLayout
from sparket_local_cluster.rest import ApiError
from sparket_local_services.errors import MissingDependency, StartupFailed
from sparket_local_services.pki import issue_client_cert
from sparket_local_services.ports import free_port, http_ok
from sparket_local_services.processes import ManagedProcess, stop_group
from sparket_local_services.waits import wait_for

NODE_BINARIES = (
    "kubelet",
    "kube-proxy",
    "containerd",
    "containerd-shim-runc-v2",
    "ctr",
    "crictl",
    "runc",
    "pause",
    "cni/bridge",
    "cni/host-local",
    "cni/portmap",
    "cni/loopback",
    "coredns",
)
HOST_TOOLS = ("iptables-save", "iptables-restore", "ip", "umount", "mount")
REAL_NODE_LABEL = "sparket.dev/real-node"


def missing_node_parts(bin_dir: Path) -> list[str]:
    """What a node needs and this machine lacks, each named (empty: all there)."""
    missing = [
        f"{name} (make binaries-node)" for name in NODE_BINARIES if not (bin_dir / name).exists()
    ]
    missing += [f"{tool} (iptables/iproute2)" for tool in HOST_TOOLS if not shutil.which(tool)]
    if (
        not (host.CGROUP_ROOT / "memory").is_dir()
        and not (host.CGROUP_ROOT / "cgroup.controllers").exists()
    ):
        missing.append("a memory cgroup hierarchy")
    if os.geteuid() != 0:
        missing.append("root (a kubelet mounts, writes cgroups and iptables)")
    return missing


def node_ip() -> str:
    """The host's first global IPv4 address: the kubelet refuses a loopback node IP."""
    shown = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "scope", "global"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    for line in shown.split("\n"):
        if " inet " in line:
            return line.split(" inet ")[1].split("/")[0]
    raise MissingDependency("no global IPv4 address on this host for the node's InternalIP")


def write_client_kubeconfig(path: Path, *, server: str, ca: Path, cert: Path, key: Path) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "local", "cluster": {"server": server, "certificate-authority": str(ca)}}
        ],
        "users": [
            {"name": "node", "user": {"client-certificate": str(cert), "client-key": str(key)}}
        ],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": "node"}}],
        "current-context": "local",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)


@dataclass
class RealNode:
    cluster: LocalCluster
    bin_dir: Path
    images: tuple[Path, ...] = ()  # image archives (podman's docker-archive, OCI) to import
    layout: NodeLayout = field(default_factory=NodeLayout.new)
    processes: list[ManagedProcess] = field(default_factory=list, init=False)
    _sysctls: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _chains_before: set[tuple[str, str]] = field(default_factory=set, init=False, repr=False)
    image_names: list[str] = field(default_factory=list, init=False)

    def _bin(self, name: str) -> Path:
        return self.bin_dir / name

    def _log(self, name: str) -> Path:
        return self.layout.logs / f"{name}.log"

    def start(self, *, timeout: float = 180.0) -> None:
        missing = missing_node_parts(self.bin_dir)
        if missing:
            raise MissingDependency(f"the real node needs: {', '.join(missing)}")
        self._sysctls = host.read_sysctls()
        self._chains_before = host.iptables_chains()
        try:
            self._prepare_dirs()
            self._start_containerd(timeout)
            self._load_images()
            self._start_cluster_dns(timeout)
            self._start_kubelet(timeout)
            self._start_kube_proxy(timeout)
        except BaseException:
            self.stop()
            raise

    def _prepare_dirs(self) -> None:
        for directory in (
            self.layout.config_dir,
            self.layout.cni_conf_dir,
            self.layout.cni_ipam_dir,
            self.layout.pod_logs,
            self.layout.volumes,
            self.layout.logs,
            self.layout.state,
        ):
            directory.mkdir(parents=True, exist_ok=True)
        (self.layout.cni_conf_dir / "10-sparket.conflist").write_text(cni_conflist(self.layout))

    def _start_containerd(self, timeout: float) -> None:
        config = self.layout.config_dir / "containerd.toml"
        config.write_text(
            containerd_config(
                self.layout,
                cni_bin_dir=self._bin("cni").resolve(),
                runc=self._bin("runc").resolve(),
            )
        )
        env = {**os.environ, "PATH": f"{self.bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
        process = ManagedProcess(
            "containerd",
            [str(self._bin("containerd")), "--config", str(config)],
            self._log("containerd"),
            env=env,
        )
        process.start()
        self.processes.append(process)
        process.wait_until(self._containerd_answers, timeout=timeout, what="containerd's socket")

    def _ctr(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self._bin("ctr")), "--address", str(self.layout.containerd_socket), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def _containerd_answers(self) -> bool:
        return self.layout.containerd_socket.exists() and self._ctr("version").returncode == 0

    def _load_images(self) -> None:
        pause = pause_image_archive(
            self._bin("pause").resolve(), PAUSE_IMAGE, self.layout.data / "images" / "pause.tar"
        )
        socket, ctr = self.layout.containerd_socket, self._bin("ctr")
        for archive in (pause, *self.images):
            self.image_names = import_images(ctr, socket, archive)
        if PAUSE_IMAGE not in self.image_names:
            raise StartupFailed(f"containerd did not list {PAUSE_IMAGE} after its import")

    def _start_cluster_dns(self, timeout: float) -> None:
        """CoreDNS on the node's IP, port 53: pods resolve Service names (the chart's
        bundled Redis is `redis://<release>-redis.<namespace>.svc`). It reads the API with
        the cluster's admin credentials: a local tool's shortcut, not a production RBAC."""
        ready = free_port()
        config = self.layout.config_dir / "Corefile"
        config.write_text(
            corefile(listen_ip=node_ip(), kubeconfig=self.cluster.kubeconfig, ready_port=ready)
        )
        process = ManagedProcess(
            "coredns", [str(self._bin("coredns")), "-conf", str(config)], self._log("coredns")
        )
        process.start()
        self.processes.append(process)
        process.wait_until(
            lambda: http_ok(f"http://127.0.0.1:{ready}/ready"),
            timeout=timeout,
            what=f"CoreDNS on {node_ip()}:53 (is port 53 there taken?)",
        )

    def _start_kubelet(self, timeout: float) -> None:
        pki, certs = self.cluster.pki, self.layout.data / "pki"
        cert, key = issue_client_cert(
            pki,
            certs,
            "kubelet",
            common_name=f"system:node:{NODE_NAME}",
            organization="system:nodes",
        )
        kubeconfig = self.layout.config_dir / "kubelet.kubeconfig"
        write_client_kubeconfig(
            kubeconfig, server=self.cluster.server, ca=pki.ca_cert, cert=cert, key=key
        )
        ip = node_ip()
        config = self.layout.config_dir / "kubelet.yaml"
        config.write_text(
            yaml.safe_dump(
                kubelet_config(self.layout, ca_cert=pki.ca_cert, node_ip=ip, port=free_port())
            )
        )
        process = ManagedProcess(
            "kubelet",
            [
                str(self._bin("kubelet")),
                f"--config={config}",
                f"--kubeconfig={kubeconfig}",
                f"--root-dir={self.layout.kubelet_root}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={ip}",
                f"--node-labels={REAL_NODE_LABEL}=true",
                "--v=1",
            ],
            self._log("kubelet"),
        )
        process.start()
        self.processes.append(process)
        process.wait_until(self._node_ready, timeout=timeout, what=f"Node {NODE_NAME} Ready")

    def _node_ready(self) -> bool:
        try:
            node = self.cluster.client().call("GET", f"/api/v1/nodes/{NODE_NAME}")
        except ApiError as exc:
            if exc.status == 404:  # not registered yet
                return False
            raise
        conditions = (node.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def _start_kube_proxy(self, timeout: float) -> None:
        pki, certs = self.cluster.pki, self.layout.data / "pki"
        cert, key = issue_client_cert(
            pki, certs, "kube-proxy", common_name="system:kube-proxy", organization=None
        )
        kubeconfig = self.layout.config_dir / "kube-proxy.kubeconfig"
        write_client_kubeconfig(
            kubeconfig, server=self.cluster.server, ca=pki.ca_cert, cert=cert, key=key
        )
        healthz = free_port()
        config = self.layout.config_dir / "kube-proxy.yaml"
        config.write_text(
            yaml.safe_dump(
                kube_proxy_config(
                    kubeconfig=kubeconfig, healthz_port=healthz, metrics_port=free_port()
                )
            )
        )
        process = ManagedProcess(
            "kube-proxy",
            [str(self._bin("kube-proxy")), f"--config={config}", "--v=1"],
            self._log("kube-proxy"),
        )
        process.start()
        self.processes.append(process)
        process.wait_until(
            lambda: http_ok(f"http://127.0.0.1:{healthz}/healthz"),
            timeout=timeout,
            what="kube-proxy healthz",
        )

    # ---- stop ------------------------------------------------------------------------

    def stop(self) -> None:
        """Leave the host as it was; safe to call twice and after a failed start."""
        kubelet = self._process("kubelet")
        if kubelet is not None:
            kubelet.stop()
        if self._containerd_answers():
            self._remove_pod_sandboxes()
        proxy = self._process("kube-proxy")
        if proxy is not None:
            proxy.stop()
            subprocess.run(
                [str(self._bin("kube-proxy")), "--cleanup"],
                capture_output=True,
                timeout=60,
                check=False,
            )
        for name in ("containerd", "coredns"):
            daemon = self._process(name)
            if daemon is not None:
                daemon.stop()
        self.processes.clear()
        self._kill_leftover_processes()
        for cgroup in host.kubepods_cgroups():
            host.remove_cgroup_tree(cgroup)
        host.unmount_all(self.layout.data, self.layout.state)
        for link in host.node_links():
            subprocess.run(["ip", "link", "delete", link], capture_output=True, check=False)
        host.remove_iptables_chains(host.iptables_chains() - self._chains_before)
        if self._sysctls:
            host.restore_sysctls(self._sysctls)
        self._forget_node_object()
        if not host.mounts_under(self.layout.data, self.layout.state):
            shutil.rmtree(self.layout.data, ignore_errors=True)
            shutil.rmtree(self.layout.state, ignore_errors=True)

    def _forget_node_object(self) -> None:
        """The Node object goes with the node (a stale NotReady node would keep its pods)."""
        try:
            self.cluster.client().call("DELETE", f"/api/v1/nodes/{NODE_NAME}")
        except ApiError as exc:
            if exc.status != 404:
                raise
        except OSError:
            return  # the control plane is already gone: nothing to forget

    def _process(self, name: str) -> ManagedProcess | None:
        return next((p for p in self.processes if p.name == name), None)

    def _remove_pod_sandboxes(self) -> None:
        subprocess.run(
            [
                str(self._bin("crictl")),
                "--runtime-endpoint",
                f"unix://{self.layout.containerd_socket}",
                "rmp",
                "-fa",
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )

    def container_pids(self, pod: str, namespace: str) -> list[int]:
        """Host pids of a pod's running containers (to crash one from outside, as an OOM
        kill or a node problem would; a container's own PID 1 ignores its SIGKILL)."""
        crictl = [
            str(self._bin("crictl")),
            "--runtime-endpoint",
            f"unix://{self.layout.containerd_socket}",
        ]
        listed = subprocess.run(
            [*crictl, "ps", "-q", "--label", f"io.kubernetes.pod.name={pod}",
             "--label", f"io.kubernetes.pod.namespace={namespace}"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout.split()  # fmt: skip
        pids = []
        for container in listed:
            inspected = subprocess.run(
                [*crictl, "inspect", container],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout
            pids.append(int(json.loads(inspected)["info"]["pid"]))
        return pids

    def _kill_leftover_processes(self) -> None:
        """Shims re-parent and start their own sessions; containers live in kubepods."""
        needles = (str(self.layout.containerd_socket), str(self.layout.state))
        victims = set(host.processes_naming(*needles))
        for cgroup in host.kubepods_cgroups():
            victims.update(host.cgroup_pids(cgroup))
        for pid in victims:
            if _is_group_leader(pid):
                stop_group(pid, grace=2.0)
            else:
                _kill(pid)
        wait_for(
            lambda: not any(Path(f"/proc/{pid}").exists() for pid in victims),
            timeout=30,
            what="the node's leftover processes to exit",
        )

    def leftovers(self) -> host.Leftovers:
        """What this node left on the host (empty after a clean stop)."""
        needles = (
            str(self.layout.containerd_socket),
            str(self.layout.state),
            str(self.layout.data),
        )
        return host.Leftovers(
            processes=tuple(host.processes_naming(*needles)),
            mounts=tuple(host.mounts_under(self.layout.data, self.layout.state)),
            cgroups=tuple(str(c) for c in host.kubepods_cgroups()),
            links=tuple(host.node_links()),
            chains=tuple(
                f"{t}/{c}" for t, c in sorted(host.iptables_chains() - self._chains_before)
            ),
        )


def _is_group_leader(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except ProcessLookupError:
        return False


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
