"""The operator -> runtime contract, end to end: what the operator renders runs as-is.

The operator renders a miner's ConfigMap and StatefulSet; this test lays out the pod those
objects describe in a temp dir, read generically from the rendered pod spec by
`sparket_testkit.pod_materialise` (each volume mount of the `miner` container filled from
its volume, env paths moved under the temp dir), starts the real `python -m miner_runtime`
with the container's args and env, and lets it mine against a local validator. Then the
operator's own poller code reads the runtime's `/status`: the report the operator builds its
status columns from.

What the test changes, and why, is listed in `test_overrides`. The chain is the one
simulated part: bittensor's MockSubtensor, in the runtime's process seeded from a neurons
file, in this process read by the validator; both are seeded with the same neurons in the
same order, so they agree on uids.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import itertools
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from bittensor.utils.mock.subtensor_mock import MockSubtensor
from bittensor_wallet import Keypair

from sparket_local_services.ports import free_port, http_ok
from sparket_local_services.waits import wait_for
from sparket_local_services.wallets import generated_wallet
from sparket_local_validator.ingest import Catalog, Event, Market
from sparket_local_validator.mock_chain import (
    chain_view,
    register,
    serve_axon,
    validator_neuron,
)
from sparket_local_validator.server import LocalValidator
from sparket_operator.api import v1alpha1
from sparket_operator.controller.poller import fetch_facts, status_url
from sparket_operator.reconcile import desired, workload
from sparket_operator.reconcile.runtime_report import RuntimeReport
from sparket_operator.reconcile.wallet import check_wallet_secret
from sparket_operator.settings import OperatorSettings
from sparket_testkit.pod_materialise import (
    container_view,
    host_path,
    materialise_volumes,
    stateful_set_pod_spec,
)

NETUIDS = itertools.count(6100)
"""MockSubtensor state is process-wide: each test takes a netuid nobody else uses."""

NAMESPACE = "miners"
NAME = "contract"
SECRET_NAME = "contract-hotkey"
LEAGUES = ["nfl", "epl"]  # NBA is in the validator's catalog too, and must never be priced
BATCH_SIZE = 2
PRIVATE_FIELDS = ("privateKey", "secretPhrase", "secretSeed")

# The operator's resolved addresses: documentation addresses (RFC 5737), as the operator
# would resolve a node's ExternalIP. A loopback test overrides them (see `test_overrides`).
RESOLVED_IP = "203.0.113.10"
RESOLVED_PORT = 31234
# The miner's egress as the validator sees it. Not 127.0.0.1: a bittensor Dendrite rewrites
# a target IP equal to its own external IP to 0.0.0.0, which is not loopback.
MINER_EGRESS_IP = "127.0.0.2"
HOUR = 3600.0

_OPERATOR_DEFAULTS = OperatorSettings.model_fields


# --- the operator's side --------------------------------------------------------------


def wallet_secret(hotkey_file: Path, coldkeypub_file: Path) -> dict[str, Any]:
    """The wallet Secret as the API server returns it: base64 `data`."""

    def b64(path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode("ascii")

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": SECRET_NAME, "namespace": NAMESPACE},
        "data": {"hotkey": b64(hotkey_file), "coldkeypub.txt": b64(coldkeypub_file)},
    }


def sparket_miner(hotkey: str, netuid: int) -> v1alpha1.SparketMiner:
    return v1alpha1.SparketMiner.model_validate(
        {
            "apiVersion": v1alpha1.API_VERSION,
            "kind": v1alpha1.KIND,
            "metadata": {
                "name": NAME,
                "namespace": NAMESPACE,
                "uid": "0d7f9d3e-6a43-4c43-9b6e-5f3c1f0a6100",
                "generation": 1,
                "resourceVersion": "1",
            },
            "spec": {
                "hotkey": hotkey,
                # Not the defaults, so the wallet layout provably comes from the spec.
                "wallet": {
                    "secretName": SECRET_NAME,
                    "walletName": "fleet",
                    "hotkeyName": "contract",
                },
                "network": {"subtensor": "mock", "netuid": netuid},
                "leagues": LEAGUES,
                "batchSize": BATCH_SIZE,
                # No start-up jitter: the first odds cycle runs right after the game sync.
                "cadence": {"jitterSeconds": 0},
            },
        }
    )


# --- the runtime process --------------------------------------------------------------


@dataclass
class Runtime:
    process: subprocess.Popen[bytes]
    log: Path
    control_port: int

    def exited(self) -> bool:
        return self.process.poll() is not None

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def events(self, name: str) -> list[dict[str, Any]]:
        """Complete JSON log lines named `name` (a line being written is skipped)."""
        lines = self.log_text().split("\n")[:-1]
        return [e for e in map(json.loads, lines) if e.get("event") == name]

    def ready(self) -> bool:
        return http_ok(f"http://127.0.0.1:{self.control_port}/ready")


def start_runtime(command: list[str], env: dict[str, str], log: Path, control_port: int) -> Runtime:
    """Output goes to a file: a full pipe would stall the runtime."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    return Runtime(process, log, control_port)


async def poll_status(url: str) -> RuntimeReport:
    """One poll as the operator's StatusPoller makes it."""
    timeout = _OPERATOR_DEFAULTS["status_poll_timeout_seconds"].default
    async with httpx.AsyncClient(timeout=timeout) as client:
        return await fetch_facts(client, url)


def catalog() -> Catalog:
    now = time.time()
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
                start=now + 30 * HOUR,
                home_team="Arsenal",
                away_team="Chelsea",
                league="epl",
                sport="soccer",
                markets=(Market(201), Market(202, "TOTAL", 2.5)),
            ),
            Event(
                event_id=3,
                start=now + 8 * HOUR,
                home_team="Boston Celtics",
                away_team="Miami Heat",
                league="nba",
                sport="nba",
                markets=(Market(301),),
            ),
        ]
    )


PRICED_MARKETS = {101, 102, 103, 201, 202}  # the nfl and epl ones: spec.leagues


# --- the test -------------------------------------------------------------------------


@pytest.fixture
def cleanup() -> Iterator[list[Any]]:
    """Things to stop at teardown, whatever happened: validators and runtime processes."""
    started: list[Any] = []
    yield started
    for thing in reversed(started):
        if isinstance(thing, Runtime):
            if not thing.exited():
                thing.process.kill()
                thing.process.wait(timeout=10)
        else:
            thing.stop()


def test_the_rendered_pod_runs_the_runtime_and_the_poller_reads_its_status(
    tmp_path: Path, cleanup: list[Any]
) -> None:
    netuid = next(NETUIDS)

    # 1. A miner with a freshly generated hotkey, and its wallet Secret as the API has it.
    source = generated_wallet(tmp_path / "keys", "source")
    hotkey = source.hotkey.ss58_address
    hotkey_file = Path(source.hotkey_file.path)
    keyfile = json.loads(hotkey_file.read_text(encoding="utf-8"))
    key_material = [keyfile[f] for f in PRIVATE_FIELDS if keyfile.get(f)]
    key_material.append(base64.b64encode(hotkey_file.read_bytes()).decode("ascii"))
    assert len(key_material) >= 2  # a hotkey file with a private key in it
    secret = wallet_secret(hotkey_file, Path(source.coldkeypub_file.path))
    miner = sparket_miner(hotkey, netuid)

    # 2. What the operator would apply, and its verdict on the Secret.
    verdict = check_wallet_secret(copy.deepcopy(secret), hotkey=hotkey)
    assert verdict.valid, verdict
    objects = desired.desired_objects(
        miner,
        node=None,
        advertised_ip=RESOLVED_IP,
        advertised_port=RESOLVED_PORT,
        egress_ip=RESOLVED_IP,
        image=_OPERATOR_DEFAULTS["runtime_image"].default,
        image_pull_policy=_OPERATOR_DEFAULTS["image_pull_policy"].default,
    )
    config_map, stateful_set = objects
    assert (config_map["kind"], stateful_set["kind"]) == ("ConfigMap", "StatefulSet")
    rendered_text = json.dumps(objects)
    for material in key_material:
        assert material not in rendered_text  # not in env, not in the ConfigMap, nowhere
    rendered_config = {
        key: yaml.safe_load(text)
        for key, text in config_map["data"].items()
        if key.endswith(".yaml")
    }

    # 3. The pod, laid out under tmp_path/pod as the kubelet would mount it.
    pod_root = tmp_path / "pod"
    pod_spec = stateful_set_pod_spec(stateful_set)
    volumes = materialise_volumes(
        pod_spec,
        config_maps={config_map["metadata"]["name"]: config_map},
        secrets={SECRET_NAME: secret},
        root=pod_root,
        claim_dir=lambda claim: pod_root / "claims" / claim,
    )
    pod = container_view(pod_spec, workload.MINER_CONTAINER, volumes)
    assert pod.outside_mounts == []  # every path the pod is told about is a volume
    for value in pod.env.values():
        for material in key_material:
            assert material not in value

    # The validator's chain (this process) and the runtime's (its neurons file): the same
    # neurons in the same order, so both give the miner the same uid.
    validator_key = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
    owner = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
    validator_port = free_port()
    neurons: list[dict[str, Any]] = [
        validator_neuron(
            validator_key.ss58_address, coldkey=owner.ss58_address, port=validator_port
        ),
        {"hotkey": hotkey, "coldkey": source.coldkeypub.ss58_address},
    ]
    neurons_file = tmp_path / "neurons.json"
    neurons_file.write_text(json.dumps(neurons), encoding="utf-8")
    subtensor = MockSubtensor()
    uids = {n["hotkey"]: register(subtensor, netuid, n["hotkey"], n["coldkey"]) for n in neurons}
    serve_axon(subtensor, netuid, validator_key.ss58_address, "127.0.0.1", validator_port)
    view = chain_view(subtensor, netuid)
    validator = LocalValidator(
        validator_key,
        port=validator_port,
        registered_hotkeys=view.registered_hotkeys,
        push_targets=view.push_targets,
        catalog=catalog(),
        push_interval_seconds=1.0,
    )
    validator.start()
    cleanup.append(validator)

    # 4. The real runtime, started from the pod: its args, its env, plus the overrides.
    axon_port, control_port = free_port(), free_port()
    test_overrides = {
        # The chain is the one simulated part: MockSubtensor, seeded with the neurons above.
        # (The rendered config already says network `mock`; the env names it again so the
        # runtime could not reach a real chain even if that changed.)
        "SPARKET_SUBTENSOR__NETWORK": "mock",
        "SPARKET_SUBTENSOR__MOCK_NEURONS_FILE": str(neurons_file),
        # Free loopback ports: the pod's fixed ports could clash on a shared test machine.
        "SPARKET_AXON__PORT": str(axon_port),
        "SPARKET_MINER_API_PORT": str(control_port),
        # In a pod the control API listens on all interfaces for the kubelet and the
        # operator; here only this test asks, on loopback.
        "SPARKET_MINER_API_HOST": "127.0.0.1",
        # A loopback test cannot use the public IPs the operator resolved: the runtime
        # advertises its loopback axon and reports a loopback egress.
        "SPARKET_EGRESS_IP": MINER_EGRESS_IP,
        "SPARKET_AXON__EXTERNAL_IP": "127.0.0.1",
        "SPARKET_AXON__EXTERNAL_PORT": str(axon_port),
    }
    assert not set(test_overrides) & set(pod.env)  # nothing the pod sets is overridden
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(pod_root),  # only if the container sets none (it sets HOME=/tmp)
        **pod.env,
        **test_overrides,
    }
    runtime = start_runtime(
        [sys.executable, "-m", "miner_runtime", *pod.args],
        env,
        tmp_path / "miner.log",
        control_port,
    )
    cleanup.append(runtime)

    # 5. Healthy: ready (registered on the simulated chain), and talking to the validator.
    wait_for(lambda: runtime.ready() or runtime.exited(), timeout=30, what="/ready")
    assert not runtime.exited(), runtime.log_text()
    wait_for(
        lambda: runtime.events("fetch_game_data") or runtime.exited(),
        timeout=30,
        what="the runtime's first game-data sync",
    )
    assert not runtime.exited(), runtime.log_text()
    (sync,) = runtime.events("fetch_game_data")
    assert sync["validator"] == validator.hotkey and sync["games"] == 3
    accepted: Any = validator.counters()["requests_accepted"]
    assert accepted >= 1  # the game-data request: it needs no token
    # Publish the runtime's axon on the validator's chain: the validator now pushes it a
    # token (CONNECTION_INFO), and the runtime pushes odds with it.
    serve_axon(subtensor, netuid, hotkey, "127.0.0.1", axon_port)

    def stored() -> set[int]:
        return {row.market_id for row in validator.odds_rows if row.hotkey == hotkey}

    wait_for(
        lambda: stored() == PRICED_MARKETS or runtime.exited(),
        timeout=40,
        what="odds for every market of the configured leagues",
    )
    assert stored() == PRICED_MARKETS, runtime.log_text()  # nba (not in spec.leagues): none

    # 6. The operator's poller reads /status: the contract between the two deployables.
    default_template = _OPERATOR_DEFAULTS["status_url_template"].default
    operator_url = httpx.URL(status_url(default_template, (NAMESPACE, NAME), "127.0.0.1"))
    url = str(operator_url.copy_with(port=control_port))  # the one overridden port
    facts = asyncio.run(poll_status(url))
    assert facts.uid == uids[hotkey] != uids[validator.hotkey]
    assert facts.registered is True
    assert facts.egress_ip == MINER_EGRESS_IP
    assert facts.state == "mining"
    assert facts.validators_connected == 1
    assert facts.accepted_1h >= 1 and facts.rejected_1h == 0
    assert facts.last_submission_at is not None and facts.throttled_by == ()

    # The rest of the runtime's settings came from the rendered config.
    (document,) = rendered_config.values()
    cycles = [c for c in runtime.events("base_miner_odds_cycle") if c["submitted"]]
    assert sum(c["submitted"] for c in cycles) == len(PRICED_MARKETS)
    for cycle in cycles:  # batches of spec.batchSize
        assert cycle["batches"] == math.ceil(cycle["submitted"] / BATCH_SIZE), cycle
    wallet_root = host_path(document["wallet"]["path"], pod.mounts)
    data_dir = host_path(document["data_dir"], pod.mounts)
    assert wallet_root is not None and data_dir is not None
    wallet_dir = wallet_root / document["wallet"]["name"]
    wallet_files = {p.relative_to(wallet_dir).as_posix() for p in wallet_dir.rglob("*")}
    # Exactly the two projected items, and nothing the runtime wrote there (read-only).
    assert wallet_files == {"coldkeypub.txt", "hotkeys", f"hotkeys/{document['wallet']['hotkey']}"}
    assert any(data_dir.iterdir()), "the runtime keeps its database on the data volume"
    counted: dict[str, Any] = validator.counters()
    for table, key in (("hotkeys", hotkey), ("ips", MINER_EGRESS_IP)):
        record = counted[table].get(key)
        assert record is None or (record["failures"], record["violations"]) == (0, 0), record

    # 7. SIGTERM: a clean exit, JSON logs, and no key material in them.
    runtime.process.send_signal(signal.SIGTERM)
    assert runtime.process.wait(timeout=30) == 0, runtime.log_text()
    output = runtime.log_text()
    events = [json.loads(line)["event"] for line in output.splitlines() if line.strip()]
    assert "miner_started" in events and events[-1] == "miner_stopped"
    (started,) = runtime.events("miner_started")
    assert started["hotkey"] == hotkey and started["egress_ip"] == MINER_EGRESS_IP
    for material in key_material:
        assert material not in output


def test_the_operator_and_the_runtime_know_the_same_leagues() -> None:
    """Each image carries its own copy of the league codes (the operator image has no
    runtime); this keeps the CRD's enum and what the runtime prices in step."""
    from miner_runtime.protocol.messages import League as RuntimeLeague
    from sparket_operator.api.v1alpha1 import League as OperatorLeague

    assert [league.value for league in OperatorLeague] == [league.value for league in RuntimeLeague]
