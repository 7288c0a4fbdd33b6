"""`kubectl sparket` commands. Each returns an exit code; errors are one line on stderr.

status                      the fleet summary and one line per miner
import --wallet-path DIR --wallet NAME [--hotkeys H ...] [--dry-run]
pause|resume|restart -l SELECTOR
report [-o FILE]            a zip of the fleet's objects, Events, logs and /status
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from kubectl_sparket.cluster import CLUSTER_ERRORS, MINERS, Cluster, PluginError
from kubectl_sparket.report import ReportZip, attempt
from kubectl_sparket.status_view import render
from kubectl_sparket.wallet_import import (
    allocate_node_ports,
    read_wallet,
    sparket_miner,
    wallet_secret,
)
from sparket_operator.api.fleet_summary import SUMMARY_CONFIGMAP, SUMMARY_KEY, FleetSummary
from sparket_operator.api.v1alpha1 import (
    PAUSED_ANNOTATION,
    RESTART_ANNOTATION,
    League,
    SparketMinerStatus,
)
from sparket_operator.reconcile.config import CONTROL_PORT
from sparket_operator.reconcile.fleet_summary import summarize

OPERATOR_SELECTOR = "app.kubernetes.io/name=sparket-operator,app.kubernetes.io/component=operator"


def _connection(parser: argparse.ArgumentParser, *, default: object) -> None:
    """Where to connect; accepted before and after the command, as kubectl's own flags."""
    parser.add_argument(
        "--kubeconfig",
        default=default,
        help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)",
    )
    parser.add_argument("--context", default=default, help="kubeconfig context")
    parser.add_argument(
        "-n", "--namespace", default=default, help="namespace (default: the context's)"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubectl sparket",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _connection(parser, default=None)
    # On each command, a flag given there wins; one not given leaves the global value.
    after = argparse.ArgumentParser(add_help=False)
    _connection(after, default=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)

    status = commands.add_parser(
        "status", parents=[after], help="the fleet summary and one line per miner"
    )
    status.add_argument("-A", "--all-namespaces", action="store_true")
    status.add_argument("--no-color", action="store_true")

    wallet = commands.add_parser(
        "import", parents=[after], help="a Secret and a SparketMiner per hotkey"
    )
    wallet.add_argument("--wallet-path", type=Path, required=True)
    wallet.add_argument("--wallet", required=True)
    wallet.add_argument("--hotkeys", nargs="+", help="hotkey names (default: every one)")
    wallet.add_argument("--dry-run", action="store_true", help="print, create nothing")
    wallet.add_argument("--network", default="finney", help="subtensor network (default finney)")
    wallet.add_argument("--netuid", type=int, default=57)
    wallet.add_argument("--leagues", nargs="+", default=[league.value for league in League])
    wallet.add_argument("--first-node-port", type=int, default=30100)
    wallet.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")

    for verb, text in (
        ("pause", "pause the selected miners (their pods are removed, nothing else)"),
        ("resume", "resume the selected miners"),
        ("restart", "restart the selected miners' pods"),
    ):
        bulk = commands.add_parser(verb, parents=[after], help=text)
        bulk.add_argument("-l", "--selector", required=True, help="label selector, e.g. fleet=a")

    report = commands.add_parser(
        "report", parents=[after], help="a zip for a bug report (secrets redacted)"
    )
    report.add_argument("-o", "--output", type=Path, help="default: sparket-report-<time>.zip")
    report.add_argument("--log-lines", type=int, default=500)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        cluster = Cluster.connect(
            kubeconfig=args.kubeconfig, context=args.context, namespace=args.namespace
        )
        command = {
            "status": status,
            "import": import_wallet,
            "pause": bulk,
            "resume": bulk,
            "restart": bulk,
            "report": report,
        }[args.command]
        return command(cluster, args)
    except CLUSTER_ERRORS as exc:
        # Process boundary: one line, no traceback.
        print(f"kubectl sparket {args.command}: {exc}", file=sys.stderr)
        return 1


# ---- status ---------------------------------------------------------------------------


def status(cluster: Cluster, args: argparse.Namespace) -> int:
    namespace = None if args.all_namespaces else cluster.namespace
    miners = cluster.objects(*MINERS, namespace=namespace)
    if not miners:
        print(f"No SparketMiners in {namespace or 'any namespace'}.")
        return 0
    colour = sys.stdout.isatty() and not args.no_color and not os.environ.get("NO_COLOR")
    by_namespace: dict[str, list[dict[str, Any]]] = {}
    for miner in miners:
        by_namespace.setdefault(miner["metadata"]["namespace"], []).append(miner)
    blocks = []
    for ns, members in sorted(by_namespace.items()):
        blocks.append(render(_summary(cluster, ns, members), members, colour=colour))
    print("\n\n".join(blocks))
    return 0


def _summary(cluster: Cluster, namespace: str, miners: list[dict[str, Any]]) -> FleetSummary:
    """The operator's published summary; computed here from the miners' statuses when the
    operator has not written one yet (then without failing validators, which it alone
    hears from the runtimes)."""
    published = cluster.get("v1", "ConfigMap", SUMMARY_CONFIGMAP, namespace)
    text = ((published or {}).get("data") or {}).get(SUMMARY_KEY)
    summary = _parsed_summary(text) if text else None
    if summary is not None:
        return summary
    statuses = {
        (namespace, str(m["metadata"]["name"])): SparketMinerStatus.model_validate(
            m.get("status") or {}
        )
        for m in miners
    }
    return summarize(statuses, {})[namespace]


def _parsed_summary(text: str) -> FleetSummary | None:
    """The published summary, or None when it does not parse (another operator version's:
    the summary is then computed here instead)."""
    try:
        return FleetSummary.model_validate(json.loads(text))
    except ValueError:  # JSONDecodeError and pydantic's ValidationError
        return None


# ---- import ---------------------------------------------------------------------------


def import_wallet(cluster: Cluster, args: argparse.Namespace) -> int:
    ns = cluster.namespace
    labels = dict(_label(text) for text in args.label)
    existing = cluster.list_visible(*MINERS)
    here = [m for m in existing if m["metadata"]["namespace"] == ns]
    names = {m["metadata"]["name"]: m["spec"]["hotkey"] for m in here}
    taken = {hotkey: name for name, hotkey in names.items()} | {
        m["spec"]["hotkey"]: f"{m['metadata']['namespace']}/{m['metadata']['name']}"
        for m in existing
        if m["metadata"]["namespace"] != ns
    }
    plan = read_wallet(args.wallet_path, args.wallet, args.hotkeys, taken=taken, names=names)
    for line in plan.refused:
        print(f"refused {line}", file=sys.stderr)
    kept = {
        m["metadata"]["name"]: int(port)
        for m in here
        if (port := (m["spec"].get("axon") or {}).get("nodePort"))
    }
    used = _node_ports_in_use(cluster, existing)
    try:
        ports = allocate_node_ports(
            [h.miner for h in plan.accepted], kept=kept, used=used, first=args.first_node_port
        )
    except ValueError as exc:
        raise PluginError(str(exc)) from None
    objects = [
        (
            wallet_secret(ns, hotkey),
            sparket_miner(
                ns,
                args.wallet,
                hotkey,
                node_port=ports[hotkey.miner],
                network=args.network,
                netuid=args.netuid,
                leagues=args.leagues,
                labels=labels,
            ),
        )
        for hotkey in plan.accepted
    ]
    if args.dry_run:
        shown = [_without_data(o) for pair in objects for o in pair]  # no key on a terminal
        print(yaml.safe_dump_all(shown, sort_keys=False), end="")
        print(f"# dry run: {len(objects)} miners would be imported, {len(plan.refused)} refused")
        return 1 if plan.refused else 0
    for secret, miner in objects:
        _create_pair(cluster, secret, miner)
        print(f"imported {miner['metadata']['name']} ({miner['spec']['hotkey']}) "
              f"nodePort {miner['spec']['axon']['nodePort']}")  # fmt: skip
    return 1 if plan.refused else 0


def _without_data(obj: dict[str, Any]) -> dict[str, Any]:
    if obj.get("kind") != "Secret":
        return obj
    return {**obj, "data": dict.fromkeys(obj.get("data") or {}, "<redacted>")}


def _create_pair(cluster: Cluster, secret: dict[str, Any], miner: dict[str, Any]) -> None:
    """The Secret, then the miner; a Secret this call made goes again if the miner fails."""
    name, ns = secret["metadata"]["name"], secret["metadata"]["namespace"]
    existed = cluster.get("v1", "Secret", name, ns) is not None
    cluster.apply(secret)
    try:
        cluster.apply(miner)
    except PluginError:
        if not existed:
            cluster.delete("v1", "Secret", name, ns)
        raise


def _node_ports_in_use(cluster: Cluster, miners: list[dict[str, Any]]) -> set[int]:
    used = {int(p) for m in miners if (p := (m["spec"].get("axon") or {}).get("nodePort"))}
    for service in cluster.list_visible("v1", "Service"):
        for port in (service.get("spec") or {}).get("ports") or []:
            if port.get("nodePort"):
                used.add(int(port["nodePort"]))
    return used


def _label(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise PluginError(f"--label {text!r}: expected KEY=VALUE")
    return key, value


# ---- pause, resume, restart -------------------------------------------------------------


def bulk(cluster: Cluster, args: argparse.Namespace) -> int:
    miners = cluster.objects(*MINERS, namespace=cluster.namespace, selector=args.selector)
    if not miners:
        print(f"No SparketMiners in {cluster.namespace} match {args.selector}.")
        return 1
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    annotations = {
        "pause": {PAUSED_ANNOTATION: "true"},
        "resume": {PAUSED_ANNOTATION: None},  # removed: merge patch null
        "restart": {RESTART_ANNOTATION: now},
    }[args.command]
    for miner in sorted(miners, key=lambda m: str(m["metadata"]["name"])):
        name = str(miner["metadata"]["name"])
        cluster.merge_patch(
            *MINERS, name, cluster.namespace, {"metadata": {"annotations": annotations}}
        )
        print(f"{args.command}d {name}" if args.command != "restart" else f"restarted {name}")
    return 0


# ---- report -----------------------------------------------------------------------------


def report(cluster: Cluster, args: argparse.Namespace) -> int:
    ns = cluster.namespace
    zipped = ReportZip()
    miners = cluster.objects(*MINERS, namespace=ns)
    zipped.json(f"{ns}/sparketminers.json", miners)
    for api_version, kind in (
        ("v1", "Pod"), ("v1", "Service"), ("apps/v1", "StatefulSet"),
        ("v1", "PersistentVolumeClaim"), ("v1", "ConfigMap"), ("v1", "Event"),
    ):  # fmt: skip
        listed = functools.partial(cluster.objects, api_version, kind, namespace=ns)
        attempt(zipped, f"{ns}/{kind.lower()}s.json", listed)
    for miner in miners:
        runtime_pod = f"{miner['metadata']['name']}-0"
        answer = functools.partial(cluster.pod_proxy_get, ns, runtime_pod, CONTROL_PORT, "status")
        attempt(zipped, f"{ns}/status/{miner['metadata']['name']}.json", answer)
    try:
        operators = cluster.list_visible("v1", "Pod", selector=OPERATOR_SELECTOR)
    except CLUSTER_ERRORS as exc:  # recorded like any other part that cannot be read
        zipped.text("operator/pods.error.txt", f"{type(exc).__name__}: {exc}")
        operators = []
    for pod in operators:
        pod_ns, pod_name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        log = functools.partial(cluster.pod_log, pod_ns, pod_name, args.log_lines)
        attempt(zipped, f"operator/{pod_name}.log", log)
    output = args.output or Path(f"sparket-report-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.zip")
    entries = len(zipped.names)
    output.write_bytes(zipped.close())
    print(f"wrote {output} ({entries} files, secrets redacted)")
    return 0
