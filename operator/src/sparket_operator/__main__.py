"""`python -m sparket_operator`: settings, metrics, registry, then `kopf.operator()`.

Never `kopf run file.py` (it puts the file's folder first on sys.path, where a sibling
module could shadow the standard library; hence ruff's strict A005). One active instance: the chart
deploys one replica with the Recreate strategy, and kopf runs standalone (no peering).
"""

from __future__ import annotations

import asyncio
import logging
import sys

import kopf
from prometheus_client import start_http_server

from sparket_operator.controller.controller import Controller
from sparket_operator.controller.metrics import OperatorMetrics
from sparket_operator.handlers.registry import build_registry
from sparket_operator.kube.client import RestKubeApi, load_api_client
from sparket_operator.settings import ConfigError, OperatorSettings, load_settings


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"sparket-operator: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        format='{"time":"%(asctime)s","level":"%(levelname)s","logger":"%(name)s",'
        '"message":"%(message)s"}',
    )
    return asyncio.run(run(settings))


async def run(settings: OperatorSettings) -> int:
    metrics = OperatorMetrics()
    if settings.metrics_port:
        start_http_server(
            settings.metrics_port, addr=settings.health_host, registry=metrics.registry
        )
    api = RestKubeApi(
        load_api_client(), field_manager=settings.field_manager, on_write=metrics.count_write
    )
    controller = Controller(api=api, settings=settings, metrics=metrics)
    try:
        await kopf.operator(
            registry=build_registry(controller),
            clusterwide=settings.clusterwide,
            namespaces=settings.namespaces,
            standalone=True,
            liveness_endpoint=f"http://{settings.health_host}:{settings.health_port}/healthz",
        )
    finally:
        api.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
