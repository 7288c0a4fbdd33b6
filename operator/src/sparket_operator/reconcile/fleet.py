"""The fleet as one operator process sees it: who owns which hotkey and endpoint, which
node carries how many miners, and who is rolling right now.

Kept in memory, fed from watch events (and seeded by a full list before any reconcile
runs, so the first decisions already see the whole fleet). No I/O; a single asyncio
thread uses it, so a check and the claim that follows it cannot interleave.

Rules:
- **Hotkey:** the oldest SparketMiner (creation time, then namespace/name) owns a hotkey;
  every later one is refused.
- **Endpoint:** the first miner to claim an IP:port keeps it (claims are seeded from
  status, so a restart keeps the same owners); a later miner resolving the same endpoint
  is refused. A refused miner (for its hotkey, its wallet or its endpoint) advertises
  nothing, so it holds no claim: what it held is free for the next miner.
- **Rollout:** at most `limit` miners that were available may be taken down at once to
  apply a new template. A miner that is already unavailable may roll freely (rolling it
  costs nothing), otherwise a broken fleet could never roll out its fix.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

MinerKey = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True)
class MinerSummary:
    key: MinerKey
    uid: str
    created: str
    hotkey: str
    wallet_secret: str
    endpoint: str | None = None
    node: str | None = None

    @property
    def seniority(self) -> tuple[str, str, str]:
        return (self.created, *self.key)


class Fleet:
    def __init__(self) -> None:
        self._miners: dict[MinerKey, MinerSummary] = {}
        self._endpoints: dict[str, MinerKey] = {}
        self._rolling: set[MinerKey] = set()

    def __len__(self) -> int:
        return len(self._miners)

    def miner_keys(self) -> list[MinerKey]:
        return list(self._miners)

    def get(self, key: MinerKey) -> MinerSummary | None:
        return self._miners.get(key)

    def upsert(self, summary: MinerSummary) -> None:
        """Record a miner as read or watched. Its published endpoint seeds a claim only
        when the miner is first seen (a restart keeps the owners): a later summary may be
        a stale watch event and must not bring back a claim a reconcile released."""
        first_seen = summary.key not in self._miners
        self._miners[summary.key] = summary
        if summary.endpoint and first_seen:
            self._endpoints.setdefault(summary.endpoint, summary.key)

    def remove(self, key: MinerKey) -> None:
        self._miners.pop(key, None)
        self._rolling.discard(key)
        self.release_endpoint(key)

    # ---- hotkeys ------------------------------------------------------------------

    def hotkey_owner(self, hotkey: str) -> MinerSummary | None:
        claimants = [m for m in self._miners.values() if m.hotkey == hotkey]
        return min(claimants, key=lambda m: m.seniority) if claimants else None

    # ---- endpoints ----------------------------------------------------------------

    def claim_endpoint(self, key: MinerKey, endpoint: str) -> MinerKey:
        """Claim `endpoint` for `key`; returns the owner (`key` itself when it won). A
        miner holds one claim at most, and none once refused: it then runs nothing."""
        owner = self._endpoints.get(endpoint)
        if owner is not None and owner != key and owner in self._miners:
            self.release_endpoint(key)
            return owner
        self.release_endpoint(key)
        self._endpoints[endpoint] = key
        return key

    def release_endpoint(self, key: MinerKey) -> None:
        """`key` advertises nothing any more (refused, or gone): its claim is free."""
        for endpoint in [e for e, owner in self._endpoints.items() if owner == key]:
            del self._endpoints[endpoint]

    # ---- placement ----------------------------------------------------------------

    def load(self) -> Counter[str]:
        return Counter(m.node for m in self._miners.values() if m.node)

    def place(self, key: MinerKey, node: str) -> None:
        """Count `key` on `node` now, so picks made before its status lands spread out."""
        miner = self._miners.get(key)
        if miner is not None and miner.node != node:
            self._miners[key] = replace(miner, node=node)

    def using_secret(self, namespace: str, secret: str) -> list[MinerKey]:
        return [
            m.key
            for m in self._miners.values()
            if m.key[0] == namespace and m.wallet_secret == secret
        ]

    def on_node(self, node: str) -> list[MinerKey]:
        return [m.key for m in self._miners.values() if m.node == node]

    # ---- rollout ------------------------------------------------------------------

    @property
    def rolling(self) -> frozenset[MinerKey]:
        return frozenset(self._rolling)

    def may_roll(self, key: MinerKey, *, available: bool, limit: int) -> bool:
        """May `key` apply a new template now? Takes a slot when it does."""
        if key in self._rolling or not available:
            return True
        if len(self._rolling) >= limit:
            return False
        self._rolling.add(key)
        return True

    def mark_rolling(self, key: MinerKey) -> None:
        self._rolling.add(key)

    def settled(self, key: MinerKey) -> None:
        self._rolling.discard(key)
