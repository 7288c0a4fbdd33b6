"""The runtime's `/status` schema is the operator's contract: the operator's reading of it.

The runtime publishes `docs/runtime-status.schema.json` (generated from its models); the
operator, in another image, declares in `runtime_report.READS` the fields it reads. Here:
every declared field exists in the committed schema, is always sent, and has only types
the operator accepts; `parse_status` reads exactly the declared fields; and documents the
runtime's own builder produces (a runtime at work, one just started) parse into the report
they should. A field renamed, dropped or retyped on either side fails here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from miner_runtime.chain.client import StandingTerms
from miner_runtime.chain.standing import read_standing
from miner_runtime.chain.sync import ChainSnapshot
from miner_runtime.observability.status import AxonStatus, BudgetStoreStatus, RuntimeStatus
from miner_runtime.observability.status_example import MINING
from miner_runtime.pricing.engine import EngineCondition
from miner_runtime.status_builder import build_status
from miner_runtime.submission.backoff import Pause
from miner_runtime.submission.status import WorkStatus
from miner_runtime.validator_client.selection import NeuronView
from sparket_operator.reconcile.runtime_report import (
    READS,
    ChainReport,
    RuntimeReport,
    parse_status,
)

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "runtime-status.schema.json"
NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
OWN = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
FIRST, SECOND, THIRD = (
    "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy",
    "5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw",
    "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y",
)


# --- the schema, as the operator reads it ---------------------------------------------


def _schema() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SCHEMA_FILE.read_text())
    return document


def _resolve(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    name = ref.removeprefix("#/$defs/")
    return _resolve(root["$defs"][name], root)


def _branches(node: Mapping[str, Any], root: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The alternatives a value may take (`anyOf`), each with its `$ref` resolved."""
    node = _resolve(node, root)
    return [_resolve(b, root) for b in node.get("anyOf", [node])]


def _types(node: Mapping[str, Any], root: Mapping[str, Any]) -> set[str]:
    return {b["type"] for b in _branches(node, root)}


def _field(root: Mapping[str, Any], path: str) -> tuple[Mapping[str, Any], bool]:
    """The schema of `path` ("a.b", "a[].b"), and whether every step of it is required."""
    node: Mapping[str, Any] = root
    required = True
    for step in path.split("."):
        name, each = step.removesuffix("[]"), step.endswith("[]")
        (parent,) = [b for b in _branches(node, root) if b["type"] == "object"]
        assert name in parent["properties"], f"{path}: no `{name}` in the published schema"
        required = required and name in parent.get("required", [])
        node = parent["properties"][name]
        if each:
            (array,) = [b for b in _branches(node, root) if b["type"] == "array"]
            node = array["items"]
    return node, required


@pytest.mark.parametrize("path", sorted(READS))
def test_each_field_the_operator_reads_is_published_with_a_type_it_accepts(path: str) -> None:
    root = _schema()
    node, required = _field(root, path)
    assert required, f"{path}: the runtime may leave it out (the operator reads it)"
    published = _types(node, root)
    assert published <= READS[path], f"{path}: published {published}, read {READS[path]}"


class _Recording(Mapping[str, Any]):
    """A document that notes every field read from it (nested objects and lists too)."""

    def __init__(self, data: Mapping[str, Any], reads: set[str], prefix: str = "") -> None:
        self._data, self._reads, self._prefix = data, reads, prefix

    def __getitem__(self, key: str) -> Any:
        path = f"{self._prefix}{key}"
        value = self._data[key]
        self._reads.add(path)
        if isinstance(value, Mapping):
            return _Recording(value, self._reads, f"{path}.")
        if isinstance(value, list):
            return [
                _Recording(v, self._reads, f"{path}[].") if isinstance(v, Mapping) else v
                for v in value
            ]
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def test_parse_status_reads_exactly_the_declared_fields() -> None:
    reads: set[str] = set()
    parse_status(_Recording(MINING.model_dump(mode="json"), reads))
    containers = {path.split(".")[0].removesuffix("[]") for path in READS if "." in path}
    assert reads - containers == set(READS)


# --- documents the runtime builds, read by the operator -------------------------------


def _neuron(uid: int, hotkey: str) -> NeuronView:
    return NeuronView(
        uid=uid, hotkey=hotkey, validator_permit=True, ip="198.51.100.7", port=8091, stake=5e4
    )


def _build(snapshot: ChainSnapshot | None, work: WorkStatus, pauses: dict[str, Pause]) -> Any:
    status: RuntimeStatus = build_status(
        hotkey=OWN,
        state="mining" if snapshot else "chain not synced yet",
        snapshot=snapshot,
        axon=AxonStatus(port=8094, advertised="203.0.113.10:31234", served_on_chain=True),
        egress_ip="203.0.113.10",
        work=work,
        own_pauses=pauses,
        pricing=EngineCondition(engine="builtin", detail={"fitted_at": None}),
        budget_store=BudgetStoreStatus(shared=True, degraded=False, reason=None),
        standing=(
            None
            if snapshot is None
            else read_standing(snapshot, StandingTerms(360, 5000, snapshot.block - 10), None)
        ),
        now=NOW,
    )
    # Over the wire and back, as the operator's poller gets it.
    return json.loads(json.dumps(status.model_dump(mode="json")))


def test_a_runtime_at_work_reads_as_its_facts() -> None:
    validators = (_neuron(0, FIRST), _neuron(3, SECOND), _neuron(9, THIRD))
    snapshot = ChainSnapshot(
        block=100,
        synced_at=NOW,
        own_hotkey=OWN,
        neurons=validators,
        neurons_by_hotkey={v.hotkey: v for v in validators},
        own_uid=17,
        validators=validators,
    )
    work = WorkStatus()
    for hotkey in (FIRST, SECOND):
        work.budget(hotkey).token_usable = True
    held = work.budget(THIRD)  # a fleet rule holds this one, with its reason
    held.held_by, held.held_until = "paused: cooldown", NOW + dt.timedelta(seconds=9)
    work.accepted(FIRST, NOW - dt.timedelta(hours=2))  # over an hour ago: not counted
    work.accepted(FIRST, NOW - dt.timedelta(minutes=3))
    work.rejected(SECOND, "rate_limited", NOW - dt.timedelta(minutes=1))
    pauses = {SECOND: Pause(NOW + dt.timedelta(seconds=41.7), "rate_limited")}

    facts = parse_status(_build(snapshot, work, pauses))

    assert facts == RuntimeReport(
        uid=17,
        state="mining",
        registered=True,
        egress_ip="203.0.113.10",
        validators_connected=2,
        accepted_1h=1,
        rejected_1h=1,
        last_submission_at=(NOW - dt.timedelta(minutes=3)).isoformat(),
        throttled_by=("5HGjWAeF: rate_limited", "5FLSigC9: paused: cooldown"),
        # The snapshot lists validators only, not our own neuron: no standing of ours.
        chain=ChainReport(uid=None, emission_alpha_per_day=0.0, block=100, read_at=NOW.isoformat()),
    )


def test_a_runtime_just_started_reads_as_nothing_yet() -> None:
    facts = parse_status(_build(None, WorkStatus(), {}))

    assert facts == RuntimeReport(
        uid=None, state="chain not synced yet", registered=False, egress_ip="203.0.113.10"
    )


def test_a_document_from_a_newer_runtime_still_reads() -> None:
    document = MINING.model_dump(mode="json")
    document["added_by_a_newer_runtime"] = {"x": 1}
    document["submissions"]["added_too"] = 1

    assert parse_status(document) == parse_status(MINING.model_dump(mode="json"))
