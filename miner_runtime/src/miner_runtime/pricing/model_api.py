"""The model sidecar's HTTP API: the contract between the runtime and a pricing model image.

Two endpoints on localhost: `POST /v1/price` (markets in, quotes out) and `GET /v1/health`.
The OpenAPI document is generated from these models (`make openapi`; a test fails on
drift), so the published contract and the runtime's parser cannot disagree. Answers are
parsed leniently on purpose (sides and kinds as strings, odds as any float): one bad quote
must cost that quote, not the whole answer; `pricing.quotes.accept` then judges each one.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from miner_runtime.generated_files import write_or_check
from miner_runtime.protocol.messages import League, MarketKind, Sport

API_VERSION = "1.0.0"
PRICE_PATH = "/v1/price"
HEALTH_PATH = "/v1/health"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class ModelMarket(_Model):
    """A market to price, as the validator described it (full team names)."""

    market_id: int
    event_id: int
    kind: MarketKind
    line: float | None = Field(
        description="SPREAD: the home team's line (-7 = home gives 7). TOTAL: the total. "
        "MONEYLINE: null."
    )
    league: League
    sport: Sport
    home_team: str
    away_team: str
    start_time_utc: dt.datetime


class PriceRequest(_Model):
    priced_at: dt.datetime
    markets: list[ModelMarket]


class ModelPrice(_Model):
    side: str = Field(description="home, away or draw (soccer moneylines); over or under")
    odds_eu: float = Field(description="Decimal odds within [1.01, 1000]; 1/odds is scored")


class ModelQuote(_Model):
    market_id: int
    kind: str = Field(description="MONEYLINE, SPREAD or TOTAL, as in the request")
    prices: list[ModelPrice]


class PriceResponse(_Model):
    quotes: list[ModelQuote] = Field(
        description="One per market the model prices; markets left out are not submitted."
    )


class Health(_Model):
    status: Literal["ok"]
    model: str | None = None
    version: str | None = None


def openapi_document() -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(m, "validation") for m in (PriceRequest, PriceResponse, Health)],
        ref_template="#/components/schemas/{model}",
    )

    def body(name: str) -> dict[str, Any]:
        return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sparket pricing model sidecar",
            "version": API_VERSION,
            "description": "Served by a model image on localhost inside the miner pod. The "
            "runtime calls it every odds cycle (timeout: pricing.model_timeout_seconds) and "
            "validates every quote: a quote with odds outside [1.01, 1000], a side that does "
            "not belong to the market, or a three-way (soccer moneyline) quote missing a "
            "side is dropped and never submitted.",
        },
        "paths": {
            PRICE_PATH: {
                "post": {
                    "operationId": "price",
                    "requestBody": {"required": True, "content": body("PriceRequest")},
                    "responses": {
                        "200": {"description": "Quotes", "content": body("PriceResponse")}
                    },
                }
            },
            HEALTH_PATH: {
                "get": {
                    "operationId": "health",
                    "responses": {"200": {"description": "Ready", "content": body("Health")}},
                }
            },
        },
        "components": {"schemas": definitions["$defs"]},
    }


def render() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    return write_or_check(
        render,
        description="Write or check the model sidecar's OpenAPI file.",
        regenerate="make openapi",
        argv=argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
