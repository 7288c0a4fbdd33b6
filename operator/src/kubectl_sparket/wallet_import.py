"""`kubectl sparket import`: one wallet Secret and one SparketMiner per hotkey of a wallet.

A wallet directory is bittensor's layout, `<wallet-path>/<wallet>/coldkeypub.txt` and
`<wallet-path>/<wallet>/hotkeys/<name>`. Every hotkey is judged by the operator's own
wallet rules (`sparket_operator.reconcile.wallet`) before anything is written, so what
import accepts, the operator runs. The rules, and why:

- a wallet that holds a coldkey private key (`coldkey` file, or a private `coldkeypub.txt`)
  is refused whole: the mining host must never hold it;
- an encrypted, unreadable or missing hotkey file, a hotkey listed twice, or a hotkey that
  another SparketMiner already runs is refused, one line each, and nothing of it is made;
- each accepted hotkey gets its Secret and then its SparketMiner; if the miner cannot be
  written, the Secret made for it is deleted again, so nothing is left half-way;
- names and node ports are stable: running import again changes nothing, and a hotkey keeps
  its port; new ports are the lowest free ones from --first-node-port, never one a
  SparketMiner or Service in the cluster already uses.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sparket_operator.reconcile.wallet import (
    COLDKEYPUB_KEY,
    HOTKEY_KEY,
    check_wallet_secret,
    short_address,
)

NODE_PORT_MAX = 32767
WALLET_LABEL = "sparket.io/wallet"


@dataclass(frozen=True)
class Hotkey:
    """An accepted hotkey, ready to be written."""

    name: str  # the hotkey file's name
    ss58: str
    miner: str  # the SparketMiner's name
    files: Mapping[str, bytes]


@dataclass
class Plan:
    accepted: list[Hotkey] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # one line each


def dns_name(*parts: str) -> str:
    """A DNS-1123 label (what a SparketMiner name must be), at most 50 characters so that
    `<name>-wallet` and the operator's own `<name>-axon` fit."""
    name = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")
    return re.sub(r"-+", "-", name)[:50].rstrip("-") or "miner"


def read_wallet(
    wallet_path: Path,
    wallet: str,
    hotkeys: Iterable[str] | None,
    *,
    taken: Mapping[str, str],
    names: Mapping[str, str] | None = None,
) -> Plan:
    """What to import from the wallet; `taken` maps hotkeys (ss58) already run in the
    cluster to the SparketMiner running them, `names` the namespace's SparketMiner names to
    the hotkey each runs (a name is never taken over by another hotkey)."""
    root = wallet_path.expanduser() / wallet
    plan = Plan()
    if not root.is_dir():
        plan.refused.append(f"wallet {wallet}: no directory {root}")
        return plan
    if (root / "coldkey").exists():
        plan.refused.append(
            f"wallet {wallet}: holds a coldkey private key ({root / 'coldkey'}); copy only "
            "hotkeys/ and coldkeypub.txt to the mining host"
        )
        return plan
    coldkeypub = root / COLDKEYPUB_KEY
    if not coldkeypub.is_file():
        plan.refused.append(f"wallet {wallet}: no {coldkeypub}")
        return plan
    files = sorted(hotkeys) if hotkeys else sorted(p.name for p in (root / "hotkeys").glob("*"))
    if not files:
        plan.refused.append(f"wallet {wallet}: no hotkey files under {root / 'hotkeys'}")
    seen: dict[str, str] = {}  # hotkey -> its file, in this import
    made: dict[str, str] = {}  # miner name -> its file, in this import
    existing = names or {}
    for name in files:
        line = _judge(root, wallet, name, coldkeypub.read_bytes(), seen=seen, taken=taken)
        if not isinstance(line, str) and line.miner in made:
            line = (
                f"hotkey {wallet}/{name}: its name {line.miner} is also hotkey {made[line.miner]}'s"
            )
        elif not isinstance(line, str) and existing.get(line.miner, line.ss58) != line.ss58:
            line = (
                f"hotkey {wallet}/{name}: SparketMiner {line.miner} exists and runs "
                f"{short_address(existing[line.miner])}"
            )
        if isinstance(line, str):
            plan.refused.append(line)
        else:
            seen[line.ss58], made[line.miner] = name, name
            plan.accepted.append(line)
    return plan


def _judge(
    root: Path,
    wallet: str,
    name: str,
    coldkeypub: bytes,
    *,
    seen: Mapping[str, str],
    taken: Mapping[str, str],
) -> Hotkey | str:
    where = f"hotkey {wallet}/{name}"
    path = root / "hotkeys" / name
    if not path.is_file():
        return f"{where}: no file {path}"
    raw = path.read_bytes()
    files = {HOTKEY_KEY: raw, COLDKEYPUB_KEY: coldkeypub}
    ss58 = _address(raw)
    data = {k: base64.b64encode(v).decode() for k, v in files.items()}
    verdict = check_wallet_secret({"data": data}, hotkey=ss58 or "")
    if not verdict.valid:
        return f"{where}: refused ({verdict.reason}): {verdict.message}"
    assert ss58 is not None  # a valid verdict read the address
    miner = dns_name(wallet, name)
    if ss58 in seen:
        return f"{where}: {short_address(ss58)} is also hotkey {seen[ss58]} of this import"
    owner = taken.get(ss58)
    if owner is not None and owner != miner:
        return f"{where}: {short_address(ss58)} is already run by SparketMiner {owner}"
    return Hotkey(name=name, ss58=ss58, miner=miner, files=files)


def _address(raw: bytes) -> str | None:
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    address = parsed.get("ss58Address") if isinstance(parsed, dict) else None
    return address if isinstance(address, str) else None


def allocate_node_ports(
    wanted: Iterable[str], *, kept: Mapping[str, int], used: Iterable[int], first: int
) -> dict[str, int]:
    """A node port per miner: its current one when it has one, else the lowest free port
    from `first` (never one in `used`)."""
    taken = set(used) | set(kept.values())
    ports: dict[str, int] = {}
    candidate = first
    for miner in wanted:
        if miner in kept:
            ports[miner] = kept[miner]
            continue
        while candidate in taken:
            candidate += 1
        if candidate > NODE_PORT_MAX:
            raise ValueError(f"no free node port from {first} to {NODE_PORT_MAX}")
        ports[miner] = candidate
        taken.add(candidate)
    return ports


def wallet_secret(namespace: str, hotkey: Hotkey) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"{hotkey.miner}-wallet", "namespace": namespace},
        "type": "Opaque",
        "data": {k: base64.b64encode(v).decode() for k, v in hotkey.files.items()},
    }


def sparket_miner(
    namespace: str,
    wallet: str,
    hotkey: Hotkey,
    *,
    node_port: int,
    network: str,
    netuid: int,
    leagues: list[str],
    labels: Mapping[str, str],
) -> dict[str, Any]:
    return {
        "apiVersion": "sparket.io/v1alpha1",
        "kind": "SparketMiner",
        "metadata": {
            "name": hotkey.miner,
            "namespace": namespace,
            "labels": {WALLET_LABEL: dns_name(wallet), **labels},
        },
        "spec": {
            "hotkey": hotkey.ss58,
            "wallet": {
                "secretName": f"{hotkey.miner}-wallet",
                "walletName": wallet,
                "hotkeyName": hotkey.name,
            },
            "network": {"subtensor": network, "netuid": netuid},
            "axon": {"exposure": "NodePort", "nodePort": node_port},
            "leagues": leagues,
        },
    }
