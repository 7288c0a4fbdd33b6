"""Where one node keeps its state. Sockets live under a short /run path: a Unix socket path
is limited to 108 bytes, and the kubelet puts several sockets under its root dir."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

NODE_NAME = "sparket-node"
POD_CIDR = "10.244.0.0/24"
POD_GATEWAY = "10.244.0.1"
BRIDGE = "spkcni0"
PAUSE_IMAGE = "localhost/sparket-pause:3.10.2"


@dataclass(frozen=True)
class NodeLayout:
    """Every path of one node run; `run_id` keeps two runs (or a leftover) apart."""

    run_id: str
    data: Path  # containerd root, kubelet root, CNI state, PVs (on disk)
    state: Path  # sockets, containerd state, runc state (short, under /run)

    @classmethod
    def new(cls, data_root: Path = Path("/var/lib/sparket-node")) -> NodeLayout:
        run_id = secrets.token_hex(3)
        return cls(run_id=run_id, data=data_root / run_id, state=Path("/run/spk") / run_id)

    @property
    def containerd_root(self) -> Path:
        return self.data / "containerd"

    @property
    def containerd_state(self) -> Path:
        return self.state / "containerd"

    @property
    def containerd_socket(self) -> Path:
        return self.state / "containerd.sock"

    @property
    def runc_root(self) -> Path:
        return self.state / "runc"

    @property
    def cni_conf_dir(self) -> Path:
        return self.data / "cni" / "net.d"

    @property
    def cni_ipam_dir(self) -> Path:
        return self.data / "cni" / "ipam"

    @property
    def kubelet_root(self) -> Path:
        return self.state / "kubelet"

    @property
    def pod_logs(self) -> Path:
        return self.data / "pod-logs"

    @property
    def volumes(self) -> Path:
        return self.data / "pv"

    @property
    def config_dir(self) -> Path:
        return self.data / "config"

    @property
    def logs(self) -> Path:
        return self.data / "logs"
