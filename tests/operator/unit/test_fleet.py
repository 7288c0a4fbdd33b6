"""Fleet: hotkey ownership by seniority, endpoint claims, rollout slots and load."""

from __future__ import annotations

from collections import Counter

from sparket_operator.reconcile.fleet import Fleet, MinerKey, MinerSummary

HOTKEY = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
OTHER_HOTKEY = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
EARLY = "2025-01-01T00:00:00Z"
LATE = "2025-01-02T00:00:00Z"

A: MinerKey = ("miners", "a")
B: MinerKey = ("miners", "b")
C: MinerKey = ("miners", "c")


def _summary(
    key: MinerKey,
    *,
    created: str = EARLY,
    hotkey: str = HOTKEY,
    secret: str = "wallet",
    endpoint: str | None = None,
    node: str | None = None,
) -> MinerSummary:
    return MinerSummary(
        key=key,
        uid=f"uid-{key[0]}-{key[1]}",
        created=created,
        hotkey=hotkey,
        wallet_secret=secret,
        endpoint=endpoint,
        node=node,
    )


def _fleet(*summaries: MinerSummary) -> Fleet:
    fleet = Fleet()
    for summary in summaries:
        fleet.upsert(summary)
    return fleet


# --- hotkeys ------------------------------------------------------------------------------


def test_the_oldest_miner_owns_a_hotkey_whatever_the_insertion_order() -> None:
    fleet = _fleet(_summary(A, created=LATE), _summary(B, created=EARLY))

    owner = fleet.hotkey_owner(HOTKEY)
    assert owner is not None and owner.key == B


def test_a_creation_time_tie_goes_to_namespace_then_name() -> None:
    fleet = _fleet(
        _summary(("zeta", "a")),
        _summary(("alpha", "z")),
        _summary(("alpha", "y")),
    )

    owner = fleet.hotkey_owner(HOTKEY)
    assert owner is not None and owner.key == ("alpha", "y")


def test_removing_the_owner_hands_the_hotkey_to_the_next_oldest() -> None:
    fleet = _fleet(
        _summary(A, created=EARLY),
        _summary(B, created=LATE),
        _summary(C, created="2025-01-03T00:00:00Z"),
    )

    fleet.remove(A)

    owner = fleet.hotkey_owner(HOTKEY)
    assert owner is not None and owner.key == B
    assert len(fleet) == 2


def test_an_unknown_hotkey_has_no_owner() -> None:
    fleet = _fleet(_summary(A))
    assert fleet.hotkey_owner(OTHER_HOTKEY) is None
    assert Fleet().hotkey_owner(HOTKEY) is None


def test_different_hotkeys_have_their_own_owners() -> None:
    fleet = _fleet(_summary(A, created=EARLY), _summary(B, created=LATE, hotkey=OTHER_HOTKEY))

    owner = fleet.hotkey_owner(OTHER_HOTKEY)
    assert owner is not None and owner.key == B


def test_an_upsert_replaces_the_summary_of_the_same_key() -> None:
    fleet = _fleet(_summary(A, node="n1"))
    fleet.upsert(_summary(A, node="n2"))

    assert len(fleet) == 1
    assert fleet.miner_keys() == [A]
    summary = fleet.get(A)
    assert summary is not None and summary.node == "n2"
    assert fleet.get(B) is None


# --- endpoints -----------------------------------------------------------------------------


def test_the_first_claim_of_an_endpoint_wins() -> None:
    fleet = _fleet(_summary(A), _summary(B))

    assert fleet.claim_endpoint(A, "198.51.100.7:31234") == A
    assert fleet.claim_endpoint(B, "198.51.100.7:31234") == A
    assert fleet.claim_endpoint(B, "198.51.100.8:31234") == B


def test_the_same_key_may_claim_its_endpoint_again() -> None:
    fleet = _fleet(_summary(A))

    assert fleet.claim_endpoint(A, "198.51.100.7:31234") == A
    assert fleet.claim_endpoint(A, "198.51.100.7:31234") == A


def test_a_claim_moves_when_a_key_claims_a_new_endpoint() -> None:
    fleet = _fleet(_summary(A), _summary(B))
    fleet.claim_endpoint(A, "198.51.100.7:31234")

    assert fleet.claim_endpoint(A, "198.51.100.9:31234") == A

    assert fleet.claim_endpoint(B, "198.51.100.7:31234") == B  # the old one is free
    assert fleet.claim_endpoint(B, "198.51.100.9:31234") == A  # the new one is A's


def test_removing_the_owner_frees_its_endpoint() -> None:
    fleet = _fleet(_summary(A), _summary(B))
    fleet.claim_endpoint(A, "198.51.100.7:31234")

    fleet.remove(A)

    assert fleet.claim_endpoint(B, "198.51.100.7:31234") == B


def test_a_claim_by_a_miner_the_fleet_does_not_know_is_not_binding() -> None:
    fleet = _fleet(_summary(B))
    assert fleet.claim_endpoint(A, "198.51.100.7:31234") == A  # A was never upserted

    assert fleet.claim_endpoint(B, "198.51.100.7:31234") == B


def test_claims_are_seeded_from_the_published_endpoint() -> None:
    # After an operator restart the fleet is rebuilt from status: the miner that
    # published the endpoint keeps it, whichever reconciles first.
    fleet = _fleet(_summary(A, endpoint="198.51.100.7:31234"), _summary(B))

    assert fleet.claim_endpoint(B, "198.51.100.7:31234") == A


def test_a_later_published_endpoint_does_not_steal_a_claim() -> None:
    fleet = _fleet(
        _summary(A, endpoint="198.51.100.7:31234"),
        _summary(B, endpoint="198.51.100.7:31234"),
    )

    assert fleet.claim_endpoint(A, "198.51.100.7:31234") == A
    assert fleet.claim_endpoint(B, "198.51.100.7:31234") == A


def test_a_refused_miner_releases_its_claim_for_the_next_one() -> None:
    fleet = _fleet(_summary(A), _summary(B))
    fleet.claim_endpoint(A, "198.51.100.7:31234")

    fleet.release_endpoint(A)

    assert fleet.claim_endpoint(B, "198.51.100.7:31234") == B
    assert fleet.claim_endpoint(A, "198.51.100.7:31234") == B
    assert fleet.miner_keys() == [A, B]  # refused, not forgotten


def test_a_claim_seeded_from_status_is_released_too() -> None:
    fleet = _fleet(_summary(A, endpoint="198.51.100.7:31234"), _summary(B))

    fleet.release_endpoint(A)

    assert fleet.claim_endpoint(B, "198.51.100.7:31234") == B


def test_a_stale_summary_does_not_bring_back_a_released_claim() -> None:
    fleet = _fleet(_summary(A, endpoint="198.51.100.7:31234"), _summary(B))
    fleet.release_endpoint(A)

    fleet.upsert(_summary(A, endpoint="198.51.100.7:31234"))  # a watch event from before

    assert fleet.claim_endpoint(B, "198.51.100.7:31234") == B


def test_a_miner_refused_an_endpoint_gives_up_the_one_it_held() -> None:
    fleet = _fleet(_summary(A), _summary(B), _summary(C))
    fleet.claim_endpoint(A, "198.51.100.7:31234")
    fleet.claim_endpoint(B, "198.51.100.8:31234")

    assert fleet.claim_endpoint(A, "198.51.100.8:31234") == B

    assert fleet.claim_endpoint(C, "198.51.100.7:31234") == C


# --- rollout slots --------------------------------------------------------------------------


def test_available_miners_take_rollout_slots_up_to_the_limit() -> None:
    fleet = _fleet(_summary(A), _summary(B), _summary(C))

    assert fleet.may_roll(A, available=True, limit=2)
    assert fleet.may_roll(B, available=True, limit=2)
    assert not fleet.may_roll(C, available=True, limit=2)
    assert fleet.rolling == frozenset({A, B})


def test_a_miner_holding_a_slot_may_roll_again() -> None:
    fleet = _fleet(_summary(A), _summary(B))
    fleet.may_roll(A, available=True, limit=1)

    assert fleet.may_roll(A, available=True, limit=1)
    assert not fleet.may_roll(B, available=True, limit=1)


def test_an_unavailable_miner_rolls_without_a_slot() -> None:
    fleet = _fleet(_summary(A), _summary(B), _summary(C))
    fleet.may_roll(A, available=True, limit=2)
    fleet.may_roll(B, available=True, limit=2)

    assert fleet.may_roll(C, available=False, limit=2)
    assert C not in fleet.rolling
    assert len(fleet.rolling) == 2


def test_settled_frees_a_slot() -> None:
    fleet = _fleet(_summary(A), _summary(B), _summary(C))
    fleet.may_roll(A, available=True, limit=2)
    fleet.may_roll(B, available=True, limit=2)
    assert not fleet.may_roll(C, available=True, limit=2)

    fleet.settled(A)

    assert fleet.may_roll(C, available=True, limit=2)
    assert fleet.rolling == frozenset({B, C})


def test_removing_a_rolling_miner_frees_its_slot() -> None:
    fleet = _fleet(_summary(A), _summary(B))
    fleet.may_roll(A, available=True, limit=1)

    fleet.remove(A)

    assert fleet.rolling == frozenset()
    assert fleet.may_roll(B, available=True, limit=1)


def test_mark_rolling_counts_against_the_limit() -> None:
    fleet = _fleet(_summary(A), _summary(B))
    fleet.mark_rolling(A)

    assert not fleet.may_roll(B, available=True, limit=1)


def test_the_rolling_view_is_a_snapshot() -> None:
    fleet = _fleet(_summary(A))
    before = fleet.rolling
    fleet.mark_rolling(A)
    assert before == frozenset()
    assert fleet.rolling == frozenset({A})


# --- secrets, nodes, load ---------------------------------------------------------------------


def test_using_secret_matches_namespace_and_secret_name() -> None:
    fleet = _fleet(
        _summary(("miners", "a"), secret="shared"),
        _summary(("miners", "b"), secret="shared"),
        _summary(("miners", "c"), secret="other"),
        _summary(("elsewhere", "a"), secret="shared"),
    )

    assert sorted(fleet.using_secret("miners", "shared")) == [("miners", "a"), ("miners", "b")]
    assert fleet.using_secret("miners", "missing") == []


def test_on_node_and_load_count_miners_per_node() -> None:
    fleet = _fleet(
        _summary(A, node="worker-1"),
        _summary(B, node="worker-1"),
        _summary(C, node="worker-2"),
        _summary(("miners", "d")),
    )

    assert sorted(fleet.on_node("worker-1")) == [A, B]
    assert fleet.on_node("worker-3") == []
    assert fleet.load() == Counter({"worker-1": 2, "worker-2": 1})


def test_place_counts_a_miner_on_its_node_before_status_lands() -> None:
    fleet = _fleet(_summary(A), _summary(B, node="worker-1"))

    fleet.place(A, "worker-2")

    assert fleet.load() == Counter({"worker-1": 1, "worker-2": 1})
    placed = fleet.get(A)
    assert placed is not None
    assert placed == _summary(A, node="worker-2")


def test_place_moves_a_miner_and_ignores_unknown_keys() -> None:
    fleet = _fleet(_summary(A, node="worker-1"))

    fleet.place(A, "worker-2")
    fleet.place(B, "worker-1")

    assert fleet.load() == Counter({"worker-2": 1})
    assert fleet.get(B) is None


def test_removing_an_unknown_key_is_harmless() -> None:
    fleet = _fleet(_summary(A))
    fleet.remove(B)
    assert fleet.miner_keys() == [A]
