"""`python -m miner_runtime COMMAND`

check-config   validate the settings (env > SPARKET_CONFIG_FILE > defaults) and exit
"""

from __future__ import annotations

import argparse
import json
import sys

from miner_runtime.errors import ConfigError
from miner_runtime.settings import load_settings


def check_config() -> int:
    settings = load_settings()
    # SecretStr fields dump as '**********': nothing secret reaches the terminal.
    summary = settings.model_dump(mode="json")
    print(json.dumps({"event": "config_ok", "settings": summary}, sort_keys=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m miner_runtime",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["check-config"])
    args = parser.parse_args(argv)
    try:
        if args.command == "check-config":
            return check_config()
    except ConfigError as exc:
        # Process boundary: one clear line, no traceback.
        print(f"miner_runtime: {exc}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
