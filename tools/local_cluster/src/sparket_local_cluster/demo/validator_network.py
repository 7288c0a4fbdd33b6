"""The demo validator's place on the network: a network namespace behind a veth, like a
validator on the internet seen from the node (root only).

    validator netns (10.214.0.2) --veth-- host: egress IP 10.214.0.1 -- node (CNI bridge, pods)

The host end's address is the fleet's egress IP. Nothing here rewrites traffic: the real
node's parts do, as on any cluster. Pods reach the validator through the host, and the CNI
bridge plugin's `ipMasq` masquerades their traffic to the address of the interface it
leaves by, the egress IP, so every hotkey on the node shares one IP at the validator (the
situation fleet budgets exist for). The validator reaches a miner's axon at egress IP :
nodePort, a local address where kube-proxy's NodePort rules forward it to the pod.
Every name starts with `spk` so that `teardown()` removes exactly what was made.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sparket_local_services.errors import LocalSetupError

FORWARDING = Path("/proc/sys/net/ipv4/ip_forward")


class NetworkError(LocalSetupError):
    """A network command failed; the message says which and why."""


def missing_tools() -> list[str]:
    """What this machine lacks to build the validator's network (empty: it can)."""
    return [] if shutil.which("ip") else ["ip (iproute2)"]


def _run(*argv: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        raise NetworkError(f"`{' '.join(argv)}` failed: {result.stderr.strip()}")


@dataclass
class ValidatorNetwork:
    egress_ip: str = "10.214.0.1"
    validator_ip: str = "10.214.0.2"
    prefix: int = 30
    link: str = "spkval"
    netns: str = "spk-validator"
    _forwarding_was: str | None = field(default=None, init=False)

    def setup(self) -> None:
        """The namespace, the veth with the egress IP on the host end, and forwarding on
        (pods' packets to the validator are routed by the host)."""
        self.teardown()  # leftovers of an interrupted run
        _run("ip", "netns", "add", self.netns)
        _run(
            "ip", "link", "add", self.link, "type", "veth", "peer", "name", "eth0",
            "netns", self.netns,
        )  # fmt: skip
        _run("ip", "addr", "add", f"{self.egress_ip}/{self.prefix}", "dev", self.link)
        _run("ip", "link", "set", self.link, "up")
        _run(
            "ip",
            "-n",
            self.netns,
            "addr",
            "add",
            f"{self.validator_ip}/{self.prefix}",
            "dev",
            "eth0",
        )
        _run("ip", "-n", self.netns, "link", "set", "eth0", "up")
        _run("ip", "-n", self.netns, "link", "set", "lo", "up")
        _run("ip", "-n", self.netns, "route", "add", "default", "via", self.egress_ip)
        self._forwarding_was = FORWARDING.read_text().strip()
        FORWARDING.write_text("1\n")

    def exec_argv(self, argv: list[str]) -> list[str]:
        """`argv` run inside the validator's namespace."""
        return ["ip", "netns", "exec", self.netns, *argv]

    def teardown(self) -> None:
        """Remove the link (first, while its namespace is still named: deleting a named
        namespace only unmounts it, and the kernel destroys the veth inside later) and the
        namespace; restore forwarding. Safe on a half-built or already removed network."""
        subprocess.run(["ip", "link", "delete", self.link], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "delete", self.netns], capture_output=True, check=False)
        if self._forwarding_was is not None:
            FORWARDING.write_text(self._forwarding_was + "\n")
            self._forwarding_was = None
