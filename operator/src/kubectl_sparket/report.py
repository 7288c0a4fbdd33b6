"""`kubectl sparket report`: one zip with what it takes to look into a fleet's trouble.

It holds, per namespace: the SparketMiners, their pods, Services, StatefulSets, claims,
ConfigMaps (the fleet summary and each miner's runtime config) and Events; the operator's
pods and recent logs; each runtime's `/status` through the API server's pod proxy. Secrets
are never read. Everything written passes `redact`, which blanks any value under a key
that names a credential, and any string that looks like a private key or mnemonic, so a
report can be attached to an issue as it is.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from typing import Any

from kubectl_sparket.cluster import CLUSTER_ERRORS

REDACTED = "<redacted>"
# Names that say their value is a credential (a key of a mapping, or an env entry's name).
_SECRET_NAME = re.compile(
    r"(password|passwd|passphrase|token|secret|private|mnemonic|seed|credential|apikey"
    r"|api_key|authorization|\.pem$|^key$|coldkey(?!pub))",
    re.IGNORECASE,
)
# Names that only point at a secret (where it is, not what it is): kept, and walked into.
_REFERENCE = re.compile(r"(Ref$|Name$|^secret$|^items$|^key$)")
_SECRET_VALUE = re.compile(
    r"(-----BEGIN [A-Z ]*PRIVATE KEY-----|\"(secretPhrase|secretSeed|privateKey)\"|"
    r"\b0x[0-9a-f]{64}\b|\$NACL|\$BT|gAAAAA|\$ANSIBLE_VAULT)",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"(://[^/\s:@]*:)[^/\s@]+@")  # redis://user:pw@host


def _secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name)) and not _REFERENCE.search(name)


def redact(value: Any) -> Any:
    """`value` with every credential blanked (dicts, lists and strings, recursively): values
    under credential-like keys (references such as `secretName` or `secretKeyRef`, and
    booleans, are kept), env entries by their name, private keys and keyfiles anywhere, and
    passwords inside URLs."""
    if isinstance(value, dict):
        env_secret = isinstance(value.get("name"), str) and _secret_name(value["name"])
        return {
            k: (
                REDACTED
                if (_secret_name(str(k)) or (env_secret and k == "value"))
                and isinstance(v, str | int | float)
                and not isinstance(v, bool)
                and v != ""
                else redact(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        if _SECRET_VALUE.search(value):
            return REDACTED
        return _URL_PASSWORD.sub(rf"\1{REDACTED}@", value)
    return value


class ReportZip:
    """The zip being written; every entry goes through `redact` (text line by line)."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self._zip = zipfile.ZipFile(self.buffer, "w", compression=zipfile.ZIP_DEFLATED)
        self.names: list[str] = []

    def json(self, name: str, value: Any) -> None:
        self._write(name, json.dumps(redact(value), indent=2, sort_keys=True, default=str))

    def text(self, name: str, text: str) -> None:
        self._write(name, "\n".join(str(redact(line)) for line in text.splitlines()) + "\n")

    def _write(self, name: str, text: str) -> None:
        self._zip.writestr(name, text)
        self.names.append(name)

    def close(self) -> bytes:
        self._zip.close()
        return self.buffer.getvalue()


def attempt(zipped: ReportZip, name: str, collect: Callable[[], Any]) -> None:
    """Write what `collect` returns, or, when it fails, why (a report never stops at the
    first thing it cannot read)."""
    try:
        value = collect()
    except CLUSTER_ERRORS as exc:  # a report records every failure and goes on
        zipped.text(f"{name}.error.txt", f"{type(exc).__name__}: {exc}")
        return
    if isinstance(value, str):
        zipped.text(name, value)
    else:
        zipped.json(name, value)
