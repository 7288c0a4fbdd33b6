"""Where a miner runs and what it tells the world: node, advertised endpoint, egress IP.

A miner's advertised IP:port is on chain; changing it costs score, so the node is chosen
once and kept: an explicit `spec.placement.nodeName` wins, then the node the workload is
already pinned to, then the node recorded in status, and only then a fresh pick (the
eligible node carrying the fewest miners). The endpoint follows from the node (NodePort)
or the load balancer's ingress; the egress IP, which fleet budgets are keyed on, is the
configured shared NAT IP or the node's ExternalIP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sparket_operator.api.v1alpha1 import Exposure, SparketMinerSpec
from sparket_operator.reconcile.observed import NodeInfo, Obj


@dataclass(frozen=True)
class Endpoint:
    ip: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class Resolution:
    """The resolved endpoint and egress IP, or why they cannot be resolved yet."""

    endpoint: Endpoint | None
    egress_ip: str | None
    reason: str
    message: str

    @property
    def ok(self) -> bool:
        return self.endpoint is not None and self.egress_ip is not None


def eligible(node: NodeInfo, spec: SparketMinerSpec, *, shared_egress_ip: str | None) -> bool:
    """Can this miner run on `node` and still resolve an endpoint and an egress IP?

    The node's ExternalIP is needed unless something else stands in for both of its uses:
    a shared egress IP for the egress, and a load balancer or `axon.externalIP` for the
    advertised address."""
    selector = spec.placement.node_selector
    advertised_elsewhere = (
        spec.axon.exposure is not Exposure.NODE_PORT or spec.axon.external_ip is not None
    )
    needs_node_ip = not (shared_egress_ip and advertised_elsewhere)
    return (
        node.ready
        and node.schedulable
        and all(node.labels.get(k) == v for k, v in selector.items())
        and (node.external_ip is not None or not needs_node_ip)
    )


def choose_node(
    spec: SparketMinerSpec,
    *,
    pinned: str | None,
    recorded: str | None,
    nodes: Sequence[NodeInfo],
    load: Mapping[str, int],
    shared_egress_ip: str | None = None,
) -> str | None:
    """The node this miner runs on; None when no node is eligible yet."""
    if spec.placement.node_name:
        return spec.placement.node_name
    for sticky in (pinned, recorded):
        if sticky is not None:
            return sticky
    candidates = [n for n in nodes if eligible(n, spec, shared_egress_ip=shared_egress_ip)]
    if not candidates:
        return None
    return min(candidates, key=lambda n: (load.get(n.name, 0), n.name)).name


def node_port(service: Obj | None) -> int | None:
    if service is None:
        return None
    ports = (service.get("spec") or {}).get("ports") or []
    port = ports[0].get("nodePort") if ports else None
    return port if isinstance(port, int) else None


def load_balancer_ingress(service: Obj | None) -> tuple[str | None, str | None]:
    """(ip, hostname) of the first ingress point, if the load balancer assigned one."""
    if service is None:
        return None, None
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    if not ingress:
        return None, None
    return ingress[0].get("ip"), ingress[0].get("hostname")


def resolve(
    spec: SparketMinerSpec,
    *,
    service: Obj | None,
    node: NodeInfo | None,
    shared_egress_ip: str | None,
) -> Resolution:
    egress = shared_egress_ip or (node.external_ip if node else None)
    if node is None:
        return Resolution(None, None, "NoEligibleNode", _no_node_message(spec))
    if egress is None:
        return Resolution(
            None,
            None,
            "NoEgressIP",
            f"node {node.name} has no ExternalIP and no shared egress IP is configured",
        )
    if spec.axon.exposure is Exposure.NODE_PORT:
        port = node_port(service)
        ip = spec.axon.external_ip or node.external_ip
        if port is None:
            return Resolution(
                None, egress, "WaitingForNodePort", "the axon Service has no nodePort yet"
            )
        if ip is None:
            return Resolution(
                None,
                egress,
                "NoExternalIP",
                f"node {node.name} has no ExternalIP; set spec.axon.externalIP",
            )
        return Resolution(Endpoint(ip, port), egress, "EndpointResolved", "")
    ip, hostname = load_balancer_ingress(service)
    ip = spec.axon.external_ip or ip
    if ip is None and hostname:
        return Resolution(
            None,
            egress,
            "LoadBalancerHostname",
            f"the load balancer gave hostname {hostname}; the chain needs an IP, "
            "set spec.axon.externalIP",
        )
    if ip is None:
        return Resolution(
            None, egress, "WaitingForLoadBalancer", "the load balancer has no ingress IP yet"
        )
    return Resolution(Endpoint(ip, spec.axon.port), egress, "EndpointResolved", "")


def _no_node_message(spec: SparketMinerSpec) -> str:
    wants = "Ready, schedulable, with an ExternalIP"
    if spec.placement.node_selector:
        wants += f", matching nodeSelector {dict(spec.placement.node_selector)}"
    return f"no node is eligible ({wants})"
