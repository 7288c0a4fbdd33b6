"""Wire protocol: exact synapse, hash equal to bittensor's, payloads bounded like the validator."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from pydantic import ValidationError

from miner_runtime.protocol.messages import (
    ConnectionInfo,
    MarketKind,
    OddsPush,
    OddsSubmission,
    OutcomePush,
    Price,
    Side,
)
from miner_runtime.protocol.snapshot import parse_game_data
from miner_runtime.protocol.synapse import SparketSynapse, SynapseType

TOKEN = "ab" * 32


def sha3(text: str) -> str:
    return hashlib.sha3_256(text.encode()).hexdigest()


def odds_payload() -> dict[str, object]:
    push = OddsPush(
        submissions=(
            OddsSubmission(
                market_id=101,
                kind=MarketKind.MONEYLINE,
                priced_at=dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.UTC),
                prices=(
                    Price(side=Side.HOME, odds_eu=1.9, imp_prob=0.5),
                    Price(side=Side.AWAY, odds_eu=2.0),
                ),
            ),
            OddsSubmission(market_id=102, kind="total", prices=(Price(side="over", odds_eu=1.01),)),
        ),
        token=TOKEN,
    )
    return push.to_wire()


def test_class_name_and_type_strings_are_the_subnets() -> None:
    assert SparketSynapse.__name__ == "SparketSynapse"
    assert [t.value for t in SynapseType] == [
        "odds_push",
        "outcome_push",
        "game_data_request",
        "connection_info_push",
    ]
    assert SparketSynapse.required_hash_fields == ("type", "payload")
    assert SparketSynapse().type_name == "connection_info_push"


def test_body_hash_equals_the_documented_formula_and_bittensors() -> None:
    payload = odds_payload()
    synapse = SparketSynapse(type=SynapseType.ODDS_PUSH, payload=payload)
    expected = sha3(sha3("odds_push") + sha3(str(payload)))
    assert synapse.body_hash == expected
    # The enum and its string form hash the same (the validator sends plain strings).
    assert SparketSynapse(type="odds_push", payload=payload).body_hash == expected


def test_body_hash_survives_the_json_round_trip_the_axon_makes() -> None:
    synapse = SparketSynapse(type=SynapseType.ODDS_PUSH, payload=odds_payload())
    received = SparketSynapse(**json.loads(synapse.model_dump_json()))
    assert received.body_hash == synapse.body_hash
    assert received.type_name == "odds_push"


def test_a_tuple_in_a_payload_would_break_the_hash() -> None:
    # Why to_wire() emits lists only: after JSON the receiver sees a list and hashes its repr.
    synapse = SparketSynapse(type="odds_push", payload={"submissions": (1, 2)})
    received = SparketSynapse(**json.loads(synapse.model_dump_json()))
    assert received.body_hash != synapse.body_hash


def test_odds_wire_format() -> None:
    payload = odds_payload()
    first = payload["submissions"][0]  # type: ignore[index]
    assert first == {
        "market_id": 101,
        "kind": "moneyline",
        "priced_at": "2026-11-24T18:00:00+00:00",
        "prices": [
            {"side": "home", "odds_eu": 1.9, "imp_prob": 0.5},
            {"side": "away", "odds_eu": 2.0},
        ],
    }
    assert payload["token"] == TOKEN


@pytest.mark.parametrize("odds", [1.0, 1.009, 1000.01, float("nan"), float("inf")])
def test_odds_outside_the_validators_bounds_cannot_be_built(odds: float) -> None:
    with pytest.raises(ValidationError, match="odds_eu"):
        Price(side=Side.HOME, odds_eu=odds)


def test_odds_at_the_bounds_are_fine() -> None:
    assert Price(side="home", odds_eu=1.01).odds_eu == 1.01
    assert Price(side="away", odds_eu=1000).odds_eu == 1000.0


def test_a_side_cannot_be_priced_twice_and_batches_are_bounded() -> None:
    with pytest.raises(ValidationError, match="each side may be priced once"):
        OddsSubmission(
            market_id=1,
            kind="SPREAD",
            prices=(Price(side="home", odds_eu=2), Price(side="HOME", odds_eu=2)),
        )
    one = OddsSubmission(market_id=1, kind="SPREAD", prices=(Price(side="home", odds_eu=2),))
    with pytest.raises(ValidationError, match="at most 200"):
        OddsPush(submissions=(one,) * 201, token=TOKEN)
    with pytest.raises(ValidationError, match="token"):
        OddsPush(submissions=(one,), token="not-a-token")


def test_outcome_needs_a_result_or_both_scores() -> None:
    assert OutcomePush(event_id=7, result="HOME", token=TOKEN).to_wire() == {
        "event_id": 7,
        "token": TOKEN,
        "result": "home",
    }
    assert OutcomePush(event_id=7, score_home=2, score_away=1, token=TOKEN).to_wire() == {
        "event_id": 7,
        "token": TOKEN,
        "score_home": 2,
        "score_away": 1,
    }
    with pytest.raises(ValidationError, match="needs a result or both scores"):
        OutcomePush(event_id=7, token=TOKEN)
    with pytest.raises(ValidationError, match="go together"):
        OutcomePush(event_id=7, score_home=1, token=TOKEN)
    with pytest.raises(ValidationError, match="result"):
        OutcomePush(event_id=7, result="winner_label", token=TOKEN)


def test_game_data_parses_the_validators_snapshot() -> None:
    snapshot = {
        "games": [
            {
                "event_id": 55,
                "external_id": 18001,
                "home_team": "Kansas City Chiefs",
                "away_team": "Buffalo Bills",
                "venue": "Arrowhead",
                "start_time_utc": "2026-11-26T01:15:00+00:00",
                "league": "nfl",
                "sport": "nfl",
                "accepts_odds": True,
                "markets": [
                    {"market_id": 1, "kind": "MONEYLINE", "line": None},
                    {"market_id": 2, "kind": "SPREAD", "line": -2.5},
                    {"market_id": 3, "kind": "total", "line": 47.5},
                ],
            }
        ],
        "retrieved_at": "2026-11-24T18:00:00+00:00",
        "window": {"lookahead_days": 14, "odds_window_days": 7},
    }
    parsed = parse_game_data(snapshot)
    assert not parsed.skipped
    games = parsed.games
    assert [m.kind for m in games[0].markets] == [
        MarketKind.MONEYLINE,
        MarketKind.SPREAD,
        MarketKind.TOTAL,
    ]
    assert games[0].start_time_utc.tzinfo is not None


def test_connection_info_requires_a_real_token() -> None:
    info = ConnectionInfo.model_validate(
        {"host": "203.0.113.5", "port": 8091, "token": TOKEN, "hotkey": "5F...", "step": 9}
    )
    assert info.token == TOKEN
    with pytest.raises(ValidationError, match="token"):
        ConnectionInfo.model_validate({"host": "h", "port": 1, "token": "ABC", "hotkey": "k"})
