"""`python -m sparket_local_cluster.demo`: the whole product on one machine, then nothing left.

1. the project's images (runtime, operator, and the chart's bundled Redis from Debian's
   redis-server), built by tools/images/build-local.sh and saved for the node;
2. the local control plane and one real worker node (`node.RealNode`: containerd, runc,
   CNI, kubelet, kube-proxy, CoreDNS) that imports them;
3. the local validator in its own network namespace, behind the fleet's egress IP like a
   validator on the internet (`demo.validator_network`);
4. `helm install` of charts/sparket-operator into a namespace that enforces Pod Security
   `restricted`: CRDs, RBAC, the operator as a pod of its image, the bundled Redis;
5. a fleet of SparketMiners from manifests/sparketminer.yaml, applied with kubectl; their
   pods run the runtime image and are reached by the validator at egress IP : nodePort;
6. waits until every miner is Ready with submissions counted, prints
   `kubectl get sparketminers`, keeps every pod's log under the demo's `logs/pods`, then
   (interactive only) waits for Enter, and stops everything it started, newest first,
   whatever happened.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from bittensor_wallet import Keypair

from sparket_local_cluster.control_plane import LocalCluster, missing_binaries
from sparket_local_cluster.demo.fleet import (
    NETUID,
    STORAGE_CLASS,
    fleet_objects,
    make_miners,
    neurons,
)
from sparket_local_cluster.demo.validator_network import ValidatorNetwork, missing_tools
from sparket_local_cluster.miner_kube_objects import restricted_namespace
from sparket_local_cluster.node.images import build_local_images
from sparket_local_cluster.node.layout import NODE_NAME
from sparket_local_cluster.node.node import REAL_NODE_LABEL, RealNode, missing_node_parts, node_ip
from sparket_local_services.errors import LocalSetupError
from sparket_local_services.paths import binaries_dir, repo_root
from sparket_local_services.ports import http_ok
from sparket_local_services.processes import ManagedProcess

NAMESPACE = "sparket"
RELEASE = "sparket-operator"
IMAGE_TAG = "demo"
IMAGES = ("miner-runtime", "operator", "redis")
VALIDATOR_PORT = 8091
COUNTERS_PORT = 8092
READY_TIMEOUT_SECONDS = 300.0
OPERATOR_SELECTOR = "app.kubernetes.io/component=operator"


class DemoFailed(LocalSetupError):
    """The demo could not reach its end; the message says where."""


def _tool(bin_dir: Path, name: str) -> str | None:
    """The built binary, else one on PATH (kubectl comes with the Python environment)."""
    built = bin_dir / name
    return str(built) if built.exists() else shutil.which(name)


def preflight(bin_dir: Path) -> list[str]:
    missing = missing_tools()
    missing += [f"{name} (run `make binaries`)" for name in missing_binaries(bin_dir)]
    missing += missing_node_parts(bin_dir)
    missing += [t for t in ("helm", "kubectl") if _tool(bin_dir, t) is None]
    return missing


class Demo:
    def __init__(
        self, workdir: Path, miners: int, stack: contextlib.ExitStack, chart: Path
    ) -> None:
        self.root = repo_root()
        self.chart_dir = chart
        self.workdir = workdir
        self.count = miners
        self.stack = stack
        self.bin_dir = binaries_dir()
        self.network = ValidatorNetwork()
        self.cluster: LocalCluster | None = None
        self.node: RealNode | None = None
        self.env = {**os.environ, "PATH": f"{self.bin_dir}{os.pathsep}{os.environ['PATH']}"}

    # -- tools ---------------------------------------------------------------------------

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        return self._cli("kubectl", args, stdin)

    def helm(self, *args: str) -> str:
        return self._cli("helm", args, None)

    def _cli(self, tool: str, args: tuple[str, ...], stdin: str | None) -> str:
        assert self.cluster is not None
        # KUBECONFIG rather than --kubeconfig: kubectl hands no global flag to a plugin.
        argv = [_tool(self.bin_dir, tool) or tool, *args]
        env = {**self.env, "KUBECONFIG": str(self.cluster.kubeconfig)}
        result = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, env=env, timeout=360
        )
        if result.returncode != 0:
            raise DemoFailed(f"{tool} {' '.join(args[:3])}: {result.stderr.strip()}")
        return result.stdout

    def say(self, text: str) -> None:
        print(f"demo: {text}", flush=True)

    # -- steps ---------------------------------------------------------------------------

    def images(self) -> tuple[Path, ...]:
        started = time.monotonic()
        archives = build_local_images(IMAGES, IMAGE_TAG, self.workdir / "images")
        self.say(
            f"images {', '.join(IMAGES)} built and saved in {time.monotonic() - started:.0f} s"
        )
        return archives

    def cluster_and_node(self, images: tuple[Path, ...]) -> None:
        self.cluster = LocalCluster(
            workdir=self.workdir / "cluster",
            bin_dir=self.bin_dir,
            nodes=(),  # no KWOK node: every pod runs on the real one
            pod_reachable_ip=node_ip(),
        )
        self.stack.callback(self.cluster.stop)
        self.cluster.start()
        self.say(f"control plane up at {self.cluster.server}")
        self.node = RealNode(cluster=self.cluster, bin_dir=self.bin_dir, images=images)
        self.stack.callback(self.node.stop)
        self.node.start()
        self.say(
            f"node {NODE_NAME} Ready at {node_ip()} (containerd, kubelet, kube-proxy, CoreDNS)"
        )

    def validator(self, neurons_file: Path, mnemonic_file: Path) -> str:
        self.network.setup()
        self.stack.callback(self.network.teardown)
        config = self.workdir / "validator.json"
        config.write_text(
            json.dumps(
                {
                    "mnemonic_file": str(mnemonic_file),
                    "neurons_file": str(neurons_file),
                    "netuid": NETUID,
                    "port": VALIDATOR_PORT,
                    "external_ip": self.network.validator_ip,
                    "counters_port": COUNTERS_PORT,
                    "push_interval_seconds": 5.0,
                }
            )
        )
        argv = [sys.executable, "-m", "sparket_local_cluster.demo.validator_process", str(config)]
        process = ManagedProcess(
            "validator",
            self.network.exec_argv(argv),
            self.workdir / "logs" / "validator.log",
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        process.start()
        self.stack.callback(process.stop)
        counters = f"http://{self.network.validator_ip}:{COUNTERS_PORT}/counters"
        process.wait_until(lambda: http_ok(counters, timeout=1), timeout=60, what="validator")
        self.say(
            f"validator at {self.network.validator_ip}:{VALIDATOR_PORT}, "
            f"seeing the fleet from {self.network.egress_ip}"
        )
        return counters

    def chart(self, chain: list[dict[str, Any]], volumes: list[dict[str, Any]]) -> None:
        """The namespace (Pod Security `restricted`), the volumes the claims bind to, then
        the chart with every image from the node (nothing is pulled)."""
        namespace = restricted_namespace(NAMESPACE)
        self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all([namespace, *volumes]))
        local = {"pullPolicy": "Never", "tag": IMAGE_TAG}
        values = {
            "operator": {
                "image": {"repository": "localhost/sparket-operator", **local},
                # The node has no ExternalIP: the fleet's shared egress IP is set instead.
                "config": {
                    "egressIP": self.network.egress_ip,
                    "statusPollSeconds": 5,
                    "fleetSummarySeconds": 5,
                },
                "nodeSelector": {REAL_NODE_LABEL: "true"},
            },
            "runtime": {
                "image": {"repository": "localhost/sparket-miner-runtime", "tag": IMAGE_TAG},
                "pullPolicy": "Never",
                "config": {
                    "pricing": {"results_source": "none"},  # no internet: priors and lines
                    "subtensor": {"mock_neurons": chain},
                    "budget": {"expected_colocated": self.count},
                },
            },
            "redis": {
                "mode": "bundled",
                "bundled": {
                    "image": {"repository": "localhost/sparket-redis", **local},
                    "persistence": {"enabled": True, "storageClass": STORAGE_CLASS},
                },
            },
        }
        values_file = self.workdir / "values.yaml"
        values_file.write_text(yaml.safe_dump(values))
        self.helm(
            "install", RELEASE, str(self.chart_dir), "--namespace", NAMESPACE,
            "--values", str(values_file), "--wait", "--timeout", "300s",
        )  # fmt: skip
        self.say(f"helm install {RELEASE} charts/sparket-operator: operator and Redis pods Ready")

    def keep_pod_logs(self) -> None:
        """Every pod's containers' logs under `logs/pods`, while the node still has them."""
        target = self.workdir / "logs" / "pods"
        target.mkdir(parents=True, exist_ok=True)
        try:
            pods = json.loads(self.kubectl("get", "pods", "-n", NAMESPACE, "-o", "json"))
        except DemoFailed as exc:
            (target / "unavailable.txt").write_text(f"{exc}\n")
            return
        for pod in pods["items"]:
            name = pod["metadata"]["name"]
            for container in pod["spec"]["containers"]:
                try:
                    text = self.kubectl("logs", "-n", NAMESPACE, name, "-c", container["name"])
                except DemoFailed as exc:
                    text = f"(no log: {exc})\n"
                (target / f"{name}.{container['name']}.log").write_text(text)

    def wait_for_fleet(self, counters_url: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            miners = json.loads(self.kubectl("get", "sparketminers", "-n", NAMESPACE, "-o", "json"))
            stored = _get_json(counters_url).get("odds_rows_by_hotkey", {})
            done = [
                m
                for m in miners["items"]
                if _ready(m) and _mining(m) and stored.get(m["spec"]["hotkey"], 0) > 0
            ]
            if len(done) == self.count:
                return
            self._fail_on_crash_loop()
            time.sleep(2)
        raise DemoFailed(self.diagnosis())

    def fleet_status(self) -> str:
        """`kubectl sparket status` once the operator's fleet summary counts every miner
        earning (the summary is recomputed every few seconds)."""
        deadline = time.monotonic() + 60
        shown = ""
        while time.monotonic() < deadline:
            shown = self.kubectl("sparket", "status", "-n", NAMESPACE)
            if shown.startswith(f"Fleet {NAMESPACE}: {self.count} miners") and (
                f"{self.count} earning" in shown.splitlines()[0]
            ):
                break
            time.sleep(2)
        return f"$ kubectl sparket status -n {NAMESPACE}\n{shown}"

    def _fail_on_crash_loop(self) -> None:
        pods = json.loads(self.kubectl("get", "pods", "-n", NAMESPACE, "-o", "json"))["items"]
        for pod in pods:
            for container in pod.get("status", {}).get("containerStatuses", []):
                if container.get("restartCount", 0) >= 3:
                    name = pod["metadata"]["name"]
                    log = self.kubectl(
                        "logs", "-n", NAMESPACE, name, "-c", container["name"], "--previous",
                        "--tail=15",
                    )  # fmt: skip
                    raise DemoFailed(f"{name}/{container['name']} keeps exiting:\n{log}")

    def diagnosis(self) -> str:
        lines = ["the fleet did not become Ready with submissions in time"]
        lines.append(self.kubectl("get", "sparketminers,pods", "-n", NAMESPACE, "-o", "wide"))
        lines.append(self.kubectl("get", "events", "-n", NAMESPACE)[-3000:])
        lines.append(
            "operator log:\n"
            + self.kubectl("logs", "-n", NAMESPACE, "-l", OPERATOR_SELECTOR, "--tail=20")
        )
        lines.append(f"every pod's log is kept under {self.workdir / 'logs' / 'pods'}")
        return "\n".join(lines)

    def run(self, *, interactive: bool) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        archives = self.images()
        self.cluster_and_node(archives)
        self.stack.callback(self.keep_pod_logs)  # runs before the node stops
        keys = self.workdir / "keys"
        fleet = make_miners(keys, self.count)
        validator_key = Keypair.create_from_mnemonic(mnemonic := Keypair.generate_mnemonic())
        mnemonic_file = keys / "validator.mnemonic"
        mnemonic_file.write_text(mnemonic)
        mnemonic_file.chmod(0o600)
        owner = Keypair.create_from_mnemonic(Keypair.generate_mnemonic()).ss58_address
        chain = neurons(
            fleet,
            validator=validator_key.ss58_address,
            owner=owner,
            validator_ip=self.network.validator_ip,
            validator_port=VALIDATOR_PORT,
            node_ip=self.network.egress_ip,
        )
        neurons_file = self.workdir / "neurons.json"
        neurons_file.write_text(json.dumps(chain))
        counters_url = self.validator(neurons_file, mnemonic_file)
        assert self.node is not None
        volumes, miners = fleet_objects(
            self.root / "manifests" / "sparketminer.yaml",
            fleet,
            NAMESPACE,
            volumes_dir=self.node.layout.volumes,
            external_ip=self.network.egress_ip,
            redis_claim_owner=f"{RELEASE}-redis",
        )
        self.chart(chain, volumes)
        self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(miners))
        self.say(f"kubectl apply: {self.count} SparketMiners (one hotkey each), waiting...")
        started = time.monotonic()
        self.wait_for_fleet(counters_url)
        self.say(f"every miner Ready and submitting after {time.monotonic() - started:.0f} s")
        print(f"\n$ kubectl get sparketminers -n {NAMESPACE}", flush=True)
        print(self.kubectl("get", "sparketminers", "-n", NAMESPACE), flush=True)
        print(self.fleet_status(), flush=True)
        print(_validator_summary(_get_json(counters_url)), flush=True)
        budget_keys = self.kubectl(
            "exec", "-n", NAMESPACE, f"{RELEASE}-redis-0", "--", "redis-cli", "dbsize"
        ).strip()
        print(f"the bundled Redis holds {budget_keys} fleet budget keys", flush=True)
        if interactive:
            print(f"\nexport KUBECONFIG={self.cluster.kubeconfig if self.cluster else ''}")
            input("The fleet is running. Press Enter to stop everything... ")
        self.say(f"stopping everything (pod logs kept in {self.workdir / 'logs' / 'pods'})")


def _ready(miner: dict[str, Any]) -> bool:
    conditions = miner.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _mining(miner: dict[str, Any]) -> bool:
    """Connected to a validator, with submissions counted in the last hour."""
    status = miner.get("status", {})
    return bool(status.get("validatorsConnected")) and int(status.get("submitted1h") or 0) > 0


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as answer:
        parsed: dict[str, Any] = json.loads(answer.read())
    return parsed


def _validator_summary(counted: dict[str, Any]) -> str:
    keys = ("requests_accepted", "odds_rows", "odds_rows_by_hotkey", "requests_rejected", "bans")
    shown = {k: counted[k] for k in keys if k in counted}
    ips = counted.get("ips", {})
    penalised = {ip: r for ip, r in ips.items() if r.get("failures") or r.get("violations")}
    return (
        f"validator counters: {json.dumps(shown)}; requests seen from: "
        f"{', '.join(counted.get('ips_seen', [])) or 'nowhere'}; IPs with failures or violations: "
        f"{json.dumps(penalised) if penalised else 'none'}"
    )


def _interrupt_once(signum: int, frame: object) -> None:
    """Ctrl-C or SIGTERM: unwind (everything started is stopped on the way out); a second
    signal must not cut that cleanup short, so from now on they are ignored."""
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sparket_local_cluster.demo", description=__doc__
    )
    parser.add_argument("--dir", type=Path, default=Path(".local/demo"))
    parser.add_argument("--miners", type=int, default=3, choices=range(1, 9))
    parser.add_argument("--chart", type=Path, default=repo_root() / "charts" / "sparket-operator")
    parser.add_argument("--no-wait", action="store_true", help="stop as soon as it is shown")
    args = parser.parse_args(argv)
    missing = preflight(binaries_dir())
    if missing:
        print(f"demo: cannot run here, missing: {'; '.join(missing)}", file=sys.stderr)
        return 2
    workdir = args.dir.resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    interactive = sys.stdin.isatty() and not os.environ.get("CI") and not args.no_wait
    # Set explicitly: a process started in the background by a shell inherits SIGINT
    # ignored, and Python then leaves it so (CI once ran the demo that way: Ctrl-C did
    # nothing); SIGTERM (a `timeout`, a CI runner) stops it the same way.
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, _interrupt_once)
    try:
        with contextlib.ExitStack() as stack:
            Demo(workdir, args.miners, stack, args.chart).run(interactive=interactive)
    except (LocalSetupError, subprocess.TimeoutExpired) as exc:
        # Process boundary: one clear message (with the log tails it carries), no traceback.
        print(f"demo: failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("demo: interrupted; everything it started has been stopped", file=sys.stderr)
        return 130
    print("demo: stopped; nothing is left running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
