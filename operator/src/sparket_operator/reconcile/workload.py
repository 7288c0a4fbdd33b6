"""The miner's workload: a one-replica StatefulSet per hotkey.

A StatefulSet, not a Deployment, because a hotkey must never run twice (two pods signing
for one hotkey would double-submit and confuse validators): a StatefulSet replaces its pod
only after the old one is gone, gives it a stable name (`<miner>-0`), and keeps its
database on a PVC that outlives restarts.

Security is restricted by construction: the hotkey reaches the pod only as two files
projected read-only from the wallet Secret (`items` name exactly the two keys, so nothing
else in that Secret is ever mounted), and the budget Redis's password and CA bundle, when
configured, the same way from theirs; no key material is ever put in an environment
variable; the root filesystem is read-only and every capability is dropped. The node
affinity keeps the pod on the node whose IP the miner advertised on chain, because a
changed IP costs score.
"""

from __future__ import annotations

from typing import Any

from sparket_operator.api import v1alpha1
from sparket_operator.reconcile import config, naming, wallet

MINER_CONTAINER = "miner"
MODEL_CONTAINER = "model"
RUN_AS = 10001
TERMINATION_GRACE_SECONDS = 30
HOSTNAME_LABEL = "kubernetes.io/hostname"

MODEL_PORT_ENV = "SPARKET_MODEL_PORT"
# An emptyDir of the pod's own: the only writable scratch space on a read-only root.
_TMP = "/tmp"
_TMP_SIZE_LIMIT = "256Mi"
_SECRET_FILE_MODE = 0o440

# Volume names inside the pod.
CONFIG_VOLUME = "config"
WALLET_VOLUME = "wallet"
BUDGET_SECRET_VOLUME = "budget-redis"
TMP_VOLUME = "tmp"
MODEL_TMP_VOLUME = "model-tmp"


def runtime_image(spec: v1alpha1.SparketMinerSpec, default: str) -> str:
    """`spec.image` when set, else the operator's configured runtime image."""
    return spec.image or default


def build_stateful_set(
    miner: v1alpha1.SparketMiner,
    *,
    node: str | None,
    config_hash: str,
    image: str,
    image_pull_policy: str = "IfNotPresent",
    budget_secret: config.BudgetRedisSecret | None = None,
) -> dict[str, Any]:
    """The miner's StatefulSet. `image` is the default runtime image (`spec.image` wins);
    `node`, when given, is the node the pod is pinned to; `budget_secret`, when given, is
    mounted for the budget Redis's credentials."""
    names = naming.ObjectNames.of(miner)
    spec = miner.spec
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": naming.object_meta(miner, names.stateful_set),
        "spec": {
            "replicas": 0 if spec.paused else 1,
            "serviceName": names.service,
            "selector": {"matchLabels": naming.selector_labels(miner)},
            "podManagementPolicy": "Parallel",
            "updateStrategy": {"type": "RollingUpdate"},
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": "Delete",
                "whenScaled": "Retain",
            },
            "template": _pod_template(
                miner,
                node=node,
                config_hash=config_hash,
                image=runtime_image(spec, image),
                image_pull_policy=image_pull_policy,
                budget_secret=budget_secret,
            ),
            "volumeClaimTemplates": [_data_claim(miner)],
        },
    }


def _data_claim(miner: v1alpha1.SparketMiner) -> dict[str, Any]:
    storage = miner.spec.storage
    claim_spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": storage.size}},
    }
    if storage.storage_class_name is not None:
        claim_spec["storageClassName"] = storage.storage_class_name
    # Selector labels only: a volumeClaimTemplate can never be changed after creation.
    return {
        "metadata": {"name": naming.DATA_VOLUME, "labels": naming.selector_labels(miner)},
        "spec": claim_spec,
    }


def _pod_template(
    miner: v1alpha1.SparketMiner,
    *,
    node: str | None,
    config_hash: str,
    image: str,
    image_pull_policy: str,
    budget_secret: config.BudgetRedisSecret | None,
) -> dict[str, Any]:
    spec = miner.spec
    miner_container = _miner_container(spec, image=image, image_pull_policy=image_pull_policy)
    containers = [miner_container]
    volumes = _volumes(miner)
    if budget_secret is not None:
        volumes.append(_budget_secret_volume(budget_secret))
        miner_container["volumeMounts"].append(
            {"name": BUDGET_SECRET_VOLUME, "mountPath": config.BUDGET_SECRET_ROOT, "readOnly": True}
        )
    if spec.model.image is not None:
        containers.append(_model_container(spec.model, image_pull_policy=image_pull_policy))
        volumes.append(_tmp_volume(MODEL_TMP_VOLUME))
    pod_spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
        "containers": containers,
        "volumes": volumes,
    }
    if spec.placement.node_selector:
        pod_spec["nodeSelector"] = dict(spec.placement.node_selector)
    if node is not None:
        pod_spec["affinity"] = _pinned_to(node)
    return {
        "metadata": {
            "labels": naming.labels(miner),
            "annotations": _template_annotations(miner, config_hash),
        },
        "spec": pod_spec,
    }


def _template_annotations(miner: v1alpha1.SparketMiner, config_hash: str) -> dict[str, str]:
    annotations = {naming.CONFIG_HASH_ANNOTATION: config_hash}
    restarted_at = (miner.metadata.get("annotations") or {}).get(v1alpha1.RESTART_ANNOTATION)
    if restarted_at is not None:
        annotations[naming.RESTARTED_AT_ANNOTATION] = str(restarted_at)
    return annotations


def _pinned_to(node: str) -> dict[str, Any]:
    term = {"matchExpressions": [{"key": HOSTNAME_LABEL, "operator": "In", "values": [node]}]}
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}
        }
    }


def restricted_security_context() -> dict[str, Any]:
    """The container securityContext of the Pod Security Standard `restricted`, plus a
    read-only root filesystem."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def _miner_container(
    spec: v1alpha1.SparketMinerSpec, *, image: str, image_pull_policy: str
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": MINER_CONTAINER,
        "image": image,
        "imagePullPolicy": image_pull_policy,
        "args": ["serve"],  # the image's entrypoint is `python -m miner_runtime`
        # File names only: the wallet is a mounted file, never an env value.
        "env": [
            {"name": config.CONFIG_FILE_ENV, "value": config.CONFIG_FILE},
            {"name": "HOME", "value": _TMP},
        ],
        "ports": [
            {"name": "axon", "containerPort": spec.axon.port, "protocol": "TCP"},
            {"name": "control", "containerPort": config.CONTROL_PORT, "protocol": "TCP"},
        ],
        **_probes(),
        "securityContext": restricted_security_context(),
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [
            {"name": CONFIG_VOLUME, "mountPath": config.CONFIG_DIR, "readOnly": True},
            {"name": WALLET_VOLUME, "mountPath": config.WALLET_ROOT, "readOnly": True},
            {"name": naming.DATA_VOLUME, "mountPath": config.DATA_DIR},
            {"name": TMP_VOLUME, "mountPath": _TMP},
        ],
    }
    resources = _resources(spec.resources)
    if resources:
        container["resources"] = resources
    return container


def _probes() -> dict[str, Any]:
    """Probes on the control port. The startup probe allows five minutes: the runtime
    connects to the chain before it serves anything. Readiness means the axon is served
    and the hotkey registered; liveness only that the event loop runs."""

    def http_get(path: str) -> dict[str, Any]:
        return {"path": path, "port": "control", "scheme": "HTTP"}

    return {
        "startupProbe": {
            "httpGet": http_get("/health"),
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 30,
        },
        "readinessProbe": {
            "httpGet": http_get("/ready"),
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        },
        "livenessProbe": {
            "httpGet": http_get("/health"),
            "periodSeconds": 20,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        },
    }


def _resources(resources: v1alpha1.ResourcesSpec) -> dict[str, Any]:
    """requests/limits with unset amounts left out (and empty sections dropped)."""
    rendered: dict[str, Any] = {}
    for section, amounts in (("requests", resources.requests), ("limits", resources.limits)):
        values = amounts.model_dump(exclude_none=True)
        if values:
            rendered[section] = values
    return rendered


def _model_container(model: v1alpha1.ModelSpec, *, image_pull_policy: str) -> dict[str, Any]:
    """The pricing model sidecar: reachable from the miner on localhost:<model.port>."""
    return {
        "name": MODEL_CONTAINER,
        "image": model.image,
        "imagePullPolicy": image_pull_policy,
        "env": [
            {"name": MODEL_PORT_ENV, "value": str(model.port)},
            {"name": "HOME", "value": _TMP},
        ],
        "ports": [{"name": "model", "containerPort": model.port, "protocol": "TCP"}],
        # Modest defaults; the spec has no knob for the sidecar's resources yet.
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"memory": "1Gi"},
        },
        "securityContext": restricted_security_context(),
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [{"name": MODEL_TMP_VOLUME, "mountPath": _TMP}],
    }


def _volumes(miner: v1alpha1.SparketMiner) -> list[dict[str, Any]]:
    names = naming.ObjectNames.of(miner)
    return [
        {"name": CONFIG_VOLUME, "configMap": {"name": names.config_map}},
        {"name": WALLET_VOLUME, "secret": _wallet_projection(miner.spec.wallet)},
        _tmp_volume(TMP_VOLUME),
    ]


def _wallet_projection(ref: v1alpha1.WalletRef) -> dict[str, Any]:
    """Exactly two keys (checked by reconcile.wallet), at the bittensor wallet layout under
    WALLET_ROOT: `<wallet>/hotkeys/<hotkey>` and `<wallet>/coldkeypub.txt`."""
    return {
        "secretName": ref.secret_name,
        "defaultMode": _SECRET_FILE_MODE,
        "items": [
            {"key": wallet.HOTKEY_KEY, "path": f"{ref.wallet_name}/hotkeys/{ref.hotkey_name}"},
            {"key": wallet.COLDKEYPUB_KEY, "path": f"{ref.wallet_name}/coldkeypub.txt"},
        ],
    }


def _budget_secret_volume(ref: config.BudgetRedisSecret) -> dict[str, Any]:
    """Only the keys the operator was told of, at the file names the runtime config names;
    anything else in that Secret stays out of the pod. A key missing from the Secret keeps
    the pod from starting (the kubelet reports it), rather than starting it without."""
    return {
        "name": BUDGET_SECRET_VOLUME,
        "secret": {
            "secretName": ref.name,
            "defaultMode": _SECRET_FILE_MODE,
            "items": [{"key": key, "path": file} for key, file, _ in ref.items()],
        },
    }


def _tmp_volume(name: str) -> dict[str, Any]:
    return {"name": name, "emptyDir": {"sizeLimit": _TMP_SIZE_LIMIT}}
