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
# Keys whose value is a credential. `hotkey` (a public ss58 address) and references such
# as `secretName` are kept: they say where a secret is, not what it is.
_SECRET_KEY = re.compile(
    r"(password|passwd|token|secret(?!name)|private|mnemonic|seed|credential|apikey|api_key"
    r"|authorization|\.pem$|^key$|coldkey(?!pub))",
    re.IGNORECASE,
)
_SECRET_VALUE = re.compile(
    r"(-----BEGIN [A-Z ]*PRIVATE KEY-----|\"(secretPhrase|secretSeed|privateKey)\"|"
    r"\b0x[0-9a-f]{64}\b|\$NACL|\$BT|gAAAAA|\$ANSIBLE_VAULT)",
    re.IGNORECASE,
)


def redact(value: Any) -> Any:
    """`value` with every credential blanked (dicts, lists and strings, recursively)."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if _SECRET_KEY.search(str(k)) and v not in (None, "") else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str) and _SECRET_VALUE.search(value):
        return REDACTED
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
