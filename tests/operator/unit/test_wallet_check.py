"""The wallet Secret verdict, on real keyfiles written by bittensor_wallet.

Each reason is produced from a Secret built the way a user would build one (`kubectl create
secret generic --from-file` of a real wallet directory), and no message may carry any of
the key material the Secret holds.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bittensor_wallet import Keypair
from bittensor_wallet.keyfile import (
    encrypt_keyfile_data,
    legacy_encrypt_keyfile_data,
    serialized_keypair_to_keyfile_data,
)
from cryptography.fernet import Fernet

from sparket_local_services.wallets import generated_wallet
from sparket_operator.reconcile.wallet import (
    WalletReason,
    WalletVerdict,
    check_wallet_secret,
    short_address,
)


@dataclass(frozen=True)
class Keys:
    """A generated wallet's files, as bytes, and the hotkey's ss58."""

    hotkey: bytes
    coldkeypub: bytes
    ss58: str

    @property
    def hotkey_json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.hotkey)
        return parsed

    def secret_values(self) -> list[str]:
        """Every private value in the hotkey file, with and without the 0x prefix."""
        values = [str(self.hotkey_json[field]) for field in ("privateKey", "secretSeed")]
        values += [value.removeprefix("0x") for value in values]
        values.append(str(self.hotkey_json["secretPhrase"]))
        return values


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    wallet = generated_wallet(tmp_path_factory.mktemp("wallets"), "fleet", "hk1")
    return Keys(
        hotkey=Path(wallet.hotkey_file.path).read_bytes(),
        coldkeypub=Path(wallet.coldkeypub_file.path).read_bytes(),
        ss58=wallet.hotkey.ss58_address,
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _secret(files: Mapping[str, bytes]) -> dict[str, Any]:
    """A Secret as the API server returns it: base64 values under `data`."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "hk1-wallet", "namespace": "miners"},
        "type": "Opaque",
        "data": {key: _b64(value) for key, value in files.items()},
    }


def _good(keys: Keys) -> dict[str, bytes]:
    return {"hotkey": keys.hotkey, "coldkeypub.txt": keys.coldkeypub}


def _without(keyfile: dict[str, Any], *fields: str) -> bytes:
    return json.dumps({k: v for k, v in keyfile.items() if k not in fields}).encode()


def _private_keyfile() -> dict[str, Any]:
    """A second real keyfile with a private key: what a leaked coldkey looks like."""
    pair = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
    parsed: dict[str, Any] = json.loads(serialized_keypair_to_keyfile_data(pair))
    return parsed


def _check(keys: Keys, files: Mapping[str, bytes], *, hotkey: str | None = None) -> WalletVerdict:
    verdict = check_wallet_secret(_secret(files), hotkey=hotkey or keys.ss58)
    for value in keys.secret_values():
        assert value not in verdict.message
        assert value not in verdict.reason
    return verdict


def test_a_hotkey_and_coldkeypub_for_the_spec_hotkey_is_valid(keys: Keys) -> None:
    verdict = _check(keys, _good(keys))
    assert verdict == WalletVerdict(
        valid=True,
        reason="Valid",
        message=f"the Secret holds hotkey {short_address(keys.ss58)} and coldkeypub.txt",
    )


def test_a_missing_secret_is_not_found() -> None:
    verdict = check_wallet_secret(None, hotkey="5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY")
    assert (verdict.valid, verdict.reason) == (False, "SecretNotFound")


def test_a_key_named_coldkey_is_refused_whatever_it_holds(keys: Keys) -> None:
    verdict = _check(keys, {**_good(keys), "coldkey": b"anything at all"})
    assert (verdict.valid, verdict.reason) == (False, "ColdkeyPresent")
    assert verdict.message == (
        "the Secret holds a coldkey private key: store only hotkey and coldkeypub.txt (key coldkey)"
    )


def test_a_private_keyfile_under_another_name_is_a_coldkey(keys: Keys) -> None:
    leaked = json.dumps(_private_keyfile()).encode()
    verdict = _check(keys, {**_good(keys), "my-backup.json": leaked})
    assert (verdict.valid, verdict.reason) == (False, "ColdkeyPresent")
    assert "my-backup.json" in verdict.message
    for field in ("privateKey", "secretSeed", "secretPhrase", "publicKey"):
        assert json.loads(leaked)[field] not in verdict.message


def test_an_encrypted_keyfile_under_another_name_is_a_coldkey(keys: Keys) -> None:
    encrypted = encrypt_keyfile_data(json.dumps(_private_keyfile()).encode(), "pw-1234567")
    verdict = _check(keys, {**_good(keys), "coldkey.enc": encrypted})
    assert verdict.reason == "ColdkeyPresent"


def test_extra_public_files_are_tolerated(keys: Keys) -> None:
    verdict = _check(keys, {**_good(keys), "README": b"hotkey for the fleet"})
    assert verdict.reason == "Valid"


@pytest.mark.parametrize("field", ["privateKey", "secretPhrase", "secretSeed"])
def test_a_coldkeypub_with_a_private_field_is_a_coldkey(keys: Keys, field: str) -> None:
    coldkey = _private_keyfile()
    public = json.loads(keys.coldkeypub)
    coldkeypub = json.dumps({**public, field: coldkey[field]}).encode()
    verdict = _check(keys, {"hotkey": keys.hotkey, "coldkeypub.txt": coldkeypub})
    assert (verdict.valid, verdict.reason) == (False, "ColdkeyPresent")
    assert "coldkeypub.txt" in verdict.message
    assert str(coldkey[field]) not in verdict.message


def test_a_coldkey_outranks_other_faults(keys: Keys) -> None:
    """Even with the hotkey missing, a coldkey in the Secret is the thing to report."""
    verdict = _check(keys, {"coldkey": b"x", "coldkeypub.txt": keys.coldkeypub})
    assert verdict.reason == "ColdkeyPresent"


@pytest.mark.parametrize("missing", ["hotkey", "coldkeypub.txt"])
def test_a_missing_key_is_named(keys: Keys, missing: str) -> None:
    files = {key: value for key, value in _good(keys).items() if key != missing}
    verdict = _check(keys, files)
    assert (verdict.valid, verdict.reason) == (False, "KeyMissing")
    assert f"no key {missing}" in verdict.message


def test_a_secret_without_data_is_missing_the_hotkey(keys: Keys) -> None:
    verdict = check_wallet_secret({"kind": "Secret", "metadata": {}}, hotkey=keys.ss58)
    assert verdict.reason == "KeyMissing"
    assert "no key hotkey" in verdict.message


def test_a_hotkey_that_is_not_base64_is_unreadable(keys: Keys) -> None:
    secret = _secret(_good(keys))
    secret["data"]["hotkey"] = "not base64 at all!"
    verdict = check_wallet_secret(secret, hotkey=keys.ss58)
    assert (verdict.valid, verdict.reason) == (False, "HotkeyUnreadable")
    assert "base64" in verdict.message


@pytest.mark.parametrize(
    "content", [b"this is not json", b'["a", "list"]', b"\xff\xfe\x00binary"], ids=repr
)
def test_a_hotkey_that_is_not_a_json_keyfile_is_unreadable(keys: Keys, content: bytes) -> None:
    verdict = _check(keys, {"hotkey": content, "coldkeypub.txt": keys.coldkeypub})
    assert (verdict.valid, verdict.reason) == (False, "HotkeyUnreadable")


def test_a_nacl_encrypted_hotkey_is_refused(keys: Keys) -> None:
    encrypted = encrypt_keyfile_data(keys.hotkey, "pw-1234567")
    assert encrypted.startswith(b"$NACL")
    verdict = _check(keys, {"hotkey": encrypted, "coldkeypub.txt": keys.coldkeypub})
    assert (verdict.valid, verdict.reason) == (False, "HotkeyEncrypted")


def test_an_ansible_vault_encrypted_hotkey_is_refused(keys: Keys) -> None:
    encrypted = legacy_encrypt_keyfile_data(keys.hotkey, "pw-1234567")
    assert encrypted.startswith(b"$ANSIBLE_VAULT")
    verdict = _check(keys, {"hotkey": encrypted, "coldkeypub.txt": keys.coldkeypub})
    assert verdict.reason == "HotkeyEncrypted"


def test_a_fernet_encrypted_hotkey_is_refused(keys: Keys) -> None:
    """The oldest bittensor keyfiles: a Fernet token (bittensor_wallet still decrypts them)."""
    encrypted = Fernet(Fernet.generate_key()).encrypt(keys.hotkey)
    assert encrypted.startswith(b"gAAAAA")
    verdict = _check(keys, {"hotkey": encrypted, "coldkeypub.txt": keys.coldkeypub})
    assert verdict.reason == "HotkeyEncrypted"


def test_a_hotkey_without_ss58_address_is_unreadable(keys: Keys) -> None:
    hotkey = _without(keys.hotkey_json, "ss58Address")
    verdict = _check(keys, {"hotkey": hotkey, "coldkeypub.txt": keys.coldkeypub})
    assert (verdict.valid, verdict.reason) == (False, "HotkeyUnreadable")
    assert "ss58Address" in verdict.message


def test_a_public_only_hotkey_file_is_unreadable(keys: Keys) -> None:
    hotkey = _without(keys.hotkey_json, "privateKey", "secretSeed", "secretPhrase")
    verdict = _check(keys, {"hotkey": hotkey, "coldkeypub.txt": keys.coldkeypub})
    assert (verdict.valid, verdict.reason) == (False, "HotkeyUnreadable")
    assert "no private key" in verdict.message


@pytest.mark.parametrize("kept", ["privateKey", "secretSeed"])
def test_either_private_part_is_enough(keys: Keys, kept: str) -> None:
    dropped = {"privateKey", "secretSeed"} - {kept}
    hotkey = _without(keys.hotkey_json, *dropped)
    verdict = _check(keys, {"hotkey": hotkey, "coldkeypub.txt": keys.coldkeypub})
    assert verdict.reason == "Valid"


def test_a_hotkey_for_another_address_is_a_mismatch(keys: Keys) -> None:
    spec_hotkey = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    verdict = _check(keys, _good(keys), hotkey=spec_hotkey)
    assert (verdict.valid, verdict.reason) == (False, "HotkeyMismatch")
    assert verdict.message == (
        f"the Secret's hotkey is {short_address(keys.ss58)} but spec.hotkey is 5Grwv…utQY"
    )
    assert keys.ss58 not in verdict.message  # shortened, as everywhere in messages


def test_every_reason_is_camel_case() -> None:
    for reason in WalletReason:
        assert reason.value[0].isupper() and reason.value.isalpha()
