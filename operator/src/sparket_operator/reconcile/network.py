"""The axon Service: how validators reach a miner from outside the cluster.

`externalTrafficPolicy: Local` keeps the client's source IP (validators are told apart by
it) and makes a node answer only for pods it runs, so the IP the miner advertised is the
node it actually lives on. Not-ready pods get no traffic: a validator that connects to a
miner that cannot answer yet counts a failure against it.
"""

from __future__ import annotations

from typing import Any

from sparket_operator.api import v1alpha1
from sparket_operator.reconcile import naming

AXON_PORT_NAME = "axon"


def build_service(miner: v1alpha1.SparketMiner) -> dict[str, Any]:
    """A NodePort or LoadBalancer Service (spec.axon.exposure) for the axon port."""
    axon = miner.spec.axon
    port: dict[str, Any] = {
        "name": AXON_PORT_NAME,
        "port": axon.port,
        "targetPort": AXON_PORT_NAME,
        "protocol": "TCP",
    }
    if axon.exposure is v1alpha1.Exposure.NODE_PORT and axon.node_port is not None:
        port["nodePort"] = axon.node_port
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": naming.object_meta(miner, naming.ObjectNames.of(miner).service),
        "spec": {
            "type": str(axon.exposure),
            "externalTrafficPolicy": "Local",
            "selector": naming.selector_labels(miner),
            "ports": [port],
            "publishNotReadyAddresses": False,
        },
    }
