"""Who we send to and whom our axon listens to."""

from __future__ import annotations

from miner_runtime.ingress.guards import accepts_type, blacklist_verdict, priority
from miner_runtime.validator_client.selection import NeuronView, select_validators

NEURONS = [
    NeuronView(0, "val-big", True, "198.51.100.1", 8091, stake=5000.0),
    NeuronView(1, "val-small", True, "198.51.100.2", 8091, stake=100.0),
    NeuronView(2, "val-no-axon", True, "0.0.0.0", 0, stake=9000.0),
    NeuronView(3, "miner-a", False, "198.51.100.3", 8094),
    NeuronView(4, "us", True, "198.51.100.4", 8094, stake=1.0),
    NeuronView(5, "val-bad-ip", True, "not-an-ip", 8091, stake=50.0),
]
BY_HOTKEY = {n.hotkey: n for n in NEURONS}


def test_only_permitted_validators_with_a_served_axon_highest_stake_first() -> None:
    chosen = select_validators(NEURONS, own_hotkey="us")
    assert [n.hotkey for n in chosen] == ["val-big", "val-small"]


def test_no_fallback_to_every_axon_when_no_validator_serves() -> None:
    miners_only = [n for n in NEURONS if not n.validator_permit]
    assert select_validators(miners_only, own_hotkey="us") == []


def test_blacklist_allows_only_registered_validators() -> None:
    assert blacklist_verdict("val-big", BY_HOTKEY, allow_unpermitted=False).blocked is False
    assert blacklist_verdict("miner-a", BY_HOTKEY, allow_unpermitted=False).reason == (
        "hotkey has no validator permit"
    )
    assert blacklist_verdict("stranger", BY_HOTKEY, allow_unpermitted=True).blocked is True
    assert blacklist_verdict(None, BY_HOTKEY, allow_unpermitted=True).blocked is True
    # The setting relaxes only the permit, never registration.
    assert blacklist_verdict("miner-a", BY_HOTKEY, allow_unpermitted=True).blocked is False


def test_priority_is_stake_and_forward_accepts_connection_info_only() -> None:
    assert priority("val-big", BY_HOTKEY) == 5000.0
    assert priority("stranger", BY_HOTKEY) == 0.0
    assert accepts_type("connection_info_push") and accepts_type(" CONNECTION_INFO_PUSH ")
    assert not accepts_type("odds_push") and not accepts_type("game_data_request")
