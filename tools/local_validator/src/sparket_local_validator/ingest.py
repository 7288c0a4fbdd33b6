"""What an accepted push actually stores: odds and outcome ingest caps, windows, dedupe.

The listener replies `accepted: true` no matter what is stored (docs/protocol.md §2c), so
the only way for a test to see whether a miner's odds count is to look here. Rules
(docs/validator-facts.md, "Ingest"):

* Odds: the market's event is `scheduled` and starts within [now, now + 7 d]; at most 200
  stored rows (one per price side) per (hotkey, market) in a rolling 24 h, checked once
  per request before inserting, so one request may overshoot; one row per (hotkey,
  market, side, 60 s bucket), first wins; 1.01 <= odds <= 1000, finite, or that side is
  dropped; `priced_at` more than 300 s from receipt is stored as None. Unknown hotkeys
  store nothing. A non-integer `market_id` or a non-dict submission raises, which the
  listener turns into `internal_error`. Markets are found by id alone: the submission's
  `kind` is kept as sent on the row (upstream: the row's `payload`) and never checked, so
  a kind or league the miner does not know, or one it misnames, is stored all the same
  (`sparket/validator/handlers/ingest/ingest_odds.py` `_coerce_submit_odds_to_rows`).
* Outcomes: event `scheduled`/`in_play`/`finished`, start <= now <= start + 12 h; a valid
  `result` or both integer scores; at most 50 stored per (hotkey, event) per rolling 24 h;
  one per (hotkey, event, 300 s bucket), later duplicates accepted but not stored.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from sparket_local_validator.clock import Clock

DAY = 86400.0
ODDS_WINDOW_SEC = 7 * DAY
ODDS_BUCKET_SEC = 60.0
ODDS_CAP_PER_MARKET_DAY = 200
PRICED_AT_TOLERANCE_SEC = 300.0
MIN_ODDS, MAX_ODDS = 1.01, 1000.0
SIDES = frozenset({"HOME", "AWAY", "DRAW", "OVER", "UNDER"})

OUTCOME_WINDOW_SEC = 12 * 3600.0
OUTCOME_BUCKET_SEC = 300.0
OUTCOME_CAP_PER_EVENT_DAY = 50
OUTCOME_STATUSES = frozenset({"scheduled", "in_play", "finished"})
RESULTS = frozenset({"home", "away", "draw", "over", "under", "push", "void"})


@dataclass(frozen=True)
class Market:
    """One market as the validator's game data lists it (`kind` is sent UPPERCASE)."""

    market_id: int
    kind: str = "MONEYLINE"
    line: float | None = None
    """None for moneylines; the home point spread for spreads; the total for totals."""


GAME_KEYS = frozenset(
    {
        "event_id",
        "external_id",
        "home_team",
        "away_team",
        "venue",
        "start_time_utc",
        "league",
        "sport",
        "accepts_odds",
        "markets",
    }
)
"""The keys of one game in v0.0.5's snapshot (`handlers/data/game_data.py` `_build_response`)."""


@dataclass(frozen=True)
class Event:
    event_id: int
    start: float
    status: str = "scheduled"
    market_ids: tuple[int, ...] = ()
    """Shorthand for moneyline markets without a line; `markets` also gives kind and line."""
    markets: tuple[Market, ...] = ()
    home_team: str = "TBD"
    away_team: str = "TBD"
    venue: str | None = None
    league: str = "nfl"
    sport: str = "nfl"
    external_id: int | None = None
    """The SportsDataIO GameID upstream; nothing here depends on it."""
    extra: Mapping[str, object] = field(default_factory=dict, hash=False)
    """More keys for this game in the game-data snapshot (JSON values only), e.g.
    `{"neutral_site": True}`: v0.0.5 serves a fixed set of keys, but a later validator may
    add one at any time, and a miner has to take such a snapshot as it comes."""

    def __post_init__(self) -> None:
        clash = sorted(GAME_KEYS.intersection(self.extra))
        if clash:
            raise ValueError(f"extra keys would replace the snapshot's own: {clash}")
        # A read-only copy: the event is frozen, so its extras are too.
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    def all_markets(self) -> tuple[Market, ...]:
        """`markets`, then a moneyline for each id of `market_ids` not already listed."""
        listed = {market.market_id for market in self.markets}
        shorthand = tuple(Market(mid) for mid in self.market_ids if mid not in listed)
        return self.markets + shorthand


class Catalog:
    """The validator's events and markets, as ingest and game data see them."""

    def __init__(self, events: Iterable[Event] = ()) -> None:
        self.events: dict[int, Event] = {}
        self._market_event: dict[int, int] = {}
        for event in events:
            self.add(event)

    def add(self, event: Event) -> None:
        self.events[event.event_id] = event
        for market in event.all_markets():
            self._market_event[market.market_id] = event.event_id

    def event_of_market(self, market_id: int) -> Event | None:
        event_id = self._market_event.get(market_id)
        return None if event_id is None else self.events.get(event_id)


@dataclass(frozen=True)
class OddsRow:
    hotkey: str
    market_id: int
    side: str
    odds_eu: float
    submitted_at: float
    """Receive time floored to the 60 s bucket: the dedupe key."""
    received_at: float
    priced_at: float | None
    kind: object = None
    """The submission's `kind` as sent (None when absent); never checked against the market."""


@dataclass(frozen=True)
class OutcomeRow:
    hotkey: str
    event_id: int
    result: str | None
    score_home: int | None
    score_away: int | None
    received_at: float


def _parse_time(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _price(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        odds = float(value)
    except ValueError:
        return None
    if not math.isfinite(odds) or not MIN_ODDS <= odds <= MAX_ODDS:
        return None
    return odds


class _TimesByKey:
    """Receive times per key, sorted: how many rows of a key came after a cutoff, in
    O(log n) (the validator's database answers this with an index)."""

    def __init__(self) -> None:
        self._times: defaultdict[tuple[str, int], list[float]] = defaultdict(list)

    def add(self, key: tuple[str, int], at: float) -> None:
        bisect.insort(self._times[key], at)

    def since(self, key: tuple[str, int], cutoff: float) -> int:
        """Rows of `key` received strictly after `cutoff`."""
        times = self._times.get(key, [])
        return len(times) - bisect.bisect_right(times, cutoff)


class OddsIngest:
    """An odds-push sink (`PushSink`) that keeps the rows a validator would store."""

    def __init__(
        self,
        clock: Clock,
        catalog: Catalog,
        *,
        is_known_miner: Callable[[str], bool] = lambda hotkey: True,
    ) -> None:
        self._clock = clock
        self._catalog = catalog
        self._is_known_miner = is_known_miner
        self.rows: list[OddsRow] = []
        self._keys: set[tuple[str, int, str, float]] = set()
        self._stored_at = _TimesByKey()  # (hotkey, market) -> receive times of its rows

    def stored_in_last_day(self, hotkey: str, market_id: int) -> int:
        """The validator's per-market cap count, an indexed COUNT in its database: looked up
        by (hotkey, market), never a scan of every row (a scan made each push slower as
        the rows grew, and a ten-minute fleet run saw round trips go from 0.15 s to 2 s)."""
        return self._stored_at.since((hotkey, market_id), self._clock.now() - DAY)

    def __call__(self, hotkey: str | None, payload: object) -> None:
        now = self._clock.now()
        if not isinstance(payload, dict):
            raise TypeError(f"odds payload must be an object, not {type(payload).__name__}")
        submissions = payload.get("submissions") or []
        parsed: list[tuple[int, Mapping[str, object]]] = []
        for submission in submissions if isinstance(submissions, list) else []:
            if not isinstance(submission, dict):
                raise TypeError(f"submission must be an object, not {type(submission).__name__}")
            parsed.append((int(submission["market_id"]), submission))
        if not hotkey or not self._is_known_miner(hotkey):
            return
        # The cap is read once, before anything of this request is inserted.
        counts = {market_id: self.stored_in_last_day(hotkey, market_id) for market_id, _ in parsed}
        bucket = math.floor(now / ODDS_BUCKET_SEC) * ODDS_BUCKET_SEC
        for market_id, submission in parsed:
            event = self._catalog.event_of_market(market_id)
            if event is None or event.status != "scheduled":
                continue
            if not now <= event.start <= now + ODDS_WINDOW_SEC:
                continue
            if counts[market_id] >= ODDS_CAP_PER_MARKET_DAY:
                continue
            priced_at = _parse_time(submission.get("priced_at"))
            if priced_at is not None and abs(priced_at - now) > PRICED_AT_TOLERANCE_SEC:
                priced_at = None
            prices = submission.get("prices")
            for price in prices if isinstance(prices, list) else []:
                if not isinstance(price, dict):
                    continue
                side = str(price.get("side", "")).upper()
                odds = _price(price.get("odds_eu"))
                key = (hotkey, market_id, side, bucket)
                if side not in SIDES or odds is None or key in self._keys:
                    continue
                self._keys.add(key)
                row = OddsRow(
                    hotkey, market_id, side, odds, bucket, now, priced_at, submission.get("kind")
                )
                self.rows.append(row)
                self._stored_at.add((hotkey, market_id), now)


class OutcomeIngest:
    """An outcome-push sink; `rejections` keeps the reasons Sparket only logs."""

    def __init__(self, clock: Clock, catalog: Catalog) -> None:
        self._clock = clock
        self._catalog = catalog
        self.rows: list[OutcomeRow] = []
        self.rejections: list[str] = []
        self._keys: set[tuple[int, str, float]] = set()
        self._stored_at = _TimesByKey()  # (hotkey, event) -> receive times of its rows

    def __call__(self, hotkey: str | None, payload: object) -> None:
        reason = self._ingest(hotkey or "unknown", payload)
        if reason is not None:
            self.rejections.append(reason)

    def _ingest(self, hotkey: str, payload: object) -> str | None:
        now = self._clock.now()
        body: Mapping[str, object] = payload if isinstance(payload, dict) else {}
        event_id = _event_id(body.get("event_id"))
        if event_id is None:
            return "missing_event_id"
        event = self._catalog.events.get(event_id)
        if event is None or event.status not in OUTCOME_STATUSES:
            return "event_not_found_or_ineligible"
        if now < event.start:
            return "game_not_started"
        if now > event.start + OUTCOME_WINDOW_SEC:
            return "outcome_window_closed"
        result = body.get("result")
        result_text = result.lower() if isinstance(result, str) else None
        home, away = _int_or_none(body.get("score_home")), _int_or_none(body.get("score_away"))
        scores = home is not None and away is not None
        if result_text not in RESULTS and not scores:
            return "invalid_outcome_data"
        recent = self._stored_at.since((hotkey, event_id), now - DAY)
        if recent >= OUTCOME_CAP_PER_EVENT_DAY:
            return "rate_limited"
        key = (event_id, hotkey, math.floor(now / OUTCOME_BUCKET_SEC) * OUTCOME_BUCKET_SEC)
        if key in self._keys:
            return None  # a duplicate: accepted, not stored
        self._keys.add(key)
        self._stored_at.add((hotkey, event_id), now)
        self.rows.append(
            OutcomeRow(
                hotkey,
                event_id,
                result_text if result_text in RESULTS else None,
                home if scores else None,
                away if scores else None,
                now,
            )
        )
        return None


def _int_or_none(value: object) -> int | None:
    """An integer, but not a bool (JSON true is not a score)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _event_id(value: object) -> int | None:
    if (number := _int_or_none(value)) is not None:
        return number
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None
