"""The demo's pod network, made of Linux network namespaces (root only).

    validator netns (10.214.0.2) --veth-- host: node IP 10.214.0.1 --+-- bridge 10.213.0.1
                                                                      +-- pod netns (podIP)
                                                                      +-- pod netns (podIP)

Each pod gets its own network namespace holding exactly the IP KWOK gave it, on a bridge
whose address is KWOK's pod-CIDR gateway. The validator lives in its own namespace behind
the node's "public" IP, like a validator on the internet: pods' traffic to it is
masqueraded to the node IP (so every hotkey on the node shares one egress IP, the
situation fleet budgets exist for), and the validator reaches a miner's axon at
node IP : nodePort, forwarded to the pod (the job of kube-proxy). nftables does both.
Every name here starts with `spk` so that `teardown()` removes exactly what was made.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sparket_local_services.errors import LocalSetupError

NFT_TABLE = "sparket_demo"
FORWARDING = Path("/proc/sys/net/ipv4/ip_forward")


class NetworkError(LocalSetupError):
    """A network command failed; the message says which and why."""


@dataclass(frozen=True)
class NodePortRule:
    """Traffic to node IP : `node_port` goes to `pod_ip` : `target_port`."""

    node_port: int
    pod_ip: str
    target_port: int


def missing_tools() -> list[str]:
    """What this machine lacks to build the network (empty: it can)."""
    missing = [tool for tool in ("ip", "nft") if shutil.which(tool) is None]
    if os.geteuid() != 0:
        missing.append("root (network namespaces and nftables need it)")
    return missing


def _run(*argv: str, stdin: str | None = None) -> None:
    result = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=30, check=False
    )
    if result.returncode != 0:
        raise NetworkError(f"`{' '.join(argv)}` failed: {result.stderr.strip()}")


@dataclass
class PodNetwork:
    bridge_cidr: str = "10.213.0.1/24"  # the gateway's address = KWOK's --cidr
    node_ip: str = "10.214.0.1"
    validator_ip: str = "10.214.0.2"
    link_prefix: int = 24
    bridge: str = "spk0"
    validator_link: str = "spkval"
    validator_netns: str = "spk-validator"
    _pods: dict[str, str] = field(default_factory=dict, init=False)  # netns -> host veth
    _forwarding_was: str | None = field(default=None, init=False)
    _links: itertools.count[int] = field(default_factory=itertools.count, init=False)

    @property
    def gateway(self) -> str:
        return self.bridge_cidr.split("/")[0]

    @property
    def prefix(self) -> str:
        return self.bridge_cidr.split("/")[1]

    def setup(self) -> None:
        """The bridge, the validator's namespace, forwarding and the NAT table."""
        self.teardown()  # leftovers of an interrupted run
        _run("ip", "link", "add", self.bridge, "type", "bridge")
        _run("ip", "addr", "add", self.bridge_cidr, "dev", self.bridge)
        _run("ip", "link", "set", self.bridge, "up")
        _run("ip", "netns", "add", self.validator_netns)
        _run(
            "ip", "link", "add", self.validator_link, "type", "veth",
            "peer", "name", "eth0", "netns", self.validator_netns,
        )  # fmt: skip
        _run("ip", "addr", "add", f"{self.node_ip}/{self.link_prefix}", "dev", self.validator_link)
        _run("ip", "link", "set", self.validator_link, "up")
        self._inside(self.validator_netns, self.validator_ip, self.node_ip, self.link_prefix)
        self._forwarding_was = FORWARDING.read_text().strip()
        FORWARDING.write_text("1\n")
        self.set_node_ports([])

    def _inside(self, netns: str, ip: str, gateway: str, prefix: int | str) -> None:
        _run("ip", "-n", netns, "addr", "add", f"{ip}/{prefix}", "dev", "eth0")
        _run("ip", "-n", netns, "link", "set", "eth0", "up")
        _run("ip", "-n", netns, "link", "set", "lo", "up")
        _run("ip", "-n", netns, "route", "add", "default", "via", gateway)

    def add_pod(self, netns: str, pod_ip: str) -> None:
        """A namespace holding `pod_ip`, plugged into the bridge."""
        host_end = f"spkp{next(self._links)}"
        _run("ip", "netns", "add", netns)
        _run(
            "ip", "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", netns
        )  # fmt: skip
        _run("ip", "link", "set", host_end, "master", self.bridge, "up")
        self._inside(netns, pod_ip, self.gateway, self.prefix)
        self._pods[netns] = host_end

    def remove_pod(self, netns: str) -> None:
        """Delete the pod's veth from the host end first: deleting a named namespace only
        unmounts it, and the kernel destroys it (and the veth inside) later, on its own
        work queue, so a link left to that can outlive the demo by a moment."""
        host_end = self._pods.pop(netns, None)
        if host_end is not None:
            _run("ip", "link", "delete", host_end)
        _run("ip", "netns", "delete", netns)

    def set_node_ports(self, rules: Iterable[NodePortRule]) -> None:
        """Replace the NAT table: masquerade pods to the validator, forward node ports."""
        forwards = "".join(
            f"    ip daddr {self.node_ip} tcp dport {r.node_port} "
            f"dnat to {r.pod_ip}:{r.target_port}\n"
            for r in sorted(rules, key=lambda rule: rule.node_port)
        )
        script = (
            f"table ip {NFT_TABLE}\ndelete table ip {NFT_TABLE}\n"
            f"table ip {NFT_TABLE} {{\n"
            "  chain prerouting {\n    type nat hook prerouting priority -100;\n"
            f"{forwards}  }}\n"
            "  chain postrouting {\n    type nat hook postrouting priority 100;\n"
            f'    ip saddr {self.gateway}/{self.prefix} oifname "{self.validator_link}" '
            "masquerade\n  }\n}\n"
        )
        _run("nft", "-f", "-", stdin=script)

    def exec_argv(self, netns: str, argv: list[str]) -> list[str]:
        """`argv` run inside `netns`."""
        return ["ip", "netns", "exec", netns, *argv]

    def teardown(self) -> None:
        """Remove every namespace, link and table this network makes; restore forwarding.
        Safe to call on a half-built or already removed network. Links go first, while
        their namespaces are still named: see `remove_pod`."""
        for link in (self.validator_link, self.bridge, *self._pods.values()):
            subprocess.run(["ip", "link", "delete", link], capture_output=True, check=False)
        listed = subprocess.run(
            ["ip", "netns", "list"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.split()
        for name in listed:
            if name.startswith("spk-"):
                subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)
        subprocess.run(
            ["nft", "delete", "table", "ip", NFT_TABLE], capture_output=True, check=False
        )
        self._pods.clear()
        if self._forwarding_was is not None:
            FORWARDING.write_text(self._forwarding_was + "\n")
            self._forwarding_was = None
