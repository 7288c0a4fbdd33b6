"""`python -m sparket_local_cluster.demo.validator_process CONFIG`: the local validator as
a process.

The demo runs it inside the validator's network namespace, so that it sees miners the
way a validator on the internet would (from the node's IP). Its chain is a MockSubtensor
seeded from the same neurons file as every miner's, in the same order (so uids agree);
miners' axons are where the demo's SparketMiners advertise them (node IP : nodePort).
Runs until SIGTERM or SIGINT; its counters are served on `counters_port`.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bittensor.utils.mock.subtensor_mock import MockSubtensor
from bittensor_wallet import Keypair

from sparket_local_validator.ingest import Catalog, Event, Market
from sparket_local_validator.mock_chain import chain_view, register, serve_axon
from sparket_local_validator.server import LocalValidator

HOUR = 3600.0


def demo_catalog(now: float) -> Catalog:
    """Upcoming games in three leagues: what the validator's game data offers miners."""
    return Catalog(
        [
            Event(
                event_id=1,
                start=now + 5 * HOUR,
                home_team="Kansas City Chiefs",
                away_team="Buffalo Bills",
                markets=(Market(101), Market(102, "SPREAD", -3.5), Market(103, "TOTAL", 47.5)),
            ),
            Event(
                event_id=2,
                start=now + 8 * HOUR,
                home_team="Boston Celtics",
                away_team="Miami Heat",
                league="nba",
                sport="nba",
                markets=(Market(201), Market(202, "SPREAD", -6.5), Market(203, "TOTAL", 219.5)),
            ),
            Event(
                event_id=3,
                start=now + 30 * HOUR,
                home_team="Arsenal",
                away_team="Chelsea",
                league="epl",
                sport="soccer",
                markets=(Market(301), Market(302, "TOTAL", 2.5)),
            ),
        ]
    )


def seeded_chain(neurons: list[dict[str, Any]], netuid: int) -> MockSubtensor:
    subtensor = MockSubtensor()
    for neuron in neurons:
        register(subtensor, netuid, neuron["hotkey"], neuron["coldkey"])
        if neuron.get("port"):
            serve_axon(subtensor, netuid, neuron["hotkey"], neuron["ip"], int(neuron["port"]))
    return subtensor


def main(argv: list[str]) -> int:
    config = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    keypair = Keypair.create_from_mnemonic(
        Path(config["mnemonic_file"]).read_text(encoding="utf-8").strip()
    )
    neurons = json.loads(Path(config["neurons_file"]).read_text(encoding="utf-8"))
    view = chain_view(seeded_chain(neurons, config["netuid"]), config["netuid"])
    validator = LocalValidator(
        keypair,
        host="0.0.0.0",
        port=config["port"],
        external_ip=config["external_ip"],
        counters_port=config["counters_port"],
        registered_hotkeys=view.registered_hotkeys,
        push_targets=view.push_targets,
        catalog=demo_catalog(time.time()),
        push_interval_seconds=config["push_interval_seconds"],
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    validator.start()
    address = f"{config['external_ip']}:{config['port']}"
    sys.stdout.write(f"validator {keypair.ss58_address} serving on {address}\n")
    sys.stdout.flush()
    stop.wait()
    validator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
