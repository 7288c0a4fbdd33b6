"""The chart renders valid objects for every supported value combination, the real API
server accepts them, and its schema refuses bad values naming the field."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sparket_local_services.waits import wait_for
from sparket_testkit.harness.chart import CHART, COMBOS, MODES, ROOT, documents, set_args, template
from sparket_testkit.kube_cli import Cli, apply, get_json

pytestmark = pytest.mark.cluster

DRY_RUN_NAMESPACES = ("sparket", "fleet-a", "fleet-b")


def _stand_in_crd(kind: str) -> dict[str, object]:
    """A schema-less stand-in for a prometheus-operator CRD (monitoring.coreos.com/v1):
    it lets the API server accept the kind, not check its fields."""
    plural = kind.lower() + "s"
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.monitoring.coreos.com"},
        "spec": {
            "group": "monitoring.coreos.com",
            "names": {"kind": kind, "plural": plural, "listKind": f"{kind}List"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


@pytest.fixture(scope="module")
def dry_run_cluster(chart_kubectl: Cli) -> Iterator[Cli]:
    """The namespaces the renders name, and the monitoring kinds, so that a server-side
    dry run judges the objects themselves."""
    for ns in DRY_RUN_NAMESPACES:
        chart_kubectl("create", "namespace", ns)
    kinds = ("ServiceMonitor", "PodMonitor", "PrometheusRule")
    apply(chart_kubectl, *(_stand_in_crd(kind) for kind in kinds))
    for kind in kinds:
        name = f"crd/{kind.lower()}s.monitoring.coreos.com"
        chart_kubectl("wait", "--for=condition=Established", name, "--timeout=30s")
    yield chart_kubectl


@pytest.mark.parametrize("combo", list(COMBOS))
def test_helm_lint_strict_passes(offline_helm: Cli, combo: str) -> None:
    """A warning is a failure under --strict, so each combination lints clean."""
    result = offline_helm("lint", "--strict", str(CHART), *set_args(COMBOS[combo]))
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("combo", list(COMBOS))
def test_render_is_accepted_by_the_api_server(
    offline_helm: Cli, dry_run_cluster: Cli, combo: str
) -> None:
    """Every object of every combination passes the real API server's validation
    (schemas, strict field validation, admission) in a server-side dry run."""
    rendered = template(offline_helm, *COMBOS[combo])
    objects = documents(rendered)
    result = dry_run_cluster("apply", "--dry-run=server", "-f", "-", stdin=rendered)
    accepted = [line for line in result.stdout.splitlines() if line.endswith("(server dry run)")]
    assert len(accepted) == len(objects), result.stdout
    kinds = {obj["kind"] for obj in objects}
    if "monitoring" in combo:
        assert {"ServiceMonitor", "PodMonitor", "PrometheusRule"} <= kinds
    if "namespaced" in combo:
        role_namespaces = {o["metadata"]["namespace"] for o in objects if o["kind"] == "Role"}
        assert role_namespaces == {"fleet-a", "fleet-b"}
        assert "Role" in kinds and "RoleBinding" in kinds


@pytest.mark.parametrize(
    ("values", "field", "says"),
    [
        (("operator.replicas=2",), "/operator/replicas", "must be one of 0, 1"),
        (("rbac.scope=both",), "/rbac/scope", "must be one of 'cluster', 'namespaced'"),
        (("operator.replica=1",), "/operator", "additional properties 'replica' not allowed"),
        (
            ("redis.mode=external", "redis.external.url=redis://:hunter2@redis.example:6379/0"),
            "/redis/external/url",
            "does not match pattern",
        ),
        (("redis.mode=external",), "/redis/external/url", "minLength"),
        (("redis.mode=sentinel",), "/redis/sentinel/hosts", "minItems"),
        (("runtime.config.wallet.name=other",), "/runtime/config/wallet", "failed"),
        (("runtime.config.budget.redis_url=redis://x:6379",), "/runtime/config/budget", ""),
        (
            ("runtime.config.budget.redis_password_file=/elsewhere",),
            "/runtime/config/budget/redis_password_file",
            "'not' failed",
        ),
        (
            ("redis.external.existingSecret=Budget_Redis",),
            "/redis/external/existingSecret",
            "does not match pattern",
        ),
        (
            ("redis.external.tls.enabled=true",),
            "/redis/external/tls",
            "additional properties 'enabled' not allowed",
        ),
        (("redis.sentinel.passwordKey=a/b",), "/redis/sentinel/passwordKey", "pattern"),
    ],
    ids=[
        "replicas-2",
        "scope-both",
        "unknown-key",
        "url-with-password",
        "external-without-url",
        "sentinel-without-hosts",
        "operator-owned-runtime-setting",
        "redis-url-outside-redis-values",
        "password-file-outside-the-operator",
        "secret-name-not-dns",
        "external-tls-is-the-url-scheme",
        "secret-key-with-slash",
    ],
)
def test_schema_refuses_bad_values_naming_the_field(
    offline_helm: Cli, values: tuple[str, ...], field: str, says: str
) -> None:
    """A typo or a wrong value fails before anything reaches the cluster."""
    result = offline_helm("template", "x", str(CHART), *set_args(values), check=False)
    assert result.returncode != 0
    assert f"at '{field}" in result.stderr, result.stderr
    assert says in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("values", "says"),
    [
        (
            ("redis.external.url=redis://budgets.example:6379/0", "redis.external.tls.caKey=ca"),
            "redis.external.tls.caKey needs a rediss:// redis.external.url",
        ),
        (
            ("redis.external.url=rediss://budgets.example:6380/0", "redis.external.tls.caKey=ca"),
            "keys of existingSecret, which is empty",
        ),
        (
            (
                "redis.external.url=rediss://budgets.example:6380/0",
                "redis.external.existingSecret=budget-redis",
                "redis.external.passwordKey=",
            ),
            "no key is named to mount from it",
        ),
    ],
    ids=["ca-without-tls", "ca-without-secret", "secret-without-keys"],
)
def test_credentials_values_that_cannot_work_fail_the_render(
    offline_helm: Cli, values: tuple[str, ...], says: str
) -> None:
    args = set_args(("redis.mode=external", *values))
    result = offline_helm("template", "x", str(CHART), *args, check=False)
    assert result.returncode != 0 and says in result.stderr, result.stderr


@pytest.mark.parametrize("mode", ["external", "sentinel"])
def test_the_budget_secret_reaches_the_operator_by_name_only(offline_helm: Cli, mode: str) -> None:
    """The operator is told the Secret's name and keys; the runtime defaults carry the user
    and TLS, never a password or a path the operator owns."""
    objects = documents(template(offline_helm, *MODES[mode]))
    (settings,) = [
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-config")
    ]
    data = settings["data"]
    assert data["SPARKET_OPERATOR_BUDGET_REDIS_SECRET"] == "budget-redis"
    assert data["SPARKET_OPERATOR_BUDGET_REDIS_PASSWORD_KEY"] == "password"
    assert data["SPARKET_OPERATOR_BUDGET_REDIS_CA_KEY"] == "ca.crt"
    budget = json.loads(data["SPARKET_OPERATOR_RUNTIME_DEFAULTS"])["budget"]
    if mode == "external":
        assert budget == {
            "redis_url": "rediss://budgets.example:6380/1",
            "redis_username": "sparket",
        }
        assert data["SPARKET_OPERATOR_BUDGET_SENTINEL_PASSWORD_KEY"] == ""
    else:
        assert budget["redis_tls"] is True and "redis_username" not in budget
        assert data["SPARKET_OPERATOR_BUDGET_SENTINEL_PASSWORD_KEY"] == "sentinel-password"
    assert not any(key.endswith("_file") for key in budget)
    defaults = documents(template(offline_helm))
    (plain,) = [
        o
        for o in defaults
        if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-config")
    ]
    assert not any(key.startswith("SPARKET_OPERATOR_BUDGET_") for key in plain["data"])


def test_install_bundle_applies_and_runs_under_restricted_pod_security(
    chart_kubectl: Cli, dry_run_cluster: Cli
) -> None:
    """`kubectl apply -f manifests/install.yaml` works as documented: the Namespace comes
    first (labelled restricted), the operator pod is admitted there, and every sample
    SparketMiner then passes the CRD's strict validation."""
    chart_kubectl("apply", "-f", str(ROOT / "manifests" / "install.yaml"))
    labels = get_json(chart_kubectl, "namespace", "sparket")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"

    def operator_pod_running() -> bool:
        pods = get_json(
            chart_kubectl, "pods", "-n", "sparket", "-l", "app.kubernetes.io/component=operator"
        )["items"]
        return any(p.get("status", {}).get("phase") == "Running" for p in pods)

    wait_for(operator_pod_running, timeout=60, what="the bundle's operator pod Running")
    chart_kubectl("wait", "--for=condition=Established", "crd/sparketminers.sparket.io")
    samples = [
        ROOT / "manifests" / "sparketminer.yaml",
        *(ROOT / "manifests" / "samples").glob("*.yaml"),
    ]
    for sample in samples:
        result = chart_kubectl("apply", "--dry-run=server", "--validate=strict", "-f", str(sample))
        assert "created (server dry run)" in result.stdout, (sample, result.stdout)
