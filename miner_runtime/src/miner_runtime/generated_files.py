"""The command line of a generated, committed file (the /status JSON Schema, the model
sidecar's OpenAPI): write it, or with `--check` fail when the committed copy is stale."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def write_or_check(
    render: Callable[[], str], *, description: str, regenerate: str, argv: list[str] | None
) -> int:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("path", type=Path)
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not args.path.exists() or args.path.read_text() != text:
            sys.stderr.write(f"{args.path} is out of date; run `{regenerate}`\n")
            return 1
        return 0
    args.path.write_text(text)
    return 0
