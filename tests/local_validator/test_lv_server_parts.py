"""The local validator's server parts that need no socket: headers, game data, chain view."""

from __future__ import annotations

import itertools
from datetime import datetime
from types import SimpleNamespace

import pytest
from bittensor.core.synapse import TerminalInfo
from bittensor.utils.mock.subtensor_mock import MockSubtensor
from bittensor_wallet import Keypair

from sparket_local_validator.axon_server import synapse_headers
from sparket_local_validator.games import MAX_GAMES, game_data_snapshot
from sparket_local_validator.ingest import DAY, Catalog, Event, Market
from sparket_local_validator.mock_chain import chain_view, register, serve_axon
from sparket_local_validator.pusher import push_targets
from sparket_local_validator.synapse import SparketSynapse

NOW = 1_770_000_000.0  # 2026-02-02T02:40:00+00:00
NETUIDS = itertools.count(4100)
"""MockSubtensor state is process-wide: each test takes a netuid nobody else uses."""


def generated() -> Keypair:
    return Keypair.create_from_mnemonic(Keypair.generate_mnemonic())


# Reply headers (the #3322 cache) ---------------------------------------------------------


@pytest.mark.parametrize(
    "synapse",
    [
        SparketSynapse(),
        SparketSynapse(type="game_data_request", payload={"games": [{"event_id": 1}]}),
        SparketSynapse(
            type="odds_push",
            payload={"submissions": [], "token": "ab" * 32},
            dendrite=TerminalInfo(hotkey="5F", ip="127.0.0.9", nonce=7, uuid="u", version=1),
            axon=TerminalInfo(status_code=200, status_message="Success", process_time=0.01),
        ),
    ],
)
def test_cached_headers_equal_bittensors_own(synapse: SparketSynapse) -> None:
    # Each gets its own copy made the same way: both record `total_size` on the synapse
    # as they go, and that size (sys.getsizeof, recursively) depends on how lists grew.
    ours = synapse_headers(synapse.model_copy(deep=True))
    theirs = synapse.model_copy(deep=True).to_headers()
    assert ours == theirs
    assert list(ours) == list(theirs)


# Game data --------------------------------------------------------------------------------


def test_snapshot_lists_scheduled_games_in_the_window_by_start() -> None:
    catalog = Catalog(
        [
            Event(
                7,
                NOW + 2 * DAY,
                markets=(
                    Market(70, "moneyline"),
                    Market(71, "spread", -3.5),
                    Market(72, "Total", 47.5),
                ),
                home_team="Kansas City Chiefs",
                away_team="Buffalo Bills",
                venue="Arrowhead Stadium",
                league="NFL",
                sport="NFL",
                external_id=19012,
            ),
            Event(5, NOW + 3600, market_ids=(50,), league="EPL", sport="Soccer"),
            Event(8, NOW + 8 * DAY),
            Event(9, NOW + 14 * DAY + 1),  # beyond the 14-day lookahead
            Event(10, NOW - 60),  # already started
            Event(11, NOW + DAY, status="postponed"),
        ]
    )
    snapshot = game_data_snapshot(catalog, NOW)
    assert snapshot["retrieved_at"] == "2026-02-02T02:40:00+00:00"
    assert snapshot["window"] == {"lookahead_days": 14, "odds_window_days": 7}
    games = snapshot["games"]
    assert isinstance(games, list)
    assert [g["event_id"] for g in games] == [5, 7, 8]
    assert games[1] == {
        "event_id": 7,
        "external_id": 19012,
        "home_team": "Kansas City Chiefs",
        "away_team": "Buffalo Bills",
        "venue": "Arrowhead Stadium",
        "start_time_utc": "2026-02-04T02:40:00+00:00",
        "league": "nfl",
        "sport": "nfl",
        "accepts_odds": True,
        "markets": [
            {"market_id": 70, "kind": "MONEYLINE", "line": None},
            {"market_id": 71, "kind": "SPREAD", "line": -3.5},
            {"market_id": 72, "kind": "TOTAL", "line": 47.5},
        ],
    }
    assert games[0]["markets"] == [{"market_id": 50, "kind": "MONEYLINE", "line": None}]
    assert (games[0]["league"], games[0]["sport"], games[0]["home_team"]) == (
        "epl",
        "soccer",
        "TBD",
    )
    assert games[2]["accepts_odds"] is False  # 8 days out: listed, but no odds yet
    assert datetime.fromisoformat(games[2]["start_time_utc"]).timestamp() == NOW + 8 * DAY


def test_snapshot_is_capped_at_500_earliest_games() -> None:
    catalog = Catalog(Event(i, NOW + 600 + (1000 - i)) for i in range(1000))
    games = game_data_snapshot(catalog, NOW)["games"]
    assert isinstance(games, list) and len(games) == MAX_GAMES
    assert games[0]["event_id"] == 999 and games[-1]["event_id"] == 500


def test_markets_listed_with_kinds_are_known_to_ingest() -> None:
    catalog = Catalog(
        [Event(1, NOW + DAY, market_ids=(10, 11), markets=(Market(11, "TOTAL", 3.5),))]
    )
    assert [(m.market_id, m.kind) for m in catalog.events[1].all_markets()] == [
        (11, "TOTAL"),
        (10, "MONEYLINE"),
    ]
    assert catalog.event_of_market(11) is catalog.event_of_market(10) is catalog.events[1]


# Chain view ---------------------------------------------------------------------------------


def test_chain_view_reads_hotkeys_and_axons_from_mock_subtensor() -> None:
    subtensor, netuid = MockSubtensor(), next(NETUIDS)
    validator, served, unserved = generated(), generated(), generated()
    for keypair in (validator, served, unserved):
        register(subtensor, netuid, keypair.ss58_address)
    serve_axon(subtensor, netuid, validator.ss58_address, "127.0.0.1", 9001)
    serve_axon(subtensor, netuid, served.ss58_address, "127.0.0.3", 9003)
    view = chain_view(subtensor, netuid)

    assert view.registered_hotkeys() == [k.ss58_address for k in (validator, served, unserved)]
    axons = view.push_targets()
    assert [(a.hotkey, a.ip, a.port) for a in axons] == [
        (validator.ss58_address, "127.0.0.1", 9001),
        (served.ss58_address, "127.0.0.3", 9003),
        (unserved.ss58_address, "0.0.0.0", 0),
    ]
    targets = push_targets(axons, validator.ss58_address)
    assert [a.hotkey for a in targets] == [served.ss58_address]

    late = generated()
    register(subtensor, netuid, late.ss58_address)
    assert late.ss58_address in view.registered_hotkeys()  # read afresh on every call


def test_push_targets_has_no_permit_filter() -> None:
    axons = [
        SimpleNamespace(hotkey="me", port=8091, validator_permit=True),
        SimpleNamespace(hotkey="miner", port=8092, validator_permit=False),
        SimpleNamespace(hotkey="other-validator", port=8093, validator_permit=True),
        SimpleNamespace(hotkey="gone", port=0, validator_permit=False),
    ]
    assert [a.hotkey for a in push_targets(axons, "me")] == ["miner", "other-validator"]
