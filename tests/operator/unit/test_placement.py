"""Placement: which node a miner runs on, what it advertises, and its egress IP.

Also the two readers placement depends on: `NodeInfo.from_object` (a Node as the API
returns it) and `pinned_node` (the affinity the workload builder renders).
"""

from __future__ import annotations

from typing import Any

import pytest

from sparket_operator.api.v1alpha1 import SparketMiner, SparketMinerSpec
from sparket_operator.reconcile import network, workload
from sparket_operator.reconcile.observed import NodeInfo, pinned_node
from sparket_operator.reconcile.placement import (
    Endpoint,
    choose_node,
    eligible,
    resolve,
)

ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"


def _miner(**spec: Any) -> SparketMiner:
    return SparketMiner.model_validate(
        {
            "metadata": {
                "name": "alice",
                "namespace": "miners",
                "uid": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
                "generation": 1,
            },
            "spec": {
                "hotkey": ALICE,
                "wallet": {"secretName": "alice-hotkey"},
                "leagues": ["nba"],
                **spec,
            },
        }
    )


def _spec(**spec: Any) -> SparketMinerSpec:
    return _miner(**spec).spec


def _node(
    name: str,
    external_ip: str | None = "198.51.100.1",
    *,
    ready: bool = True,
    schedulable: bool = True,
    labels: dict[str, str] | None = None,
) -> NodeInfo:
    return NodeInfo(name, external_ip, ready, schedulable, labels or {})


def _node_port_service(node_port: int | None) -> dict[str, Any]:
    """The axon Service as built, with the port the API server allocated."""
    service = network.build_service(_miner())
    if node_port is not None:
        service["spec"]["ports"][0]["nodePort"] = node_port
    return service


def _lb_service(ingress: list[dict[str, str]] | None) -> dict[str, Any]:
    service = network.build_service(_miner(axon={"exposure": "LoadBalancer"}))
    service["status"] = {"loadBalancer": {"ingress": ingress} if ingress is not None else {}}
    return service


NODES = [_node("worker-c"), _node("worker-a"), _node("worker-b")]


# --- choose_node ------------------------------------------------------------------------


def test_an_explicit_node_name_wins_over_everything() -> None:
    spec = _spec(placement={"nodeName": "worker-x"})
    chosen = choose_node(spec, pinned="worker-a", recorded="worker-b", nodes=NODES, load={})
    assert chosen == "worker-x"


def test_the_pinned_node_beats_the_recorded_one() -> None:
    chosen = choose_node(_spec(), pinned="worker-b", recorded="worker-c", nodes=NODES, load={})
    assert chosen == "worker-b"


def test_the_recorded_node_beats_a_fresh_pick() -> None:
    # worker-a would be the fresh pick (empty, first by name); the recorded node is kept
    # even though it is now the busiest and not Ready: the advertised IP must not move.
    nodes = [_node("worker-a"), _node("worker-c", ready=False)]
    chosen = choose_node(
        _spec(), pinned=None, recorded="worker-c", nodes=nodes, load={"worker-c": 9}
    )
    assert chosen == "worker-c"


def test_a_fresh_pick_is_the_least_loaded_eligible_node() -> None:
    load = {"worker-a": 3, "worker-b": 1, "worker-c": 2}
    assert choose_node(_spec(), pinned=None, recorded=None, nodes=NODES, load=load) == "worker-b"


def test_a_fresh_pick_breaks_ties_by_name() -> None:
    load = {"worker-a": 2, "worker-b": 1, "worker-c": 1}
    assert choose_node(_spec(), pinned=None, recorded=None, nodes=NODES, load=load) == "worker-b"
    assert choose_node(_spec(), pinned=None, recorded=None, nodes=NODES, load={}) == "worker-a"


def test_the_node_selector_filters_candidates() -> None:
    nodes = [
        _node("worker-a", labels={"pool": "general"}),
        _node("worker-b", labels={"pool": "miners", "zone": "b"}),
        _node("worker-c", labels={"pool": "miners", "zone": "a"}),
    ]
    spec = _spec(placement={"nodeSelector": {"pool": "miners", "zone": "a"}})
    load = {"worker-c": 5}
    assert choose_node(spec, pinned=None, recorded=None, nodes=nodes, load=load) == "worker-c"


def test_not_ready_and_unschedulable_nodes_are_skipped() -> None:
    nodes = [
        _node("worker-a", ready=False),
        _node("worker-b", schedulable=False),
        _node("worker-c"),
    ]
    load = {"worker-c": 10}
    assert choose_node(_spec(), pinned=None, recorded=None, nodes=nodes, load=load) == "worker-c"


def test_node_port_needs_a_node_with_an_external_ip() -> None:
    nodes = [_node("worker-a", external_ip=None), _node("worker-b")]
    load = {"worker-b": 4}
    assert choose_node(_spec(), pinned=None, recorded=None, nodes=nodes, load=load) == "worker-b"
    only_internal = [_node("worker-a", external_ip=None)]
    assert choose_node(_spec(), pinned=None, recorded=None, nodes=only_internal, load={}) is None


def test_an_explicit_external_ip_with_a_shared_egress_makes_a_node_without_one_eligible() -> None:
    spec = _spec(axon={"externalIP": "203.0.113.50"})
    nodes = [_node("worker-a", external_ip=None)]
    picked = choose_node(
        spec, pinned=None, recorded=None, nodes=nodes, load={}, shared_egress_ip="192.0.2.9"
    )
    assert picked == "worker-a"
    # Without a shared egress IP the node's ExternalIP is still needed for the egress.
    assert choose_node(spec, pinned=None, recorded=None, nodes=nodes, load={}) is None


def test_a_load_balancer_needs_a_node_external_ip_only_without_a_shared_egress() -> None:
    spec = _spec(axon={"exposure": "LoadBalancer"})
    internal = _node("worker-a", external_ip=None)
    assert eligible(internal, spec, shared_egress_ip="192.0.2.9")
    assert not eligible(internal, spec, shared_egress_ip=None)
    assert not eligible(internal, _spec(), shared_egress_ip="192.0.2.9")


def test_a_load_balancer_miner_is_never_placed_where_egress_cannot_resolve() -> None:
    spec = _spec(axon={"exposure": "LoadBalancer"})
    nodes = [_node("a-internal", external_ip=None), _node("b-public", "198.51.100.7")]
    assert choose_node(spec, pinned=None, recorded=None, nodes=nodes, load={}) == "b-public"


def test_no_eligible_node_means_no_pick() -> None:
    assert choose_node(_spec(), pinned=None, recorded=None, nodes=[], load={}) is None


# --- resolve: NodePort --------------------------------------------------------------------


def test_node_port_advertises_the_node_external_ip_and_the_node_port() -> None:
    node = _node("worker-a", "198.51.100.7")
    resolution = resolve(
        _spec(), service=_node_port_service(31234), node=node, shared_egress_ip=None
    )

    assert resolution.ok
    assert resolution.endpoint == Endpoint("198.51.100.7", 31234)
    assert resolution.egress_ip == "198.51.100.7"
    assert resolution.reason == "EndpointResolved"
    assert str(resolution.endpoint) == "198.51.100.7:31234"


def test_an_explicit_external_ip_replaces_the_node_ip_in_the_endpoint_only() -> None:
    spec = _spec(axon={"externalIP": "203.0.113.50"})
    node = _node("worker-a", "198.51.100.7")
    resolution = resolve(spec, service=_node_port_service(31234), node=node, shared_egress_ip=None)

    assert resolution.endpoint == Endpoint("203.0.113.50", 31234)
    assert resolution.egress_ip == "198.51.100.7"


@pytest.mark.parametrize("service", [None, _node_port_service(None)], ids=["none", "no-port"])
def test_node_port_waits_for_the_allocated_port(service: dict[str, Any] | None) -> None:
    resolution = resolve(_spec(), service=service, node=_node("worker-a"), shared_egress_ip=None)

    assert not resolution.ok
    assert resolution.endpoint is None
    assert resolution.reason == "WaitingForNodePort"
    assert resolution.egress_ip == "198.51.100.1"


def test_node_port_without_any_external_ip_says_so() -> None:
    node = _node("worker-a", external_ip=None)
    resolution = resolve(
        _spec(), service=_node_port_service(31234), node=node, shared_egress_ip="192.0.2.1"
    )

    assert resolution.endpoint is None
    assert resolution.reason == "NoExternalIP"
    assert "spec.axon.externalIP" in resolution.message


def test_a_shared_egress_ip_overrides_the_node_ip() -> None:
    node = _node("worker-a", "198.51.100.7")
    resolution = resolve(
        _spec(), service=_node_port_service(31234), node=node, shared_egress_ip="192.0.2.1"
    )

    assert resolution.egress_ip == "192.0.2.1"
    assert resolution.endpoint == Endpoint("198.51.100.7", 31234)


def test_no_node_is_no_eligible_node_and_names_the_selector() -> None:
    spec = _spec(placement={"nodeSelector": {"pool": "miners"}})
    resolution = resolve(spec, service=_node_port_service(31234), node=None, shared_egress_ip=None)

    assert resolution.reason == "NoEligibleNode"
    assert resolution.endpoint is None and resolution.egress_ip is None
    assert "{'pool': 'miners'}" in resolution.message


def test_no_egress_ip_at_all_is_refused() -> None:
    spec = _spec(axon={"externalIP": "203.0.113.50"})
    node = _node("worker-a", external_ip=None)
    resolution = resolve(spec, service=_node_port_service(31234), node=node, shared_egress_ip=None)

    assert resolution.reason == "NoEgressIP"
    assert not resolution.ok
    assert "worker-a" in resolution.message


# --- resolve: LoadBalancer ------------------------------------------------------------------


LB_SPEC = _spec(axon={"exposure": "LoadBalancer", "port": 9000})


def test_a_load_balancer_advertises_its_ingress_ip_and_the_axon_port() -> None:
    resolution = resolve(
        LB_SPEC,
        service=_lb_service([{"ip": "198.51.100.20"}]),
        node=_node("worker-a"),
        shared_egress_ip=None,
    )

    assert resolution.ok
    assert resolution.endpoint == Endpoint("198.51.100.20", 9000)
    assert resolution.egress_ip == "198.51.100.1"


def test_a_hostname_only_load_balancer_needs_an_explicit_ip() -> None:
    resolution = resolve(
        LB_SPEC,
        service=_lb_service([{"hostname": "abc.elb.example.com"}]),
        node=_node("worker-a"),
        shared_egress_ip=None,
    )

    assert resolution.endpoint is None
    assert resolution.reason == "LoadBalancerHostname"
    assert "abc.elb.example.com" in resolution.message


def test_an_explicit_external_ip_resolves_a_hostname_only_load_balancer() -> None:
    spec = _spec(axon={"exposure": "LoadBalancer", "port": 9000, "externalIP": "203.0.113.9"})
    resolution = resolve(
        spec,
        service=_lb_service([{"hostname": "abc.elb.example.com"}]),
        node=_node("worker-a"),
        shared_egress_ip=None,
    )

    assert resolution.endpoint == Endpoint("203.0.113.9", 9000)


@pytest.mark.parametrize("ingress", [None, []], ids=["no-ingress-key", "empty-ingress"])
def test_a_load_balancer_without_ingress_is_waited_for(
    ingress: list[dict[str, str]] | None,
) -> None:
    resolution = resolve(
        LB_SPEC, service=_lb_service(ingress), node=_node("worker-a"), shared_egress_ip=None
    )

    assert resolution.endpoint is None
    assert resolution.reason == "WaitingForLoadBalancer"
    assert resolution.egress_ip == "198.51.100.1"


# --- Endpoint ---------------------------------------------------------------------------------


def test_an_ipv4_endpoint_renders_as_ip_colon_port() -> None:
    assert str(Endpoint("203.0.113.10", 31234)) == "203.0.113.10:31234"


def test_an_ipv6_endpoint_renders_in_brackets() -> None:
    assert str(Endpoint("2001:db8::7", 31234)) == "[2001:db8::7]:31234"


def test_an_ipv6_ingress_resolves_to_a_bracketed_endpoint() -> None:
    resolution = resolve(
        LB_SPEC,
        service=_lb_service([{"ip": "2001:db8::20"}]),
        node=_node("worker-a"),
        shared_egress_ip=None,
    )
    assert str(resolution.endpoint) == "[2001:db8::20]:9000"


# --- NodeInfo.from_object ------------------------------------------------------------------


def _node_object(
    *,
    addresses: list[dict[str, str]],
    ready: str = "True",
    unschedulable: bool | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "worker-a"}
    if labels is not None:
        metadata["labels"] = labels
    spec: dict[str, Any] = {"podCIDR": "10.42.0.0/24"}
    if unschedulable is not None:
        spec["unschedulable"] = unschedulable
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": metadata,
        "spec": spec,
        "status": {
            "addresses": addresses,
            "conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": ready, "reason": "KubeletReady"},
            ],
        },
    }


def test_node_info_reads_the_external_ip_readiness_and_labels() -> None:
    info = NodeInfo.from_object(
        _node_object(
            addresses=[
                {"type": "InternalIP", "address": "10.0.0.4"},
                {"type": "Hostname", "address": "worker-a"},
                {"type": "ExternalIP", "address": "198.51.100.7"},
            ],
            labels={"pool": "miners"},
        )
    )

    assert info == NodeInfo("worker-a", "198.51.100.7", True, True, {"pool": "miners"})


def test_node_info_without_an_external_ip_or_labels() -> None:
    info = NodeInfo.from_object(
        _node_object(addresses=[{"type": "InternalIP", "address": "10.0.0.4"}])
    )
    assert info.external_ip is None
    assert info.labels == {}


@pytest.mark.parametrize("ready", ["False", "Unknown"])
def test_a_node_whose_ready_condition_is_not_true_is_not_ready(ready: str) -> None:
    info = NodeInfo.from_object(_node_object(addresses=[], ready=ready))
    assert not info.ready


def test_a_node_without_conditions_is_not_ready() -> None:
    obj = _node_object(addresses=[])
    del obj["status"]["conditions"]
    assert not NodeInfo.from_object(obj).ready


def test_a_cordoned_node_is_unschedulable() -> None:
    assert not NodeInfo.from_object(_node_object(addresses=[], unschedulable=True)).schedulable
    assert NodeInfo.from_object(_node_object(addresses=[], unschedulable=False)).schedulable
    assert NodeInfo.from_object(_node_object(addresses=[])).schedulable


# --- pinned_node ------------------------------------------------------------------------------


def test_pinned_node_reads_the_affinity_the_workload_builder_renders() -> None:
    sts = workload.build_stateful_set(
        _miner(), node="worker-2", config_hash="feedfacefeedface", image="example/runtime:1"
    )
    assert pinned_node(sts) == "worker-2"


def test_an_unpinned_workload_has_no_pinned_node() -> None:
    sts = workload.build_stateful_set(
        _miner(), node=None, config_hash="feedfacefeedface", image="example/runtime:1"
    )
    assert pinned_node(sts) is None
    assert pinned_node(None) is None


def test_pinned_node_feeds_choose_node() -> None:
    sts = workload.build_stateful_set(
        _miner(), node="worker-c", config_hash="feedfacefeedface", image="example/runtime:1"
    )
    chosen = choose_node(
        _spec(), pinned=pinned_node(sts), recorded=None, nodes=NODES, load={"worker-c": 50}
    )
    assert chosen == "worker-c"


def test_pinned_node_ignores_affinity_it_did_not_render() -> None:
    sts = workload.build_stateful_set(
        _miner(), node="worker-2", config_hash="feedfacefeedface", image="example/runtime:1"
    )
    terms = sts["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    expression = terms[0]["matchExpressions"][0]
    expression["values"] = ["worker-2", "worker-3"]
    assert pinned_node(sts) is None
    expression["values"] = ["worker-2"]
    expression["operator"] = "NotIn"
    assert pinned_node(sts) is None
