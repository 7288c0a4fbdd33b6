"""`python -m miner_runtime COMMAND`

check-config   validate the settings (env > SPARKET_CONFIG_FILE > defaults) and exit
serve          run the miner: axon, chain sync, game sync, odds and outcome pushes
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

from miner_runtime.errors import ConfigError
from miner_runtime.settings import load_settings


def check_config() -> int:
    settings = load_settings()
    # SecretStr fields dump as '**********': nothing secret reaches the terminal.
    summary = settings.model_dump(mode="json")
    print(json.dumps({"event": "config_ok", "settings": summary}, sort_keys=True))
    return 0


async def _serve() -> None:
    # Imported here: check-config must stay fast and work without loading bittensor.
    from miner_runtime.chain.factory import chain_from_settings
    from miner_runtime.composition import compose
    from miner_runtime.logs import configure_logging
    from miner_runtime.wallet import load_wallet

    settings = load_settings()
    configure_logging()
    wallet = load_wallet(settings.wallet)
    chain = chain_from_settings(settings, wallet.hotkey.ss58_address, wallet)
    app = await compose(settings, wallet=wallet, chain=chain)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await app.run_until(stop)


def serve() -> int:
    asyncio.run(_serve())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m miner_runtime",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["check-config", "serve"])
    args = parser.parse_args(argv)
    try:
        if args.command == "check-config":
            return check_config()
        if args.command == "serve":
            return serve()
    except ConfigError as exc:
        # Process boundary: one clear line, no traceback.
        print(f"miner_runtime: {exc}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
