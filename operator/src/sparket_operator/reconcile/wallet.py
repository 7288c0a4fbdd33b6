"""Judge a wallet Secret before any pod mounts it: hotkey only, readable, the right one.

A miner needs its hotkey (private, to sign) and `coldkeypub.txt` (public). A coldkey
private key has no business in the cluster: whoever can read the Secret could drain the
owner's funds. So a Secret that carries one is refused outright, whatever else it holds,
before the workload is even built; the operator's `WalletValid` condition carries the
verdict. The operator image has no bittensor, so the keyfile format (bittensor_wallet's
JSON with `ss58Address`, `publicKey`, `privateKey`, `secretSeed`, `secretPhrase`, ...) is
read here directly.

Messages name keys, reasons and shortened public addresses, never a value from the
Secret: they end up in status conditions, Events and logs.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

HOTKEY_KEY = "hotkey"
COLDKEYPUB_KEY = "coldkeypub.txt"
COLDKEY_KEY = "coldkey"

# Fields only a keyfile with a private key has.
PRIVATE_FIELDS = ("privateKey", "secretPhrase", "secretSeed")
# bittensor keyfile encryptions: NaCl, bittensor's own tag, legacy Fernet, ansible-vault.
ENCRYPTED_PREFIXES = (b"$NACL", b"$BT", b"gAAAAA", b"$ANSIBLE_VAULT")

_COLDKEY_MESSAGE = "the Secret holds a coldkey private key: store only hotkey and coldkeypub.txt"


class WalletReason(StrEnum):
    """Condition reasons (CamelCase, as Kubernetes conditions want them)."""

    VALID = "Valid"
    SECRET_NOT_FOUND = "SecretNotFound"
    COLDKEY_PRESENT = "ColdkeyPresent"
    KEY_MISSING = "KeyMissing"
    HOTKEY_UNREADABLE = "HotkeyUnreadable"
    HOTKEY_ENCRYPTED = "HotkeyEncrypted"
    HOTKEY_MISMATCH = "HotkeyMismatch"


@dataclass(frozen=True)
class WalletVerdict:
    valid: bool
    reason: str
    message: str


def _refused(reason: WalletReason, message: str) -> WalletVerdict:
    return WalletVerdict(valid=False, reason=reason, message=message)


def short_address(ss58: str) -> str:
    """`5Grwv…utQY`: enough to tell addresses apart in a message."""
    return f"{ss58[:5]}…{ss58[-4:]}" if len(ss58) > 12 else ss58


def check_wallet_secret(secret: Mapping[str, Any] | None, *, hotkey: str) -> WalletVerdict:
    """The verdict on `secret` (as read from the API: base64 `data`; None if absent) for
    a miner whose spec names `hotkey` (ss58). The first failing rule decides."""
    if secret is None:
        return _refused(
            WalletReason.SECRET_NOT_FOUND,
            "the wallet Secret does not exist: create it with keys hotkey and coldkeypub.txt",
        )
    data: Mapping[str, str] = secret.get("data") or {}
    coldkey = _coldkey_present(data)
    if coldkey is not None:
        return coldkey
    for key in (HOTKEY_KEY, COLDKEYPUB_KEY):
        if key not in data:
            return _refused(
                WalletReason.KEY_MISSING,
                f"the Secret has no key {key}: it must hold hotkey and coldkeypub.txt",
            )
    return _check_keyfiles(data, hotkey=hotkey)


def _check_keyfiles(data: Mapping[str, str], *, hotkey: str) -> WalletVerdict:
    raw = _decode(data[HOTKEY_KEY])
    if raw is None:
        return _refused(WalletReason.HOTKEY_UNREADABLE, "key hotkey is not valid base64")
    if _is_encrypted(raw):
        return _refused(
            WalletReason.HOTKEY_ENCRYPTED,
            "the hotkey file is encrypted: a miner runs unattended, store it unencrypted",
        )
    keyfile = _json_object(raw)
    if keyfile is None:
        return _refused(
            WalletReason.HOTKEY_UNREADABLE, "key hotkey is not a bittensor keyfile (JSON)"
        )
    return _check_hotkey(keyfile, hotkey=hotkey)


def _check_hotkey(keyfile: Mapping[str, Any], *, hotkey: str) -> WalletVerdict:
    address = keyfile.get("ss58Address")
    if not isinstance(address, str) or not address:
        return _refused(WalletReason.HOTKEY_UNREADABLE, "the hotkey file has no ss58Address")
    if not (keyfile.get("secretSeed") or keyfile.get("privateKey")):
        return _refused(
            WalletReason.HOTKEY_UNREADABLE,
            "the hotkey file has no private key (secretSeed or privateKey): "
            "it cannot sign; is it a public key file?",
        )
    if address != hotkey:
        return _refused(
            WalletReason.HOTKEY_MISMATCH,
            f"the Secret's hotkey is {short_address(address)} "
            f"but spec.hotkey is {short_address(hotkey)}",
        )
    return WalletVerdict(
        valid=True,
        reason=WalletReason.VALID,
        message=f"the Secret holds hotkey {short_address(address)} and coldkeypub.txt",
    )


def _coldkey_present(data: Mapping[str, str]) -> WalletVerdict | None:
    """A key `coldkey`, a private (or encrypted) keyfile under any key but `hotkey`, or
    `coldkeypub.txt` that is not public. Checked first: it outranks every other fault."""
    for key in sorted(data):
        if key == HOTKEY_KEY:
            continue
        if key == COLDKEY_KEY or _holds_private_key(_decode(data[key])):
            return _refused(WalletReason.COLDKEY_PRESENT, f"{_COLDKEY_MESSAGE} (key {key})")
    return None


def _holds_private_key(raw: bytes | None) -> bool:
    if raw is None:
        return False
    if _is_encrypted(raw):
        return True
    keyfile = _json_object(raw)
    return keyfile is not None and any(keyfile.get(field) for field in PRIVATE_FIELDS)


def _decode(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return None


def _is_encrypted(raw: bytes) -> bool:
    return raw.lstrip().startswith(ENCRYPTED_PREFIXES)


def _json_object(raw: bytes) -> Mapping[str, Any] | None:
    try:
        parsed = json.loads(raw)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both are ValueErrors
        return None
    return parsed if isinstance(parsed, dict) else None
