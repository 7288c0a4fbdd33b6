"""Writes (or checks) `docs/runtime-status.schema.json`, the published `/status` contract.

Generated from the models in `status.py` with two example documents, so the file, the
runtime's output and the operator's reading of it (checked in tests/contract) cannot
disagree unnoticed: `make status-schema` regenerates it, and a test fails on drift.
"""

from __future__ import annotations

import json
from typing import Any

from miner_runtime.generated_files import write_or_check
from miner_runtime.observability.status import RuntimeStatus
from miner_runtime.observability.status_example import EXAMPLES

REGENERATE = "make status-schema"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_document() -> dict[str, Any]:
    """The JSON Schema of a `/status` document, with the examples as they are served."""
    return {
        "$schema": DIALECT,
        **RuntimeStatus.model_json_schema(),
        "examples": [example.model_dump(mode="json") for example in EXAMPLES],
    }


def render() -> str:
    return json.dumps(schema_document(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    return write_or_check(
        render,
        description="Write or check the /status JSON Schema file.",
        regenerate=REGENERATE,
        argv=argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
