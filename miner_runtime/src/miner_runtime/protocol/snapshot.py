"""GAME_DATA replies, read game by game and market by market.

Leagues, sports and market kinds are validator data, not a closed protocol enum
(docs/validator-facts.md): a validator can add "ncaaf", "tennis" or "PLAYER_PROP" at any
time, and add fields. Validated as one model, a snapshot with one such game is rejected
whole, and the fleet syncs nothing. Here each game and each market stands alone: what we
cannot use is skipped and counted by reason, the rest is synced.

Skip reasons, a closed set (they label a metric), each counted once per game or market:

- `malformed_snapshot`: the payload is not an object with a `games` list; nothing in it is
  usable (the caller tries the next validator);
- `unknown_league`, `unknown_sport`: a game of a league or sport we do not price, checked in
  that order before anything else in the game (a new league may bring a new shape);
- `malformed_game`: a game that is not an object, or whose own fields fail validation (a
  missing id, a bad start time, `markets` not a list, a value our store cannot hold);
- `unknown_kind`: a market of a kind we do not price; the game keeps its other markets;
- `malformed_market`: a market that is not an object or fails validation.

A skipped game's markets are not counted. A game whose markets were all skipped is kept,
with no markets: outcome pushes are per event and need no market, and nothing prices a
game without markets. Unknown fields are ignored. An unreadable `retrieved_at` reads as
absent, since it is only logged.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import TypeAdapter, ValidationError

from miner_runtime.protocol.messages import Game, GameMarket, League, MarketKind, Sport

# Details are for a log line: bounded, whatever a validator sends.
MAX_DETAIL = 80


class SkipReason(StrEnum):
    """The reasons of the module docstring. A metric label: never built from input."""

    MALFORMED_SNAPSHOT = "malformed_snapshot"
    UNKNOWN_LEAGUE = "unknown_league"
    UNKNOWN_SPORT = "unknown_sport"
    MALFORMED_GAME = "malformed_game"
    UNKNOWN_KIND = "unknown_kind"
    MALFORMED_MARKET = "malformed_market"


@dataclass(frozen=True)
class Skip:
    """Why one game or market was left out, and what it was (e.g. `ncaaf`)."""

    reason: SkipReason
    detail: str


@dataclass(frozen=True)
class ParsedSnapshot:
    """The games we can use; skips and examples are keyed by the reason's string value
    (plain strings, so they go into JSON and metric labels as they are)."""

    games: tuple[Game, ...]
    skipped: Counter[str]
    # The first skip's detail per reason: enough to name a new league in a log line.
    examples: Mapping[str, str] = field(default_factory=dict)
    retrieved_at: dt.datetime | None = None

    @property
    def usable(self) -> bool:
        """False when the reply was not a snapshot at all (not an empty one)."""
        return SkipReason.MALFORMED_SNAPSHOT.value not in self.skipped


_LEAGUES = frozenset(league.value for league in League)
_SPORTS = frozenset(sport.value for sport in Sport)
_KINDS = frozenset(kind.value for kind in MarketKind)
_TIMESTAMP = TypeAdapter(dt.datetime)


def _detail(text: str) -> str:
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 3] + "..."


def _first_error(exc: ValidationError) -> str:
    """`field: error type` of the first error; never the input, which may be anything."""
    error = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in error["loc"]) or "value"
    return _detail(f"{where}: {error['type']}")


def _unknown_code(value: object, known: frozenset[str], *, upper: bool = False) -> str | None:
    """The code if it is a string we do not know (in the validator's case-insensitive
    reading), else None: non-strings are left for validation to call malformed."""
    if not isinstance(value, str):
        return None
    code = value.strip().upper() if upper else value.strip().lower()
    return None if code in known else _detail(code)


def parse_market(raw: object) -> GameMarket | Skip:
    """One market, or why it is skipped."""
    if not isinstance(raw, dict):
        return Skip(SkipReason.MALFORMED_MARKET, f"market is {type(raw).__name__}")
    unknown = _unknown_code(raw.get("kind"), _KINDS, upper=True)
    if unknown is not None:
        return Skip(SkipReason.UNKNOWN_KIND, unknown)
    try:
        return GameMarket.model_validate(raw)
    except ValidationError as exc:
        return Skip(SkipReason.MALFORMED_MARKET, _first_error(exc))


def parse_game(raw: object) -> tuple[Game | Skip, tuple[Skip, ...]]:
    """One game (with the markets we can use), or why it is skipped; and the markets it lost."""
    if not isinstance(raw, dict):
        return Skip(SkipReason.MALFORMED_GAME, f"game is {type(raw).__name__}"), ()
    league = _unknown_code(raw.get("league"), _LEAGUES)
    if league is not None:
        return Skip(SkipReason.UNKNOWN_LEAGUE, league), ()
    sport = _unknown_code(raw.get("sport"), _SPORTS)
    if sport is not None:
        return Skip(SkipReason.UNKNOWN_SPORT, sport), ()
    raw_markets = raw.get("markets", [])
    if not isinstance(raw_markets, list):
        return Skip(SkipReason.MALFORMED_GAME, "markets: not a list"), ()
    try:
        game = Game.model_validate({**raw, "markets": []})
    except ValidationError as exc:
        return Skip(SkipReason.MALFORMED_GAME, _first_error(exc)), ()
    markets: list[GameMarket] = []
    lost: list[Skip] = []
    for raw_market in raw_markets:
        market = parse_market(raw_market)
        if isinstance(market, Skip):
            lost.append(market)
        else:
            markets.append(market)
    return game.model_copy(update={"markets": tuple(markets)}), tuple(lost)


def _retrieved_at(value: object) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return _TIMESTAMP.validate_python(value)
    except ValidationError:
        return None


def parse_game_data(payload: object) -> ParsedSnapshot:
    """A GAME_DATA reply's usable games, and how many games and markets were skipped why.

    Pure and total: any JSON value (or Python object) gives a result, never an exception.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("games"), list):
        shape = type(payload).__name__ if not isinstance(payload, dict) else "no games list"
        reason = SkipReason.MALFORMED_SNAPSHOT.value
        return ParsedSnapshot(games=(), skipped=Counter({reason: 1}), examples={reason: shape})
    games: list[Game] = []
    skipped: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for raw in payload["games"]:
        game, skips = parse_game(raw)
        if isinstance(game, Skip):
            skips = (game,)  # a skipped game counts once; its markets are not looked at
        else:
            games.append(game)
        for skip in skips:
            skipped[skip.reason.value] += 1
            examples.setdefault(skip.reason.value, skip.detail)
    return ParsedSnapshot(
        games=tuple(games),
        skipped=skipped,
        examples=examples,
        retrieved_at=_retrieved_at(payload.get("retrieved_at")),
    )
