"""The operator -> runtime contract: the settings document a miner pod reads at start.

The runtime (`miner_runtime.settings.Settings`) reads a YAML file named by the env
`SPARKET_CONFIG_FILE`; the operator renders that file from the spec plus what only the
operator can know (the advertised endpoint, the egress IP) into a ConfigMap. Keys are the
runtime's own snake_case setting names, and a unit test parses the rendered document with
the real runtime, so the two sides cannot drift apart silently.

No secret ever goes in here: the wallet is mounted from its Secret at `WALLET_ROOT`, the
budget Redis's credentials from theirs at `BUDGET_SECRET_ROOT`, and the document only names
where to find them. The pod paths below are the other half of the contract (the
StatefulSet mounts volumes at exactly these paths).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import yaml

from sparket_operator.api import v1alpha1
from sparket_operator.reconcile import naming

CONFIG_DIR = "/etc/sparket"
CONFIG_FILE_NAME = "runtime.yaml"
CONFIG_FILE = f"{CONFIG_DIR}/{CONFIG_FILE_NAME}"
WALLET_ROOT = "/var/run/sparket/wallets"
BUDGET_SECRET_ROOT = "/var/run/sparket/budget-redis"
DATA_DIR = "/var/lib/sparket"
CONTROL_PORT = 8198

# The env variable the runtime reads the config file name from (miner_runtime.settings).
CONFIG_FILE_ENV = "SPARKET_CONFIG_FILE"

# Listen on every interface: validators reach the axon, and the kubelet's probes and the
# operator's status poller reach the control API, all from outside the pod.
_ALL_INTERFACES = "0.0.0.0"
_ENDPOINT_SCHEMES = ("ws://", "wss://")


# What only the operator may say (per miner, from the spec or the cluster): a runtime
# default naming one of these is refused when the operator starts. Dotted paths; a
# section name covers the whole section.
OPERATOR_OWNED = frozenset(
    {
        "wallet",
        "axon",
        "miner_api_enabled",
        "miner_api_host",
        "miner_api_port",
        "data_dir",
        "egress_ip",
        "subtensor.network",
        "subtensor.chain_endpoint",
        "subtensor.netuid",
        "base_miner.batch_size",
        "base_miner.odds_refresh_seconds",
        "base_miner.outcome_check_seconds",
        "base_miner.jitter_seconds",
        "base_miner.leagues",
        "pricing.model_url",
        # Files in the budget Redis Secret's mount (see BudgetRedisSecret).
        "budget.redis_password_file",
        "budget.redis_tls_ca_file",
        "budget.sentinel_password_file",
    }
)
# Secrets never go in a ConfigMap: these take a mounted file or nothing.
SECRET_SETTINGS = frozenset({"base_miner.odds_api_key", "database_url"})
# URLs that may carry a password in their userinfo.
_URL_SETTINGS = frozenset({"budget.redis_url"})


@dataclass(frozen=True)
class BudgetRedisSecret:
    """A Secret in each miner's namespace holding the budget Redis's credentials, and which
    of its keys holds what (None: that item is absent). Only these keys are mounted, each
    at a fixed file name under BUDGET_SECRET_ROOT that the runtime setting names."""

    name: str
    password_key: str | None = "password"
    ca_key: str | None = None
    sentinel_password_key: str | None = None

    def items(self) -> list[tuple[str, str, str]]:
        """(Secret key, file name, runtime budget setting) of each item present."""
        wanted = (
            (self.password_key, "password", "redis_password_file"),
            (self.ca_key, "ca.crt", "redis_tls_ca_file"),
            (self.sentinel_password_key, "sentinel-password", "sentinel_password_file"),
        )
        return [(key, file, setting) for key, file, setting in wanted if key]

    def runtime_settings(self) -> dict[str, str]:
        """The runtime's budget settings pointing at the mounted files."""
        return {setting: f"{BUDGET_SECRET_ROOT}/{file}" for _, file, setting in self.items()}


def runtime_defaults_problem(defaults: Mapping[str, Any]) -> str | None:
    """Why `defaults` cannot be merged into every miner's ConfigMap, or None."""
    for path, value in _leaves(defaults):
        owned = [p for p in OPERATOR_OWNED if path == p or path.startswith(p + ".")]
        if owned:
            return f"{path} is set by the operator for each miner, not by runtime defaults"
        if path in SECRET_SETTINGS:
            return f"{path} is a secret and would land in a ConfigMap; it cannot be a default"
        if path in _URL_SETTINGS and isinstance(value, str) and urlsplit(value).password:
            return f"{path} carries a password and would land in a ConfigMap"
    return None


def _leaves(document: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted path, value) of every non-mapping value; empty sections count as leaves."""
    leaves: list[tuple[str, Any]] = []
    for key, value in document.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            leaves.extend(_leaves(value, path + "."))
        else:
            leaves.append((path, value))
    return leaves


def merged(defaults: Mapping[str, Any], document: Mapping[str, Any]) -> dict[str, Any]:
    """`document` over `defaults`, section by section (the document wins on a conflict)."""
    result: dict[str, Any] = dict(defaults)
    for key, value in document.items():
        below = result.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            result[key] = merged(below, value)
        else:
            result[key] = value
    return result


def runtime_config(
    spec: v1alpha1.SparketMinerSpec,
    *,
    advertised_ip: str,
    advertised_port: int,
    egress_ip: str,
    defaults: Mapping[str, Any] | None = None,
    budget_secret: BudgetRedisSecret | None = None,
) -> dict[str, Any]:
    """The runtime's settings document for this spec (plain JSON types only), over the
    operator's runtime `defaults` (settings.runtime_defaults); with `budget_secret`, the
    budget Redis's credentials are read from its mounted files."""
    owned = _owned(spec, advertised_ip, advertised_port, egress_ip)
    if budget_secret is not None:
        owned["budget"] = budget_secret.runtime_settings()
    return merged(defaults or {}, owned)


def _owned(
    spec: v1alpha1.SparketMinerSpec, advertised_ip: str, advertised_port: int, egress_ip: str
) -> dict[str, Any]:
    return {
        "wallet": _wallet(spec.wallet),
        "axon": {
            "host": _ALL_INTERFACES,
            "port": spec.axon.port,
            "external_ip": advertised_ip,
            "external_port": advertised_port,
        },
        "subtensor": _subtensor(spec.network),
        "base_miner": _base_miner(spec),
        "miner_api_enabled": True,
        "miner_api_host": _ALL_INTERFACES,
        "miner_api_port": CONTROL_PORT,
        "data_dir": DATA_DIR,
        "egress_ip": egress_ip,
    } | _pricing(spec.model)


def _pricing(model: v1alpha1.ModelSpec) -> dict[str, Any]:
    """A model image prices through its sidecar, on localhost in the same pod."""
    if model.image is None:
        return {}
    return {"pricing": {"model_url": f"http://127.0.0.1:{model.port}"}}


def _wallet(wallet: v1alpha1.WalletRef) -> dict[str, Any]:
    # The Secret's two keys are mounted at <root>/<name>/hotkeys/<hotkey> and
    # <root>/<name>/coldkeypub.txt: the bittensor wallet layout the runtime loads.
    return {"name": wallet.wallet_name, "hotkey": wallet.hotkey_name, "path": WALLET_ROOT}


def _subtensor(network: v1alpha1.NetworkSpec) -> dict[str, Any]:
    """A network name goes to `network`; a ws(s):// URL to `chain_endpoint`, which wins."""
    if network.subtensor.startswith(_ENDPOINT_SCHEMES):
        return {"chain_endpoint": network.subtensor, "netuid": network.netuid}
    return {"network": network.subtensor, "netuid": network.netuid}


def _base_miner(spec: v1alpha1.SparketMinerSpec) -> dict[str, Any]:
    return {
        "batch_size": spec.batch_size,
        "odds_refresh_seconds": spec.cadence.odds_refresh_seconds,
        "outcome_check_seconds": spec.cadence.outcome_check_seconds,
        "jitter_seconds": spec.cadence.jitter_seconds,
        # A set in meaning: sorted so that reordering the list does not roll the pod.
        "leagues": sorted({str(league) for league in spec.leagues}),
    }


def render(document: dict[str, Any]) -> str:
    """The YAML text of the document, keys sorted (stable across operator restarts)."""
    return yaml.safe_dump(document, sort_keys=True, default_flow_style=False)


def config_hash(document: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the document, first 16 hex digits."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def build_config_map(miner: v1alpha1.SparketMiner, document: dict[str, Any]) -> dict[str, Any]:
    """The ConfigMap mounted at CONFIG_DIR, holding the document as `runtime.yaml`."""
    metadata = naming.object_meta(miner, naming.ObjectNames.of(miner).config_map)
    metadata["annotations"] = {naming.CONFIG_HASH_ANNOTATION: config_hash(document)}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata,
        "data": {CONFIG_FILE_NAME: render(document)},
    }
