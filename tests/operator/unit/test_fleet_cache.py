"""FleetCache: each event changes only its own piece of the shared view."""

from __future__ import annotations

from sparket_operator.api.v1alpha1 import SparketMiner
from sparket_operator.controller.fleet_cache import FleetCache
from sparket_operator.reconcile.observed import NodeInfo
from sparket_operator.reconcile.runtime_report import RuntimeReport
from sparket_testkit.harness.operator_world import ALICE, NS, miner

KEY = (NS, "alpha")


def _miner(node: str | None = None, endpoint: str | None = None) -> SparketMiner:
    raw = miner("alpha", ALICE)
    raw["metadata"].update(uid="u1", creationTimestamp="2026-01-01T00:00:00Z")
    raw["status"] = {k: v for k, v in {"node": node, "endpoint": endpoint}.items() if v}
    return SparketMiner.model_validate(raw)


def test_a_deleted_miner_is_forgotten_everywhere_a_missing_one_only_leaves_the_fleet() -> None:
    cache = FleetCache()
    for forget in (cache.miner_deleted, cache.miner_not_found):
        cache.miner_seen(_miner())
        cache.pod_seen(KEY, ready=True, ip="10.0.0.1")
        cache.report_updated(KEY, RuntimeReport(uid=1))
        cache.phase_published(KEY, "Running")
        forget(KEY)
        assert cache.miner_keys() == [] and cache.hotkey_owner(ALICE) is None
        kept = forget == cache.miner_not_found
        assert (cache.report(KEY) is not None) == kept
        assert (cache.poll_targets() == [(KEY, "10.0.0.1")]) == kept
        assert (cache.phase(KEY) == "Running") == kept


def test_a_node_heartbeat_requeues_no_one_a_change_requeues_its_miners() -> None:
    cache = FleetCache()
    cache.miner_seen(_miner(node="n1"))
    info = NodeInfo(name="n1", external_ip="203.0.113.1", ready=True, schedulable=True)
    assert cache.node_seen(info) == [KEY]
    assert cache.node_seen(info) == []
    assert cache.node_seen(NodeInfo("n1", "203.0.113.1", False, True)) == [KEY]
    assert cache.node_gone("n1") == [KEY] and cache.node("n1") is None


def test_reports_change_only_when_different_and_go_with_their_targets() -> None:
    cache = FleetCache()
    assert cache.report_updated(KEY, RuntimeReport(uid=1))
    assert not cache.report_updated(KEY, RuntimeReport(uid=1))
    assert cache.forget_reports_except([]) == [KEY]
    assert not cache.report_forgotten(KEY)


def test_refused_are_the_miners_last_published_invalid() -> None:
    cache = FleetCache()
    cache.phase_published(KEY, "Invalid")
    cache.phase_published((NS, "beta"), "Running")
    assert cache.refused() == [KEY]
    cache.phase_published(KEY, None)
    assert cache.refused() == [] and cache.phase_counts() == {"Running": 1}


def test_a_refused_miner_gives_up_the_endpoint_its_status_claimed() -> None:
    cache = FleetCache()
    cache.miner_seen(_miner(endpoint="203.0.113.1:30000"))
    other = (NS, "beta")
    assert cache.claim_endpoint(other, "203.0.113.1:30000") == KEY

    cache.miner_refused(KEY)

    assert cache.claim_endpoint(other, "203.0.113.1:30000") == other
    assert cache.miner_keys() == [KEY]  # refused, still known


def test_a_running_pod_is_polled_ready_or_not_a_pod_without_an_ip_is_not() -> None:
    """A deregistered runtime fails readiness on purpose and reports why: it is asked."""
    cache = FleetCache()
    cache.miner_seen(_miner())
    cache.pod_seen(KEY, ready=False, ip="10.0.0.1")
    assert cache.poll_targets() == [(KEY, "10.0.0.1")]
    cache.pod_seen(KEY, ready=False, ip=None)
    assert cache.poll_targets() == []


def test_a_pod_with_a_new_ip_drops_the_old_pods_report() -> None:
    cache = FleetCache()
    cache.miner_seen(_miner())
    cache.pod_seen(KEY, ready=True, ip="10.0.0.1")
    cache.report_updated(KEY, RuntimeReport(uid=1))
    cache.pod_seen(KEY, ready=True, ip="10.0.0.1")  # a heartbeat: kept
    assert cache.report(KEY) == RuntimeReport(uid=1)
    cache.pod_seen(KEY, ready=False, ip="10.0.0.9")  # the pod was replaced
    assert cache.report(KEY) is None
