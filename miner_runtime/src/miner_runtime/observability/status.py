"""The `/status` document as typed models: the runtime's published contract.

The operator reads a subset of this document from another image, so its shape is
published as a JSON Schema generated from these models (`docs/runtime-status.schema.json`,
`make status-schema`; a test fails on drift). Models are frozen and every field says what
it means. Times are datetimes here and ISO 8601 strings (`datetime.isoformat()`) on the
wire; a field that can be null is still always present.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    model_serializer,
)

IsoTime = Annotated[
    dt.datetime, PlainSerializer(dt.datetime.isoformat, return_type=str, when_used="json")
]
"""A moment, sent as `isoformat()` (e.g. `2026-11-24T12:00:00+00:00`)."""


class _Status(BaseModel):
    model_config = ConfigDict(frozen=True)


class AxonStatus(_Status):
    port: int = Field(description="The port the axon listens on inside the pod.")
    advertised: str = Field(description="`ip:port` the axon is advertised at on chain.")
    served_on_chain: bool = Field(description="The chain holds the advertised endpoint.")


class ValidatorStatus(_Status):
    """One validator's line: its token, what holds us back, and what it answered."""

    hotkey: str = Field(description="The validator's hotkey (ss58).")
    uid: int = Field(description="The validator's uid on the subnet.")
    stake: float = Field(description="The validator's stake.")
    token_age_seconds: float | None = Field(
        description="Seconds since this hotkey was pushed its token; null: never."
    )
    token_usable: bool = Field(description="A token this hotkey may push odds with.")
    paused_seconds: float = Field(
        description="Seconds left before we talk to it again: our own pause, else a fleet "
        "rule's hold (0: not paused)."
    )
    pause_reason: str | None = Field(
        description="Why it is paused (`rate_limited`, `paused: cooldown`, ...); null when "
        "not paused."
    )
    failing_hotkeys: int = Field(
        description="Distinct hotkeys of our egress IP that failed there in the last 24 h."
    )
    banned: bool = Field(description="It answered 403 blacklisted (hotkey or IP).")
    accepted: int = Field(description="Submissions it accepted since start.")
    rejected: dict[str, int] = Field(description="Submissions it rejected, by error.")


class MarketsStatus(_Status):
    active: int = Field(description="Markets open for odds now.")


class GamesStatus(_Status):
    synced: int = Field(description="Games in the last game sync.")
    last_sync: IsoTime | None = Field(description="When games were last synced; null: never.")
    skipped: dict[str, int] = Field(
        description="Games and markets the last game-data reply had that we could not use, "
        "by reason."
    )


class CycleStatus(_Status):
    """The last odds cycle."""

    at: IsoTime = Field(description="When the cycle started.")
    markets: int = Field(description="Markets the cycle considered.")
    batches: int = Field(description="Batches it sent.")
    submitted: int = Field(description="Markets it submitted odds for.")
    skipped: int = Field(description="Markets it skipped.")
    seconds: float = Field(description="How long it took (rounded to ms).")


class SubmissionsStatus(_Status):
    accepted: int = Field(description="Submissions accepted since start, all validators.")
    rejected: int = Field(description="Submissions rejected since start, all validators.")
    last_at: IsoTime | None = Field(description="The last accepted submission; null: none.")
    accepted_last_hour: int = Field(description="Replies accepting a submission, last hour.")
    rejected_last_hour: int = Field(description="Replies rejecting a submission, last hour.")


ENGINE_DETAIL = frozenset(
    {"history_games", "market_blend", "fitted_at", "url", "last_seconds", "malformed_quotes"}
)
"""Engine-specific keys: sent only by the engine that reports them."""


class PricingStatus(_Status):
    """The pricing engine's condition. Keys of another engine's detail are absent, not null;
    an engine's detail beyond the ones named here is passed through."""

    model_config = ConfigDict(extra="allow")

    engine: str = Field(description="`builtin`, or `sidecar` (a model sidecar).")
    degraded: bool = Field(description="It prices from less than it should (see reasons).")
    reasons: tuple[str, ...] = Field(description="What is missing, one line each.")
    history_games: dict[str, int] | None = Field(
        default=None, description="builtin: results-history games per priced league."
    )
    market_blend: bool | None = Field(
        default=None, description="builtin: market odds are blended into its prices."
    )
    fitted_at: str | None = Field(
        default=None, description="builtin: when it was last fitted (ISO 8601); null: never."
    )
    url: str | None = Field(default=None, description="sidecar: its price URL.")
    last_seconds: float | None = Field(
        default=None, description="sidecar: the last price call's duration; null: none yet."
    )
    malformed_quotes: int | None = Field(
        default=None, description="sidecar: quotes it answered that failed parsing."
    )
    quotes_dropped: int = Field(description="Quotes that failed validation (never sent).")

    @model_serializer(mode="wrap")
    def _without_other_engines_detail(self, handler: SerializerFunctionWrapHandler) -> Any:
        dumped = handler(self)
        unset = ENGINE_DETAIL - self.model_fields_set
        return {key: value for key, value in dumped.items() if key not in unset}


class BudgetStoreStatus(_Status):
    shared: bool = Field(description="A shared (Redis) budget store is configured.")
    degraded: bool = Field(description="The shared store is not in use right now.")
    reason: str | None = Field(
        description="Why not: `unreachable`, or `auth` / `tls` (refused: the configuration "
        "is at fault); null while it is used or none is configured."
    )


class ChainStandingStatus(_Status):
    """Our standing on the subnet at the last chain read: is this hotkey earning?"""

    uid: int | None = Field(description="Our uid at that read; null: not registered.")
    incentive: float = Field(description="Incentive at the last epoch (0..1).")
    consensus: float = Field(description="Consensus at the last epoch (0..1).")
    emission_alpha_per_tempo: float = Field(
        description="Emission at the last epoch, in the subnet's alpha token."
    )
    emission_alpha_per_day: float | None = Field(
        description="Emission a day at the last epoch's rate, alpha; null: the subnet's tempo "
        "could not be read."
    )
    stake: float = Field(description="Stake on our hotkey, TAO.")
    registered_at_block: int | None = Field(
        description="The block our uid was registered at; null: not known."
    )
    immunity_blocks_left: int | None = Field(
        description="Blocks before our immunity from pruning ends (0: ended); null: not known."
    )
    block: int = Field(description="The block of that read.")
    read_at: IsoTime = Field(description="When the chain was read.")
    age_seconds: float = Field(
        description="Seconds since that read: the standing is that old (the chain could not "
        "be read since, or the next sync is not due)."
    )
    deregistered_at: IsoTime | None = Field(
        description="When a read first found our registered hotkey gone; null: not deregistered."
    )
    deregistered_reason: str | None = Field(
        description="Why we count as deregistered (e.g. the uid's new holder); null: we do not."
    )


class RuntimeStatus(_Status):
    """What one miner runtime (one hotkey) reports about itself at `GET /status`."""

    hotkey: str = Field(description="This runtime's hotkey (ss58).")
    uid: int | None = Field(description="Its uid on the subnet; null: not registered/synced.")
    state: str = Field(description="`mining`, or why the runtime is not ready.")
    registered: bool = Field(description="The hotkey is registered on the subnet.")
    axon: AxonStatus
    egress_ip: str = Field(description="The IP validators see our requests from.")
    validators: tuple[ValidatorStatus, ...] = Field(
        description="Permitted, serving validators, by stake."
    )
    validators_connected: int = Field(description="Validators we hold a usable token for.")
    markets: MarketsStatus
    games: GamesStatus
    last_cycle: CycleStatus | None = Field(description="The last odds cycle; null: none yet.")
    submissions: SubmissionsStatus
    outcomes_sent: int = Field(description="Outcomes submitted since start.")
    pricing: PricingStatus
    budget_store: BudgetStoreStatus
    chain: ChainStandingStatus | None = Field(
        description="Our standing on the subnet; null: the chain has not been read yet."
    )
