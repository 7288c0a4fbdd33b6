"""Everything a miner should own besides its Service, in the order to apply it.

The Service is built (network.build_service) and applied first, on its own: for a
NodePort without a fixed port, the advertised port is only known once the API server has
allocated it, and the runtime config below needs it. The ConfigMap goes before the
StatefulSet so a new pod never starts on a stale config.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sparket_operator.api import v1alpha1
from sparket_operator.reconcile import config, workload


def desired_objects(
    miner: v1alpha1.SparketMiner,
    *,
    node: str | None,
    advertised_ip: str,
    advertised_port: int,
    egress_ip: str,
    image: str,
    image_pull_policy: str,
    runtime_defaults: Mapping[str, Any] | None = None,
    budget_secret: config.BudgetRedisSecret | None = None,
) -> list[dict[str, Any]]:
    """[ConfigMap, StatefulSet] for the miner; `image` is the operator's default image,
    `runtime_defaults` its settings for every runtime and `budget_secret` the Secret with
    the budget Redis's credentials (mounted, and named in the config by file)."""
    document = config.runtime_config(
        miner.spec,
        advertised_ip=advertised_ip,
        advertised_port=advertised_port,
        egress_ip=egress_ip,
        defaults=runtime_defaults,
        budget_secret=budget_secret,
    )
    stateful_set = workload.build_stateful_set(
        miner,
        node=node,
        config_hash=config.config_hash(document),
        image=image,
        image_pull_policy=image_pull_policy,
        budget_secret=budget_secret,
    )
    return [config.build_config_map(miner, document), stateful_set]
