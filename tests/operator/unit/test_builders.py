"""The pure builders: what the operator asks Kubernetes for, one miner at a time.

Golden files: each sample miner's objects (Service, ConfigMap, StatefulSet, in apply
order) are rendered and compared with `golden/<sample>.yaml`. After an intended change,
rewrite them with (from the repository root)

    UPDATE_GOLDEN=1 python3 -m uv run --locked --all-packages pytest tests/operator/unit

and review the diff like code: it is exactly what changes in users' clusters.

The focused tests below the golden ones state the properties that must hold whatever the
sample (no key material in env, the two wallet items, owner refs, restricted security,
...), and the runtime-contract tests parse the rendered config with the real runtime.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sparket_local_services.wallets import generated_wallet
from sparket_operator.api import v1alpha1
from sparket_operator.reconcile import config, desired, naming, network, workload

GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"

ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
BOB = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
CHARLIE = "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y"
DAVE = "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy"
# What the chart passes for a production Redis with AUTH and TLS (docs/install.md).
BUDGET_SECRET = config.BudgetRedisSecret("budget-redis", password_key="password", ca_key="ca.crt")
BUDGET_DEFAULTS = {
    "budget": {"redis_url": "rediss://budgets.example:6380/0", "redis_username": "sparket"}
}
DEFAULT_IMAGE = "ghcr.io/sparket/miner-runtime:0.1.0"


@dataclass(frozen=True)
class Sample:
    """A miner as read from the API server, plus what the operator resolved for it."""

    name: str
    body: dict[str, Any]
    node: str | None
    advertised_ip: str
    advertised_port: int
    egress_ip: str
    budget_secret: config.BudgetRedisSecret | None = None
    runtime_defaults: dict[str, Any] | None = None

    def miner(self, **spec_changes: Any) -> v1alpha1.SparketMiner:
        body = copy.deepcopy(self.body)
        body["spec"].update(spec_changes)
        return v1alpha1.SparketMiner.model_validate(body)


def _body(
    name: str, uid: str, spec: dict[str, Any], annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": "miners",
        "uid": uid,
        "generation": 1,
        "resourceVersion": "4711",
    }
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": v1alpha1.API_VERSION,
        "kind": v1alpha1.KIND,
        "metadata": metadata,
        "spec": spec,
    }


SAMPLES = [
    Sample(
        name="nodeport-minimal",
        body=_body(
            "alice",
            "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
            {"hotkey": ALICE, "wallet": {"secretName": "alice-hotkey"}, "leagues": ["nba"]},
        ),
        node=None,
        advertised_ip="203.0.113.10",
        advertised_port=31234,
        egress_ip="203.0.113.10",
    ),
    Sample(
        name="loadbalancer-model-paused",
        body=_body(
            "bob",
            "6fa459ea-ee8a-3ca4-894e-db77e160355e",
            {
                "hotkey": BOB,
                "wallet": {
                    "secretName": "bob-wallet",
                    "walletName": "fleet",
                    "hotkeyName": "bob",
                },
                "network": {"subtensor": "wss://entrypoint-finney.opentensor.ai:443"},
                "axon": {"port": 9000, "exposure": "LoadBalancer"},
                "leagues": ["nhl", "epl", "nba"],
                "model": {"image": "registry.example.com/pricing/elo:2.3", "port": 8088},
                "cadence": {"oddsRefreshSeconds": 600, "jitterSeconds": 45},
                "batchSize": 100,
                "resources": {
                    "requests": {"cpu": "500m", "memory": "512Mi"},
                    "limits": {"cpu": "2", "memory": "1Gi"},
                },
                "placement": {"nodeSelector": {"sparket.io/pool": "miners", "zone": "a"}},
                "storage": {"size": "5Gi", "storageClassName": "local-path"},
                "image": "registry.example.com/sparket/miner-runtime:0.2.0-rc1",
                "paused": True,
            },
        ),
        node=None,
        advertised_ip="198.51.100.20",
        advertised_port=9000,
        egress_ip="198.51.100.1",
    ),
    Sample(
        name="nodeport-pinned-restart",
        body=_body(
            "charlie",
            "c9bf9e57-1685-4c89-bafb-ff5af830be8a",
            {
                "hotkey": CHARLIE,
                "wallet": {"secretName": "charlie-hotkey", "hotkeyName": "charlie"},
                "network": {"subtensor": "test", "netuid": 172},
                "axon": {"nodePort": 30194},
                "leagues": ["mlb"],
                "resources": {"requests": {"cpu": "250m"}, "limits": {}},
                "placement": {"nodeName": "worker-2"},
            },
            annotations={v1alpha1.RESTART_ANNOTATION: "2025-01-31T12:00:00Z"},
        ),
        node="worker-2",
        advertised_ip="192.0.2.7",
        advertised_port=30194,
        egress_ip="192.0.2.1",
    ),
    Sample(
        name="nodeport-budget-redis-secret",
        body=_body(
            "dave",
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            {"hotkey": DAVE, "wallet": {"secretName": "dave-hotkey"}, "leagues": ["nfl"]},
        ),
        node=None,
        advertised_ip="203.0.113.11",
        advertised_port=31235,
        egress_ip="203.0.113.11",
        budget_secret=BUDGET_SECRET,
        runtime_defaults=BUDGET_DEFAULTS,
    ),
]
SAMPLE_IDS = [sample.name for sample in SAMPLES]
MINIMAL, LOAD_BALANCER, PINNED, BUDGET_REDIS = SAMPLES


def _desired(sample: Sample, miner: v1alpha1.SparketMiner | None = None) -> list[dict[str, Any]]:
    return desired.desired_objects(
        miner or sample.miner(),
        node=sample.node,
        advertised_ip=sample.advertised_ip,
        advertised_port=sample.advertised_port,
        egress_ip=sample.egress_ip,
        image=DEFAULT_IMAGE,
        image_pull_policy="IfNotPresent",
        runtime_defaults=sample.runtime_defaults,
        budget_secret=sample.budget_secret,
    )


def _all_objects(sample: Sample) -> list[dict[str, Any]]:
    """Everything one miner owns, in the order the operator applies it."""
    return [network.build_service(sample.miner()), *_desired(sample)]


def _by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [obj for obj in objects if obj["kind"] == kind]
    return found


def _stateful_set(sample: Sample, **spec_changes: Any) -> dict[str, Any]:
    return _by_kind(_desired(sample, sample.miner(**spec_changes)), "StatefulSet")


def _pod_spec(sample: Sample) -> dict[str, Any]:
    pod_spec: dict[str, Any] = _stateful_set(sample)["spec"]["template"]["spec"]
    return pod_spec


def _containers(sample: Sample) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = _pod_spec(sample)["containers"]
    return containers


def _miner_container(sample: Sample) -> dict[str, Any]:
    (container,) = [c for c in _containers(sample) if c["name"] == workload.MINER_CONTAINER]
    return container


def _document(sample: Sample) -> dict[str, Any]:
    return config.runtime_config(
        sample.miner().spec,
        advertised_ip=sample.advertised_ip,
        advertised_port=sample.advertised_port,
        egress_ip=sample.egress_ip,
        defaults=sample.runtime_defaults,
        budget_secret=sample.budget_secret,
    )


# --- golden files ---------------------------------------------------------------------


class _GoldenDumper(yaml.SafeDumper):
    """Multi-line strings (the ConfigMap's runtime.yaml) as readable literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_GoldenDumper.add_representer(str, _represent_str)


def _render(sample: Sample, objects: list[dict[str, Any]]) -> str:
    header = (
        f"# Golden file for the sample miner `{sample.name}` (tests/operator/unit/test_builders.py)"
        "\n# Rewrite with UPDATE_GOLDEN=1; review every changed line.\n"
    )
    body = yaml.dump_all(
        objects, Dumper=_GoldenDumper, sort_keys=False, default_flow_style=False, width=100
    )
    return header + body


@pytest.mark.parametrize("sample", SAMPLES, ids=SAMPLE_IDS)
def test_objects_match_the_golden_file(sample: Sample) -> None:
    objects = _all_objects(sample)
    rendered = _render(sample, objects)
    golden = GOLDEN_DIR / f"{sample.name}.yaml"
    if UPDATE_GOLDEN:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(rendered, encoding="utf-8")
    expected = golden.read_text(encoding="utf-8")
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            rendered.splitlines(keepends=True),
            fromfile=str(golden),
            tofile="rendered",
        )
    )
    assert list(yaml.safe_load_all(expected)) == objects, f"objects differ:\n{diff}"


# --- names, labels, ownership ---------------------------------------------------------


def test_object_names_follow_the_miner_name() -> None:
    names = naming.ObjectNames.of(MINIMAL.miner())
    assert names == naming.ObjectNames(
        stateful_set="alice",
        pod="alice-0",
        service="alice-axon",
        config_map="alice-runtime",
        pvc="data-alice-0",
    )


def test_pvc_name_is_what_the_statefulset_controller_will_create() -> None:
    stateful_set = _stateful_set(MINIMAL)
    (claim,) = stateful_set["spec"]["volumeClaimTemplates"]
    expected = f"{claim['metadata']['name']}-{stateful_set['metadata']['name']}-0"
    assert naming.ObjectNames.of(MINIMAL.miner()).pvc == expected


@pytest.mark.parametrize("sample", SAMPLES, ids=SAMPLE_IDS)
def test_every_object_has_one_controller_owner_ref_with_the_miners_uid(sample: Sample) -> None:
    for obj in _all_objects(sample):
        refs = obj["metadata"]["ownerReferences"]
        controllers = [ref for ref in refs if ref.get("controller")]
        assert len(refs) == 1 and len(controllers) == 1, obj["kind"]
        (ref,) = controllers
        assert ref["uid"] == sample.body["metadata"]["uid"]
        assert (ref["apiVersion"], ref["kind"], ref["name"]) == (
            "sparket.io/v1alpha1",
            "SparketMiner",
            sample.body["metadata"]["name"],
        )
        assert ref["blockOwnerDeletion"] is True
        assert obj["metadata"]["namespace"] == "miners"


def test_owner_reference_needs_a_uid() -> None:
    body = copy.deepcopy(MINIMAL.body)
    del body["metadata"]["uid"]
    with pytest.raises(ValueError, match=r"no metadata\.uid"):
        naming.owner_reference(v1alpha1.SparketMiner.model_validate(body))


@pytest.mark.parametrize("sample", SAMPLES, ids=SAMPLE_IDS)
def test_selectors_pick_the_miners_pod_by_stable_labels_only(sample: Sample) -> None:
    stateful_set = _stateful_set(sample)
    service = network.build_service(sample.miner())
    pod_labels = stateful_set["spec"]["template"]["metadata"]["labels"]
    selector = stateful_set["spec"]["selector"]["matchLabels"]
    assert selector == service["spec"]["selector"]
    assert set(selector) == {"app.kubernetes.io/name", "app.kubernetes.io/instance"}
    assert selector.items() <= pod_labels.items()
    assert pod_labels["sparket.io/hotkey"] == sample.body["spec"]["hotkey"]


# --- secrets stay out of env and config -----------------------------------------------


@pytest.mark.parametrize("sample", SAMPLES, ids=SAMPLE_IDS)
def test_env_holds_file_names_only_never_key_material(sample: Sample) -> None:
    miner = _miner_container(sample)
    assert [var["name"] for var in miner["env"]] == ["SPARKET_CONFIG_FILE", "HOME"]
    for container in _containers(sample):
        assert "envFrom" not in container
        for var in container["env"]:
            assert set(var) == {"name", "value"}, "no valueFrom: nothing is read from a Secret"
            value = var["value"].lower()
            assert "hotkey" not in value and "coldkey" not in value and "wallet" not in value
            assert sample.body["spec"]["hotkey"].lower() not in value


@pytest.mark.parametrize("sample", SAMPLES, ids=SAMPLE_IDS)
def test_the_wallet_volume_projects_exactly_the_two_public_layout_items(sample: Sample) -> None:
    ref = sample.miner().spec.wallet
    (volume,) = [v for v in _pod_spec(sample)["volumes"] if v["name"] == workload.WALLET_VOLUME]
    secret = volume["secret"]
    assert secret["secretName"] == ref.secret_name
    assert secret["defaultMode"] == 0o440
    assert secret["items"] == [
        {"key": "hotkey", "path": f"{ref.wallet_name}/hotkeys/{ref.hotkey_name}"},
        {"key": "coldkeypub.txt", "path": f"{ref.wallet_name}/coldkeypub.txt"},
    ]


def test_the_runtime_loads_the_wallet_as_the_pod_mounts_it(tmp_path: Path) -> None:
    """Lay the Secret's two keys out as the kubelet would (the volume's items under the
    mount path), point the runtime at it with the rendered config, and load the hotkey."""
    from miner_runtime.settings import WalletSettings
    from miner_runtime.wallet import load_wallet

    source = generated_wallet(tmp_path / "source", "fleet", "bob")
    data = {
        "hotkey": Path(source.hotkey_file.path).read_bytes(),
        "coldkeypub.txt": Path(source.coldkeypub_file.path).read_bytes(),
    }
    (volume,) = [v for v in _pod_spec(LOAD_BALANCER)["volumes"] if "secret" in v]
    mount = tmp_path / config.WALLET_ROOT.lstrip("/")
    for item in volume["secret"]["items"]:
        target = mount / item["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data[item["key"]])
    wallet_doc = _document(LOAD_BALANCER)["wallet"]
    settings = WalletSettings(**{**wallet_doc, "path": mount})

    loaded = load_wallet(settings)

    assert loaded.hotkey.ss58_address == source.hotkey.ss58_address


def test_the_budget_redis_secret_is_mounted_read_only_with_only_the_named_keys() -> None:
    secrets = [v for v in _pod_spec(BUDGET_REDIS)["volumes"] if "secret" in v]
    (volume,) = [v for v in secrets if v["name"] == workload.BUDGET_SECRET_VOLUME]
    assert volume["secret"] == {
        "secretName": "budget-redis",
        "defaultMode": 0o440,
        "items": [
            {"key": "password", "path": "password"},
            {"key": "ca.crt", "path": "ca.crt"},
        ],
    }
    (mount,) = [
        m
        for m in _miner_container(BUDGET_REDIS)["volumeMounts"]
        if m["name"] == workload.BUDGET_SECRET_VOLUME
    ]
    assert mount == {
        "name": workload.BUDGET_SECRET_VOLUME,
        "mountPath": config.BUDGET_SECRET_ROOT,
        "readOnly": True,
    }
    # The model sidecar, had it one, would not get it; nor does a miner without the setting.
    for sample in (MINIMAL, LOAD_BALANCER, PINNED):
        names = {v["name"] for v in _pod_spec(sample)["volumes"]}
        assert workload.BUDGET_SECRET_VOLUME not in names


def test_the_budget_redis_secret_keys_map_to_fixed_files_whatever_their_names() -> None:
    renamed = config.BudgetRedisSecret(
        "bitnami-redis", password_key="redis-password", sentinel_password_key="sentinel-pw"
    )
    assert renamed.items() == [
        ("redis-password", "password", "redis_password_file"),
        ("sentinel-pw", "sentinel-password", "sentinel_password_file"),
    ]
    assert renamed.runtime_settings() == {
        "redis_password_file": f"{config.BUDGET_SECRET_ROOT}/password",
        "sentinel_password_file": f"{config.BUDGET_SECRET_ROOT}/sentinel-password",
    }


def test_the_config_names_the_budget_files_and_holds_no_credential() -> None:
    document = _document(BUDGET_REDIS)
    assert document["budget"] == {
        "redis_url": "rediss://budgets.example:6380/0",
        "redis_username": "sparket",
        "redis_password_file": f"{config.BUDGET_SECRET_ROOT}/password",
        "redis_tls_ca_file": f"{config.BUDGET_SECRET_ROOT}/ca.crt",
    }
    env = _miner_container(BUDGET_REDIS)["env"]
    assert all(set(var) == {"name", "value"} for var in env)  # no valueFrom a Secret
    assert "budget" not in _document(MINIMAL)


def test_the_runtime_reads_the_budget_secret_as_the_pod_mounts_it(tmp_path: Path) -> None:
    """Lay the volume's items out as the kubelet would and let the runtime read them with
    the rendered config: the password arrives whole, the CA bundle parses."""
    from miner_runtime.budget.factory import redis_access
    from miner_runtime.settings import BudgetSettings
    from sparket_local_services.pki import make_server_pki

    pki = make_server_pki(tmp_path / "pki", common_name="budgets")
    data = {"password": b"pw-from-secret\n", "ca.crt": pki.ca_cert.read_bytes()}
    (volume,) = [
        v for v in _pod_spec(BUDGET_REDIS)["volumes"] if v["name"] == workload.BUDGET_SECRET_VOLUME
    ]
    mount = tmp_path / config.BUDGET_SECRET_ROOT.lstrip("/")
    mount.mkdir(parents=True)
    for item in volume["secret"]["items"]:
        (mount / item["path"]).write_bytes(data[item["key"]])
    budget = {
        name: str(tmp_path / value.lstrip("/")) if name.endswith("_file") else value
        for name, value in _document(BUDGET_REDIS)["budget"].items()
    }

    access = redis_access(BudgetSettings(**budget))

    assert access.password == "pw-from-secret" and access.username == "sparket"
    assert access.ca_pem == pki.ca_cert.read_text().rstrip("\n")


@pytest.mark.parametrize("sample", SAMPLES, ids=SAMPLE_IDS)
def test_the_config_map_holds_no_wallet_content(sample: Sample) -> None:
    config_map = _by_kind(_desired(sample), "ConfigMap")
    assert set(config_map["data"]) == {"runtime.yaml"}
    text = config_map["data"]["runtime.yaml"]
    for word in ("privateKey", "secretSeed", "secretPhrase", "secretName"):
        assert word not in text


# --- security -------------------------------------------------------------------------


@pytest.mark.parametrize("sample", SAMPLES, ids=SAMPLE_IDS)
def test_every_container_runs_restricted(sample: Sample) -> None:
    pod_spec = _pod_spec(sample)
    assert pod_spec["automountServiceAccountToken"] is False
    assert pod_spec["enableServiceLinks"] is False
    assert pod_spec["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "fsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    for container in pod_spec["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False, container["name"]
        assert context["readOnlyRootFilesystem"] is True, container["name"]
        assert context["runAsNonRoot"] is True, container["name"]
        assert context["capabilities"] == {"drop": ["ALL"]}, container["name"]
        assert "privileged" not in context


@pytest.mark.parametrize("sample", SAMPLES, ids=SAMPLE_IDS)
def test_every_writable_path_is_a_volume(sample: Sample) -> None:
    pod_spec = _pod_spec(sample)
    volumes = {volume["name"] for volume in pod_spec["volumes"]} | {naming.DATA_VOLUME}
    for container in pod_spec["containers"]:
        mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
        assert "/tmp" in mounts, container["name"]
        assert {mount["name"] for mount in mounts.values()} <= volumes
    miner_mounts = {m["mountPath"]: m for m in _miner_container(sample)["volumeMounts"]}
    assert miner_mounts[config.WALLET_ROOT]["readOnly"] is True
    assert miner_mounts[config.CONFIG_DIR]["readOnly"] is True
    assert miner_mounts[config.DATA_DIR]["name"] == naming.DATA_VOLUME


# --- behaviour of the spec ------------------------------------------------------------


def test_paused_scales_to_zero_and_unpaused_to_one() -> None:
    assert _stateful_set(LOAD_BALANCER)["spec"]["replicas"] == 0
    assert _stateful_set(LOAD_BALANCER, paused=False)["spec"]["replicas"] == 1
    assert _stateful_set(MINIMAL)["spec"]["replicas"] == 1


def _template_hash(stateful_set: dict[str, Any]) -> str:
    annotations = stateful_set["spec"]["template"]["metadata"]["annotations"]
    value: str = annotations[naming.CONFIG_HASH_ANNOTATION]
    return value


def test_config_hash_follows_batch_size_and_ignores_paused() -> None:
    base = _template_hash(_stateful_set(MINIMAL))
    assert _template_hash(_stateful_set(MINIMAL, batchSize=51)) != base
    assert _template_hash(_stateful_set(MINIMAL, paused=True)) == base


def test_config_hash_ignores_the_order_of_leagues() -> None:
    forward = _template_hash(_stateful_set(LOAD_BALANCER, leagues=["nba", "nhl"]))
    assert _template_hash(_stateful_set(LOAD_BALANCER, leagues=["nhl", "nba"])) == forward


def test_config_hash_is_the_config_maps_content_hash() -> None:
    config_map, stateful_set = _desired(MINIMAL)
    document = yaml.safe_load(config_map["data"]["runtime.yaml"])
    assert config.config_hash(document) == _template_hash(stateful_set)
    assert config_map["metadata"]["annotations"][naming.CONFIG_HASH_ANNOTATION] == (
        _template_hash(stateful_set)
    )
    assert len(config.config_hash(document)) == 16


def test_restart_annotation_is_copied_onto_the_pod_template_only_when_set() -> None:
    pinned = _stateful_set(PINNED)["spec"]["template"]["metadata"]["annotations"]
    assert pinned[naming.RESTARTED_AT_ANNOTATION] == "2025-01-31T12:00:00Z"
    minimal = _stateful_set(MINIMAL)["spec"]["template"]["metadata"]["annotations"]
    assert set(minimal) == {naming.CONFIG_HASH_ANNOTATION}


@pytest.mark.parametrize("sample", SAMPLES, ids=SAMPLE_IDS)
def test_node_affinity_is_present_iff_a_node_is_given(sample: Sample) -> None:
    for node in (None, "worker-9"):
        stateful_set = workload.build_stateful_set(
            sample.miner(), node=node, config_hash="0" * 16, image=DEFAULT_IMAGE
        )
        pod_spec = stateful_set["spec"]["template"]["spec"]
        if node is None:
            assert "affinity" not in pod_spec
            continue
        terms = pod_spec["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"
        ]["nodeSelectorTerms"]
        assert terms == [
            {
                "matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}
                ]
            }
        ]


def test_node_selector_comes_from_placement() -> None:
    assert _pod_spec(LOAD_BALANCER)["nodeSelector"] == {"sparket.io/pool": "miners", "zone": "a"}
    assert "nodeSelector" not in _pod_spec(MINIMAL)


def test_model_sidecar_only_when_an_image_is_given() -> None:
    names = [container["name"] for container in _containers(LOAD_BALANCER)]
    assert names == ["miner", "model"]
    (model,) = [c for c in _containers(LOAD_BALANCER) if c["name"] == "model"]
    assert model["ports"] == [{"name": "model", "containerPort": 8088, "protocol": "TCP"}]
    assert {"name": "SPARKET_MODEL_PORT", "value": "8088"} in model["env"]
    # The runtime prices through it: on localhost, at the sidecar's port.
    assert _document(LOAD_BALANCER)["pricing"] == {"model_url": "http://127.0.0.1:8088"}
    assert "pricing" not in _document(MINIMAL)
    assert [c["name"] for c in _containers(MINIMAL)] == ["miner"]


def test_spec_image_wins_over_the_operators_default() -> None:
    assert _miner_container(LOAD_BALANCER)["image"] == (
        "registry.example.com/sparket/miner-runtime:0.2.0-rc1"
    )
    assert _miner_container(MINIMAL)["image"] == DEFAULT_IMAGE


def test_unset_resource_amounts_are_left_out() -> None:
    assert _miner_container(PINNED)["resources"] == {"requests": {"cpu": "250m"}}
    assert _miner_container(MINIMAL)["resources"] == {
        "requests": {"cpu": "250m", "memory": "384Mi"},
        "limits": {"memory": "768Mi"},
    }


def test_storage_class_only_when_set() -> None:
    (claim,) = _stateful_set(LOAD_BALANCER)["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "local-path"
    assert claim["spec"]["resources"] == {"requests": {"storage": "5Gi"}}
    (claim,) = _stateful_set(MINIMAL)["spec"]["volumeClaimTemplates"]
    assert "storageClassName" not in claim["spec"]


# --- the Service ----------------------------------------------------------------------


def _service_port(sample: Sample) -> dict[str, Any]:
    (port,) = network.build_service(sample.miner())["spec"]["ports"]
    value: dict[str, Any] = port
    return value


def test_load_balancer_service_has_no_node_port() -> None:
    service = network.build_service(LOAD_BALANCER.miner())
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["spec"]["externalTrafficPolicy"] == "Local"
    assert "nodePort" not in _service_port(LOAD_BALANCER)


def test_node_port_service_fixes_the_port_only_when_asked() -> None:
    assert _service_port(PINNED)["nodePort"] == 30194
    assert "nodePort" not in _service_port(MINIMAL)
    assert network.build_service(MINIMAL.miner())["spec"]["type"] == "NodePort"


def test_service_targets_the_containers_axon_port_by_name() -> None:
    port = _service_port(LOAD_BALANCER)
    (axon,) = [p for p in _miner_container(LOAD_BALANCER)["ports"] if p["name"] == "axon"]
    assert port["targetPort"] == axon["name"]
    assert port["port"] == axon["containerPort"] == 9000


# --- the runtime contract -------------------------------------------------------------


@pytest.mark.parametrize("sample", SAMPLES, ids=SAMPLE_IDS)
def test_the_runtime_accepts_the_rendered_document(sample: Sample) -> None:
    from miner_runtime.protocol.messages import League
    from miner_runtime.settings import Settings

    settings = Settings(**_document(sample))

    spec = sample.miner().spec
    assert settings.axon.advertised == (sample.advertised_ip, sample.advertised_port)
    assert settings.axon.host == "0.0.0.0"
    assert settings.axon.port == spec.axon.port
    assert settings.egress_ip == sample.egress_ip
    assert settings.base_miner.batch_size == spec.batch_size
    assert set(settings.base_miner.leagues) == {League(str(league)) for league in spec.leagues}
    assert settings.wallet.path == Path(config.WALLET_ROOT)
    assert (settings.wallet.name, settings.wallet.hotkey) == (
        spec.wallet.wallet_name,
        spec.wallet.hotkey_name,
    )
    assert settings.miner_api_port == config.CONTROL_PORT
    assert settings.miner_api_host == "0.0.0.0"
    assert settings.data_dir == Path(config.DATA_DIR)
    assert settings.subtensor.netuid == spec.network.netuid


def test_a_subtensor_url_becomes_the_chain_endpoint_and_a_name_the_network() -> None:
    from miner_runtime.settings import Settings

    by_url = Settings(**_document(LOAD_BALANCER)).subtensor
    assert by_url.chain_endpoint == "wss://entrypoint-finney.opentensor.ai:443"
    by_name = Settings(**_document(PINNED)).subtensor
    assert (by_name.network, by_name.chain_endpoint) == ("test", None)


@pytest.fixture
def clean_runtime_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in list(os.environ):
        if name.upper().startswith("SPARKET_"):
            monkeypatch.delenv(name)
    yield monkeypatch


@pytest.mark.parametrize("sample", SAMPLES, ids=SAMPLE_IDS)
def test_the_runtime_loads_the_config_map_file_as_the_pod_sees_it(
    sample: Sample, tmp_path: Path, clean_runtime_env: pytest.MonkeyPatch
) -> None:
    """The file at the path the env names, with the ConfigMap's text, through load_settings."""
    from miner_runtime.settings import Settings, load_settings

    config_map, stateful_set = _desired(sample)
    (mount,) = [
        m for m in _miner_container(sample)["volumeMounts"] if m["name"] == workload.CONFIG_VOLUME
    ]
    env = {var["name"]: var["value"] for var in _miner_container(sample)["env"]}
    relative = Path(env["SPARKET_CONFIG_FILE"]).relative_to(mount["mountPath"])
    (config_volume,) = [
        v for v in stateful_set["spec"]["template"]["spec"]["volumes"] if "configMap" in v
    ]
    assert config_volume["configMap"]["name"] == config_map["metadata"]["name"]
    path = tmp_path / "etc-sparket" / relative
    path.parent.mkdir(parents=True)
    path.write_text(config_map["data"][str(relative)], encoding="utf-8")
    clean_runtime_env.setenv("SPARKET_CONFIG_FILE", str(path))

    loaded = load_settings()

    assert loaded == Settings(**_document(sample))


def test_the_document_is_plain_json() -> None:
    document = _document(LOAD_BALANCER)
    assert json.loads(json.dumps(document)) == document
