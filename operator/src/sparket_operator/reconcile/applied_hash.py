"""Apply only what changed: every applied object carries a hash of what we sent.

Server-side apply of an unchanged object stores nothing, but it is still a write call;
with a thousand miners resynced every few minutes that is a steady stream of PATCHes for
no reason. So each desired object is stamped with the hash of its own content, and the
operator skips the apply when the live object carries the same stamp. A hand edit of a
field we own is corrected on the next spec change or operator upgrade (new hash), not
at once: the price of zero idle writes, recorded in docs/decisions.md.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sparket_operator.api.v1alpha1 import GROUP
from sparket_operator.reconcile.observed import annotation

APPLIED_HASH_ANNOTATION = f"{GROUP}/applied-hash"


def content_hash(obj: Mapping[str, Any]) -> str:
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def stamped(obj: Mapping[str, Any]) -> dict[str, Any]:
    """`obj` with its content hash in metadata.annotations."""
    result = copy.deepcopy(dict(obj))
    digest = content_hash(result)
    result["metadata"].setdefault("annotations", {})[APPLIED_HASH_ANNOTATION] = digest
    return result


def needs_apply(live: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> bool:
    return annotation(live, APPLIED_HASH_ANNOTATION) != annotation(desired, APPLIED_HASH_ANNOTATION)
