"""The model sidecar over real HTTP on loopback: the example model, and a model that
misbehaves in every way the runtime must survive without sending a bad price."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from miner_runtime.pricing.model_api import Health, render
from miner_runtime.pricing.quotes import accept
from miner_runtime.pricing.sidecar import SidecarEngine
from miner_runtime.protocol.markets import ActiveMarket
from miner_runtime.protocol.messages import League, MarketKind, Sport
from sparket_local_services.paths import repo_root
from sparket_local_services.ports import free_port
from sparket_local_services.waits import wait_for

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
EXAMPLE = repo_root() / "miner_runtime" / "examples" / "model_sidecar" / "server.py"


def market(market_id: int, kind: MarketKind, sport: Sport = Sport.NBA) -> ActiveMarket:
    return ActiveMarket(
        market_id=market_id,
        kind=kind,
        line=None if kind is MarketKind.MONEYLINE else -2.5,
        event_id=market_id // 10,
        league=League.EPL if sport is Sport.SOCCER else League.NBA,
        sport=sport,
        home_team="Boston Celtics" if sport is Sport.NBA else "Arsenal",
        away_team="Miami Heat" if sport is Sport.NBA else "Chelsea",
        start_time_utc=NOW + dt.timedelta(hours=20),
    )


MARKETS = [
    market(11, MarketKind.MONEYLINE),
    market(12, MarketKind.SPREAD),
    market(13, MarketKind.TOTAL),
    market(21, MarketKind.MONEYLINE, Sport.SOCCER),
]


@pytest.fixture
def example_model() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE)],
        env={**os.environ, "SPARKET_MODEL_PORT": str(port)},
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"the example model exited with {process.returncode}")
        try:
            return httpx.get(f"{url}/v1/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(healthy, timeout=15, interval=0.05, what="the example model's /v1/health")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_the_example_model_prices_every_market(example_model: str) -> None:
    async with httpx.AsyncClient() as client:
        health = Health.model_validate_json(
            (await client.get(f"{example_model}/v1/health")).content
        )
        assert health.status == "ok" and health.model == "example"
        engine = SidecarEngine(client, base_url=example_model, timeout=5)
        quotes = await engine.quote(MARKETS, NOW)
    submissions, dropped = accept(MARKETS, quotes, NOW, engine="sidecar")
    assert dropped == []
    by_id = {s.market_id: {p.side.value: p.odds_eu for p in s.prices} for s in submissions}
    assert by_id == {
        11: {"home": 1.79, "away": 2.27},
        12: {"home": 2.0, "away": 2.0},
        13: {"over": 2.0, "under": 2.0},
        21: {"home": 2.41, "draw": 3.85, "away": 3.07},  # 0.74 x 0.56, 0.26, the rest
    }
    assert engine.condition().degraded is False


class ScriptedModel:
    """A real HTTP server on loopback whose /v1/price answer the test decides."""

    def __init__(self) -> None:
        self.answer: Callable[[dict[str, Any]], tuple[int, bytes]] = lambda _: (200, b"{}")
        self.delay = 0.0
        model = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                time.sleep(model.delay)  # a slow model: the engine's timeout runs out
                status, data = model.answer(body)
                self.send_response(status)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted() -> Iterator[ScriptedModel]:
    model = ScriptedModel()
    yield model
    model.close()


def _quotes(*quotes: dict[str, Any]) -> Callable[[dict[str, Any]], tuple[int, bytes]]:
    # json.dumps writes NaN and Infinity as bare tokens, as a careless model would.
    return lambda _: (200, json.dumps({"quotes": list(quotes)}).encode())


async def test_bad_quotes_are_dropped_and_good_ones_kept(scripted: ScriptedModel) -> None:
    scripted.answer = _quotes(
        {"market_id": 11, "kind": "moneyline", "prices": [{"side": "HOME", "odds_eu": 1.8}]},
        {"market_id": 12, "kind": "SPREAD", "prices": [{"side": "home", "odds_eu": 0.5}]},
        {"market_id": 13, "kind": "TOTAL", "prices": [{"side": "over", "odds_eu": float("nan")}]},
        {"market_id": 21, "kind": "MONEYLINE", "prices": [{"side": "home", "odds_eu": 2.0}]},
        {"market_id": 99, "kind": "TOTAL", "prices": [{"side": "over", "odds_eu": 2.0}]},
        {"market_id": 13, "kind": "TOTAL", "prices": [{"side": "sideways", "odds_eu": 2.0}]},
    )
    async with httpx.AsyncClient() as client:
        engine = SidecarEngine(client, base_url=scripted.url, timeout=5)
        quotes = await engine.quote(MARKETS, NOW)
    submissions, dropped = accept(MARKETS, quotes, NOW, engine="sidecar")
    assert [(s.market_id, s.prices[0].odds_eu) for s in submissions] == [(11, 1.8)]
    reasons = {d.market_id: d.reason for d in dropped}
    assert "outside" in reasons[12] and "finite" in reasons[13]
    assert "three-way" in reasons[21] and reasons[99] == "unknown market"
    assert engine.condition().detail["malformed_quotes"] == 1  # the "sideways" side


@pytest.mark.parametrize(
    ("answer", "delay", "reason"),
    [
        (lambda _: (500, b"boom"), 0.0, "model: HTTP 500"),
        (lambda _: (200, b"<html>"), 0.0, "model: answer does not match the API"),
        (lambda _: (200, b'{"quotes": [{"market_id": "x"}]}'), 0.0, "does not match the API"),
        (_quotes(), 1.5, "model: no answer within 0.5 s"),
    ],
)
async def test_a_failing_model_prices_nothing_and_says_why(
    scripted: ScriptedModel,
    answer: Callable[[dict[str, Any]], tuple[int, bytes]],
    delay: float,
    reason: str,
) -> None:
    scripted.answer, scripted.delay = answer, delay
    async with httpx.AsyncClient() as client:
        engine = SidecarEngine(client, base_url=scripted.url, timeout=0.5)
        assert await engine.quote(MARKETS, NOW) == []
        condition = engine.condition()
        assert condition.degraded and reason in condition.reasons[0]
        # Fixed: the next cycle prices again and the condition clears.
        scripted.answer, scripted.delay = (
            _quotes(
                {"market_id": 13, "kind": "TOTAL", "prices": [{"side": "over", "odds_eu": 1.9}]}
            ),
            0.0,
        )
        assert len(await engine.quote(MARKETS, NOW)) == 1
        assert engine.condition().degraded is False


async def test_an_unreachable_model_is_reported(scripted: ScriptedModel) -> None:
    url = scripted.url
    scripted.close()
    async with httpx.AsyncClient() as client:
        engine = SidecarEngine(client, base_url=url, timeout=1)
        assert await engine.quote(MARKETS, NOW) == []
    assert engine.condition().reasons == ("model: unreachable (ConnectError)",)


async def test_the_request_carries_every_market_as_the_contract_says(
    scripted: ScriptedModel,
) -> None:
    seen: list[dict[str, Any]] = []

    def record(body: dict[str, Any]) -> tuple[int, bytes]:
        seen.append(body)
        return 200, b'{"quotes": []}'

    scripted.answer = record
    async with httpx.AsyncClient() as client:
        await SidecarEngine(client, base_url=scripted.url, timeout=5).quote(MARKETS, NOW)
    (body,) = seen
    assert body["priced_at"] == "2026-11-24T12:00:00Z"
    assert body["markets"][1] == {
        "market_id": 12,
        "event_id": 1,
        "kind": "SPREAD",
        "line": -2.5,
        "league": "nba",
        "sport": "nba",
        "home_team": "Boston Celtics",
        "away_team": "Miami Heat",
        "start_time_utc": "2026-11-25T08:00:00Z",
    }


def test_the_published_openapi_document_is_current() -> None:
    published = repo_root() / "docs" / "model-api.openapi.json"
    assert published.read_text() == render(), "run `make openapi`"
    document = json.loads(published.read_text())
    assert set(document["paths"]) == {"/v1/price", "/v1/health"}
