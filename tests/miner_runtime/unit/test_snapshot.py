"""GAME_DATA read game by game: what we cannot use is skipped and counted, never the rest."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from miner_runtime.protocol.messages import League, MarketKind, Sport
from miner_runtime.protocol.snapshot import MAX_DETAIL, SkipReason, parse_game_data


def game(event_id: int, **fields: Any) -> dict[str, Any]:
    """One game as the validator sends it (docs/protocol.md §2b), fields overridable."""
    raw: dict[str, Any] = {
        "event_id": event_id,
        "external_id": 18000 + event_id,
        "home_team": "Kansas City Chiefs",
        "away_team": "Buffalo Bills",
        "venue": "Arrowhead",
        "start_time_utc": "2026-11-26T01:15:00+00:00",
        "league": "nfl",
        "sport": "nfl",
        "accepts_odds": True,
        "markets": [
            {"market_id": event_id * 10 + 1, "kind": "MONEYLINE", "line": None},
            {"market_id": event_id * 10 + 2, "kind": "SPREAD", "line": -2.5},
            {"market_id": event_id * 10 + 3, "kind": "TOTAL", "line": 47.5},
        ],
    }
    raw.update(fields)
    return raw


def snapshot(*games: Any) -> dict[str, Any]:
    return {
        "games": list(games),
        "retrieved_at": "2026-11-24T18:00:00+00:00",
        "window": {"lookahead_days": 14, "odds_window_days": 7},
    }


def test_every_reason_value_is_documented_in_the_module() -> None:
    import miner_runtime.protocol.snapshot as module

    assert module.__doc__ is not None
    for reason in SkipReason:
        assert f"`{reason.value}`" in module.__doc__


def test_a_clean_snapshot_skips_nothing() -> None:
    parsed = parse_game_data(snapshot(game(1), game(2)))
    assert parsed.usable and not parsed.skipped
    assert [g.event_id for g in parsed.games] == [1, 2]
    assert [m.kind for m in parsed.games[0].markets] == list(MarketKind)
    assert parsed.retrieved_at is not None and parsed.retrieved_at.tzinfo is not None


def test_mixed_snapshot_every_tenth_game_in_an_unknown_league() -> None:
    games = [
        game(e, league="ncaaf", sport="cfb") if e % 10 == 0 else game(e) for e in range(1, 101)
    ]
    parsed = parse_game_data(snapshot(*games))
    assert len(parsed.games) == 90
    assert parsed.skipped == {"unknown_league": 10}
    assert parsed.examples == {"unknown_league": "ncaaf"}
    assert all(g.event_id % 10 for g in parsed.games)
    assert all(len(g.markets) == 3 for g in parsed.games)


def test_unknown_sport_in_a_known_league_skips_the_game() -> None:
    parsed = parse_game_data(snapshot(game(1), game(2, sport="Tennis")))
    assert [g.event_id for g in parsed.games] == [1]
    assert parsed.skipped == {"unknown_sport": 1}
    assert parsed.examples["unknown_sport"] == "tennis"  # read case-insensitively


def test_an_unknown_league_is_reported_before_anything_else_about_the_game() -> None:
    # A new league may well come with a new shape: it is the league that explains the skip.
    parsed = parse_game_data(snapshot({"league": "atp", "sport": "tennis", "event_id": "x"}))
    assert parsed.skipped == {"unknown_league": 1} and parsed.games == ()


def test_known_codes_in_any_case_are_kept() -> None:
    parsed = parse_game_data(snapshot(game(1, league=" NFL", sport="Nfl")))
    assert parsed.games[0].league is League.NFL and parsed.games[0].sport is Sport.NFL


def test_an_unknown_kind_skips_that_market_only() -> None:
    markets = [
        {"market_id": 11, "kind": "moneyline", "line": None},
        {"market_id": 12, "kind": "PLAYER_PROP", "line": 1.5, "player": "P. Mahomes"},
        {"market_id": 13, "kind": "TOTAL", "line": 47.5},
    ]
    parsed = parse_game_data(snapshot(game(1, markets=markets)))
    [kept] = parsed.games
    assert [m.market_id for m in kept.markets] == [11, 13]
    assert parsed.skipped == {"unknown_kind": 1}
    assert parsed.examples == {"unknown_kind": "PLAYER_PROP"}


def test_a_game_whose_markets_were_all_skipped_is_kept_without_markets() -> None:
    """Outcome pushes are per event: the game is still worth knowing."""
    markets = [{"market_id": 11, "kind": "PLAYER_PROP"}, {"market_id": 12, "kind": "FUTURES"}]
    parsed = parse_game_data(snapshot(game(1, markets=markets)))
    [kept] = parsed.games
    assert kept.event_id == 1 and kept.markets == ()
    assert parsed.skipped == {"unknown_kind": 2}


@pytest.mark.parametrize(
    ("broken", "detail"),
    [
        ({"event_id": None}, "event_id: int_type"),
        ({"event_id": "abc"}, "event_id: int_parsing"),
        ({"event_id": -1}, "event_id: greater_than_equal"),
        ({"event_id": 2**63}, "event_id: less_than_equal"),  # BIGINT in our store
        ({"start_time_utc": "next tuesday"}, "start_time_utc: datetime_from_date_parsing"),
        ({"home_team": "x" * 256}, "home_team: string_too_long"),  # VARCHAR(255)
        ({"league": 7}, "league: enum"),
        ({"markets": {"market_id": 1}}, "markets: not a list"),
        ({"accepts_odds": "perhaps"}, "accepts_odds: bool_parsing"),
    ],
)
def test_a_malformed_game_skips_that_game_only(broken: dict[str, Any], detail: str) -> None:
    parsed = parse_game_data(snapshot(game(1), game(2) | broken, game(3)))
    assert [g.event_id for g in parsed.games] == [1, 3]
    assert parsed.skipped == {"malformed_game": 1}
    assert parsed.examples == {"malformed_game": detail}


def test_a_game_missing_a_required_field_or_not_an_object_is_malformed() -> None:
    missing = game(2)
    del missing["home_team"]
    parsed = parse_game_data(snapshot(game(1), missing, "game 3", None, [game(4)]))
    assert [g.event_id for g in parsed.games] == [1]
    assert parsed.skipped == {"malformed_game": 4}
    assert parsed.examples["malformed_game"] == "home_team: missing"


@pytest.mark.parametrize(
    "market",
    [
        {"market_id": "eleven", "kind": "MONEYLINE"},
        {"kind": "MONEYLINE"},
        {"market_id": 11, "kind": "TOTAL", "line": "high"},
        {"market_id": 11, "kind": "TOTAL", "line": float("nan")},
        {"market_id": 11, "kind": None},
        "MONEYLINE",
        None,
    ],
)
def test_a_malformed_market_skips_that_market_only(market: Any) -> None:
    markets = [market, {"market_id": 12, "kind": "MONEYLINE", "line": None}]
    parsed = parse_game_data(snapshot(game(1, markets=markets)))
    [kept] = parsed.games
    assert [m.market_id for m in kept.markets] == [12]
    assert parsed.skipped == {"malformed_market": 1}


def test_unknown_fields_are_ignored_everywhere() -> None:
    raw = snapshot(
        game(
            1,
            tv="CBS",
            weather={"wind": 12},
            markets=[{"market_id": 11, "kind": "MONEYLINE", "line": None, "limits": [1, 2]}],
        )
    )
    raw["cursor"] = "next-page"
    raw["window"]["props_window_days"] = 2
    parsed = parse_game_data(raw)
    assert not parsed.skipped
    assert [m.market_id for g in parsed.games for m in g.markets] == [11]


def test_a_bad_retrieved_at_does_not_cost_the_games() -> None:
    raw = snapshot(game(1))
    raw["retrieved_at"] = "yesterday-ish"
    parsed = parse_game_data(raw)
    assert parsed.retrieved_at is None and len(parsed.games) == 1 and not parsed.skipped


@pytest.mark.parametrize(
    "payload", [None, [], "games", 42, {}, {"games": None}, {"games": {"1": {}}}]
)
def test_a_reply_that_is_not_a_snapshot_syncs_nothing(payload: Any) -> None:
    parsed = parse_game_data(payload)
    assert not parsed.usable and parsed.games == ()
    assert parsed.skipped == {"malformed_snapshot": 1}


def test_an_empty_snapshot_is_usable() -> None:
    parsed = parse_game_data(snapshot())
    assert parsed.usable and parsed.games == () and not parsed.skipped


def test_every_kind_of_skip_in_one_snapshot_is_counted_by_reason() -> None:
    markets = [
        {"market_id": 11, "kind": "MONEYLINE"},
        {"market_id": 12, "kind": "CORNERS"},
        {"market_id": "x", "kind": "TOTAL"},
    ]
    parsed = parse_game_data(
        snapshot(
            game(1, markets=markets),
            game(2, league="ncaaf", sport="cfb"),
            game(3, sport="cricket"),
            game(4, start_time_utc=None),
            game(5),
        )
    )
    assert [g.event_id for g in parsed.games] == [1, 5]
    assert parsed.skipped == {
        "unknown_kind": 1,
        "malformed_market": 1,
        "unknown_league": 1,
        "unknown_sport": 1,
        "malformed_game": 1,
    }
    assert set(parsed.skipped) <= {reason.value for reason in SkipReason}


def test_details_are_bounded_whatever_the_validator_sends() -> None:
    parsed = parse_game_data(snapshot(game(1, league="x" * 10_000)))
    assert len(parsed.examples["unknown_league"]) == MAX_DETAIL


def test_the_payload_is_not_changed() -> None:
    raw = snapshot(game(1), game(2, league="ncaaf"))
    before = copy.deepcopy(raw)
    parse_game_data(raw)
    assert raw == before
