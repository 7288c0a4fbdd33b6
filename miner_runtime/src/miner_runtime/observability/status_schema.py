"""Writes (or checks) `docs/runtime-status.schema.json`, the published `/status` contract.

Generated from the models in `status.py` with two example documents, so the file, the
runtime's output and the operator's reading of it (checked in tests/contract) cannot
disagree unnoticed: `make status-schema` regenerates it, and a test fails on drift.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

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
    parser = argparse.ArgumentParser(description="Write or check the /status JSON Schema file.")
    parser.add_argument("path", type=Path)
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not args.path.exists() or args.path.read_text() != text:
            sys.stderr.write(f"{args.path} is out of date; run `{REGENERATE}`\n")
            return 1
        return 0
    args.path.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
