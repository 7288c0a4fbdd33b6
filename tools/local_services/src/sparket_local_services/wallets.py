"""Generated bittensor wallets for tests and demos: a fresh hotkey and coldkeypub on disk.

Only what a miner is given in production is written (the hotkey file and coldkeypub.txt),
never a coldkey private key.
"""

from __future__ import annotations

from pathlib import Path

from bittensor_wallet import Keypair, Wallet


def generated_wallet(root: Path, name: str, hotkey: str = "default") -> Wallet:
    wallet = Wallet(name=name, hotkey=hotkey, path=str(root))
    wallet.set_hotkey(
        Keypair.create_from_mnemonic(Keypair.generate_mnemonic()), encrypt=False, overwrite=True
    )
    wallet.set_coldkeypub(Keypair.create_from_mnemonic(Keypair.generate_mnemonic()), overwrite=True)
    return wallet
