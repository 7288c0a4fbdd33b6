"""Leagues, sports, market kinds and game fields a miner does not know, over the wire.

They are validator data, not a closed protocol set: leagues and sports are rows of the
validator's database (`sparket/validator/database/init/seed.py`), a market's kind is
served as stored (`sparket/validator/handlers/data/game_data.py`), and odds are matched
to markets by id alone, the submitted `kind` kept as sent and never checked
(`sparket/validator/handlers/ingest/ingest_odds.py`). v0.0.5 serves a fixed set of keys
per game; `Event.extra` stands for a later validator that adds one.
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from bittensor_wallet import Keypair

from sparket_local_validator.games import game_of
from sparket_local_validator.ingest import DAY, Catalog, Event, Market
from sparket_local_validator.server import LocalValidator
from sparket_testkit.harness.validator_wire import ask, outcome

PROP, MONEYLINE, ELSEWHERE = 31, 32, 99
START_IN = DAY


@pytest.fixture
def catalog() -> Catalog:
    """Replaces conftest's catalog for the `validator` fixture: one college-football game."""
    return Catalog(
        [
            Event(
                30,
                time.time() + START_IN,
                markets=(Market(PROP, "PLAYER_PROP", 24.5), Market(MONEYLINE)),
                home_team="Ohio State Buckeyes",
                away_team="Michigan Wolverines",
                league="ncaaf",
                sport="cfb",
                extra={"neutral_site": True, "broadcast": {"network": "FOX", "slot": 1}},
            )
        ]
    )


async def test_game_data_serves_unknown_leagues_kinds_and_fields(
    validator: LocalValidator, miner: Keypair, catalog: Catalog
) -> None:
    reply = await ask(validator, miner)
    assert outcome(reply) == (200, "")
    [game] = reply.payload["games"]
    start = datetime.fromisoformat(game.pop("start_time_utc")).timestamp()
    assert start == pytest.approx(catalog.events[30].start, abs=1e-3)
    assert game == {
        "event_id": 30,
        "external_id": None,
        "home_team": "Ohio State Buckeyes",
        "away_team": "Michigan Wolverines",
        "venue": None,
        "league": "ncaaf",
        "sport": "cfb",
        "accepts_odds": True,
        "markets": [
            {"market_id": PROP, "kind": "PLAYER_PROP", "line": 24.5},
            {"market_id": MONEYLINE, "kind": "MONEYLINE", "line": None},
        ],
        "neutral_site": True,
        "broadcast": {"network": "FOX", "slot": 1},
    }


async def test_odds_for_an_unknown_kind_are_stored_by_market_id(
    validator: LocalValidator, miner: Keypair
) -> None:
    """The market id decides; the kind sent is kept as is, even a wrong or unknown one."""

    def submission(market_id: int, kind: str, *sides: str) -> dict[str, object]:
        prices = [{"side": side, "odds_eu": 1.9} for side in sides]
        return {"market_id": market_id, "kind": kind, "prices": prices}

    payload = {
        "token": validator.current_token(),  # what the CONNECTION_INFO would carry
        "submissions": [
            submission(PROP, "player_prop", "over", "under"),
            submission(MONEYLINE, "no_such_kind", "home", "away"),
            submission(ELSEWHERE, "moneyline", "home", "away"),  # no such market: dropped
        ],
    }
    reply = await ask(validator, miner, "odds_push", payload)
    assert reply.payload == {"success": True, "accepted": True}
    stored = [(row.market_id, row.side, row.kind) for row in validator.odds_rows]
    assert stored == [
        (PROP, "OVER", "player_prop"),
        (PROP, "UNDER", "player_prop"),
        (MONEYLINE, "HOME", "no_such_kind"),
        (MONEYLINE, "AWAY", "no_such_kind"),
    ]


# The extras themselves (no socket) ----------------------------------------------------------


def test_extra_keys_follow_the_standard_ones_and_cannot_replace_them() -> None:
    event = Event(1, 1_000.0, extra={"neutral_site": False})
    assert list(game_of(event, 0.0))[-1] == "neutral_site"
    assert Event(2, 1_000.0).extra == {}
    with pytest.raises(ValueError, match="league"):
        Event(3, 1_000.0, extra={"league": "nfl"})


def test_an_events_extras_are_a_copy_it_owns() -> None:
    given: dict[str, object] = {"neutral_site": True}
    event = Event(1, 1_000.0, extra=given)
    given["neutral_site"] = False
    assert game_of(event, 0.0)["neutral_site"] is True
    with pytest.raises(TypeError):
        event.extra["neutral_site"] = False  # type: ignore[index]
