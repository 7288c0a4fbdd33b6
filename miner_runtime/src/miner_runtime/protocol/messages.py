"""Typed payloads with the validator's own bounds.

Inbound payloads (game data, connection info) are parsed leniently where the validator is
loose (UPPERCASE or lowercase kinds) and strictly where a wrong value would cost us
(tokens, ports). Game data is parsed one game and one market at a time
(`protocol.snapshot`), so these models describe one game or market, and bound what our
store can hold (BIGINT ids, 255-character names) so that one odd game cannot fail the
whole snapshot's write. Outbound payloads can only be built valid: odds within [1.01, 1000] and
finite, known sides, an outcome with a result or both scores. `to_wire()` emits
JSON-native values only, so the body hash survives the JSON round trip.
"""

from __future__ import annotations

import datetime as dt
import math
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MIN_ODDS = 1.01
MAX_ODDS = 1000.0
TOKEN_PATTERN = r"^[0-9a-f]{64}$"
# Ids are BIGINT in the validator's database and in ours; names are VARCHAR(255) in ours.
MAX_ID = 2**63 - 1
MAX_NAME = 255


class League(StrEnum):
    NFL = "nfl"
    NBA = "nba"
    MLB = "mlb"
    NHL = "nhl"
    EPL = "epl"
    UCL = "ucl"
    UEL = "uel"
    ESP = "esp"
    DEB = "deb"
    ITSA = "itsa"
    FRL1 = "frl1"
    MLS = "mls"
    NLE = "nle"


class Sport(StrEnum):
    NFL = "nfl"
    NBA = "nba"
    MLB = "mlb"
    NHL = "nhl"
    SOCCER = "soccer"


class MarketKind(StrEnum):
    """Stored UPPERCASE by the validator; sent lowercase by miners; case is ignored."""

    MONEYLINE = "MONEYLINE"
    SPREAD = "SPREAD"
    TOTAL = "TOTAL"


class Side(StrEnum):
    HOME = "home"
    AWAY = "away"
    DRAW = "draw"
    OVER = "over"
    UNDER = "under"


class OutcomeResult(StrEnum):
    HOME = "home"
    AWAY = "away"
    DRAW = "draw"
    OVER = "over"
    UNDER = "under"
    PUSH = "push"
    VOID = "void"


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True)


def _aware_utc(value: dt.datetime) -> dt.datetime:
    """Naive timestamps are UTC (as the validator reads them)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _lowercase(value: Any) -> Any:
    """The validator matches sides, results, leagues and sports case-insensitively."""
    return value.strip().lower() if isinstance(value, str) else value


# ---- validator -> miner ---------------------------------------------------------------


class ConnectionInfo(_Wire):
    """CONNECTION_INFO_PUSH payload. The token is the validator's hourly HMAC (64 hex)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    host: str = Field(min_length=1, max_length=255)
    port: int = Field(ge=0, le=65535)
    token: str = Field(pattern=TOKEN_PATTERN)
    hotkey: str = Field(min_length=1, max_length=64)
    step: int = Field(default=0, ge=0)


class GameMarket(_Wire):
    model_config = ConfigDict(frozen=True, extra="ignore")

    market_id: int = Field(ge=0, le=MAX_ID)
    kind: MarketKind
    line: float | None = Field(default=None, allow_inf_nan=False)

    @field_validator("kind", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value


class Game(_Wire):
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: int = Field(ge=0, le=MAX_ID)
    external_id: int | None = Field(default=None, ge=-MAX_ID, le=MAX_ID)
    home_team: str = Field(max_length=MAX_NAME)
    away_team: str = Field(max_length=MAX_NAME)
    venue: str | None = Field(default=None, max_length=MAX_NAME)
    start_time_utc: dt.datetime
    league: League
    sport: Sport
    accepts_odds: bool = False
    markets: tuple[GameMarket, ...] = ()

    _codes_case = field_validator("league", "sport", mode="before")(_lowercase)

    @field_validator("start_time_utc")
    @classmethod
    def _utc(cls, value: dt.datetime) -> dt.datetime:
        return _aware_utc(value)


# ---- miner -> validator ---------------------------------------------------------------


class Price(_Wire):
    side: Side
    odds_eu: float = Field(ge=MIN_ODDS, le=MAX_ODDS)
    imp_prob: float | None = Field(default=None, ge=0.0, le=1.0)

    _side_case = field_validator("side", mode="before")(_lowercase)

    @field_validator("odds_eu")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("odds must be finite")
        return value


class OddsSubmission(_Wire):
    market_id: int = Field(ge=0)
    kind: MarketKind
    priced_at: dt.datetime | None = None
    prices: tuple[Price, ...] = Field(min_length=1, max_length=3)

    @field_validator("kind", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _distinct_sides(self) -> Self:
        sides = [price.side for price in self.prices]
        if len(set(sides)) != len(sides):
            raise ValueError("each side may be priced once per submission")
        return self

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "market_id": self.market_id,
            "kind": self.kind.value.lower(),
            "prices": [
                {"side": p.side.value, "odds_eu": float(p.odds_eu)}
                | ({"imp_prob": float(p.imp_prob)} if p.imp_prob is not None else {})
                for p in self.prices
            ],
        }
        if self.priced_at is not None:
            wire["priced_at"] = _aware_utc(self.priced_at).isoformat()
        return wire


class OddsPush(_Wire):
    submissions: tuple[OddsSubmission, ...] = Field(min_length=1, max_length=200)
    token: str = Field(pattern=TOKEN_PATTERN)

    def to_wire(self) -> dict[str, Any]:
        return {"submissions": [s.to_wire() for s in self.submissions], "token": self.token}


class OutcomeFacts(_Wire):
    """An event's result and/or final score: the shapes the validator accepts (it rejects
    the winner_label shape)."""

    event_id: int = Field(ge=0)
    result: OutcomeResult | None = None
    score_home: int | None = Field(default=None, ge=0)
    score_away: int | None = Field(default=None, ge=0)

    _result_case = field_validator("result", mode="before")(_lowercase)

    @model_validator(mode="after")
    def _has_result_or_scores(self) -> Self:
        scores = (self.score_home, self.score_away)
        if (scores[0] is None) != (scores[1] is None):
            raise ValueError("score_home and score_away go together")
        if self.result is None and scores[0] is None:
            raise ValueError("an outcome needs a result or both scores")
        return self


class OutcomePush(OutcomeFacts):
    """OUTCOME_PUSH payload: the facts plus this validator's token."""

    token: str = Field(pattern=TOKEN_PATTERN)

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"event_id": self.event_id, "token": self.token}
        if self.result is not None:
            wire["result"] = self.result.value
        if self.score_home is not None and self.score_away is not None:
            wire["score_home"] = self.score_home
            wire["score_away"] = self.score_away
        return wire
