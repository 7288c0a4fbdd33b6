"""The plugin's one door to the API server: the user's kubeconfig (as kubectl uses it),
the official client's dynamic API, server-side apply under our own field manager."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import config as kube_config
from kubernetes.client import CoreV1Api
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

FIELD_MANAGER = "kubectl-sparket"
MINERS = ("sparket.io/v1alpha1", "SparketMiner")


class PluginError(Exception):
    """Stops the command with one line (the message) and a non-zero exit."""


# What talking to the API server can raise beyond our own one-line errors: the client's
# HTTP errors, and connection trouble (refused, timed out, TLS).
CLUSTER_ERRORS: tuple[type[Exception], ...] = (
    PluginError,
    ApiException,
    urllib3.exceptions.HTTPError,
    OSError,
)


@dataclass
class Cluster:
    client: Any  # DynamicClient
    namespace: str  # the kubeconfig context's namespace, or -n

    @classmethod
    def connect(
        cls, *, kubeconfig: str | None, context: str | None, namespace: str | None
    ) -> Cluster:
        try:
            api = kube_config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, context=context
            )
            contexts, active = kube_config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
                config_file=kubeconfig
            )
        except (kube_config.ConfigException, OSError) as exc:
            raise PluginError(f"cannot read the kubeconfig: {exc}") from None
        if context:
            active = next((c for c in contexts if c["name"] == context), active)
        default = (active or {}).get("context", {}).get("namespace") or "default"
        client = DynamicClient(api)  # type: ignore[no-untyped-call]
        return cls(client=client, namespace=namespace or default)

    def _resource(self, api_version: str, kind: str) -> Any:
        try:
            return self.client.resources.get(api_version=api_version, kind=kind)
        except (NotFoundError, ResourceNotFoundError, ApiException) as exc:
            raise PluginError(
                f"the cluster does not serve {kind} ({api_version}): is the CRD installed? {exc}"
            ) from None

    def objects(
        self, api_version: str, kind: str, *, namespace: str | None, selector: str | None = None
    ) -> list[dict[str, Any]]:
        """Objects of `kind` in `namespace` (None: every namespace)."""
        try:
            return self._listed(api_version, kind, namespace, selector)
        except ApiException as exc:
            raise PluginError(f"listing {kind}: {_reason(exc)}") from None

    def _listed(
        self, api_version: str, kind: str, namespace: str | None, selector: str | None
    ) -> list[dict[str, Any]]:
        found = self._resource(api_version, kind).get(namespace=namespace, label_selector=selector)
        return [item.to_dict() for item in found.items]

    def list_visible(
        self, api_version: str, kind: str, *, selector: str | None = None
    ) -> list[dict[str, Any]]:
        """Every namespace's objects when we may list them, else our namespace's (a user
        with namespace rights only still gets an answer)."""
        try:
            return self._listed(api_version, kind, None, selector)
        except ApiException as exc:
            if exc.status != 403:
                raise PluginError(f"listing {kind}: {_reason(exc)}") from None
        return self.objects(api_version, kind, namespace=self.namespace, selector=selector)

    def get(self, api_version: str, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        resource = self._resource(api_version, kind)
        try:
            return dict(resource.get(name=name, namespace=namespace).to_dict())
        except NotFoundError:
            return None
        except ApiException as exc:
            raise PluginError(f"reading {kind} {namespace}/{name}: {_reason(exc)}") from None

    def apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        resource = self._resource(str(obj["apiVersion"]), str(obj["kind"]))
        meta = obj["metadata"]
        try:
            applied = resource.server_side_apply(
                body=dict(obj),
                name=meta["name"],
                namespace=meta.get("namespace"),
                field_manager=FIELD_MANAGER,
                force_conflicts=True,
            )
        except ApiException as exc:
            raise PluginError(f"applying {obj['kind']} {meta['name']}: {_reason(exc)}") from None
        return dict(applied.to_dict())

    def delete(self, api_version: str, kind: str, name: str, namespace: str) -> None:
        resource = self._resource(api_version, kind)
        try:
            resource.delete(name=name, namespace=namespace)
        except NotFoundError:
            return
        except ApiException as exc:
            raise PluginError(f"deleting {kind} {namespace}/{name}: {_reason(exc)}") from None

    def merge_patch(
        self, api_version: str, kind: str, name: str, namespace: str, patch: Mapping[str, Any]
    ) -> None:
        resource = self._resource(api_version, kind)
        try:
            resource.patch(
                body=dict(patch),
                name=name,
                namespace=namespace,
                content_type="application/merge-patch+json",
            )
        except ApiException as exc:
            raise PluginError(f"patching {kind} {namespace}/{name}: {_reason(exc)}") from None

    def pod_proxy_get(self, namespace: str, pod: str, port: int, path: str) -> str:
        """GET a pod's port through the API server's proxy (no direct dial of a pod IP)."""
        try:
            answer = CoreV1Api(self.client.client).connect_get_namespaced_pod_proxy_with_path(
                f"{pod}:{port}", namespace, path.lstrip("/"), _request_timeout=10
            )
        except ApiException as exc:
            raise PluginError(f"{pod}:{port}/{path}: {_reason(exc)}") from None
        return str(answer)

    def pod_log(self, namespace: str, pod: str, lines: int) -> str:
        try:
            answer = CoreV1Api(self.client.client).read_namespaced_pod_log(
                pod, namespace, tail_lines=lines, _request_timeout=30
            )
        except ApiException as exc:
            raise PluginError(f"log of {namespace}/{pod}: {_reason(exc)}") from None
        return str(answer)


def _reason(exc: ApiException) -> str:
    return f"{exc.status} {exc.reason}".strip()
