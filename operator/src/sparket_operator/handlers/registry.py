"""Builds the kopf registry for one `Controller` (no module-level globals)."""

from __future__ import annotations

import logging
from typing import Any

import kopf

from sparket_operator.api.v1alpha1 import GROUP, PLURAL, VERSION
from sparket_operator.controller.controller import Controller
from sparket_operator.reconcile.naming import MANAGED_BY, MANAGED_BY_LABEL

_OWNED = {MANAGED_BY_LABEL: MANAGED_BY}


def build_registry(controller: Controller) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # A private registry gets none of kopf's default login handlers; use the same
        # kubeconfig / service-account discovery as the official client (kube.client).
        return kopf.login_via_client(**kwargs)

    @kopf.on.startup(registry=registry)
    async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.posting.enabled = False  # our Events come from the reconciler only
        settings.watching.server_timeout = 300
        settings.networking.request_timeout = 330
        await controller.start()

    @kopf.on.cleanup(registry=registry)
    async def stop(**_: Any) -> None:
        await controller.stop()

    @kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)
    def miner_event(body: kopf.Body, event: kopf.RawEvent, **_: Any) -> None:
        controller.on_miner(body, deleted=_deleted(event))

    for kind, resource in (
        ("Pod", ("v1", "pods")),
        ("StatefulSet", ("apps", "v1", "statefulsets")),
        ("Service", ("v1", "services")),
        ("ConfigMap", ("v1", "configmaps")),
    ):
        _owned_handler(registry, controller, kind, resource)

    @kopf.on.event("v1", "secrets", registry=registry)
    def secret_event(body: kopf.Body, **_: Any) -> None:
        controller.on_secret(body)

    @kopf.on.event("v1", "nodes", registry=registry)
    def node_event(body: kopf.Body, event: kopf.RawEvent, **_: Any) -> None:
        controller.on_node(body, deleted=_deleted(event))

    @kopf.on.probe(id="miners", registry=registry)
    def miners_known(**_: Any) -> int:
        return len(controller.cache)

    logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    return registry


def _owned_handler(
    registry: kopf.OperatorRegistry,
    controller: Controller,
    kind: str,
    resource: tuple[str, ...],
) -> None:
    @kopf.on.event(*resource, labels=_OWNED, registry=registry, id=f"owned-{kind.lower()}")
    def owned_event(body: kopf.Body, event: kopf.RawEvent, **_: Any) -> None:
        controller.on_owned(body, kind=kind, deleted=_deleted(event))


def _deleted(event: kopf.RawEvent) -> bool:
    return event.get("type") == "DELETED"
