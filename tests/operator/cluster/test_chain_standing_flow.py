"""Is the fleet earning? The chain standing reaches `kubectl` (issue 20), end to end.

The real operator on the real control plane polls a runtime `/status` document that the
runtime's own code builds (`build_status`, with a `ChainWatch` reading a MockSubtensor
through the neurons file the runtime watches). The test moves the simulated chain while
everything runs: the miner is registered but not scored yet, then earns, then a new
registration takes its uid. Each step is read back the way a user would: columns,
conditions (`kubectl wait`), phase and Events.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from miner_runtime.chain.factory import chain_from_settings
from miner_runtime.chain.sync import ChainSync
from miner_runtime.chain.watch import ChainWatch
from miner_runtime.observability.status import AxonStatus, BudgetStoreStatus
from miner_runtime.pricing.engine import EngineCondition
from miner_runtime.settings import Settings
from miner_runtime.status_builder import build_status
from miner_runtime.submission.status import WorkStatus
from sparket_local_cluster.miner_kube_objects import new_wallet
from sparket_local_cluster.operator_process import LocalOperator
from sparket_local_services.waits import wait_for
from sparket_operator.api.fleet_summary import SUMMARY_CONFIGMAP, SUMMARY_KEY
from sparket_testkit.harness.operator_flows import condition, miner, volume_for, wait_status
from sparket_testkit.harness.status_server import StatusServer
from sparket_testkit.kube_cli import Cli, apply, get_json, try_get_json
from sparket_testkit.mock_chain_state import isolated_mock_subtensor

pytestmark = pytest.mark.cluster

NETUID = 97  # apart from every other simulated subnet in this process
NAME = "earner"


@pytest.fixture
def mock_chain_state() -> Iterator[None]:
    """MockSubtensor's state is process-global: start clean, put the old state back."""
    with isolated_mock_subtensor():
        yield


def write_chain(path: Path, neurons: list[dict[str, Any]]) -> None:
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(json.dumps(neurons))
    os.utime(path, ns=(before + 10**9, before + 10**9))  # surely a new mtime


class SimulatedRuntime:
    """The runtime's chain side and status document, for one hotkey, without its loops."""

    def __init__(self, neurons_file: Path, hotkey: str) -> None:
        self.file, self.hotkey = neurons_file, hotkey
        settings = Settings(
            subtensor={"network": "mock", "netuid": NETUID, "mock_neurons_file": neurons_file}
        )
        chain = chain_from_settings(settings, hotkey, wallet=None)
        self.watch = ChainWatch(
            ChainSync(chain, own_hotkey=hotkey), advertised=("203.0.113.10", 30500)
        )
        self.work = WorkStatus()

    def write_chain(self, neurons: list[dict[str, Any]]) -> None:
        write_chain(self.file, neurons)

    def sync_document(self) -> dict[str, Any]:
        return asyncio.run(self.document())

    async def document(self) -> dict[str, Any]:
        await self.watch.refresh()
        now = dt.datetime.now(dt.UTC)
        for validator in self.watch.validators():
            self.work.budget(validator.hotkey).token_usable = True
            self.work.accepted(validator.hotkey, now)
        standing = self.watch.standing
        state = "mining"
        if standing is not None and standing.deregistered:
            state = f"deregistered: {standing.deregistered_reason}"
        status = build_status(
            hotkey=self.hotkey,
            state=state,
            snapshot=self.watch.snapshot,
            axon=AxonStatus(port=8094, advertised="203.0.113.10:30500", served_on_chain=True),
            egress_ip="203.0.113.10",
            work=self.work,
            own_pauses={},
            pricing=EngineCondition(engine="builtin", detail={"fitted_at": None}),
            budget_store=BudgetStoreStatus(shared=True, degraded=False, reason=None),
            standing=standing,
            now=now,
        )
        return dict(json.loads(status.model_dump_json()))


def _summary(kubectl: Cli, ns: str) -> dict[str, Any]:
    found = try_get_json(kubectl, "configmap", SUMMARY_CONFIGMAP, "-n", ns)
    return dict(json.loads(found["data"][SUMMARY_KEY])) if found else {}


def _row(kubectl: Cli, ns: str) -> dict[str, str]:
    table = kubectl("get", "sparketminer", NAME, "-n", ns).stdout.splitlines()
    header, row = table[0].split(), table[1].split()
    return dict(zip(header, row, strict=True))


def test_standing_moves_from_registered_to_earning_to_deregistered(
    kubectl: Cli,
    ns: str,
    start_operator: Any,
    tmp_path: Path,
    mock_chain_state: None,
) -> None:
    wallet = new_wallet(tmp_path, NAME)
    validator, owner = (
        new_wallet(tmp_path, "validator").hotkey,
        new_wallet(tmp_path, "owner").hotkey,
    )
    us = {"hotkey": wallet.hotkey, "coldkey": owner}
    chain = [
        {"hotkey": validator, "coldkey": owner, "stake": 5000.0, "validator_permit": True,
         "ip": "198.51.100.7", "port": 8091},
    ]  # fmt: skip
    write_chain(tmp_path / "neurons.json", [*chain, {**us, "incentive": 0.0, "emission": 0.0}])
    runtime = SimulatedRuntime(tmp_path / "neurons.json", wallet.hotkey)
    server = StatusServer()
    try:
        server.documents[f"{ns}/{NAME}"] = runtime.sync_document()
        operator: LocalOperator = start_operator(
            status_url_template=server.template,
            status_poll_seconds="1",
            earning_grace_seconds="3600",
            fleet_summary_seconds="1",
        )
        wallet_secret = wallet.secret(ns, f"{NAME}-wallet")
        apply(
            kubectl,
            wallet_secret,
            volume_for(ns, NAME),
            miner(ns, NAME, wallet.hotkey, f"{NAME}-wallet"),
        )

        # Registered, not scored yet: Ready, Earning Unknown inside the grace period.
        status = wait_status(
            kubectl, ns, NAME,
            lambda s: (condition(s, "Registered") or {}).get("status") == "True",
            what="Registered", operator=operator,
        )  # fmt: skip
        assert condition(status, "Ready")["status"] == "True"
        earning = condition(status, "Earning")
        assert (earning["status"], earning["reason"]) == ("Unknown", "NotScoredYet")
        assert status["chain"]["uid"] == 1 and status["chain"]["incentive"] == 0
        assert status["chain"]["immunityBlocksLeft"] > 0

        # The next epoch scores us: the columns and Earning follow.
        runtime.write_chain([*chain, {**us, "incentive": 0.03125, "emission": 0.25}])
        server.documents[f"{ns}/{NAME}"] = runtime.sync_document()
        kubectl(
            "wait", f"sparketminer/{NAME}", "-n", ns, "--for=condition=Earning",
            "--timeout=60s", timeout=90,
        )  # fmt: skip
        row = _row(kubectl, ns)
        assert list(row)[:6] == ["NAME", "READY", "PHASE", "HOTKEY", "UID", "INCENTIVE"]
        assert (row["READY"], row["PHASE"], row["UID"]) == ("True", "Running", "1")
        assert float(row["INCENTIVE"]) == pytest.approx(0.03125, abs=1e-4)
        tempo = runtime.watch.sync._client.standing_terms(1).tempo
        assert float(row["EMISSION/DAY"]) == pytest.approx(0.25 * 7200 / (tempo + 1), rel=1e-3)
        wide = kubectl("get", "sparketminer", NAME, "-n", ns, "-o", "wide").stdout
        assert {"ENDPOINT", "EGRESS", "IMMUNITY", "MESSAGE"} <= set(wide.split("\n")[0].split())
        earning_summary = wait_for(
            lambda: (s := _summary(kubectl, ns)).get("earning") == 1 and s,
            timeout=30,
            what="the fleet summary counting the miner earning",
        )
        assert earning_summary["emissionAlphaPerDay"] == pytest.approx(float(row["EMISSION/DAY"]))
        assert operator.metric("sparket_fleet_emission_alpha_per_day", namespace=ns) > 0

        # A new registration takes our uid: deregistered, not Ready, a Warning Event.
        newcomer = new_wallet(tmp_path, "newcomer").hotkey
        runtime.write_chain(
            [*chain, us, {"hotkey": newcomer, "coldkey": owner, "replaces": wallet.hotkey}]
        )
        server.documents[f"{ns}/{NAME}"] = runtime.sync_document()
        kubectl(
            "wait", f"sparketminer/{NAME}", "-n", ns, "--for=condition=Registered=false",
            "--timeout=60s", timeout=90,
        )  # fmt: skip
        status = get_json(kubectl, "sparketminer", NAME, "-n", ns)["status"]
        registered = condition(status, "Registered")
        assert registered["reason"] == "Deregistered"
        assert registered["message"] == f"uid 1 now held by {newcomer}"
        assert condition(status, "Ready")["reason"] == "Deregistered"
        assert status["phase"] == "Degraded"
        assert status["chain"]["deregisteredAt"] is not None
        assert all(c["observedGeneration"] == 1 for c in status["conditions"])
        selector = f"involvedObject.name={NAME},reason=Deregistered"
        found = wait_for(
            lambda: get_json(kubectl, "events", "-n", ns, "--field-selector", selector)["items"],
            timeout=30,
            what="a Deregistered Event",
        )
        # The namespace's summary and the operator's metrics say so too.
        wait_for(
            lambda: _summary(kubectl, ns).get("deregistered") == [NAME],
            timeout=30,
            what="the fleet summary naming the deregistered miner",
        )
        assert _summary(kubectl, ns)["emissionAlphaPerDay"] == 0
        assert operator.metric("sparket_fleet_miners", namespace=ns, state="deregistered") == 1
        assert operator.metric("sparket_fleet_miners", namespace=ns, state="earning") == 0
        # One Event for one happening, naming its cause (not Ready, which mirrors it).
        assert [(e["type"], e["message"].split("=")[0]) for e in found] == [
            ("Warning", "Registered")
        ]
    finally:
        server.close()
