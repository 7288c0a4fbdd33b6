"""The fleet summary the operator publishes per namespace: "is my fleet earning?".

Published as JSON in the ConfigMap `sparket-fleet-summary` (key `summary.json`) of each
namespace with miners, and read by `kubectl sparket status`. A ConfigMap rather than a
resource of its own: nothing to install or upgrade beside the SparketMiner CRD, no extra
RBAC for readers (`kubectl get configmap`), and the operator already writes ConfigMaps. It
holds no timestamp, so an idle fleet rewrites nothing.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

SUMMARY_CONFIGMAP = "sparket-fleet-summary"
SUMMARY_KEY = "summary.json"
IMMUNITY_ENDING_BLOCKS = 1200  # about 4 hours of 12 s blocks


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore"
    )


class EgressUse(_Model):
    """One egress IP: the hotkeys that share it (and so share every validator's per-IP
    cooldowns and bans)."""

    ip: str
    hotkeys: int
    miners: list[str]


class FailingValidator(_Model):
    """A validator some of our miners are held back from, and why."""

    validator: str  # the first 8 characters of its hotkey
    miners: int
    reasons: dict[str, int]


class ImmunityEnding(_Model):
    miner: str
    blocks_left: int


class FleetSummary(_Model):
    namespace: str
    miners: int
    ready: int
    by_phase: dict[str, int]
    registered: int
    deregistered: list[str]
    earning: int
    not_earning: list[str]  # Earning=False: registered past the grace period, no incentive
    emission_alpha_per_day: float
    immunity_ending: list[ImmunityEnding]  # within IMMUNITY_ENDING_BLOCKS, soonest first
    failing_validators: list[FailingValidator]
    egress_ips: list[EgressUse]
