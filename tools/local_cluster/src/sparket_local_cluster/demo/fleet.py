"""The demo fleet's objects: wallets as Secrets, volumes on the node's disk pre-bound to
the claims (the miners' and the bundled Redis's), SparketMiners built from the sample in
`manifests/sparketminer.yaml`, and the simulated subnet's neurons."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sparket_local_cluster.miner_kube_objects import (
    WalletFiles,
    local_storage_class,
    new_wallet,
    node_volume,
)
from sparket_local_cluster.node.node import REAL_NODE_LABEL

NETUID = 57
FIRST_NODE_PORT = 30091
STORAGE_CLASS = "sparket-demo-local"
LEAGUES = ["nfl", "nba", "epl"]


@dataclass(frozen=True)
class DemoMiner:
    name: str
    wallet: WalletFiles
    coldkey: str
    node_port: int


def make_miners(keys_dir: Path, count: int) -> list[DemoMiner]:
    miners = []
    for index in range(count):
        name = f"miner-{index + 1}"
        wallet = new_wallet(keys_dir, name)
        coldkey = yaml.safe_load(wallet.files["coldkeypub.txt"])["ss58Address"]
        miners.append(DemoMiner(name, wallet, coldkey, FIRST_NODE_PORT + index))
    return miners


def neurons(
    miners: list[DemoMiner], *, validator: str, owner: str, validator_ip: str, validator_port: int,
    node_ip: str,
) -> list[dict[str, Any]]:  # fmt: skip
    """The simulated subnet: one staked validator, then the miners where they advertise,
    each already scored by an epoch (a small incentive and emission, different per miner)."""
    return [
        {
            "hotkey": validator,
            "coldkey": owner,
            "stake": 1000.0,
            "validator_permit": True,
            "ip": validator_ip,
            "port": validator_port,
        },
        *(
            {
                "hotkey": m.wallet.hotkey,
                "coldkey": m.coldkey,
                "ip": node_ip,
                "port": m.node_port,
                "incentive": 0.0125 * (index + 1),
                "consensus": 0.0125 * (index + 1),
                "emission": 0.05 * (index + 1),  # alpha per tempo
            }
            for index, m in enumerate(miners)
        ),
    ]


def sparket_miner(
    sample: dict[str, Any], miner: DemoMiner, namespace: str, external_ip: str
) -> dict[str, Any]:
    """The sample SparketMiner, for this demo hotkey: the simulated chain, on the real node,
    advertised at the egress IP and a fixed nodePort (the simulated chain lists both), the
    demo's volume, no start-up jitter."""
    body = copy.deepcopy(sample)
    body["metadata"] = {"name": miner.name, "namespace": namespace}
    spec = body["spec"]
    spec["hotkey"] = miner.wallet.hotkey
    spec["wallet"] = {"secretName": f"{miner.name}-wallet"}
    spec["network"] = {"subtensor": "mock", "netuid": NETUID}
    spec["axon"] = {
        **spec.get("axon", {}),
        "exposure": "NodePort",
        "nodePort": miner.node_port,
        "externalIP": external_ip,
    }
    spec["leagues"] = LEAGUES
    spec["cadence"] = {**spec.get("cadence", {}), "jitterSeconds": 0}
    spec["storage"] = {"size": "1Gi", "storageClassName": STORAGE_CLASS}
    spec["placement"] = {"nodeSelector": {REAL_NODE_LABEL: "true"}}
    return body


def fleet_objects(
    sample_path: Path,
    miners: list[DemoMiner],
    namespace: str,
    *,
    volumes_dir: Path,
    external_ip: str,
    redis_claim_owner: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What to apply before the chart (the StorageClass, Secrets, and `local` volumes on
    the node's disk for each miner and for the StatefulSet `redis_claim_owner`), and the
    SparketMiners to apply after it."""
    sample = next(
        doc
        for doc in yaml.safe_load_all(sample_path.read_text(encoding="utf-8"))
        if doc and doc.get("kind") == "SparketMiner"
    )
    first: list[dict[str, Any]] = [local_storage_class(STORAGE_CLASS)]
    for owner in [redis_claim_owner, *(miner.name for miner in miners)]:
        first.append(
            node_volume(
                volumes_dir / namespace / owner,
                name=f"{namespace}-{owner}-data",
                namespace=namespace,
                miner=owner,
                storage_class=STORAGE_CLASS,
            )
        )
    first.extend(miner.wallet.secret(namespace, f"{miner.name}-wallet") for miner in miners)
    return first, [sparket_miner(sample, miner, namespace, external_ip) for miner in miners]
