"""Load the hotkey, and refuse a wallet that carries a coldkey.

A miner signs with its hotkey only; the Axon also needs `coldkeypub.txt` (public). A
coldkey private key in the mounted wallet is a leak waiting to happen, so the runtime
will not start with one present. Key material never reaches a log line.
"""

from __future__ import annotations

from pathlib import Path

import bittensor as bt
from bittensor_wallet.errors import KeyFileError

from miner_runtime.errors import ConfigError
from miner_runtime.settings import WalletSettings


def wallet_dir(settings: WalletSettings) -> Path:
    return settings.path.expanduser() / settings.name


def load_wallet(settings: WalletSettings) -> bt.Wallet:
    """The wallet with its hotkey loaded (unencrypted, as miners run unattended)."""
    root = wallet_dir(settings)
    hotkey_file = root / "hotkeys" / settings.hotkey
    if not hotkey_file.is_file():
        raise ConfigError(
            f"invalid setting wallet.hotkey (SPARKET_WALLET__HOTKEY): no hotkey file {hotkey_file}"
        )
    if not (root / "coldkeypub.txt").is_file():
        raise ConfigError(
            f"invalid setting wallet.name (SPARKET_WALLET__NAME): no coldkeypub.txt in {root}"
        )
    if (root / "coldkey").exists():
        raise ConfigError(
            f"refusing wallet {root}: it holds a coldkey private key; mount only "
            "hotkeys/<name> and coldkeypub.txt"
        )
    wallet = bt.Wallet(
        name=settings.name, hotkey=settings.hotkey, path=str(settings.path.expanduser())
    )
    try:
        _ = wallet.hotkey.ss58_address
        _ = wallet.coldkeypub.ss58_address
    except KeyFileError as exc:
        raise ConfigError(f"cannot read wallet {root}: {type(exc).__name__}") from None
    return wallet
