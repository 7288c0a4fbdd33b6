"""The host state a node changes, so that stopping it can put everything back, and a test
can prove it did: sysctls, iptables chains, mounts, processes, cgroups and links.

The kubelet sets three kernel tunables (vm.overcommit_memory, kernel.panic,
kernel.panic_on_oops) and kube-proxy sets route_localnet; both add iptables chains they never
remove; containers leave shims, mounts and cgroups behind if their daemon is just killed.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sparket_local_cluster.node.layout import BRIDGE

SYSCTLS = (
    "vm/overcommit_memory",
    "kernel/panic",
    "kernel/panic_on_oops",
    "net/ipv4/conf/all/route_localnet",
    "net/ipv4/ip_forward",
)
CHAIN_PREFIXES = ("KUBE-", "CNI-")
CGROUP_ROOT = Path("/sys/fs/cgroup")


def read_sysctls() -> dict[str, str]:
    return {name: (Path("/proc/sys") / name).read_text().strip() for name in SYSCTLS}


def restore_sysctls(saved: dict[str, str]) -> None:
    for name, value in saved.items():
        path = Path("/proc/sys") / name
        if path.read_text().strip() != value:
            path.write_text(value)


def iptables_chains() -> set[tuple[str, str]]:
    """(table, chain) of every KUBE-*/CNI-* chain in the legacy-compatible iptables view."""
    saved = subprocess.run(
        ["iptables-save"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    chains: set[tuple[str, str]] = set()
    table = ""
    for line in saved.splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":") and line[1:].startswith(CHAIN_PREFIXES):
            chains.add((table, line[1:].split()[0]))
    return chains


def remove_iptables_chains(chains: set[tuple[str, str]]) -> None:
    """Delete the rules that jump to `chains`, then flush and delete the chains."""
    if not chains:
        return
    saved = subprocess.run(
        ["iptables-save"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    script: list[str] = []
    table = ""
    for line in saved.splitlines():
        if line.startswith("*"):
            table = line[1:]
            script.append(line)
        elif line.startswith("-A "):
            parts = line.split()
            owner = parts[1]
            target = parts[parts.index("-j") + 1] if "-j" in parts else ""
            if (table, owner) not in chains and (table, target) in chains:
                script.append("-D " + line[3:])
        elif line == "COMMIT":
            script += [f"-F {c}" for t, c in sorted(chains) if t == table]
            script += [f"-X {c}" for t, c in sorted(chains) if t == table]
            script.append(line)
    subprocess.run(
        ["iptables-restore", "--noflush"],
        input="\n".join(script) + "\n",
        text=True,
        check=True,
        timeout=30,
    )


def mounts_under(*roots: Path) -> list[str]:
    """Mount points under `roots`, deepest first (the order to unmount them in)."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if any(point == str(r) or point.startswith(f"{r}/") for r in roots):
            found.append(point)
    return sorted(set(found), key=lambda p: -p.count("/"))


def unmount_all(*roots: Path) -> None:
    for point in mounts_under(*roots):
        if subprocess.run(["umount", point], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def processes_naming(*needles: str) -> list[int]:
    """Pids whose command line names one of `needles` (our socket or state dir)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if any(n in cmdline for n in needles):
            pids.append(int(entry.name))
    return pids


def kubepods_cgroups() -> list[Path]:
    """Every `kubepods` cgroup the kubelet made, in each v1 hierarchy."""
    return sorted(p for p in CGROUP_ROOT.glob("*/kubepods") if p.is_dir())


def cgroup_pids(cgroup: Path) -> list[int]:
    return [int(pid) for procs in cgroup.rglob("cgroup.procs") for pid in procs.read_text().split()]


def remove_cgroup_tree(cgroup: Path) -> None:
    """Remove a cgroup directory tree bottom-up (each must be empty of processes)."""
    for child in sorted((p for p in cgroup.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        child.rmdir()
    cgroup.rmdir()


def node_links() -> list[str]:
    """The CNI bridge and the veths attached to it."""
    shown = subprocess.run(
        ["ip", "-o", "link", "show"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    links = []
    for line in shown.splitlines():
        name = re.split(r"[:@]", line.split(": ", 2)[1])[0]
        if name == BRIDGE or f"master {BRIDGE} " in line:
            links.append(name)
    return links


@dataclass(frozen=True)
class Leftovers:
    """What a stopped node must not leave behind; empty means clean."""

    processes: tuple[int, ...]
    mounts: tuple[str, ...]
    cgroups: tuple[str, ...]
    links: tuple[str, ...]
    chains: tuple[str, ...]

    def __bool__(self) -> bool:
        return any((self.processes, self.mounts, self.cgroups, self.links, self.chains))
