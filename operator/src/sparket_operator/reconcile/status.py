"""Status from what a reconcile found: conditions, phase and the fleet columns. Pure.

`Progress` records how far the reconcile got (each gate either passed or says why not);
`compute_status` turns it, the observed objects and the runtime's own report into the
status to publish. Computing it twice from the same facts gives an equal value, so the
operator writes status only when something really changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sparket_operator.api import conditions as cond
from sparket_operator.api.conditions import FALSE, TRUE, UNKNOWN, Verdict
from sparket_operator.api.v1alpha1 import (
    ChainStanding,
    Condition,
    ConditionType,
    Phase,
    SparketMiner,
    SparketMinerStatus,
)
from sparket_operator.reconcile.observed import (
    Observed,
    pod_condition,
    pod_node,
    pod_ready,
    rollout_settled,
)
from sparket_operator.reconcile.placement import Resolution
from sparket_operator.reconcile.runtime_report import ChainReport, RuntimeReport
from sparket_operator.reconcile.wallet import WalletReason, WalletVerdict, short_address


@dataclass(frozen=True)
class Progress:
    """How far one reconcile got. A gate left at None was not reached."""

    paused: bool
    duplicate_of: str | None = None
    wallet: WalletVerdict | None = None
    node: str | None = None
    resolution: Resolution | None = None
    endpoint_owner: str | None = None  # another miner already advertises our endpoint
    rollout_queued: bool = False
    template_hash: str | None = None


# A new registration is scored only once validators have weighed its work: a day of zero
# incentive is normal, more is worth a look (SPARKET_OPERATOR_EARNING_GRACE_SECONDS).
EARNING_GRACE_SECONDS = 86400.0


def compute_status(
    miner: SparketMiner,
    *,
    progress: Progress,
    observed: Observed,
    facts: RuntimeReport | None,
    now: str,
    earning_grace_seconds: float = EARNING_GRACE_SECONDS,
) -> SparketMinerStatus:
    previous = miner.status
    generation = miner.metadata.get("generation")
    verdicts = _verdicts(
        progress,
        observed,
        facts,
        earning=_Earning(
            cond.find(previous.conditions, ConditionType.REGISTERED), now, earning_grace_seconds
        ),
        previous=previous.conditions,
    )
    merged = cond.merge(previous.conditions, verdicts, generation=generation, now=now)
    ready = pod_ready(observed.pod)
    # A poll that has not answered yet (say, just after an operator restart) keeps the
    # last report while the pod stays Ready; a pod that is not Ready reports nothing.
    uid: int | None
    validators: int | None
    submitted: int | None
    rejected: int | None
    if facts is not None:
        uid, validators = facts.uid, facts.validators_connected
        submitted, rejected = facts.accepted_1h, facts.rejected_1h
    elif ready:
        uid, validators = previous.uid, previous.validators_connected
        submitted, rejected = previous.submitted_1h, previous.rejected_1h
    else:
        uid = validators = submitted = rejected = None
    resolution = progress.resolution
    return SparketMinerStatus(
        observed_generation=generation,
        phase=_phase(progress, observed, verdicts),
        conditions=merged,
        hotkey=miner.spec.hotkey,
        hotkey_short=short_address(miner.spec.hotkey),
        uid=uid,
        node=progress.node or previous.node,
        endpoint=(
            str(resolution.endpoint)
            if resolution and resolution.endpoint and not progress.endpoint_owner
            else None
        ),
        egress_ip=resolution.egress_ip if resolution else None,
        validators_connected=validators,
        submitted_1h=submitted,
        rejected_1h=rejected,
        last_submission_time=(facts.last_submission_at if facts else previous.last_submission_time),
        # The last standing read stays shown (with its read time) while no report comes.
        chain=(
            _published_standing(facts.chain, previous.chain)
            if facts and facts.chain
            else previous.chain
        ),
        template_hash=progress.template_hash or previous.template_hash,
    )


# The block, read time and immunity move at every chain sync (minutes); alone, they refresh
# the published standing at most this often, so an idle fleet is not a stream of writes.
STANDING_REFRESH_SECONDS = 600.0
_MOVING = {"block", "read_at", "immunity_blocks_left"}


def _published_standing(chain: ChainReport, previous: ChainStanding | None) -> ChainStanding:
    fresh = _standing(chain)
    if previous is None or fresh.model_dump(exclude=_MOVING) != previous.model_dump(
        exclude=_MOVING
    ):
        return fresh
    if previous.read_at is None or fresh.read_at is None:
        return fresh
    age = dt.datetime.fromisoformat(fresh.read_at) - dt.datetime.fromisoformat(previous.read_at)
    return previous if age.total_seconds() < STANDING_REFRESH_SECONDS else fresh


def _standing(chain: ChainReport) -> ChainStanding:
    """The report's standing as the status publishes it (the same fields, camelCase)."""
    return ChainStanding.model_validate(chain.model_dump())


BLOCK_SECONDS = 12.0


@dataclass(frozen=True)
class _Earning:
    """What judging Earning needs beyond the report: how long we have been registered."""

    registered: Condition | None  # the previous Registered condition
    now: str
    grace_seconds: float

    def seconds_registered(self, chain: ChainReport) -> float:
        """From the chain when it says (blocks since registration times 12 s: an operator or
        pod restart changes nothing); else since Registered last turned True."""
        if chain.block is not None and chain.registered_at_block:
            return max(0.0, (chain.block - chain.registered_at_block) * BLOCK_SECONDS)
        if self.registered is None or self.registered.status != TRUE:
            return 0.0
        since = dt.datetime.fromisoformat(self.registered.last_transition_time)
        return max(0.0, (dt.datetime.fromisoformat(self.now) - since).total_seconds())


def _verdicts(
    progress: Progress,
    observed: Observed,
    facts: RuntimeReport | None,
    *,
    earning: _Earning,
    previous: Sequence[Condition],
) -> list[Verdict]:
    gates = [_hotkey_unique(progress), _wallet(progress), _exposed(progress)]
    work = [
        _scheduled(progress, observed),
        _available(progress, observed),
        _up_to_date(progress, observed),
    ]
    # A runtime that answers is believed even while its pod is not Ready: a deregistered
    # runtime fails its readiness on purpose and says why in its report.
    answered = facts is not None or pod_ready(observed.pod)
    runtime = _runtime(facts) if answered else _runtime_unknown()
    registered = _registered(facts) if answered else _unknown(ConditionType.REGISTERED)
    standing = [registered, _earning(registered, facts, earning)]
    if facts is None and pod_ready(observed.pod):
        # A Ready pod whose report has not come yet (an operator restart): the chain
        # standing is what it last was; an Unknown in between would flap it and its Events.
        standing = _kept(previous, ConditionType.REGISTERED, ConditionType.EARNING) or standing
        registered = standing[0]
    # Registered=False decides Ready (it is why the pod is not Ready); Unknown does not
    # (a runtime that predates the chain report must not hold a fleet un-Ready).
    blocking = [registered] if registered.status == FALSE else []
    ready = _ready(progress, [*gates, *blocking, *work])
    return [ready, *gates, *work, *runtime, *standing]


def _kept(previous: Sequence[Condition], *kinds: ConditionType) -> list[Verdict] | None:
    """The previous conditions of `kinds` as verdicts, when every one of them was known."""
    found = [cond.find(previous, kind) for kind in kinds]
    if any(c is None or c.status == UNKNOWN for c in found):
        return None
    return [Verdict(c.type, c.status, c.reason, c.message) for c in found if c is not None]


def _unknown(
    kind: ConditionType, reason: str = "PodNotReady", message: str = "the runtime is not running"
) -> Verdict:
    return Verdict(kind, UNKNOWN, reason, message)


def _registered(facts: RuntimeReport | None) -> Verdict:
    kind = ConditionType.REGISTERED
    if facts is None:
        return _unknown(kind, "NoReport", "the runtime's /status has not answered yet")
    chain = facts.chain
    if chain is None:
        return _unknown(kind, "ChainNotRead", "the runtime has not read the chain yet")
    if chain.deregistered_reason:
        return Verdict(kind, FALSE, "Deregistered", chain.deregistered_reason)
    if chain.uid is None:
        return Verdict(kind, FALSE, "NotRegistered", "the hotkey holds no uid on the subnet")
    immunity = chain.immunity_blocks_left
    detail = f"; {immunity} blocks of immunity left" if immunity else ""
    return Verdict(kind, TRUE, "Registered", f"uid {chain.uid}{detail}")


def _earning(registered: Verdict, facts: RuntimeReport | None, earning: _Earning) -> Verdict:
    kind = ConditionType.EARNING
    if registered.status != TRUE or facts is None or facts.chain is None:
        return Verdict(kind, registered.status, registered.reason, registered.message)
    chain = facts.chain
    if chain.incentive > 0:
        per_day = (
            f", {chain.emission_alpha_per_day:.6f} alpha/day"
            if chain.emission_alpha_per_day is not None
            else ""
        )
        return Verdict(kind, TRUE, "Earning", f"incentive {chain.incentive:.6f}{per_day}")
    waited = earning.seconds_registered(chain)
    if waited < earning.grace_seconds:
        left = (earning.grace_seconds - waited) / 60
        return Verdict(
            kind,
            UNKNOWN,
            "NotScoredYet",
            f"no incentive yet; {left:.0f} min of the grace period left",
        )
    return Verdict(
        kind,
        FALSE,
        "NoIncentive",
        f"incentive 0 for more than {earning.grace_seconds / 3600:g} h since registration",
    )


def _hotkey_unique(p: Progress) -> Verdict:
    kind = ConditionType.HOTKEY_UNIQUE
    if p.duplicate_of:
        return Verdict(
            kind,
            FALSE,
            "DuplicateHotkey",
            f"this hotkey is already run by SparketMiner {p.duplicate_of}",
        )
    return Verdict(kind, TRUE, "Unique")


def _wallet(p: Progress) -> Verdict:
    kind = ConditionType.WALLET_VALID
    if p.wallet is None:
        return Verdict(kind, UNKNOWN, "NotChecked", "an earlier check failed")
    return Verdict(kind, TRUE if p.wallet.valid else FALSE, p.wallet.reason, p.wallet.message)


def _exposed(p: Progress) -> Verdict:
    kind = ConditionType.EXPOSED
    if p.endpoint_owner:
        return Verdict(
            kind,
            FALSE,
            "EndpointConflict",
            f"SparketMiner {p.endpoint_owner} already advertises this IP:port",
        )
    if p.resolution is None:
        return Verdict(kind, UNKNOWN, "NotResolved", "an earlier check failed")
    if p.resolution.ok:
        return Verdict(
            kind,
            TRUE,
            "EndpointResolved",
            f"advertised {p.resolution.endpoint}, egress {p.resolution.egress_ip}",
        )
    return Verdict(kind, FALSE, p.resolution.reason, p.resolution.message)


def _scheduled(p: Progress, observed: Observed) -> Verdict:
    kind = ConditionType.SCHEDULED
    if p.paused:
        return Verdict(kind, FALSE, "Paused", "the miner is paused")
    if observed.pod is None:
        return Verdict(kind, FALSE, "NoPod", "the miner's pod does not exist yet")
    node = pod_node(observed.pod)
    if node:
        return Verdict(kind, TRUE, "Scheduled", f"on node {node}")
    scheduled = pod_condition(observed.pod, "PodScheduled") or {}
    return Verdict(
        kind,
        FALSE,
        scheduled.get("reason") or "Pending",
        scheduled.get("message") or "the pod is waiting for a node",
    )


def _available(p: Progress, observed: Observed) -> Verdict:
    kind = ConditionType.AVAILABLE
    if p.paused:
        return Verdict(kind, FALSE, "Paused", "the miner is paused")
    if pod_ready(observed.pod):
        return Verdict(kind, TRUE, "PodReady")
    if observed.pod is None:
        return Verdict(kind, FALSE, "NoPod", "the miner's pod does not exist yet")
    ready = pod_condition(observed.pod, "Ready") or {}
    return Verdict(kind, FALSE, "PodNotReady", ready.get("message") or "the pod is not Ready")


def _up_to_date(p: Progress, observed: Observed) -> Verdict:
    kind = ConditionType.UP_TO_DATE
    if p.rollout_queued:
        return Verdict(
            kind,
            FALSE,
            "RolloutQueued",
            "waiting for a fleet rollout slot (maxUnavailable reached)",
        )
    if observed.stateful_set is None:
        return Verdict(kind, FALSE, "NoWorkload", "the workload has not been created")
    if rollout_settled(observed.stateful_set):
        return Verdict(kind, TRUE, "Current")
    return Verdict(kind, FALSE, "Rolling", "the pod is being replaced with the current spec")


def _runtime(facts: RuntimeReport | None) -> list[Verdict]:
    if facts is None:
        return _runtime_unknown("NoReport", "the runtime's /status has not answered yet")
    validators = (
        Verdict(
            ConditionType.VALIDATORS_CONNECTED,
            TRUE,
            "Connected",
            f"{facts.validators_connected} validator(s) with a usable token",
        )
        if facts.validators_connected
        else Verdict(
            ConditionType.VALIDATORS_CONNECTED,
            FALSE,
            "NoValidators",
            "no validator has pushed a usable token yet",
        )
    )
    submitting = (
        Verdict(
            ConditionType.SUBMITTING,
            TRUE,
            "Accepted",
            f"{facts.accepted_1h} accepted in the last hour",
        )
        if facts.accepted_1h
        else Verdict(
            ConditionType.SUBMITTING,
            FALSE,
            "NoneAccepted",
            "no submission accepted in the last hour",
        )
    )
    throttled = (
        Verdict(ConditionType.THROTTLED, TRUE, "Paused", "; ".join(facts.throttled_by))
        if facts.throttled_by
        else Verdict(ConditionType.THROTTLED, FALSE, "NotThrottled")
    )
    return [validators, submitting, throttled]


def _runtime_unknown(
    reason: str = "PodNotReady", message: str = "the runtime is not running"
) -> list[Verdict]:
    return [
        Verdict(kind, UNKNOWN, reason, message)
        for kind in (
            ConditionType.VALIDATORS_CONNECTED,
            ConditionType.SUBMITTING,
            ConditionType.THROTTLED,
        )
    ]


def _ready(p: Progress, checks: list[Verdict]) -> Verdict:
    kind = ConditionType.READY
    if p.paused:
        return Verdict(kind, FALSE, "Paused", "the miner is paused")
    failing = next((v for v in checks if not v.ok and v.type is not ConditionType.UP_TO_DATE), None)
    if failing is None:
        return Verdict(kind, TRUE, "MinerReady", "axon served, runtime ready")
    return Verdict(kind, FALSE, failing.reason, failing.message)


def _phase(p: Progress, observed: Observed, verdicts: list[Verdict]) -> Phase:
    by_type = {v.type: v for v in verdicts}
    if p.duplicate_of or p.endpoint_owner:
        return Phase.INVALID
    # Every wallet problem but a missing Secret needs the user to change the Secret.
    if (
        p.wallet is not None
        and not p.wallet.valid
        and p.wallet.reason != WalletReason.SECRET_NOT_FOUND
    ):
        return Phase.INVALID
    if p.paused:
        return Phase.PAUSED
    gates = (ConditionType.HOTKEY_UNIQUE, ConditionType.WALLET_VALID, ConditionType.EXPOSED)
    if not all(by_type[g].ok for g in gates):
        return Phase.PENDING
    if by_type[ConditionType.REGISTERED].reason == "Deregistered":
        return Phase.DEGRADED  # running, but the chain no longer counts this hotkey
    if not by_type[ConditionType.READY].ok:
        return Phase.STARTING if observed.pod is not None else Phase.PENDING
    if by_type[ConditionType.THROTTLED].status == TRUE:
        return Phase.DEGRADED
    return Phase.RUNNING
