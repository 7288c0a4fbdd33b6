"""The GAME_DATA_REQUEST reply: a full snapshot of the catalog (docs/protocol.md §2b).

Upstream ignores `since_ts`, so every reply is the whole window: scheduled events that
start within [now, now + 14 d], ordered by start, at most 500. Each game carries its
markets with the kind UPPERCASE (the Postgres enum stores member names) and league and
sport lowercase; `accepts_odds` says whether the start is within the 7-day odds window.
Leagues, sports and kinds are validator data, not a closed set: whatever the catalog holds
("ncaaf", "cfb", "PLAYER_PROP") is served, and so are an event's `extra` keys.
Pure: the caller passes the time, so a test can build a snapshot on a fake clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sparket_local_validator.ingest import DAY, Catalog, Event

LOOKAHEAD_DAYS = 14
ODDS_WINDOW_DAYS = 7
MAX_GAMES = 500


def iso_utc(when: float) -> str:
    """`2026-02-12T18:00:00+00:00`: the form the validator's datetimes take on the wire."""
    return datetime.fromtimestamp(when, UTC).isoformat()


def game_of(event: Event, now: float) -> dict[str, object]:
    """One game as upstream lists it, followed by the event's `extra` keys as given."""
    game: dict[str, object] = {
        "event_id": event.event_id,
        "external_id": event.external_id,
        "home_team": event.home_team,
        "away_team": event.away_team,
        "venue": event.venue,
        "start_time_utc": iso_utc(event.start),
        "league": event.league.lower(),
        "sport": event.sport.lower(),
        "accepts_odds": event.start <= now + ODDS_WINDOW_DAYS * DAY,
        "markets": [
            {"market_id": market.market_id, "kind": market.kind.upper(), "line": market.line}
            for market in event.all_markets()
        ],
    }
    game.update(event.extra)
    return game


def game_data_snapshot(catalog: Catalog, now: float) -> dict[str, object]:
    """The reply payload a validator sends to any `game_data_request`."""
    horizon = now + LOOKAHEAD_DAYS * DAY
    scheduled = (e for e in catalog.events.values() if e.status == "scheduled")
    visible = sorted(
        (e for e in scheduled if now <= e.start <= horizon), key=lambda e: (e.start, e.event_id)
    )[:MAX_GAMES]
    return {
        "games": [game_of(event, now) for event in visible],
        "retrieved_at": iso_utc(now),
        "window": {"lookahead_days": LOOKAHEAD_DAYS, "odds_window_days": ODDS_WINDOW_DAYS},
    }
