"""The runtime's /status report, the Events worth raising, and the content stamps.

The status document is the first example of the runtime's published schema
(`docs/runtime-status.schema.json`, generated from the runtime's models), read as the
operator image would (it carries no runtime), so a renamed field there shows up here as
a wrong parse.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from sparket_operator.api.conditions import (
    FALSE,
    TRUE,
    UNKNOWN,
    Verdict,
    find,
    merge,
    transitions,
)
from sparket_operator.api.v1alpha1 import (
    API_VERSION,
    KIND,
    Condition,
    ConditionType,
    SparketMiner,
)
from sparket_operator.reconcile import applied_hash, events, network
from sparket_operator.reconcile.observed import annotation
from sparket_operator.reconcile.runtime_report import (
    ChainReport,
    RuntimeReport,
    RuntimeReportError,
    parse_status,
)

NOW = "2025-02-01T10:00:00Z"
PUBLISHED_SCHEMA = Path(__file__).resolve().parents[3] / "docs" / "runtime-status.schema.json"


def _status_document(example: int = 0) -> dict[str, Any]:
    """A /status document as the runtime serves it. Example 0: a runtime at work, three
    validators, the second paused; example 1: a runtime just started."""
    document: dict[str, Any] = json.loads(PUBLISHED_SCHEMA.read_text())["examples"][example]
    return document


# --- facts ----------------------------------------------------------------------------------


def test_a_runtime_status_document_parses_into_facts() -> None:
    facts = parse_status(_status_document())

    assert facts == RuntimeReport(
        uid=17,
        state="mining",
        registered=True,
        egress_ip="203.0.113.10",
        validators_connected=3,
        accepted_1h=20,
        rejected_1h=2,
        last_submission_at="2025-02-01T09:59:30+00:00",
        throttled_by=("5HGjWAeF: rate_limited",),
        chain=ChainReport(
            uid=17,
            incentive=0.012345,
            consensus=0.011,
            emission_alpha_per_day=0.823967,
            stake=12.5,
            registered_at_block=4_990_000,
            immunity_blocks_left=0,
            block=5_000_000,
            read_at="2025-02-01T09:59:20+00:00",
        ),
    )


def test_a_document_from_a_fresh_runtime_reads_as_nothing_yet() -> None:
    # Before the chain syncs: no uid, no validators, no submissions at all.
    facts = parse_status(_status_document(example=1))

    assert facts.uid is None
    assert facts.registered is False
    assert facts.validators_connected == 0
    assert facts.accepted_1h == 0
    assert facts.last_submission_at is None
    assert facts.throttled_by == ()


def test_a_paused_validator_without_a_reason_reads_as_paused() -> None:
    document = _status_document()
    document["validators"][0].update(paused_seconds=3.0, pause_reason=None)

    facts = parse_status(document)

    assert facts.throttled_by == ("5DAAnrj7: paused", "5HGjWAeF: rate_limited")


def test_missing_keys_read_as_not_reported() -> None:
    assert parse_status({}) == RuntimeReport()
    facts = parse_status({"uid": 5, "submissions": {"accepted_last_hour": 3}})
    assert (facts.uid, facts.accepted_1h, facts.rejected_1h) == (5, 3, 0)
    assert facts.validators_connected == 0
    assert facts.throttled_by == ()


def test_unknown_keys_and_non_object_validators_are_ignored() -> None:
    document = _status_document()
    document["added_by_a_newer_runtime"] = {"x": 1}
    document["validators"].append("not-an-object")

    assert parse_status(document).throttled_by == ("5HGjWAeF: rate_limited",)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("uid", "seventeen"),
        ("uid", [17]),
        ("validators_connected", {"n": 3}),
        ("registered", "perhaps"),
        ("submissions", ["accepted_last_hour", 3]),
        ("validators", 7),
    ],
)
def test_a_document_of_the_wrong_shape_raises_facts_error(key: str, value: object) -> None:
    document = _status_document()
    document[key] = value

    with pytest.raises(RuntimeReportError, match="not a runtime status document"):
        parse_status(document)


def test_a_wrong_shape_inside_submissions_raises_facts_error() -> None:
    document = _status_document()
    document["submissions"]["accepted_last_hour"] = "many"

    with pytest.raises(RuntimeReportError):
        parse_status(document)


def test_a_non_numeric_pause_raises_facts_error() -> None:
    document = _status_document()
    document["validators"][1]["paused_seconds"] = "soon"

    with pytest.raises(RuntimeReportError):
        parse_status(document)


def test_facts_compare_by_value() -> None:
    # The poller re-queues a miner only when its report changed.
    assert parse_status(_status_document()) == parse_status(_status_document())
    changed = _status_document()
    changed["submissions"]["accepted_last_hour"] = 21
    assert parse_status(changed) != parse_status(_status_document())


# --- events ---------------------------------------------------------------------------------


def _cond(
    kind: ConditionType, status: str, reason: str = "Because", message: str = ""
) -> Condition:
    return Condition(
        type=kind,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=NOW,
        observed_generation=1,
    )


def test_the_first_ready_true_is_an_event_and_the_first_ready_false_is_not() -> None:
    assert events.worth_an_event(None, _cond(ConditionType.READY, TRUE, "MinerReady"))
    assert not events.worth_an_event(None, _cond(ConditionType.READY, FALSE, "NoPod"))


def test_ready_flips_are_events() -> None:
    ready = _cond(ConditionType.READY, TRUE, "MinerReady")
    not_ready = _cond(ConditionType.READY, FALSE, "PodNotReady")
    assert events.worth_an_event(ready, not_ready)
    assert events.worth_an_event(not_ready, ready)


def test_a_first_wallet_failure_is_a_warning_event() -> None:
    bad = _cond(ConditionType.WALLET_VALID, FALSE, "SecretNotFound", "create it")

    assert events.worth_an_event(None, bad)
    assert events.worth_an_event(_cond(ConditionType.WALLET_VALID, UNKNOWN, "NotChecked"), bad)
    assert events.is_bad(bad)
    assert not events.worth_an_event(None, _cond(ConditionType.WALLET_VALID, TRUE, "Valid"))


def test_a_first_duplicate_hotkey_is_an_event() -> None:
    duplicate = _cond(ConditionType.HOTKEY_UNIQUE, FALSE, "DuplicateHotkey")
    assert events.worth_an_event(None, duplicate)


def test_a_first_exposed_false_is_an_event_only_for_a_conflict() -> None:
    conflict = _cond(ConditionType.EXPOSED, FALSE, "EndpointConflict")
    waiting = _cond(ConditionType.EXPOSED, FALSE, "WaitingForNodePort")

    assert events.worth_an_event(None, conflict)
    assert not events.worth_an_event(None, waiting)


def test_a_reason_only_change_is_not_an_event() -> None:
    before = _cond(ConditionType.READY, FALSE, "NoPod")
    after = _cond(ConditionType.READY, FALSE, "PodNotReady")

    assert transitions([before], [after]) == [(before, after)]  # a transition...
    assert not events.worth_an_event(before, after)  # ...but not worth an Event


def test_throttling_is_a_warning_event_and_its_end_is_normal() -> None:
    calm = _cond(ConditionType.THROTTLED, FALSE, "NotThrottled")
    throttled = _cond(ConditionType.THROTTLED, TRUE, "Paused", "5HGjWAeF: rate_limited")

    assert events.worth_an_event(calm, throttled)
    assert events.is_bad(throttled)
    assert events.worth_an_event(throttled, calm)
    assert not events.is_bad(calm)


@pytest.mark.parametrize("kind", list(ConditionType))
def test_unknown_is_never_an_event(kind: ConditionType) -> None:
    unknown = _cond(kind, UNKNOWN, "NoReport")

    assert not events.worth_an_event(None, unknown)
    assert not events.worth_an_event(_cond(kind, TRUE), unknown)
    assert not events.worth_an_event(_cond(kind, FALSE), unknown)
    assert not events.is_bad(unknown)


@pytest.mark.parametrize(
    "kind",
    [
        ConditionType.SCHEDULED,
        ConditionType.AVAILABLE,
        ConditionType.VALIDATORS_CONNECTED,
        ConditionType.SUBMITTING,
        ConditionType.UP_TO_DATE,
    ],
)
def test_conditions_outside_the_eventful_set_never_raise_events(kind: ConditionType) -> None:
    assert not events.worth_an_event(_cond(kind, TRUE), _cond(kind, FALSE))
    assert not events.worth_an_event(_cond(kind, FALSE), _cond(kind, TRUE))
    assert not events.worth_an_event(None, _cond(kind, FALSE))


def _raw_miner() -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": "alice",
            "namespace": "miners",
            "uid": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
            "generation": 1,
        },
        "spec": {},
    }


def test_event_for_a_bad_condition_is_a_warning_on_the_miner() -> None:
    condition = _cond(ConditionType.WALLET_VALID, FALSE, "ColdkeyPresent", "remove the coldkey")

    event = events.event_for(_raw_miner(), condition, now=NOW, instance="operator-0")

    assert event["involvedObject"] == {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "name": "alice",
        "namespace": "miners",
        "uid": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    }
    assert event["metadata"] == {"generateName": "alice.", "namespace": "miners"}
    assert event["type"] == "Warning"
    assert event["reason"] == "ColdkeyPresent"
    assert event["message"] == "WalletValid=False: remove the coldkey"
    assert event["reportingInstance"] == "operator-0"
    assert event["firstTimestamp"] == event["lastTimestamp"] == NOW
    assert event["count"] == 1


def test_event_for_a_good_condition_is_normal_and_an_empty_message_is_trimmed() -> None:
    event = events.event_for(
        _raw_miner(), _cond(ConditionType.READY, TRUE, "MinerReady"), now=NOW, instance="op"
    )

    assert event["type"] == "Normal"
    assert event["reason"] == "MinerReady"
    assert event["message"] == "Ready=True"


# --- conditions.merge / find (what events and status are built on) --------------------------


def test_merge_keeps_the_time_of_an_unchanged_status_and_stamps_a_flip() -> None:
    previous = [
        _cond(ConditionType.READY, FALSE, "NoPod"),
        _cond(ConditionType.AVAILABLE, FALSE, "NoPod"),
    ]
    merged = merge(
        previous,
        [
            Verdict(ConditionType.READY, TRUE, "MinerReady"),
            Verdict(ConditionType.AVAILABLE, FALSE, "PodNotReady", "starting"),
            Verdict(ConditionType.SCHEDULED, TRUE, "Scheduled"),
        ],
        generation=2,
        now="2025-02-01T11:00:00Z",
    )

    ready = find(merged, ConditionType.READY)
    available = find(merged, ConditionType.AVAILABLE)
    scheduled = find(merged, ConditionType.SCHEDULED)
    assert ready is not None and ready.last_transition_time == "2025-02-01T11:00:00Z"
    assert available is not None and available.last_transition_time == NOW
    assert available.message == "starting"
    assert scheduled is not None and scheduled.last_transition_time == "2025-02-01T11:00:00Z"
    assert {c.observed_generation for c in merged} == {2}
    assert find(merged, ConditionType.THROTTLED) is None


# --- stamps ---------------------------------------------------------------------------------


def _service() -> dict[str, Any]:
    miner = SparketMiner.model_validate(
        {
            "metadata": {"name": "alice", "namespace": "miners", "uid": "u-1", "generation": 1},
            "spec": {
                "hotkey": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
                "wallet": {"secretName": "alice-hotkey"},
                "leagues": ["nba"],
            },
        }
    )
    return network.build_service(miner)


def test_stamped_adds_the_hash_annotation_and_leaves_the_input_alone() -> None:
    desired = _service()
    pristine = copy.deepcopy(desired)

    result = applied_hash.stamped(desired)

    assert desired == pristine
    digest = annotation(result, applied_hash.APPLIED_HASH_ANNOTATION)
    assert digest == applied_hash.content_hash(pristine)
    assert digest is not None and len(digest) == 16
    assert applied_hash.APPLIED_HASH_ANNOTATION == "sparket.io/applied-hash"
    without = copy.deepcopy(result)
    del without["metadata"]["annotations"]
    assert without == pristine  # nothing else changed


def test_stamped_keeps_existing_annotations() -> None:
    desired = _service()
    desired["metadata"]["annotations"] = {"example.com/note": "kept"}

    result = applied_hash.stamped(desired)

    assert result["metadata"]["annotations"]["example.com/note"] == "kept"
    assert applied_hash.APPLIED_HASH_ANNOTATION in result["metadata"]["annotations"]
    assert applied_hash.APPLIED_HASH_ANNOTATION not in desired["metadata"]["annotations"]


def test_the_same_content_gives_the_same_hash_whatever_the_key_order() -> None:
    desired = _service()
    reordered = dict(reversed(list(copy.deepcopy(desired).items())))

    assert applied_hash.content_hash(desired) == applied_hash.content_hash(reordered)
    assert annotation(
        applied_hash.stamped(desired), applied_hash.APPLIED_HASH_ANNOTATION
    ) == annotation(applied_hash.stamped(reordered), applied_hash.APPLIED_HASH_ANNOTATION)


def test_different_content_gives_a_different_hash() -> None:
    desired = _service()
    changed = copy.deepcopy(desired)
    changed["spec"]["ports"][0]["port"] = 9000

    assert applied_hash.content_hash(desired) != applied_hash.content_hash(changed)


def test_needs_apply_only_when_the_live_stamp_differs_or_is_missing() -> None:
    desired = applied_hash.stamped(_service())
    live = copy.deepcopy(desired)
    # The API server adds its own fields; only the stamp is compared.
    live["metadata"].update(uid="svc-uid", resourceVersion="99")
    live["spec"]["clusterIP"] = "10.43.0.12"
    live["status"] = {"loadBalancer": {}}

    assert not applied_hash.needs_apply(live, desired)

    changed = _service()
    changed["spec"]["ports"][0]["port"] = 9000
    assert applied_hash.needs_apply(live, applied_hash.stamped(changed))

    unstamped = copy.deepcopy(live)
    del unstamped["metadata"]["annotations"]
    assert applied_hash.needs_apply(unstamped, desired)
    assert applied_hash.needs_apply(None, desired)


def test_throttling_that_starts_from_unknown_is_an_event() -> None:
    throttled = _cond(ConditionType.THROTTLED, TRUE, "Paused")
    assert events.worth_an_event(_cond(ConditionType.THROTTLED, "Unknown", "NoReport"), throttled)
    assert events.worth_an_event(None, throttled)
    assert not events.worth_an_event(None, _cond(ConditionType.THROTTLED, FALSE, "NotThrottled"))


def test_a_validator_without_a_hotkey_does_not_spoil_the_report() -> None:
    document = _status_document()
    document["validators"][1]["hotkey"] = None  # the paused one
    assert parse_status(document).throttled_by == ("?: rate_limited",)
