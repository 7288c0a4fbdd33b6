"""compute_status: conditions, phase and fleet columns from what one reconcile found.

The miner's previous status is always fed back the way the API server returns it (dumped
to JSON by alias and parsed again), so "recomputing gives an equal status" is checked on
the same comparison the reconciler makes before it decides to write.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import replace
from typing import Any

import pytest

from sparket_operator.api import conditions as cond
from sparket_operator.api.conditions import FALSE, TRUE, UNKNOWN
from sparket_operator.api.crdgen import PRINTER_COLUMNS
from sparket_operator.api.v1alpha1 import (
    Condition,
    ConditionType,
    Phase,
    SparketMiner,
    SparketMinerStatus,
)
from sparket_operator.reconcile import events, workload
from sparket_operator.reconcile.observed import Observed, rollout_settled
from sparket_operator.reconcile.placement import Endpoint, Resolution
from sparket_operator.reconcile.runtime_report import ChainReport, RuntimeReport
from sparket_operator.reconcile.status import Progress, compute_status
from sparket_operator.reconcile.wallet import WalletVerdict, check_wallet_secret, short_address

ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
GENERATION = 3
NOW = "2025-02-01T10:00:00Z"
LATER = "2025-02-01T10:05:00Z"
LATEST = "2025-02-01T10:10:00Z"
NODE = "worker-1"
ENDPOINT = Endpoint("203.0.113.10", 31234)
EGRESS = "203.0.113.10"
TEMPLATE_HASH = "0123456789abcdef"
VALID_WALLET = WalletVerdict(True, "Valid", "the Secret holds hotkey 5Grwv…utQY")
RESOLVED = Resolution(ENDPOINT, EGRESS, "EndpointResolved", "")
FACTS = RuntimeReport(
    uid=17,
    state="mining",
    registered=True,
    egress_ip=EGRESS,
    validators_connected=3,
    accepted_1h=42,
    rejected_1h=1,
    last_submission_at="2025-02-01T09:59:30+00:00",
    chain=ChainReport(
        uid=17,
        incentive=0.0125,
        consensus=0.012,
        emission_alpha_per_day=0.82,
        stake=12.5,
        registered_at_block=4_990_000,
        immunity_blocks_left=0,
        block=5_000_000,
        read_at="2025-02-01T09:59:20+00:00",
    ),
)
HEALTHY = Progress(
    paused=False,
    wallet=VALID_WALLET,
    node=NODE,
    resolution=RESOLVED,
    template_hash=TEMPLATE_HASH,
)


def _miner(
    *,
    generation: int = GENERATION,
    status: SparketMinerStatus | None = None,
    **spec: Any,
) -> SparketMiner:
    body: dict[str, Any] = {
        "apiVersion": "sparket.io/v1alpha1",
        "kind": "SparketMiner",
        "metadata": {
            "name": "alice",
            "namespace": "miners",
            "uid": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
            "generation": generation,
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "resourceVersion": "4711",
        },
        "spec": {
            "hotkey": ALICE,
            "wallet": {"secretName": "alice-hotkey"},
            "leagues": ["nba"],
            **spec,
        },
    }
    if status is not None:
        # As the API server hands it back after a merge patch: JSON by alias, nulls dropped.
        dumped = json.loads(json.dumps(status.model_dump(by_alias=True, mode="json")))
        body["status"] = {k: v for k, v in dumped.items() if v is not None}
    return SparketMiner.model_validate(body)


def _pod(*, ready: bool, node: str | None = NODE) -> dict[str, Any]:
    conditions: list[dict[str, Any]] = [
        {"type": "Ready", "status": "True"}
        if ready
        else {"type": "Ready", "status": "False", "message": "containers with unready status"}
    ]
    if node is None:
        conditions.append(
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 node(s) didn't match node affinity",
            }
        )
    else:
        conditions.append({"type": "PodScheduled", "status": "True"})
    spec: dict[str, Any] = {"nodeName": node} if node else {}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "alice-0", "namespace": "miners"},
        "spec": spec,
        "status": {"podIP": "10.42.0.7", "conditions": conditions},
    }


def _stateful_set(*, settled: bool = True, generation: int = 2) -> dict[str, Any]:
    sts = workload.build_stateful_set(
        _miner(), node=NODE, config_hash="feedfacefeedface", image="example/runtime:1"
    )
    sts["metadata"]["generation"] = generation
    sts["status"] = {
        "observedGeneration": generation,
        "replicas": 1,
        "readyReplicas": 1,
        "updatedReplicas": 1 if settled else 0,
        "currentRevision": "alice-5d8f7c9b6",
        "updateRevision": "alice-5d8f7c9b6" if settled else "alice-7f6c5b4a3",
    }
    return sts


HEALTHY_OBSERVED = Observed(pod=_pod(ready=True), stateful_set=_stateful_set())


def _status(
    miner: SparketMiner | None = None,
    *,
    progress: Progress = HEALTHY,
    observed: Observed = HEALTHY_OBSERVED,
    facts: RuntimeReport | None = FACTS,
    now: str = NOW,
) -> SparketMinerStatus:
    return compute_status(
        miner or _miner(), progress=progress, observed=observed, facts=facts, now=now
    )


def _condition(status: SparketMinerStatus, kind: ConditionType) -> Condition:
    (found,) = [c for c in status.conditions if c.type is kind]
    return found


def _statuses(status: SparketMinerStatus) -> dict[ConditionType, str]:
    return {c.type: c.status for c in status.conditions}


# --- a healthy miner -------------------------------------------------------------------


def test_a_healthy_miner_is_running_and_ready() -> None:
    status = _status()

    assert status.phase is Phase.RUNNING
    ready = _condition(status, ConditionType.READY)
    assert (ready.status, ready.reason) == (TRUE, "MinerReady")
    assert _statuses(status) == {
        ConditionType.READY: TRUE,
        ConditionType.HOTKEY_UNIQUE: TRUE,
        ConditionType.WALLET_VALID: TRUE,
        ConditionType.EXPOSED: TRUE,
        ConditionType.SCHEDULED: TRUE,
        ConditionType.AVAILABLE: TRUE,
        ConditionType.UP_TO_DATE: TRUE,
        ConditionType.VALIDATORS_CONNECTED: TRUE,
        ConditionType.SUBMITTING: TRUE,
        ConditionType.THROTTLED: FALSE,
        ConditionType.REGISTERED: TRUE,
        ConditionType.EARNING: TRUE,
    }
    assert _condition(status, ConditionType.SCHEDULED).message == f"on node {NODE}"
    assert "203.0.113.10:31234" in _condition(status, ConditionType.EXPOSED).message
    assert all(c.last_transition_time == NOW for c in status.conditions)


def test_a_healthy_miner_fills_every_column() -> None:
    status = _status()

    assert status.hotkey == ALICE
    assert status.hotkey_short == "5Grwv…utQY"
    assert status.endpoint == "203.0.113.10:31234"
    assert status.egress_ip == EGRESS
    assert status.validators_connected == 3
    assert status.submitted_1h == 42
    assert status.rejected_1h == 1
    assert status.uid == 17
    assert status.node == NODE
    assert status.last_submission_time == "2025-02-01T09:59:30+00:00"
    assert status.template_hash == TEMPLATE_HASH


def test_every_printer_column_finds_its_field_on_the_wire() -> None:
    wire = _status().model_dump(by_alias=True, mode="json")
    for column in PRINTER_COLUMNS:
        path = column["jsonPath"]
        if not path.startswith(".status.") or "[" in path:
            continue
        value: Any = wire
        for step in path.removeprefix(".status.").split("."):
            value = (value or {}).get(step)
        assert value is not None, f"column {column['name']} reads {path}: empty"


def test_short_hotkey_keeps_the_first_five_and_last_four_characters() -> None:
    assert short_address(ALICE) == "5Grwv…utQY"


# --- zero idle writes --------------------------------------------------------------------


SCENARIOS: dict[str, tuple[Progress, Observed, RuntimeReport | None]] = {
    "healthy": (HEALTHY, HEALTHY_OBSERVED, FACTS),
    "paused": (replace(HEALTHY, paused=True), Observed(stateful_set=_stateful_set()), None),
    "duplicate": (Progress(paused=False, duplicate_of="miners/alice-old"), Observed(), None),
    "secret-missing": (
        Progress(paused=False, wallet=check_wallet_secret(None, hotkey=ALICE)),
        Observed(),
        None,
    ),
    "throttled": (
        HEALTHY,
        HEALTHY_OBSERVED,
        FACTS.model_copy(update={"throttled_by": ("5F3sa2TJ: rate_limited",)}),
    ),
    "conflict": (replace(HEALTHY, endpoint_owner="miners/bob"), Observed(), None),
    "rollout-queued": (
        replace(HEALTHY, rollout_queued=True),
        Observed(pod=_pod(ready=True), stateful_set=_stateful_set(settled=False)),
        FACTS,
    ),
    "pod-unschedulable": (
        HEALTHY,
        Observed(pod=_pod(ready=False, node=None), stateful_set=_stateful_set(settled=False)),
        None,
    ),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_recomputing_from_the_published_status_gives_an_equal_status(scenario: str) -> None:
    progress, observed, facts = SCENARIOS[scenario]
    first = _status(progress=progress, observed=observed, facts=facts, now=NOW)

    again = _status(
        _miner(status=first), progress=progress, observed=observed, facts=facts, now=LATER
    )

    assert again == first  # the reconciler writes only when these differ
    assert all(c.last_transition_time == NOW for c in again.conditions)


def test_a_reason_change_keeps_the_transition_time_and_a_flip_updates_it() -> None:
    no_pod = _status(observed=Observed(stateful_set=_stateful_set()), facts=None, now=NOW)
    available = _condition(no_pod, ConditionType.AVAILABLE)
    assert (available.status, available.reason) == (FALSE, "NoPod")

    starting = _status(
        _miner(status=no_pod),
        observed=Observed(pod=_pod(ready=False), stateful_set=_stateful_set()),
        facts=None,
        now=LATER,
    )
    available = _condition(starting, ConditionType.AVAILABLE)
    assert (available.status, available.reason) == (FALSE, "PodNotReady")
    assert available.last_transition_time == NOW
    assert available.message == "containers with unready status"
    assert starting != no_pod

    running = _status(_miner(status=starting), now=LATEST)
    assert _condition(running, ConditionType.AVAILABLE).last_transition_time == LATEST
    assert _condition(running, ConditionType.READY).last_transition_time == LATEST
    # Unchanged all along: HotkeyUnique was True from the first reconcile.
    assert _condition(running, ConditionType.HOTKEY_UNIQUE).last_transition_time == NOW


# --- gates that refuse ----------------------------------------------------------------


def test_a_duplicate_hotkey_is_invalid_and_names_the_owner() -> None:
    status = _status(
        progress=Progress(paused=False, duplicate_of="miners/alice-old"),
        observed=Observed(),
        facts=None,
    )

    assert status.phase is Phase.INVALID
    unique = _condition(status, ConditionType.HOTKEY_UNIQUE)
    assert (unique.status, unique.reason) == (FALSE, "DuplicateHotkey")
    assert "miners/alice-old" in unique.message
    ready = _condition(status, ConditionType.READY)
    assert (ready.status, ready.reason) == (FALSE, "DuplicateHotkey")
    assert "miners/alice-old" in ready.message
    # Later gates were not reached: not checked, not False.
    assert _condition(status, ConditionType.WALLET_VALID).status == UNKNOWN
    assert _condition(status, ConditionType.EXPOSED).status == UNKNOWN
    assert status.endpoint is None
    assert status.egress_ip is None


def test_a_missing_secret_is_pending_not_invalid() -> None:
    status = _status(
        progress=Progress(paused=False, wallet=check_wallet_secret(None, hotkey=ALICE)),
        observed=Observed(),
        facts=None,
    )

    assert status.phase is Phase.PENDING
    wallet = _condition(status, ConditionType.WALLET_VALID)
    assert (wallet.status, wallet.reason) == (FALSE, "SecretNotFound")
    ready = _condition(status, ConditionType.READY)
    assert (ready.status, ready.reason) == (FALSE, "SecretNotFound")


def test_a_secret_holding_a_coldkey_is_invalid() -> None:
    secret = {"data": {"coldkey": base64.b64encode(b"private").decode()}}
    verdict = check_wallet_secret(secret, hotkey=ALICE)
    assert verdict.reason == "ColdkeyPresent"

    status = _status(progress=Progress(paused=False, wallet=verdict), observed=Observed())

    assert status.phase is Phase.INVALID
    wallet = _condition(status, ConditionType.WALLET_VALID)
    assert (wallet.status, wallet.reason) == (FALSE, "ColdkeyPresent")
    assert _condition(status, ConditionType.READY).reason == "ColdkeyPresent"


@pytest.mark.parametrize(
    "reason",
    ["ColdkeyPresent", "HotkeyMismatch", "HotkeyEncrypted", "HotkeyUnreadable", "KeyMissing"],
)
def test_a_wallet_the_user_must_fix_is_invalid_even_when_paused(reason: str) -> None:
    progress = Progress(paused=True, wallet=WalletVerdict(False, reason, "fix the Secret"))
    assert _status(progress=progress, observed=Observed()).phase is Phase.INVALID


def test_an_endpoint_conflict_is_invalid_and_hides_the_endpoint() -> None:
    status = _status(
        progress=replace(HEALTHY, endpoint_owner="miners/bob"), observed=Observed(), facts=None
    )

    assert status.phase is Phase.INVALID
    assert status.endpoint is None
    exposed = _condition(status, ConditionType.EXPOSED)
    assert (exposed.status, exposed.reason) == (FALSE, "EndpointConflict")
    assert "miners/bob" in exposed.message
    ready = _condition(status, ConditionType.READY)
    assert (ready.status, ready.reason) == (FALSE, "EndpointConflict")


def test_an_unresolved_endpoint_says_why_and_waits() -> None:
    waiting = Resolution(None, EGRESS, "WaitingForNodePort", "the axon Service has no nodePort")
    status = _status(progress=replace(HEALTHY, resolution=waiting), observed=Observed(), facts=None)

    assert status.phase is Phase.PENDING
    exposed = _condition(status, ConditionType.EXPOSED)
    assert (exposed.status, exposed.reason) == (FALSE, "WaitingForNodePort")
    assert status.endpoint is None
    assert status.egress_ip == EGRESS


def test_a_gate_that_stops_before_placement_keeps_the_recorded_node() -> None:
    # The node is sticky (the advertised IP lives there): a reconcile that stopped at the
    # wallet gate did not choose one, and must not forget the one in status.
    previous = _status(now=NOW)
    missing = Progress(paused=False, wallet=check_wallet_secret(None, hotkey=ALICE))

    status = _status(_miner(status=previous), progress=missing, observed=Observed(), now=LATER)

    assert status.node == NODE
    assert status.template_hash == TEMPLATE_HASH
    assert status.endpoint is None


# --- paused, throttled, rolling, starting ----------------------------------------------


def test_a_paused_miner_is_paused_and_not_ready() -> None:
    status = _status(
        progress=replace(HEALTHY, paused=True),
        observed=Observed(stateful_set=_stateful_set()),
        facts=None,
    )

    assert status.phase is Phase.PAUSED
    for kind in (ConditionType.READY, ConditionType.SCHEDULED, ConditionType.AVAILABLE):
        condition = _condition(status, kind)
        assert (condition.status, condition.reason) == (FALSE, "Paused"), kind


def test_a_throttled_runtime_degrades_a_ready_miner() -> None:
    facts = FACTS.model_copy(update={"throttled_by": ("5F3sa2TJ: rate_limited",)})
    status = _status(facts=facts)

    assert status.phase is Phase.DEGRADED
    throttled = _condition(status, ConditionType.THROTTLED)
    assert (throttled.status, throttled.reason) == (TRUE, "Paused")
    assert throttled.message == "5F3sa2TJ: rate_limited"
    assert _condition(status, ConditionType.READY).status == TRUE


def test_no_validators_and_no_submissions_are_reported_but_keep_the_miner_running() -> None:
    facts = FACTS.model_copy(update={"validators_connected": 0, "accepted_1h": 0})
    status = _status(facts=facts)

    validators = _condition(status, ConditionType.VALIDATORS_CONNECTED)
    assert (validators.status, validators.reason) == (FALSE, "NoValidators")
    submitting = _condition(status, ConditionType.SUBMITTING)
    assert (submitting.status, submitting.reason) == (FALSE, "NoneAccepted")
    assert status.validators_connected == 0
    assert status.submitted_1h == 0
    assert status.phase is Phase.RUNNING


def test_a_queued_rollout_is_not_up_to_date_but_stays_ready() -> None:
    status = _status(
        progress=replace(HEALTHY, rollout_queued=True),
        observed=Observed(pod=_pod(ready=True), stateful_set=_stateful_set(settled=False)),
    )

    up_to_date = _condition(status, ConditionType.UP_TO_DATE)
    assert (up_to_date.status, up_to_date.reason) == (FALSE, "RolloutQueued")
    assert "maxUnavailable" in up_to_date.message
    assert _condition(status, ConditionType.READY).status == TRUE
    assert status.phase is Phase.RUNNING


def test_a_rolling_workload_is_not_up_to_date() -> None:
    rolling = Observed(pod=_pod(ready=True), stateful_set=_stateful_set(settled=False))
    status = _status(observed=rolling)

    up_to_date = _condition(status, ConditionType.UP_TO_DATE)
    assert (up_to_date.status, up_to_date.reason) == (FALSE, "Rolling")


def test_an_unschedulable_pod_reports_the_schedulers_reason() -> None:
    status = _status(
        observed=Observed(pod=_pod(ready=False, node=None), stateful_set=_stateful_set()),
        facts=None,
    )

    assert status.phase is Phase.STARTING
    scheduled = _condition(status, ConditionType.SCHEDULED)
    assert (scheduled.status, scheduled.reason) == (FALSE, "Unschedulable")
    assert "node affinity" in scheduled.message
    ready = _condition(status, ConditionType.READY)
    assert (ready.status, ready.reason) == (FALSE, "Unschedulable")


# --- the runtime's report ---------------------------------------------------------------


def test_no_report_from_a_ready_pod_keeps_the_previous_columns() -> None:
    previous = _status(now=NOW)

    status = _status(_miner(status=previous), facts=None, now=LATER)

    assert status.uid == 17
    assert status.validators_connected == 3
    assert status.submitted_1h == 42
    assert status.rejected_1h == 1
    assert status.last_submission_time == previous.last_submission_time
    for kind in (
        ConditionType.VALIDATORS_CONNECTED,
        ConditionType.SUBMITTING,
        ConditionType.THROTTLED,
    ):
        condition = _condition(status, kind)
        assert (condition.status, condition.reason) == (UNKNOWN, "NoReport"), kind
        assert condition.last_transition_time == LATER, kind
    assert status.phase is Phase.RUNNING


def test_no_report_from_a_pod_that_is_not_ready_clears_the_columns() -> None:
    previous = _status(now=NOW)

    status = _status(
        _miner(status=previous),
        observed=Observed(pod=_pod(ready=False), stateful_set=_stateful_set()),
        facts=None,
        now=LATER,
    )

    assert status.uid is None
    assert status.validators_connected is None
    assert status.submitted_1h is None
    assert status.rejected_1h is None
    assert status.phase is Phase.STARTING
    for kind in (ConditionType.VALIDATORS_CONNECTED, ConditionType.SUBMITTING):
        condition = _condition(status, kind)
        assert (condition.status, condition.reason) == (UNKNOWN, "PodNotReady"), kind


def test_a_pod_that_is_not_ready_and_has_not_reported_leaves_the_runtime_unknown() -> None:
    status = _status(
        observed=Observed(pod=_pod(ready=False), stateful_set=_stateful_set()), facts=None
    )

    for kind in (
        ConditionType.VALIDATORS_CONNECTED,
        ConditionType.THROTTLED,
        ConditionType.REGISTERED,
        ConditionType.EARNING,
    ):
        assert _condition(status, kind).status == UNKNOWN


def test_a_report_from_a_pod_that_is_not_ready_is_read() -> None:
    """A runtime fails readiness on purpose when deregistered, and says why."""
    status = _status(
        observed=Observed(pod=_pod(ready=False), stateful_set=_stateful_set()), facts=FACTS
    )

    assert _condition(status, ConditionType.VALIDATORS_CONNECTED).status == TRUE
    assert _condition(status, ConditionType.REGISTERED).status == TRUE


# --- generations ------------------------------------------------------------------------


def test_observed_generation_is_on_the_status_and_every_condition() -> None:
    status = _status(_miner(generation=7))

    assert status.observed_generation == 7
    assert status.conditions
    assert {c.observed_generation for c in status.conditions} == {7}


def test_a_new_generation_is_a_new_status_with_the_same_transition_times() -> None:
    first = _status(_miner(generation=3), now=NOW)

    bumped = _status(_miner(generation=4, status=first), now=LATER)

    assert bumped != first
    assert bumped.observed_generation == 4
    assert {c.observed_generation for c in bumped.conditions} == {4}
    assert all(c.last_transition_time == NOW for c in bumped.conditions)


# --- rollout_settled (what UpToDate rests on) --------------------------------------------


def test_rollout_settled_needs_equal_revisions_and_ready_updated_replicas() -> None:
    assert rollout_settled(_stateful_set(settled=True))
    assert not rollout_settled(_stateful_set(settled=False))
    assert not rollout_settled(None)

    not_ready = _stateful_set()
    not_ready["status"]["readyReplicas"] = 0
    assert not rollout_settled(not_ready)

    no_revision = _stateful_set()
    del no_revision["status"]["updateRevision"], no_revision["status"]["currentRevision"]
    assert not rollout_settled(no_revision)


def test_rollout_settled_is_false_while_the_controller_has_not_seen_the_spec() -> None:
    stale = _stateful_set(generation=5)
    stale["status"]["observedGeneration"] = 4
    assert not rollout_settled(stale)


def test_rollout_settled_with_zero_replicas_needs_only_a_current_generation() -> None:
    paused = workload.build_stateful_set(
        _miner(paused=True), node=NODE, config_hash="feedfacefeedface", image="example/rt:1"
    )
    assert paused["spec"]["replicas"] == 0
    paused["metadata"]["generation"] = 3
    paused["status"] = {"observedGeneration": 3, "replicas": 0}
    assert rollout_settled(paused)

    paused["status"]["observedGeneration"] = 2
    assert not rollout_settled(paused)


def test_a_running_pod_whose_secret_vanished_is_pending_not_starting() -> None:
    status = _status(
        progress=Progress(paused=False, wallet=check_wallet_secret(None, hotkey=ALICE)),
        observed=Observed(pod=_pod(ready=True), stateful_set=_stateful_set()),
        facts=None,
    )
    assert status.phase is Phase.PENDING


# --- chain standing: Registered and Earning ------------------------------------------------


def _with_chain(**chain: Any) -> RuntimeReport:
    assert FACTS.chain is not None
    return FACTS.model_copy(update={"chain": FACTS.chain.model_copy(update=chain)})


def test_the_standing_is_shown_in_status_chain() -> None:
    status = _status()

    assert status.chain is not None
    assert (status.chain.uid, status.chain.incentive, status.chain.emission_alpha_per_day) == (
        17,
        0.0125,
        0.82,
    )
    wire = status.model_dump(by_alias=True, mode="json")["chain"]
    assert wire["emissionAlphaPerDay"] == 0.82 and wire["readAt"] == "2025-02-01T09:59:20+00:00"


def test_a_deregistered_miner_is_not_ready_and_says_who_took_its_uid() -> None:
    facts = _with_chain(uid=None, incentive=0.0, deregistered_reason="uid 17 now held by 5New")
    not_ready = Observed(pod=_pod(ready=False), stateful_set=_stateful_set())
    status = _status(observed=not_ready, facts=facts)

    registered = _condition(status, ConditionType.REGISTERED)
    assert (registered.status, registered.reason) == (FALSE, "Deregistered")
    assert registered.message == "uid 17 now held by 5New"
    ready = _condition(status, ConditionType.READY)
    assert (ready.status, ready.reason) == (FALSE, "Deregistered")  # not "PodNotReady"
    assert _condition(status, ConditionType.EARNING).reason == "Deregistered"
    assert status.phase is Phase.DEGRADED


def test_a_hotkey_never_registered_is_registered_false_not_deregistered() -> None:
    status = _status(facts=_with_chain(uid=None, incentive=0.0))

    registered = _condition(status, ConditionType.REGISTERED)
    assert (registered.status, registered.reason) == (FALSE, "NotRegistered")
    assert status.phase is not Phase.DEGRADED


def test_a_runtime_without_a_chain_report_is_not_held_back() -> None:
    """An older runtime image reports no `chain`: Registered is Unknown, Ready unaffected."""
    status = _status(facts=FACTS.model_copy(update={"chain": None}))

    assert _condition(status, ConditionType.REGISTERED).status == UNKNOWN
    assert _condition(status, ConditionType.READY).status == TRUE


def _earning_after(blocks_registered: int, grace: float) -> Condition:
    facts = _with_chain(
        incentive=0.0,
        emission_alpha_per_day=0.0,
        block=5_000_000,
        registered_at_block=5_000_000 - blocks_registered,
    )
    status = compute_status(
        _miner(),
        progress=HEALTHY,
        observed=HEALTHY_OBSERVED,
        facts=facts,
        now=NOW,
        earning_grace_seconds=grace,
    )
    return _condition(status, ConditionType.EARNING)


def test_earning_waits_out_the_grace_period_counted_on_chain_then_goes_false() -> None:
    """Blocks since registration times 12 s: an operator or pod restart does not reset it."""
    within = _earning_after(blocks_registered=25, grace=600)  # 300 s of 600
    assert (within.status, within.reason) == (UNKNOWN, "NotScoredYet")
    assert "5 min of the grace period left" in within.message
    past = _earning_after(blocks_registered=50, grace=600)
    assert (past.status, past.reason) == (FALSE, "NoIncentive")


def test_without_a_registration_block_the_grace_counts_from_registered() -> None:
    zero = _with_chain(incentive=0.0, emission_alpha_per_day=0.0, registered_at_block=None)
    first = _status(facts=zero, now=NOW)  # Registered becomes True now
    later = compute_status(
        _miner(status=first),
        progress=HEALTHY,
        observed=HEALTHY_OBSERVED,
        facts=zero,
        now=LATEST,  # 10 minutes later
        earning_grace_seconds=600,
    )
    assert _condition(first, ConditionType.EARNING).reason == "NotScoredYet"
    assert _condition(later, ConditionType.EARNING).reason == "NoIncentive"
    assert _condition(later, ConditionType.READY).status == TRUE  # not earning is not down


def test_no_report_keeps_the_last_standing_with_its_read_time() -> None:
    """An operator restart: the pod is Ready, its report has not come yet. The standing and
    its conditions stay as they were (no flap through Unknown, no repeated Events)."""
    first = _status()
    again = _status(_miner(status=first), facts=None, now=LATER)  # pod Ready, no answer

    assert again.chain == first.chain
    for kind in (ConditionType.REGISTERED, ConditionType.EARNING):
        assert _condition(again, kind) == _condition(first, kind)
    moved = {new.type for _, new in cond.transitions(first.conditions, again.conditions)}
    assert not moved & {ConditionType.REGISTERED, ConditionType.EARNING}


def test_a_deregistration_is_a_warning_event_even_for_a_new_operator() -> None:
    facts = _with_chain(uid=None, incentive=0.0, deregistered_reason="uid 17 now held by 5New")
    status = _status(facts=facts)
    registered = _condition(status, ConditionType.REGISTERED)

    assert events.worth_an_event(None, registered)
    changes = cond.transitions([], status.conditions)
    raised = [c for c in events.worth_raising(changes) if c.reason == "Deregistered"]
    assert [c.type for c in raised] == [ConditionType.REGISTERED]  # not Ready, not Earning
    event = events.event_for(_miner().model_dump(by_alias=True), registered, now=NOW, instance="op")
    assert (event["type"], event["reason"]) == ("Warning", "Deregistered")
    earning_again = _condition(_status(), ConditionType.EARNING)
    assert events.worth_an_event(_condition(status, ConditionType.EARNING), earning_again)


def test_a_standing_that_only_ages_is_republished_every_ten_minutes_not_every_sync() -> None:
    first = _status()
    assert first.chain is not None and FACTS.chain is not None

    def after(seconds: int, **changed: Any) -> SparketMinerStatus:
        read = dt.datetime.fromisoformat(FACTS.chain.read_at or "") + dt.timedelta(seconds=seconds)
        facts = _with_chain(read_at=read.isoformat(), block=5_000_000 + seconds // 12, **changed)
        return _status(_miner(status=first), facts=facts, now=LATER)

    assert after(120).chain == first.chain  # one sync later, nothing but the clock moved
    assert after(600).chain != first.chain  # ten minutes: the read time is refreshed
    moved = after(120, incentive=0.5).chain
    assert moved is not None and moved.incentive == 0.5 and moved.block == 5_000_010
