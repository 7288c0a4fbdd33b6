"""What a miner runtime reports about itself (its `/status` document), parsed leniently.

The document's contract is the runtime's published JSON Schema,
`docs/runtime-status.schema.json` (generated from the runtime's models; the operator image
carries no runtime). `READS` names every field this module reads from it and the JSON types
it accepts there; tests/contract/test_runtime_status_schema.py checks that each one exists
in the committed schema, is always sent, and has only those types, and that `parse_status`
reads exactly these fields. The schema is not enforced here at run time, on purpose: a
version skew between operator and runtime images must not break the fleet's status, so
unknown fields are ignored and a missing one reads as "not reported" rather than an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

_NULLABLE_INT = frozenset({"integer", "null"})
_NULLABLE_STR = frozenset({"string", "null"})
_NUMBER = frozenset({"number", "integer", "null"})

READS: Mapping[str, frozenset[str]] = {
    # path in the document ("validators[]": each item) -> the JSON types read there
    "uid": _NULLABLE_INT,
    "state": _NULLABLE_STR,
    "registered": frozenset({"boolean", "null"}),
    "egress_ip": _NULLABLE_STR,
    "validators_connected": _NULLABLE_INT,
    "submissions.accepted_last_hour": _NULLABLE_INT,
    "submissions.rejected_last_hour": _NULLABLE_INT,
    "submissions.last_at": _NULLABLE_STR,
    "validators[].hotkey": _NULLABLE_STR,
    "validators[].paused_seconds": frozenset({"number", "integer", "null"}),
    "validators[].pause_reason": _NULLABLE_STR,
    "chain.uid": _NULLABLE_INT,
    "chain.incentive": _NUMBER,
    "chain.consensus": _NUMBER,
    "chain.emission_alpha_per_day": _NUMBER,
    "chain.stake": _NUMBER,
    "chain.registered_at_block": _NULLABLE_INT,
    "chain.immunity_blocks_left": _NULLABLE_INT,
    "chain.block": frozenset({"integer", "null"}),
    "chain.read_at": _NULLABLE_STR,
    "chain.deregistered_at": _NULLABLE_STR,
    "chain.deregistered_reason": _NULLABLE_STR,
}
"""The fields of the published `/status` schema that `parse_status` reads."""


class ChainReport(BaseModel):
    """The runtime's standing on the subnet at its last chain read (`chain` in /status);
    its fields are those of the status's `ChainStanding`, which is made from it."""

    model_config = ConfigDict(frozen=True)

    uid: int | None = None
    incentive: float = 0.0
    consensus: float = 0.0
    emission_alpha_per_day: float | None = None
    stake: float = 0.0
    registered_at_block: int | None = None
    immunity_blocks_left: int | None = None
    block: int | None = None
    read_at: str | None = None
    deregistered_at: str | None = None
    deregistered_reason: str | None = None


class RuntimeReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    uid: int | None = None
    state: str | None = None
    registered: bool | None = None
    egress_ip: str | None = None
    validators_connected: int = 0
    accepted_1h: int = 0
    rejected_1h: int = 0
    last_submission_at: str | None = None
    throttled_by: tuple[str, ...] = ()  # "<validator hotkey>: <reason>" while paused
    chain: ChainReport | None = None  # None: not read yet (or a runtime that predates it)


class RuntimeReportError(ValueError):
    """The document is not a runtime status (wrong shape); the message says why."""


def parse_status(document: Mapping[str, Any]) -> RuntimeReport:
    submissions = document.get("submissions") or {}
    validators = document.get("validators") or []
    chain = document.get("chain")
    try:
        return RuntimeReport(
            uid=document.get("uid"),
            state=document.get("state"),
            registered=document.get("registered"),
            egress_ip=document.get("egress_ip"),
            validators_connected=document.get("validators_connected") or 0,
            accepted_1h=submissions.get("accepted_last_hour") or 0,
            rejected_1h=submissions.get("rejected_last_hour") or 0,
            last_submission_at=submissions.get("last_at"),
            throttled_by=tuple(
                f"{str(v.get('hotkey') or '?')[:8]}: {v.get('pause_reason') or 'paused'}"
                for v in validators
                if isinstance(v, Mapping) and (v.get("paused_seconds") or 0) > 0
            ),
            chain=_chain(chain) if isinstance(chain, Mapping) else None,
        )
    except (ValidationError, AttributeError, TypeError) as exc:
        raise RuntimeReportError(f"not a runtime status document: {exc}") from None


def _chain(chain: Mapping[str, Any]) -> ChainReport:
    return ChainReport(
        uid=chain.get("uid"),
        incentive=chain.get("incentive") or 0.0,
        consensus=chain.get("consensus") or 0.0,
        emission_alpha_per_day=chain.get("emission_alpha_per_day"),
        stake=chain.get("stake") or 0.0,
        registered_at_block=chain.get("registered_at_block"),
        immunity_blocks_left=chain.get("immunity_blocks_left"),
        block=chain.get("block"),
        read_at=chain.get("read_at"),
        deregistered_at=chain.get("deregistered_at"),
        deregistered_reason=chain.get("deregistered_reason"),
    )
