"""The generated CRD on the real API server: admission rejects bad SparketMiners, naming
the field, fills the models' defaults, keeps the immutable fields immutable, and prints the
columns `kubectl get` promises. A schema that only looked right in a unit test fails here."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from sparket_local_services.paths import repo_root
from sparket_operator.api.v1alpha1 import (
    API_VERSION,
    KIND,
    ChainStanding,
    Condition,
    ConditionType,
    Phase,
    SparketMiner,
    SparketMinerSpec,
    SparketMinerStatus,
)
from sparket_testkit.kube_cli import Cli

pytestmark = pytest.mark.cluster

NAMESPACE = "crd-admission"
HOTKEY = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
MINIMAL: dict[str, Any] = {
    "hotkey": HOTKEY,
    "wallet": {"secretName": "miner-wallet"},
    "leagues": ["nfl"],
}


@pytest.fixture(scope="module")
def ns(kubectl: Cli, sparket_crd: str) -> Iterator[str]:
    kubectl("create", "namespace", NAMESPACE)
    yield NAMESPACE
    kubectl("delete", "namespace", NAMESPACE, "--wait=false")


def _miner(name: str, spec: dict[str, Any]) -> str:
    return json.dumps(
        {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": spec,
        }
    )


def _apply(
    kubectl: Cli, name: str, spec: dict[str, Any], *flags: str
) -> subprocess.CompletedProcess[str]:
    return kubectl("apply", *flags, "-f", "-", stdin=_miner(name, spec), check=False)


def _get(kubectl: Cli, name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(
        kubectl("get", "smn", name, "-n", NAMESPACE, "-o", "json").stdout
    )
    return found


def _exists(kubectl: Cli, name: str) -> bool:
    return kubectl("get", "smn", name, "-n", NAMESPACE, check=False).returncode == 0


def _defaulted(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec as the models fill it in: what the server's defaulting must produce too."""
    return SparketMinerSpec.model_validate(spec).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )


def _with(**changes: Any) -> dict[str, Any]:
    return {**MINIMAL, **changes}


BAD_SPECS = [
    pytest.param(
        _with(hotkey=HOTKEY[:-1] + "0"),
        ["spec.hotkey: Invalid value", "should match"],
        id="hotkey-not-ss58",
    ),
    pytest.param(
        _with(wallet={"walletName": "coldkey"}),
        ["spec.wallet.secretName: Required value"],
        id="wallet-without-secret-name",
    ),
    pytest.param(
        _with(leagues=[]),
        ["spec.leagues: Invalid value", "at least 1 items"],
        id="no-leagues",
    ),
    pytest.param(
        _with(leagues=["nfl", "xfl"]),
        ['spec.leagues[1]: Unsupported value: "xfl"'],
        id="unknown-league",
    ),
    pytest.param(
        _with(leagues=["nba", "nba"]),
        ['spec.leagues[1]: Duplicate value: "nba"'],
        id="duplicate-league",
    ),
    pytest.param(
        _with(axon={"nodePort": 80}),
        ["spec.axon.nodePort: Invalid value: 80", "greater than or equal to 30000"],
        id="node-port-out-of-range",
    ),
    pytest.param(
        _with(axon={"exposure": "LoadBalancer", "nodePort": 30080}),
        [
            "spec.axon.nodePort: Invalid value",
            "may only be set when spec.axon.exposure is NodePort",
        ],
        id="node-port-with-load-balancer",
    ),
    pytest.param(
        _with(axon={"exposure": "ClusterIP"}),
        ['spec.axon.exposure: Unsupported value: "ClusterIP"'],
        id="exposure-not-in-enum",
    ),
    pytest.param(
        _with(axon={"externalIP": "not-an-ip"}),
        ['spec.axon.externalIP: Invalid value: "not-an-ip"', "must be a unicast IP"],
        id="external-ip-not-an-ip",
    ),
    pytest.param(
        _with(batchSize=500),
        ["spec.batchSize: Invalid value: 500", "less than or equal to 200"],
        id="batch-size-too-big",
    ),
    pytest.param(
        _with(placement={"nodeSelector": {"disk": "not a label!"}}),
        ["spec.placement.nodeSelector.disk: Invalid value"],
        id="node-selector-value-not-a-label",
    ),
]


@pytest.mark.parametrize(("spec", "expected"), BAD_SPECS)
def test_bad_spec_is_rejected_naming_the_field(
    kubectl: Cli, ns: str, spec: dict[str, Any], expected: list[str], request: pytest.FixtureRequest
) -> None:
    name = request.node.callspec.id
    result = _apply(kubectl, name, spec)
    assert result.returncode != 0, result.stdout
    for fragment in expected:
        assert fragment in result.stderr
    assert not _exists(kubectl, name)


def test_unknown_spec_field_is_rejected_under_strict_validation(kubectl: Cli, ns: str) -> None:
    result = _apply(kubectl, "typo", _with(colour="red"), "--validate=strict")
    assert result.returncode != 0
    assert 'unknown field "spec.colour"' in result.stderr
    assert not _exists(kubectl, "typo")


def test_unknown_spec_field_is_pruned_without_validation(kubectl: Cli, ns: str) -> None:
    _apply(kubectl, "pruned", _with(colour="red"), "--validate=false").check_returncode()
    spec = _get(kubectl, "pruned")["spec"]
    assert "colour" not in spec and spec["hotkey"] == HOTKEY


def test_name_longer_than_45_characters_is_rejected(kubectl: Cli, ns: str) -> None:
    too_long = "m" * 50
    result = _apply(kubectl, too_long, MINIMAL)
    assert result.returncode != 0
    assert "metadata.name: Invalid value" in result.stderr
    assert "metadata.name must be at most 45 characters" in result.stderr
    assert not _exists(kubectl, too_long)

    _apply(kubectl, "m" * 45, MINIMAL).check_returncode()
    assert _exists(kubectl, "m" * 45)


def test_name_starting_with_a_digit_is_rejected(kubectl: Cli, ns: str) -> None:
    result = _apply(kubectl, "7miner", MINIMAL)
    assert result.returncode != 0
    assert "metadata.name must start with a letter" in result.stderr
    assert not _exists(kubectl, "7miner")


def test_minimal_object_is_accepted_and_defaulted_as_the_models_default(
    kubectl: Cli, ns: str
) -> None:
    _apply(kubectl, "minimal", MINIMAL).check_returncode()
    stored = _get(kubectl, "minimal")
    assert stored["spec"]["axon"]["exposure"] == "NodePort"
    assert stored["spec"]["batchSize"] == 50
    assert stored["spec"] == _defaulted(MINIMAL)
    assert SparketMiner.model_validate(stored).spec == SparketMinerSpec.model_validate(MINIMAL)


IMMUTABLE_CHANGES = [
    pytest.param({"hotkey": "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"}, id="hotkey"),
    pytest.param({"wallet": {"secretName": "another-wallet"}}, id="wallet"),
    pytest.param({"storage": {"size": "2Gi"}}, id="storage"),
]


@pytest.mark.parametrize("change", IMMUTABLE_CHANGES)
def test_immutable_field_cannot_change(
    kubectl: Cli, ns: str, change: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    field = request.node.callspec.id
    name = f"immutable-{field}"
    _apply(kubectl, name, MINIMAL).check_returncode()
    result = _apply(kubectl, name, {**MINIMAL, **change})
    assert result.returncode != 0, result.stdout
    assert f"spec.{field}: Invalid value" in result.stderr
    assert f"spec.{field} is immutable" in result.stderr
    assert _get(kubectl, name)["spec"][field] == _defaulted(MINIMAL)[field]


def test_mutable_field_can_change(kubectl: Cli, ns: str) -> None:
    _apply(kubectl, "mutable", MINIMAL).check_returncode()
    _apply(kubectl, "mutable", _with(batchSize=120)).check_returncode()
    stored = _get(kubectl, "mutable")
    assert stored["spec"]["batchSize"] == 120
    assert stored["metadata"]["generation"] == 2


def _status() -> dict[str, Any]:
    ready = Condition(
        type=ConditionType.READY,
        status="True",
        reason="Serving",
        message="serving",
        last_transition_time="2026-01-01T00:00:00Z",
    )
    status = SparketMinerStatus(
        phase=Phase.RUNNING,
        conditions=[ready],
        hotkey=HOTKEY,
        hotkey_short="5Grwva..utQY",
        uid=7,
        endpoint="203.0.113.10:30094",
        egress_ip="203.0.113.10",
        validators_connected=3,
        submitted_1h=12,
        chain=ChainStanding(
            uid=7, incentive=0.0125, emission_alpha_per_day=0.75, immunity_blocks_left=40
        ),
    )
    return status.model_dump(mode="json", by_alias=True, exclude_none=True)


def test_wide_listing_shows_the_printer_columns(kubectl: Cli, ns: str) -> None:
    _apply(kubectl, "columns", MINIMAL).check_returncode()
    kubectl(
        "patch",
        "smn",
        "columns",
        "-n",
        NAMESPACE,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": _status()}),
    )
    lines = kubectl("get", "sparketminers", "-n", NAMESPACE, "-o", "wide").stdout.splitlines()
    assert lines[0].split() == [
        "NAME", "READY", "PHASE", "HOTKEY", "UID", "INCENTIVE", "EMISSION/DAY", "VALIDATORS",
        "SUBMITTED-1H", "AGE", "ENDPOINT", "EGRESS", "IMMUNITY", "MESSAGE",
    ]  # fmt: skip
    [row] = [line.split() for line in lines[1:] if line.startswith("columns ")]
    assert row[:9] == [
        "columns", "True", "Running", "5Grwva..utQY", "7", "0.0125", "0.75", "3", "12",
    ]  # fmt: skip
    assert row[10:] == ["203.0.113.10:30094", "203.0.113.10", "40", "serving"]


def test_short_name_and_category_list_the_miners(kubectl: Cli, ns: str) -> None:
    _apply(kubectl, "listed", MINIMAL).check_returncode()
    for resource in ("smn", "sparket"):
        names = kubectl("get", resource, "-n", NAMESPACE, "-o", "name").stdout.split()
        assert "sparketminer.sparket.io/listed" in names, resource


def test_explain_shows_the_model_docstrings(kubectl: Cli, sparket_crd: str) -> None:
    explained = kubectl("explain", "sparketminers.spec.wallet").stdout
    assert "The Secret holding the hotkey only" in explained
    assert "secretName" in explained


SAMPLES = {
    "sparketminer.yaml": "miner-1",
    "samples/sparketminer-loadbalancer.yaml": "miner-lb-1",
    "samples/sparketminer-model-sidecar.yaml": "miner-model-1",
}


@pytest.mark.parametrize(("path", "name"), SAMPLES.items(), ids=list(SAMPLES))
def test_every_shipped_sample_is_accepted_by_the_api_server(
    kubectl: Cli, ns: str, path: str, name: str
) -> None:
    sample = (repo_root() / "manifests" / path).read_text()
    result = kubectl(
        "apply",
        "--dry-run=server",
        "-n",
        ns,
        "-f",
        "-",
        stdin=sample.replace("namespace: sparket", f"namespace: {ns}"),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"sparketminer.sparket.io/{name} created (server dry run)" in result.stdout


def test_the_samples_above_are_every_sample_shipped() -> None:
    manifests = repo_root() / "manifests"
    shipped = {p.relative_to(manifests).as_posix() for p in manifests.rglob("sparketminer*.yaml")}
    assert shipped == set(SAMPLES)
