"""Each node component's configuration, rendered from the layout. Pure: no I/O.

The choices answer this VM (docs/development.md, "The real node"): cgroup v1 hybrid, so
cgroupfs everywhere and `failCgroupV1: false`; a 20,000 open-files hard cap, so the kubelet
asks for less; no registry, so images are imported and never garbage-collected; tests may
dial loopback only, so kube-proxy runs in iptables mode (localhost NodePorts exist only there).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sparket_local_cluster.node.layout import (
    BRIDGE,
    NODE_NAME,
    PAUSE_IMAGE,
    POD_CIDR,
    POD_GATEWAY,
    NodeLayout,
)


def containerd_config(layout: NodeLayout, *, cni_bin_dir: Path, runc: Path) -> str:
    """containerd 2.x config (version 3), private to this node: its own root, state, socket,
    runc state and CNI directories, so it never meets a system containerd or podman's CNI."""
    return f"""version = 3
root = "{layout.containerd_root}"
state = "{layout.containerd_state}"

[grpc]
  address = "{layout.containerd_socket}"

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = '{PAUSE_IMAGE}'
    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = ''

  [plugins.'io.containerd.cri.v1.runtime']
    enable_selinux = false
    disable_apparmor = true
    tolerate_missing_hugetlb_controller = true
    disable_hugetlb_controller = true
    netns_mounts_under_state_dir = true
    # This VM withholds CAP_SYS_RESOURCE even from root, so no process may lower its
    # oom_score_adj below its parent's; the kubelet asks -998 for sandboxes. Clamp instead.
    restrict_oom_score_adj = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = '{runc}'
          Root = '{layout.runc_root}'
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ['{cni_bin_dir}']
      conf_dir = '{layout.cni_conf_dir}'
      max_conf_num = 1

  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = '127.0.0.1'
    stream_server_port = '0'

  [plugins.'io.containerd.nri.v1.nri']
    disable = true

  [plugins.'io.containerd.internal.v1.opt']
    path = '{layout.data / "containerd-opt"}'
"""


def cni_conflist(layout: NodeLayout) -> str:
    """One bridge network with host-local addresses and portmap; state kept in our dir."""
    conflist: dict[str, Any] = {
        "cniVersion": "1.0.0",
        "name": "sparket-node",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": True,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_CIDR, "gateway": POD_GATEWAY}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(layout.cni_ipam_dir),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    return json.dumps(conflist, indent=2)


def corefile(*, listen_ip: str, kubeconfig: Path, ready_port: int) -> str:
    """The cluster DNS: Service and pod names of `cluster.local` from the API server, on
    the node's IP (the kubelet's `clusterDNS`). Nothing is forwarded: tests and the demo
    dial addresses, never outside names (and this machine has no outside to ask)."""
    return f""".:53 {{
    bind {listen_ip}
    errors
    ready 127.0.0.1:{ready_port}
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }}
    cache 30
    loadbalance
}}
"""


def kubelet_config(layout: NodeLayout, *, ca_cert: Path, node_ip: str, port: int) -> dict[str, Any]:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # kubelet >= 1.35 refuses cgroup v1 unless told otherwise; this VM boots v1 hybrid.
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
        "address": node_ip,
        "port": port,
        "readOnlyPort": 0,
        "healthzPort": 0,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(ca_cert)},
        },
        "authorization": {"mode": "Webhook"},
        "podLogsDir": str(layout.pod_logs),
        "volumePluginDir": str(layout.data / "kubelet-plugins"),
        "failSwapOn": False,
        "resolvConf": "/etc/resolv.conf",
        "clusterDomain": "cluster.local",
        "clusterDNS": [node_ip],  # CoreDNS, started by the node before the kubelet
        "maxOpenFiles": 16384,  # the VM's hard cap is 20,000, even for root
        "maxPods": 110,
        "protectKernelDefaults": False,
        "mergeDefaultEvictionSettings": False,
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1Gi",
            "nodefs.inodesFree": "1%",
            "imagefs.available": "1Gi",
            "imagefs.inodesFree": "1%",
        },
        # Images are imported, never pulled: garbage collection must never delete them.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "shutdownGracePeriod": "0s",
        "registerNode": True,
        "serializeImagePulls": False,
    }


def kube_proxy_config(*, kubeconfig: Path, healthz_port: int, metrics_port: int) -> dict[str, Any]:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "hostnameOverride": NODE_NAME,
        "mode": "iptables",  # localhost NodePorts (the only ones tests may dial) need it
        "clusterCIDR": POD_CIDR,
        "healthzBindAddress": f"127.0.0.1:{healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{metrics_port}",
        "iptables": {"localhostNodePorts": True, "syncPeriod": "30s", "minSyncPeriod": "1s"},
        # All zero: kube-proxy leaves the host's conntrack sysctls alone.
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
    }
