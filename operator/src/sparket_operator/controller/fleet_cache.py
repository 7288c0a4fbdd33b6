"""The one in-memory view of the fleet that the controller, the reconciler and the status
poller share, and the only code that changes it.

Each piece has one writer path, named for what happened: watch events say a miner, pod or
node was seen or is gone; the poller says a runtime's report changed or went silent; the
worker records the phase a reconcile published; the reconciler claims endpoints and
rollout slots through the fleet rules (`reconcile.fleet`). Everyone else reads. No
locks: a single asyncio thread uses it, so a check and the claim after it cannot
interleave.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sparket_operator.api.v1alpha1 import Phase, SparketMiner, SparketMinerStatus
from sparket_operator.reconcile.fleet import Fleet, MinerKey, MinerSummary
from sparket_operator.reconcile.observed import NodeInfo
from sparket_operator.reconcile.runtime_report import RuntimeReport

PollTarget = tuple[MinerKey, str]  # (miner, pod IP)


def summary_of(miner: SparketMiner) -> MinerSummary:
    meta = miner.metadata
    return MinerSummary(
        key=(str(meta["namespace"]), str(meta["name"])),
        uid=str(meta.get("uid", "")),
        created=str(meta.get("creationTimestamp", "")),
        hotkey=miner.spec.hotkey,
        wallet_secret=miner.spec.wallet.secret_name,
        endpoint=miner.status.endpoint,
        node=miner.status.node,
    )


class FleetCache:
    def __init__(self) -> None:
        self._fleet = Fleet()
        self._nodes: dict[str, NodeInfo] = {}
        self._reports: dict[MinerKey, RuntimeReport] = {}
        self._pods: dict[MinerKey, tuple[bool, str | None]] = {}  # (ready, pod IP)
        self._phases: dict[MinerKey, str] = {}
        self._statuses: dict[MinerKey, SparketMinerStatus] = {}  # as last read or published

    def __len__(self) -> int:
        """How many miners are known."""
        return len(self._fleet)

    # ---- miners -------------------------------------------------------------------

    def miner_seen(self, miner: SparketMiner) -> None:
        """A miner as read or watched (its status's endpoint and node included)."""
        summary = summary_of(miner)
        self._fleet.upsert(summary)
        self._statuses[summary.key] = miner.status

    def miner_deleted(self, key: MinerKey) -> None:
        """The watch says the miner is deleted: forget everything about it."""
        self._fleet.remove(key)
        self._reports.pop(key, None)
        self._pods.pop(key, None)
        self._phases.pop(key, None)
        self._statuses.pop(key, None)

    def miner_not_found(self, key: MinerKey) -> None:
        """A reconcile read found no miner: it leaves the fleet (freeing its hotkey and
        endpoint) at once; its pod and report go when their own events say so."""
        self._fleet.remove(key)
        self._statuses.pop(key, None)

    def miner_keys(self) -> list[MinerKey]:
        return self._fleet.miner_keys()

    def statuses(self) -> dict[MinerKey, SparketMinerStatus]:
        """Every known miner's status (what the fleet summary is made of)."""
        return dict(self._statuses)

    def reports(self) -> dict[MinerKey, RuntimeReport]:
        return dict(self._reports)

    def hotkey_owner(self, hotkey: str) -> MinerSummary | None:
        return self._fleet.hotkey_owner(hotkey)

    def miners_using_secret(self, namespace: str, secret: str) -> list[MinerKey]:
        return self._fleet.using_secret(namespace, secret)

    # ---- placement and endpoints ----------------------------------------------------

    def node_load(self) -> Counter[str]:
        return self._fleet.load()

    def placed(self, key: MinerKey, node: str) -> None:
        self._fleet.place(key, node)

    def claim_endpoint(self, key: MinerKey, endpoint: str) -> MinerKey:
        """Claim `endpoint` for `key`; returns its owner (`key` itself when it won). The
        loser's own earlier claim goes: a miner refused its endpoint runs nothing."""
        return self._fleet.claim_endpoint(key, endpoint)

    def miner_refused(self, key: MinerKey) -> None:
        """A reconcile stopped the miner before its endpoint (a duplicate hotkey, a wallet
        Secret missing or to fix): it publishes no endpoint, so its claim is free for the
        next miner, as it would be after a restart (claims are seeded from status)."""
        self._fleet.release_endpoint(key)

    # ---- rollouts -------------------------------------------------------------------

    def may_roll(self, key: MinerKey, *, available: bool, limit: int) -> bool:
        """May `key` apply a new template now? Takes a rollout slot when it does."""
        return self._fleet.may_roll(key, available=available, limit=limit)

    def rollout_found_in_progress(self, key: MinerKey) -> None:
        """At start-up: this miner's StatefulSet is still rolling, so it holds a slot."""
        self._fleet.mark_rolling(key)

    def rollout_settled(self, key: MinerKey) -> None:
        self._fleet.settled(key)

    def rolling_count(self) -> int:
        return len(self._fleet.rolling)

    # ---- nodes --------------------------------------------------------------------

    def node_seen(self, info: NodeInfo) -> list[MinerKey]:
        """Record `info`; the miners on that node to look at again (none for a heartbeat
        that changed nothing placement cares about)."""
        if self._nodes.get(info.name) == info:
            return []
        self._nodes[info.name] = info
        return self._fleet.on_node(info.name)

    def node_gone(self, name: str) -> list[MinerKey]:
        """Forget node `name`; the miners on it, to look at again."""
        self._nodes.pop(name, None)
        return self._fleet.on_node(name)

    def node(self, name: str) -> NodeInfo | None:
        return self._nodes.get(name)

    def nodes(self) -> list[NodeInfo]:
        return list(self._nodes.values())

    def node_count(self) -> int:
        return len(self._nodes)

    # ---- pods and runtime reports ------------------------------------------------------

    def pod_seen(self, key: MinerKey, *, ready: bool, ip: str | None) -> None:
        """A pod with a new IP is a new pod: the old one's report is not its own."""
        before = self._pods.get(key)
        if before is not None and before[1] != ip:
            self._reports.pop(key, None)
        self._pods[key] = (ready, ip)

    def pod_gone(self, key: MinerKey) -> None:
        self._pods.pop(key, None)

    def poll_targets(self) -> list[PollTarget]:
        """The miners whose runtime can be asked for its report: a pod with an IP, Ready or
        not (a runtime that fails readiness on purpose, deregistered say, still reports)."""
        return [(key, ip) for key, (_ready, ip) in self._pods.items() if ip]

    def report(self, key: MinerKey) -> RuntimeReport | None:
        return self._reports.get(key)

    def report_updated(self, key: MinerKey, report: RuntimeReport) -> bool:
        """Record the runtime's latest report; True when it differs from the last one."""
        if self._reports.get(key) == report:
            return False
        self._reports[key] = report
        return True

    def report_forgotten(self, key: MinerKey) -> bool:
        """The runtime did not answer; True when there was a report to forget."""
        return self._reports.pop(key, None) is not None

    def forget_reports_except(self, keys: Iterable[MinerKey]) -> list[MinerKey]:
        """Forget the reports of every miner not in `keys`; returns whose were forgotten."""
        wanted = set(keys)
        gone = [key for key in self._reports if key not in wanted]
        for key in gone:
            del self._reports[key]
        return gone

    # ---- phases ---------------------------------------------------------------------

    def phase_published(self, key: MinerKey, phase: str | None) -> None:
        if phase is not None:
            self._phases[key] = phase
        else:
            self._phases.pop(key, None)

    def phase(self, key: MinerKey) -> str | None:
        return self._phases.get(key)

    def phase_counts(self) -> Counter[str]:
        return Counter(self._phases.values())

    def refused(self) -> list[MinerKey]:
        """Miners last published as Invalid (a hotkey or endpoint owner may free up)."""
        return [key for key, phase in self._phases.items() if phase == Phase.INVALID.value]
