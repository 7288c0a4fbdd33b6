"""The API session: the only module that knows the Kubernetes client library.

`RestKubeApi` is the real `kube.api.KubeApi`. Requests go through the official client's
connection pool, in worker threads (the library is synchronous), with raw JSON in and
out: no model classes, so any kind works the same way and nothing is converted twice.
Every write is counted by verb and kind (the benchmark's "write calls per hour" comes from
these counters).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from sparket_operator.kube import errors
from sparket_operator.kube.api import Obj, object_path

WriteHook = Callable[[str, str], None]


def load_api_client(kubeconfig: str | None = None) -> k8s.ApiClient:
    """`kubeconfig` when given; else in a pod the service account, elsewhere $KUBECONFIG
    or ~/.kube/config."""
    if kubeconfig is not None:
        k8s_config.load_kube_config(config_file=kubeconfig)
    else:
        try:
            k8s_config.load_incluster_config()
        except k8s_config.ConfigException:
            k8s_config.load_kube_config(config_file=os.environ.get("KUBECONFIG"))
    configuration = k8s.Configuration.get_default_copy()
    configuration.connection_pool_maxsize = 32
    return k8s.ApiClient(configuration)


class RestKubeApi:
    """`KubeApi` over HTTP to a real API server."""

    def __init__(
        self,
        api_client: k8s.ApiClient,
        *,
        field_manager: str,
        on_write: WriteHook | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._api = api_client
        self.field_manager = field_manager
        self._on_write = on_write
        self._timeout = timeout

    def close(self) -> None:
        self._api.close()

    # ---- verbs --------------------------------------------------------------------

    async def get(self, path: str) -> Obj | None:
        """The object at `path`, or None when it does not exist."""
        try:
            return await self._call("GET", path, doing=f"reading {path}")
        except errors.NotFound:
            return None

    async def list_objects(self, path: str, *, label_selector: str | None = None) -> list[Obj]:
        query = [("labelSelector", label_selector)] if label_selector else []
        body = await self._call("GET", path, query=query, doing=f"listing {path}")
        items: list[Obj] = body.get("items", [])
        return items

    async def apply(self, obj: Mapping[str, Any]) -> Obj:
        """Server-side apply of `obj` as our field manager (force: we own these fields)."""
        meta = obj["metadata"]
        return await self._call(
            "PATCH",
            object_path(obj),
            body=obj,
            content_type="application/apply-patch+yaml",
            query=[("fieldManager", self.field_manager), ("force", "true")],
            doing=f"applying {obj['kind']} {meta.get('namespace')}/{meta['name']}",
            write=obj["kind"],
        )

    async def patch_status(
        self, path: str, status: Mapping[str, Any], *, resource_version: str, kind: str
    ) -> Obj:
        """Merge-patch `status`, guarded by `resource_version` (409 if the object moved)."""
        body = {"metadata": {"resourceVersion": resource_version}, "status": status}
        return await self._call(
            "PATCH",
            f"{path}/status",
            body=body,
            content_type="application/merge-patch+json",
            doing=f"writing status of {path}",
            write=f"{kind}/status",
        )

    async def create(self, path: str, obj: Mapping[str, Any]) -> Obj:
        return await self._call(
            "POST", path, body=obj, doing=f"creating in {path}", write=str(obj.get("kind"))
        )

    async def delete(self, path: str) -> None:
        try:
            await self._call("DELETE", path, doing=f"deleting {path}", write="delete")
        except errors.NotFound:
            return

    # ---- plumbing -----------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        doing: str,
        body: Mapping[str, Any] | None = None,
        content_type: str | None = None,
        query: Sequence[tuple[str, str]] = (),
        write: str | None = None,
    ) -> Obj:
        if write is not None and self._on_write is not None:
            self._on_write(method, write)
        return await asyncio.to_thread(
            self._request, method, path, body, content_type, list(query), doing
        )

    def _request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        content_type: str | None,
        query: list[tuple[str, str]],
        doing: str,
    ) -> Obj:
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        _, url, headers, payload, _ = self._api.param_serialize(
            method,
            path,
            query_params=query,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = self._api.call_api(
                method, url, header_params=headers, body=payload, _request_timeout=self._timeout
            )
            data = response.read()
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise errors.Transient(f"while {doing}: {exc}") from exc
        except k8s.ApiException as exc:
            raise errors.for_status(exc.status or 0, f"while {doing}: {exc.reason}") from exc
        if not 200 <= response.status < 300:
            raise errors.for_status(response.status, f"while {doing}: {_reason(data)}")
        return json.loads(data) if data else {}


def _reason(data: bytes | None) -> str:
    try:
        body = json.loads(data or b"{}")
    except ValueError:
        return (data or b"").decode(errors="replace")[:300]
    return str(body.get("message") or body.get("reason") or "unknown error")
