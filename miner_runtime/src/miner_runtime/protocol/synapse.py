"""`SparketSynapse`, byte-compatible with the subnet's.

One synapse class carries all four messages; its class name is the HTTP route
(`POST /SparketSynapse`) and the `name` header, so it must be spelled exactly so. The body
hash covers `type` and `payload`: sha3(sha3(str(type)) + sha3(str(payload))), where
`str(payload)` is the Python repr of the dict, recomputed by the receiver from the JSON
body. Payloads therefore hold JSON-native values only (see `models.to_wire`): a tuple or a
Decimal would hash differently after the JSON round trip and the axon would answer 500.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, ClassVar

import bittensor as bt
from pydantic import Field


class SynapseType(StrEnum):
    """The wire type strings, lowercase exactly as the validator routes them."""

    ODDS_PUSH = "odds_push"
    OUTCOME_PUSH = "outcome_push"
    GAME_DATA_REQUEST = "game_data_request"
    CONNECTION_INFO_PUSH = "connection_info_push"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


class SparketSynapse(bt.Synapse):  # type: ignore[misc]  # bittensor ships no type hints
    """The subnet's synapse. `type` defaults to connection_info_push, as upstream."""

    type: SynapseType | str = SynapseType.CONNECTION_INFO_PUSH
    payload: Any = Field(default_factory=dict)

    required_hash_fields: ClassVar[tuple[str, ...]] = ("type", "payload")

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        """As upstream: the enum becomes its value and datetimes ISO strings (hash input)."""
        data: dict[str, Any] = super().model_dump(**kwargs)
        if isinstance(data.get("type"), SynapseType):
            data["type"] = data["type"].value
        if "payload" in data:
            data["payload"] = _jsonable(data["payload"])
        return data

    def deserialize(self) -> SparketSynapse:
        return self

    @property
    def type_name(self) -> str:
        """The message type as a plain lowercase string, whatever form it arrived in."""
        raw = self.type.value if isinstance(self.type, SynapseType) else str(self.type)
        return raw.strip().lower()
