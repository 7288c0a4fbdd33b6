"""The operator on the real control plane: etcd, kube-apiserver, kcm, scheduler, KWOK.

Each test runs the real `python -m sparket_operator` process for its own namespace and
drives it with kubectl, as a user would. KWOK pods never run a container: these tests
check what the operator makes and reports, never dial a pod (the contract test runs the
runtime itself from a rendered pod spec).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sparket_local_cluster.control_plane import DEFAULT_NODES
from sparket_local_cluster.miner_kube_objects import new_wallet
from sparket_local_cluster.operator_process import LocalOperator
from sparket_local_services.waits import poll, wait_for
from sparket_testkit.harness.operator_flows import (
    condition,
    miner,
    owned_objects,
    running,
    volume_for,
    wait_status,
)
from sparket_testkit.harness.status_server import StatusServer
from sparket_testkit.kube_cli import Cli, apply, get_json, try_get_json

pytestmark = pytest.mark.cluster

StartOperator = Callable[..., LocalOperator]
NODE_IPS = {node.name: node.external_ip for node in DEFAULT_NODES}


def _pod(kubectl: Cli, ns: str, name: str) -> dict[str, Any] | None:
    pod: dict[str, Any] | None = try_get_json(kubectl, "pod", f"{name}-0", "-n", ns)
    return pod


def _deploy(kubectl: Cli, ns: str, root: Path, name: str, **spec: Any) -> str:
    wallet = new_wallet(root, name)
    apply(
        kubectl,
        wallet.secret(ns, f"{name}-wallet"),
        volume_for(ns, name),
        miner(ns, name, wallet.hotkey, f"{name}-wallet", **spec),
    )
    return wallet.hotkey


def test_a_miner_is_created_exposed_and_reported(
    kubectl: Cli, ns: str, start_operator: StartOperator, tmp_path: Path
) -> None:
    operator = start_operator()
    hotkey = _deploy(kubectl, ns, tmp_path, "alpha")

    status = wait_status(kubectl, ns, "alpha", running, what="alpha Running", operator=operator)

    pod = _pod(kubectl, ns, "alpha")
    assert pod is not None
    node = pod["spec"]["nodeName"]
    service = get_json(kubectl, "service", "alpha-axon", "-n", ns)
    assert service["spec"]["type"] == "NodePort"
    assert service["spec"]["externalTrafficPolicy"] == "Local"
    node_port = service["spec"]["ports"][0]["nodePort"]
    assert status["endpoint"] == f"{NODE_IPS[node]}:{node_port}"
    assert status["egressIP"] == NODE_IPS[node]
    assert status["node"] == node
    assert status["hotkey"] == hotkey and status["hotkeyShort"] == f"{hotkey[:5]}…{hotkey[-4:]}"
    generation = get_json(kubectl, "sparketminer", "alpha", "-n", ns)["metadata"]["generation"]
    assert status["observedGeneration"] == generation
    assert all(c["observedGeneration"] == generation for c in status["conditions"])

    # The runtime gets the same endpoint and egress it will advertise and budget on.
    config = get_json(kubectl, "configmap", "alpha-runtime", "-n", ns)["data"]["runtime.yaml"]
    assert f"external_port: {node_port}" in config
    assert f"egress_ip: {NODE_IPS[node]}" in config
    assert hotkey not in json.dumps(pod["spec"]["containers"][0].get("env", []))

    uid = get_json(kubectl, "sparketminer", "alpha", "-n", ns)["metadata"]["uid"]
    for kind, name in (
        ("statefulset", "alpha"),
        ("service", "alpha-axon"),
        ("configmap", "alpha-runtime"),
    ):
        refs = get_json(kubectl, kind, name, "-n", ns)["metadata"]["ownerReferences"]
        assert [(r["uid"], r["controller"]) for r in refs] == [(uid, True)]

    table = kubectl("get", "sparketminers", "-n", ns, "-o", "wide").stdout  # endpoint: wide
    assert "alpha" in table and "Running" in table and status["endpoint"] in table
    events = get_json(kubectl, "events", "-n", ns, "--field-selector", "involvedObject.name=alpha")[
        "items"
    ]
    assert [e["reason"] for e in events if e["source"].get("component") == "sparket-operator"] == [
        "MinerReady"
    ]


def test_spec_change_rolls_the_pod_and_keeps_the_endpoint(
    kubectl: Cli, ns: str, start_operator: StartOperator, tmp_path: Path
) -> None:
    operator = start_operator()
    _deploy(kubectl, ns, tmp_path, "beta")
    before = wait_status(kubectl, ns, "beta", running, what="beta Running", operator=operator)
    old_pod = _pod(kubectl, ns, "beta")
    assert old_pod is not None

    kubectl(
        "patch",
        "sparketminer",
        "beta",
        "-n",
        ns,
        "--type=merge",
        "-p",
        '{"spec": {"batchSize": 120}}',
    )

    def rolled(status: dict[str, Any]) -> bool:
        pod = _pod(kubectl, ns, "beta")
        return (
            running(status)
            and condition(status, "UpToDate").get("status") == "True"
            and status.get("observedGeneration") == 2
            and pod is not None
            and pod["metadata"]["uid"] != old_pod["metadata"]["uid"]
        )

    after = wait_status(kubectl, ns, "beta", rolled, what="beta rolled", operator=operator)
    config = get_json(kubectl, "configmap", "beta-runtime", "-n", ns)["data"]["runtime.yaml"]
    assert "batch_size: 120" in config
    assert (after["endpoint"], after["node"]) == (before["endpoint"], before["node"])


def test_pause_and_restart_annotations(
    kubectl: Cli, ns: str, start_operator: StartOperator, tmp_path: Path
) -> None:
    operator = start_operator()
    _deploy(kubectl, ns, tmp_path, "gamma")
    before = wait_status(kubectl, ns, "gamma", running, what="gamma Running", operator=operator)

    kubectl("annotate", "sparketminer", "gamma", "-n", ns, "sparket.io/paused=true")
    paused = wait_status(
        kubectl,
        ns,
        "gamma",
        lambda s: s.get("phase") == "Paused",
        what="gamma Paused",
        operator=operator,
    )
    assert condition(paused, "Ready")["reason"] == "Paused"
    assert get_json(kubectl, "statefulset", "gamma", "-n", ns)["spec"]["replicas"] == 0
    wait_for(lambda: _pod(kubectl, ns, "gamma") is None, timeout=60, what="pod gone")

    kubectl("annotate", "sparketminer", "gamma", "-n", ns, "sparket.io/paused-")
    resumed = wait_status(kubectl, ns, "gamma", running, what="gamma resumed", operator=operator)
    assert resumed["endpoint"] == before["endpoint"]
    pod = _pod(kubectl, ns, "gamma")
    assert pod is not None

    kubectl("annotate", "sparketminer", "gamma", "-n", ns, "sparket.io/restartedAt=now-1")

    def restarted(status: dict[str, Any]) -> bool:
        new = _pod(kubectl, ns, "gamma")
        return (
            running(status)
            and new is not None
            and new["metadata"]["uid"] != pod["metadata"]["uid"]
            and new["metadata"]["annotations"].get("sparket.io/restartedAt") == "now-1"
        )

    wait_status(kubectl, ns, "gamma", restarted, what="gamma restarted", operator=operator)


def test_deleting_a_miner_removes_everything_it_owned(
    kubectl: Cli, ns: str, start_operator: StartOperator, tmp_path: Path
) -> None:
    operator = start_operator()
    _deploy(kubectl, ns, tmp_path, "delta")
    wait_status(kubectl, ns, "delta", running, what="delta Running", operator=operator)
    assert owned_objects(kubectl, ns)["statefulsets"] == ["delta"]

    kubectl("delete", "sparketminer", "delta", "-n", ns, "--wait=true", "--timeout=60s")

    empty = {"statefulsets": [], "services": [], "configmaps": []}
    wait_for(lambda: owned_objects(kubectl, ns) == empty, timeout=60, what="children gone")


def test_missing_wallet_secret_waits_then_recovers(
    kubectl: Cli, ns: str, start_operator: StartOperator, tmp_path: Path
) -> None:
    operator = start_operator()
    wallet = new_wallet(tmp_path, "eps")
    apply(kubectl, volume_for(ns, "eps"), miner(ns, "eps", wallet.hotkey, "eps-wallet"))

    status = wait_status(
        kubectl,
        ns,
        "eps",
        lambda s: condition(s, "WalletValid").get("reason") == "SecretNotFound",
        what="WalletValid=False SecretNotFound",
        operator=operator,
    )
    assert condition(status, "WalletValid")["status"] == "False"
    assert status["phase"] == "Pending"
    assert owned_objects(kubectl, ns)["statefulsets"] == []

    apply(kubectl, wallet.secret(ns, "eps-wallet"))
    recovered = wait_status(kubectl, ns, "eps", running, what="eps Running", operator=operator)
    assert condition(recovered, "WalletValid")["status"] == "True"


def test_a_secret_holding_a_coldkey_is_refused_and_nothing_is_created(
    kubectl: Cli, ns: str, start_operator: StartOperator, tmp_path: Path
) -> None:
    operator = start_operator()
    wallet = new_wallet(tmp_path, "zeta")
    leaked = new_wallet(tmp_path, "zeta-cold").files["hotkey"]  # any private keyfile
    apply(
        kubectl,
        wallet.secret(ns, "zeta-wallet", coldkey=leaked),
        miner(ns, "zeta", wallet.hotkey, "zeta-wallet"),
    )
    status = wait_status(
        kubectl,
        ns,
        "zeta",
        lambda s: s.get("phase") == "Invalid",
        what="zeta Invalid",
        operator=operator,
    )
    assert condition(status, "WalletValid")["reason"] == "ColdkeyPresent"
    assert "coldkey" in condition(status, "Ready")["message"]
    assert owned_objects(kubectl, ns) == {"statefulsets": [], "services": [], "configmaps": []}
    warnings = get_json(
        kubectl, "events", "-n", ns, "--field-selector", "involvedObject.name=zeta,type=Warning"
    )["items"]
    assert [e["reason"] for e in warnings] == ["ColdkeyPresent"]
    assert "privateKey" not in operator.log() and json.loads(leaked)["privateKey"] not in (
        operator.log() + json.dumps(status)
    )


def test_a_duplicate_hotkey_is_refused_until_the_first_miner_goes(
    kubectl: Cli, ns: str, start_operator: StartOperator, tmp_path: Path
) -> None:
    operator = start_operator()
    wallet = new_wallet(tmp_path, "eta")
    apply(
        kubectl,
        wallet.secret(ns, "eta-wallet"),
        volume_for(ns, "first"),
        volume_for(ns, "second"),
        miner(ns, "first", wallet.hotkey, "eta-wallet"),
    )
    wait_status(kubectl, ns, "first", running, what="first Running", operator=operator)
    apply(kubectl, miner(ns, "second", wallet.hotkey, "eta-wallet"))

    refused = wait_status(
        kubectl,
        ns,
        "second",
        lambda s: s.get("phase") == "Invalid",
        what="second refused",
        operator=operator,
    )
    assert condition(refused, "HotkeyUnique")["reason"] == "DuplicateHotkey"
    assert f"{ns}/first" in condition(refused, "HotkeyUnique")["message"]
    assert owned_objects(kubectl, ns)["statefulsets"] == ["first"]

    kubectl("delete", "sparketminer", "first", "-n", ns, "--wait=true", "--timeout=60s")
    wait_status(
        kubectl, ns, "second", running, what="second takes over", operator=operator, timeout=90
    )


def test_two_miners_never_advertise_the_same_endpoint(
    kubectl: Cli, ns: str, start_operator: StartOperator, tmp_path: Path
) -> None:
    operator = start_operator()
    shared = {"exposure": "LoadBalancer", "externalIP": "203.0.113.77", "port": 9000}
    _deploy(kubectl, ns, tmp_path, "lb-one", axon=shared)
    wait_status(kubectl, ns, "lb-one", running, what="lb-one Running", operator=operator)
    _deploy(kubectl, ns, tmp_path, "lb-two", axon=shared)

    refused = wait_status(
        kubectl,
        ns,
        "lb-two",
        lambda s: s.get("phase") == "Invalid",
        what="lb-two refused",
        operator=operator,
    )
    assert condition(refused, "Exposed")["reason"] == "EndpointConflict"
    assert "endpoint" not in refused
    assert "lb-two" not in owned_objects(kubectl, ns)["statefulsets"]

    # The refused miner comes to rest: no Service made and deleted on every look.
    settled = _writes_after_quiet(operator, quiet_seconds=3)
    assert try_get_json(kubectl, "service", "lb-two-axon", "-n", ns) is None
    reconciles = operator.metric("sparket_operator_reconciles_total")
    kubectl("annotate", "sparketminer", "lb-two", "-n", ns, "test.sparket.io/look=again")
    wait_for(
        lambda: operator.metric("sparket_operator_reconciles_total") > reconciles,
        timeout=30,
        what="a look at lb-two after the annotation",
    )
    assert operator.metric("sparket_operator_api_writes_total") == settled


def test_a_fleet_rollout_takes_down_at_most_max_unavailable_miners(
    kubectl: Cli, ns: str, start_operator: StartOperator, tmp_path: Path
) -> None:
    names = [f"roll-{i}" for i in range(4)]
    operator = start_operator(max_unavailable="1")
    for name in names:
        _deploy(kubectl, ns, tmp_path, name)
    for name in names:
        wait_status(kubectl, ns, name, running, what=f"{name} Running", operator=operator)
    pods_before = {n: (_pod(kubectl, ns, n) or {})["metadata"]["uid"] for n in names}

    for name in names:
        kubectl(
            "patch",
            "sparketminer",
            name,
            "-n",
            ns,
            "--type=merge",
            "-p",
            '{"spec": {"cadence": {"oddsRefreshSeconds": 600}}}',
        )

    most_down, queued_seen = 0, False
    for _ in poll(90, every=0.1):
        pods = get_json(kubectl, "pods", "-n", ns)["items"]
        ready = {
            p["metadata"]["name"][:-2]
            for p in pods
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in p["status"].get("conditions", [])
            )
            and not p["metadata"].get("deletionTimestamp")
        }
        most_down = max(most_down, len(set(names) - ready))
        miners = get_json(kubectl, "sparketminers", "-n", ns)["items"]
        queued_seen |= any(
            condition(m.get("status", {}), "UpToDate").get("reason") == "RolloutQueued"
            for m in miners
        )
        rolled = {p["metadata"]["name"][:-2]: p["metadata"]["uid"] for p in pods}
        if all(rolled.get(n) not in (None, pods_before[n]) for n in names) and ready >= set(names):
            break
    else:
        pytest.fail(f"rollout did not finish\n{operator.log()}")
    assert most_down <= 1
    assert queued_seen


def test_operator_killed_mid_reconcile_converges_without_duplicates_or_orphans(
    kubectl: Cli, ns: str, start_operator: StartOperator, tmp_path: Path
) -> None:
    names = [f"crash-{i}" for i in range(12)]
    operator = start_operator()
    for name in names:
        _deploy(kubectl, ns, tmp_path, name)
    # Kill as soon as the first objects exist: some miners are done, some half-done.
    wait_for(lambda: owned_objects(kubectl, ns)["services"], timeout=60, what="first Service")
    operator.kill()
    # While it is down, one miner is deleted: its children must not be left behind.
    kubectl("delete", "sparketminer", names[-1], "-n", ns, "--wait=true", "--timeout=60s")

    restarted = start_operator()
    for name in names[:-1]:
        wait_status(kubectl, ns, name, running, what=f"{name} Running", operator=restarted)
    expected = sorted(names[:-1])
    wait_for(
        lambda: (
            owned_objects(kubectl, ns)
            == {
                "statefulsets": expected,
                "services": sorted(f"{n}-axon" for n in expected),
                "configmaps": sorted(f"{n}-runtime" for n in expected),
            }
        ),
        timeout=60,
        what="exactly one of each object per live miner",
    )
    endpoints = [
        m["status"]["endpoint"] for m in get_json(kubectl, "sparketminers", "-n", ns)["items"]
    ]
    assert len(set(endpoints)) == len(expected)


def test_idle_fleet_makes_no_writes(
    kubectl: Cli, ns: str, start_operator: StartOperator, tmp_path: Path
) -> None:
    operator = start_operator(resync_seconds="10")
    for name in ("idle-a", "idle-b"):
        _deploy(kubectl, ns, tmp_path, name)
    for name in ("idle-a", "idle-b"):
        wait_status(kubectl, ns, name, running, what=f"{name} Running", operator=operator)
    for name in ("idle-a", "idle-b"):
        wait_status(
            kubectl,
            ns,
            name,
            lambda s: condition(s, "UpToDate").get("status") == "True",
            what=f"{name} settled",
            operator=operator,
        )
    settled = _writes_after_quiet(operator, quiet_seconds=3)
    writes_before = [x for x in operator.metrics().splitlines() if "api_writes_total{" in x]
    reconciles = operator.metric("sparket_operator_reconciles_total")
    # A resync every 10 s re-reconciles both miners; none of it may write.
    wait_for(
        lambda: operator.metric("sparket_operator_reconciles_total") >= reconciles + 2,
        timeout=40,
        what="a resync",
    )
    writes_after = [x for x in operator.metrics().splitlines() if "api_writes_total{" in x]
    assert operator.metric("sparket_operator_api_writes_total") == settled, (
        writes_before,
        writes_after,
    )


def _writes_after_quiet(operator: LocalOperator, *, quiet_seconds: float) -> float:
    """The write counter once it has not moved for `quiet_seconds` (convergence done),
    measured on the monotonic clock: a slow metrics scrape must not count as quiet."""
    last = operator.metric("sparket_operator_api_writes_total")
    quiet_since = time.monotonic()
    for _ in poll(60, every=0.5):
        now = operator.metric("sparket_operator_api_writes_total")
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_seconds:
            return last
    raise AssertionError(f"the operator kept writing\n{operator.log_tail(80)}")


def _runtime_status(uid: int, *, accepted: int, paused: bool = False) -> dict[str, Any]:
    validator = {
        "hotkey": "5Validator" + "x" * 38,
        "uid": 0,
        "stake": 1000.0,
        "token_age_seconds": 12.0,
        "token_usable": True,
        "paused_seconds": 31.0 if paused else 0.0,
        "pause_reason": "cooldown" if paused else None,
        "accepted": accepted,
        "rejected": {},
    }
    return {
        "uid": uid,
        "state": "ready",
        "registered": True,
        "egress_ip": "203.0.113.10",
        "validators": [validator],
        "validators_connected": 1,
        "submissions": {
            "accepted": accepted,
            "rejected": 1,
            "last_at": "2026-11-24T10:00:00+00:00",
            "accepted_last_hour": accepted,
            "rejected_last_hour": 1,
        },
    }


def test_runtime_reports_fill_the_fleet_columns(
    kubectl: Cli, ns: str, start_operator: StartOperator, tmp_path: Path
) -> None:
    server = StatusServer()
    try:
        server.documents[f"{ns}/iota"] = _runtime_status(17, accepted=42)
        operator = start_operator(status_url_template=server.template, status_poll_seconds="1")
        _deploy(kubectl, ns, tmp_path, "iota")
        status = wait_status(
            kubectl,
            ns,
            "iota",
            lambda s: running(s) and s.get("uid") == 17,
            what="iota reports uid 17",
            operator=operator,
        )
        assert (status["validatorsConnected"], status["submitted1h"], status["rejected1h"]) == (
            1,
            42,
            1,
        )
        assert condition(status, "Submitting")["status"] == "True"
        row = kubectl("get", "sparketminer", "iota", "-n", ns, "--no-headers").stdout.split()
        assert row[4] == "17" and "42" in row  # NAME READY PHASE HOTKEY UID ...

        server.documents[f"{ns}/iota"] = _runtime_status(17, accepted=43, paused=True)
        degraded = wait_status(
            kubectl,
            ns,
            "iota",
            lambda s: s.get("phase") == "Degraded",
            what="iota throttled",
            operator=operator,
        )
        assert condition(degraded, "Throttled")["status"] == "True"
        assert "cooldown" in condition(degraded, "Throttled")["message"]
    finally:
        server.close()


def test_a_cluster_wide_operator_refuses_a_hotkey_reused_in_another_namespace(
    kubectl: Cli, ns: str, start_operator: StartOperator, tmp_path: Path
) -> None:
    other = f"{ns}-b"
    kubectl("create", "namespace", other)
    try:
        operator = start_operator(namespaces="[]")  # cluster-wide: the production default
        wallet = new_wallet(tmp_path, "theta")
        apply(
            kubectl,
            wallet.secret(ns, "theta-wallet"),
            volume_for(ns, "theta"),
            miner(ns, "theta", wallet.hotkey, "theta-wallet"),
        )
        wait_status(kubectl, ns, "theta", running, what="theta Running", operator=operator)
        apply(
            kubectl,
            wallet.secret(other, "theta-wallet"),
            miner(other, "theta", wallet.hotkey, "theta-wallet"),
        )
        refused = wait_status(
            kubectl,
            other,
            "theta",
            lambda s: s.get("phase") == "Invalid",
            what="the copy in the other namespace is refused",
            operator=operator,
        )
        assert f"{ns}/theta" in condition(refused, "HotkeyUnique")["message"]
        assert owned_objects(kubectl, other)["statefulsets"] == []
    finally:
        kubectl("delete", "namespace", other, "--wait=false")
