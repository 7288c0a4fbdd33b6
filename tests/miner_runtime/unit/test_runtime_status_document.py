"""The `/status` document: built purely from the app's facts, served as the typed model
dumps it, and published as a JSON Schema that must match the models (no drift)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry

from miner_runtime.chain.sync import ChainSnapshot
from miner_runtime.observability.server import build_control_app
from miner_runtime.observability.status import AxonStatus, BudgetStoreStatus, RuntimeStatus
from miner_runtime.observability.status_example import MINING
from miner_runtime.observability.status_schema import REGENERATE, render
from miner_runtime.pricing.engine import EngineCondition
from miner_runtime.status_builder import build_status
from miner_runtime.submission.backoff import Pause
from miner_runtime.submission.status import CycleReport, WorkStatus
from miner_runtime.validator_client.selection import NeuronView

PUBLISHED = Path(__file__).resolve().parents[3] / "docs" / "runtime-status.schema.json"
NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
SIDECAR = EngineCondition(
    engine="model", detail={"url": "http://127.0.0.1:8080/v1/price", "last_seconds": None}
)


def neuron(uid: int, hotkey: str) -> NeuronView:
    return NeuronView(uid=uid, hotkey=hotkey, validator_permit=True, ip="1.2.3.4", port=1)


def snapshot(*validators: NeuronView) -> ChainSnapshot:
    return ChainSnapshot(
        block=1,
        synced_at=NOW,
        own_hotkey="5Own",
        neurons=validators,
        neurons_by_hotkey={v.hotkey: v for v in validators},
        own_uid=4,
        validators=validators,
    )


def document(
    work: WorkStatus,
    *validators: NeuronView,
    pauses: dict[str, Pause] | None = None,
    pricing: EngineCondition = SIDECAR,
) -> RuntimeStatus:
    return build_status(
        hotkey="5Own",
        state="mining",
        snapshot=snapshot(*validators),
        axon=AxonStatus(port=8094, advertised="203.0.113.10:8094", served_on_chain=True),
        egress_ip="203.0.113.10",
        work=work,
        own_pauses=pauses or {},
        pricing=pricing,
        budget_store=BudgetStoreStatus(shared=False, degraded=False, reason=None),
        standing=None,
        now=NOW,
    )


def test_the_published_schema_is_current() -> None:
    assert PUBLISHED.read_text() == render(), f"run `{REGENERATE}`"


def test_the_published_examples_are_documents_the_models_accept_unchanged() -> None:
    examples = json.loads(PUBLISHED.read_text())["examples"]
    assert len(examples) == 2
    for example in examples:
        assert RuntimeStatus.model_validate(example).model_dump(mode="json") == example


def test_our_own_pause_wins_over_a_fleet_hold_and_a_hold_shows_its_reason() -> None:
    work = WorkStatus()
    for hotkey in ("5A", "5B", "5C"):
        budget = work.budget(hotkey)
        budget.held_by, budget.held_until = "paused: cooldown", NOW + dt.timedelta(seconds=9.04)
    work.budget("5C").held_until = NOW - dt.timedelta(seconds=1)  # a hold that is over
    pauses = {"5A": Pause(NOW + dt.timedelta(seconds=30.06), "rate_limited")}

    lines = document(work, neuron(1, "5A"), neuron(2, "5B"), neuron(3, "5C"), pauses=pauses)

    assert [(v.paused_seconds, v.pause_reason) for v in lines.validators] == [
        (30.1, "rate_limited"),
        (9.0, "paused: cooldown"),
        (0.0, None),
    ]


def test_connected_counts_usable_tokens_and_a_token_has_an_age() -> None:
    work = WorkStatus()
    work.budget("5A").token_usable = True
    work.budget("5A").token_received_at = NOW - dt.timedelta(seconds=12.34)

    status = document(work, neuron(1, "5A"), neuron(2, "5B"))

    assert status.validators_connected == 1
    assert [v.token_age_seconds for v in status.validators] == [12.3, None]


def test_times_are_sent_as_isoformat_and_nulls_are_kept() -> None:
    work = WorkStatus()
    work.last_cycle = CycleReport(
        started_at=NOW, markets=3, batches=1, submitted=3, skipped=0, validators=1, seconds=0.12345
    )

    sent = document(work).model_dump(mode="json")

    assert sent["last_cycle"]["at"] == "2026-11-24T12:00:00+00:00"
    assert sent["last_cycle"]["seconds"] == 0.123
    assert sent["games"]["last_sync"] is None and sent["submissions"]["last_at"] is None


def test_pricing_carries_only_its_engines_own_detail() -> None:
    work = WorkStatus()
    work.quotes_dropped = 2

    sent = document(work).model_dump(mode="json")["pricing"]

    assert sent == {
        "engine": "model",
        "degraded": False,
        "reasons": [],
        "url": "http://127.0.0.1:8080/v1/price",
        "last_seconds": None,
        "quotes_dropped": 2,
    }
    builtin = EngineCondition(engine="builtin", detail={"market_blend": True, "extra": 1})
    assert document(work, pricing=builtin).model_dump(mode="json")["pricing"] == {
        "engine": "builtin",
        "degraded": False,
        "reasons": [],
        "market_blend": True,
        "quotes_dropped": 2,
        "extra": 1,  # detail the models do not name is passed through
    }


async def test_the_control_api_serves_the_model_as_json() -> None:
    app = build_control_app(
        status=lambda: MINING, ready=lambda: (True, "mining"), registry=CollectorRegistry()
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://control") as client:
        assert (await client.get("/status")).json() == MINING.model_dump(mode="json")
