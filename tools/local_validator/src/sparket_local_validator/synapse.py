"""The subnet's one synapse, as the local validator receives and sends it.

A second reading of the wire contract (docs/protocol.md §1), kept apart from
`miner_runtime` on purpose: the class name is the HTTP route (`POST /SparketSynapse`) and
the `name` header, and the body hash covers `type` and `payload` only. `type` stays a
plain string here, so that a test can send any spelling a miner might get wrong.
"""

# No `from __future__ import annotations`: pydantic and bittensor both read these
# annotations at runtime, and the forward functions typed with this class must see it.
from typing import Any, ClassVar

import bittensor as bt
from pydantic import Field

CONNECTION_INFO_PUSH = "connection_info_push"


class SparketSynapse(bt.Synapse):  # type: ignore[misc]  # bittensor ships no type hints
    """`type` defaults to connection_info_push, as upstream (so a bare one is a failure)."""

    type: str = CONNECTION_INFO_PUSH
    payload: Any = Field(default_factory=dict)

    required_hash_fields: ClassVar[tuple[str, ...]] = ("type", "payload")
