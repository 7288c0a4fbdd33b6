"""`python -m sparket_local_cluster.demo`: the whole product on one machine, then nothing left.

1. a pod network of network namespaces (`pods.network`) and the local control plane, one
   KWOK node whose ExternalIP is the network's node IP and whose pod CIDR is the bridge's;
2. Redis (the fleet's budget store) on the bridge's gateway address, append-only;
3. the local validator in its own namespace, behind the node IP like a real one;
4. `helm install` of charts/sparket-operator (CRDs, RBAC, the operator's configuration),
   with the operator Deployment at 0 replicas: the operator runs here as a process with
   the env the chart renders for it and the chart ServiceAccount's token, so the chart's
   RBAC is what it works with;
5. the local kubelet (`pods.kubelet`), running pods' containers while KWOK marks them
   Running;
6. a fleet of SparketMiners from manifests/sparketminer.yaml, applied with kubectl;
7. waits until every miner is Ready with submissions counted, prints
   `kubectl get sparketminers`, then (interactive only) waits for Enter, and stops
   everything it started, newest first, whatever happened.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from bittensor_wallet import Keypair

from sparket_local_cluster.control_plane import FakeNode, LocalCluster, missing_binaries
from sparket_local_cluster.demo.fleet import NETUID, fleet_objects, make_miners, neurons
from sparket_local_cluster.kubeconfig import token_kubeconfig
from sparket_local_cluster.operator_process import LocalOperator
from sparket_local_cluster.pods.kubelet import LocalKubelet
from sparket_local_cluster.pods.network import PodNetwork, missing_tools
from sparket_local_services.errors import LocalSetupError
from sparket_local_services.paths import binaries_dir, repo_root
from sparket_local_services.ports import http_ok
from sparket_local_services.processes import ManagedProcess, tail
from sparket_local_services.services import RedisServer, find_redis_server

NAMESPACE = "sparket"
RELEASE = "sparket-operator"
VALIDATOR_PORT = 8091
COUNTERS_PORT = 8092
READY_TIMEOUT_SECONDS = 300.0


class DemoFailed(LocalSetupError):
    """The demo could not reach its end; the message says where."""


def _images(root: Path) -> dict[str, list[str]]:
    """What each image's entrypoint stands for on this machine (no images are pulled)."""
    python = sys.executable
    return {
        "sparket-miner-runtime": [python, "-m", "miner_runtime"],
        "sparket-operator": [python, "-m", "sparket_operator"],
        "sparket-model-example": [
            python,
            str(root / "miner_runtime" / "examples" / "model_sidecar" / "server.py"),
        ],
    }


def _tool(bin_dir: Path, name: str) -> str | None:
    """The built binary, else one on PATH (kubectl comes with the Python environment)."""
    built = bin_dir / name
    return str(built) if built.exists() else shutil.which(name)


def preflight(bin_dir: Path) -> list[str]:
    missing = missing_tools()
    missing += [f"{name} (run `make binaries`)" for name in missing_binaries(bin_dir)]
    missing += [t for t in ("helm", "kubectl") if _tool(bin_dir, t) is None]
    try:
        find_redis_server()
    except LocalSetupError:
        missing.append("redis-server (run `bash tools/install-system-deps.sh`)")
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
        self.network = PodNetwork()
        self.cluster: LocalCluster | None = None
        self.kubelet: LocalKubelet | None = None
        self.operator: LocalOperator | None = None
        self.env = {**os.environ, "PATH": f"{self.bin_dir}{os.pathsep}{os.environ['PATH']}"}

    # -- tools ---------------------------------------------------------------------------

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        return self._cli("kubectl", args, stdin)

    def helm(self, *args: str) -> str:
        return self._cli("helm", args, None)

    def _cli(self, tool: str, args: tuple[str, ...], stdin: str | None) -> str:
        assert self.cluster is not None
        argv = [_tool(self.bin_dir, tool) or tool, f"--kubeconfig={self.cluster.kubeconfig}", *args]
        result = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, env=self.env, timeout=180
        )
        if result.returncode != 0:
            raise DemoFailed(f"{tool} {' '.join(args[:3])}: {result.stderr.strip()}")
        return result.stdout

    def say(self, text: str) -> None:
        print(f"demo: {text}", flush=True)

    # -- steps ---------------------------------------------------------------------------

    def network_and_cluster(self) -> None:
        self.network.setup()
        self.stack.callback(self.network.teardown)
        node = FakeNode(
            "demo-node",
            external_ip=self.network.node_ip,
            internal_ip=self.network.gateway,
            labels={"topology.kubernetes.io/zone": "demo"},
        )
        self.cluster = LocalCluster(
            workdir=self.workdir / "cluster",
            bin_dir=self.bin_dir,
            nodes=(node,),
            pod_cidr=self.network.bridge_cidr,
        )
        self.cluster.start()
        self.stack.callback(self.cluster.stop)
        self.say(f"control plane up at {self.cluster.server}; node IP {self.network.node_ip}")

    def redis(self) -> str:
        redis = RedisServer(
            self.workdir / "redis", persistent=True, extra_bind=self.network.gateway
        )
        redis.start()
        self.stack.callback(redis.stop)
        url = f"redis://{self.network.gateway}:{redis.port}/0"
        self.say(f"Redis (append-only) at {url}")
        return url

    def validator(self, neurons_file: Path, mnemonic_file: Path) -> str:
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
            self.network.exec_argv(self.network.validator_netns, argv),
            self.workdir / "logs" / "validator.log",
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        process.start()
        self.stack.callback(process.stop)
        counters = f"http://{self.network.validator_ip}:{COUNTERS_PORT}/counters"
        process.wait_until(lambda: http_ok(counters, timeout=1), timeout=60, what="validator")
        self.say(f"validator at {self.network.validator_ip}:{VALIDATOR_PORT}")
        return counters

    def chart(self, redis_url: str, neurons_file: Path) -> None:
        values = {
            "operator": {"replicas": 0, "config": {"statusPollSeconds": 5}},
            "redis": {"mode": "external", "external": {"url": redis_url}},
            "runtime": {
                "config": {
                    "pricing": {"results_source": "none"},  # no internet: priors and lines
                    "subtensor": {"mock_neurons_file": str(neurons_file)},
                    "budget": {"expected_colocated": self.count},
                }
            },
        }
        values_file = self.workdir / "values.yaml"
        values_file.write_text(yaml.safe_dump(values))
        self.helm(
            "install", RELEASE, str(self.chart_dir), "--namespace", NAMESPACE, "--create-namespace",
            "--values", str(values_file), "--wait", "--timeout", "120s",
        )  # fmt: skip
        self.say(f"helm install {RELEASE} charts/sparket-operator (operator replicas 0)")

    def operator_process(self) -> None:
        """The chart's operator container, run here: its env, the chart ServiceAccount's
        token; only the probe and metrics ports move to free loopback ones."""
        manifest = [
            d
            for d in yaml.safe_load_all(self.helm("get", "manifest", RELEASE, "-n", NAMESPACE))
            if d
        ]
        (deployment,) = [d for d in manifest if d["kind"] == "Deployment"]
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        account = pod.get("serviceAccountName", "default")
        token = self.kubectl(
            "create", "token", account, "--namespace", NAMESPACE, "--duration", "2h"
        ).strip()
        assert self.cluster is not None
        kubeconfig = token_kubeconfig(
            self.workdir / "operator.kubeconfig",
            server=self.cluster.server,
            ca_cert=self.cluster.pki.ca_cert,
            token=token,
            account=account,
        )
        self.operator = LocalOperator(
            kubeconfig=kubeconfig,
            workdir=self.workdir / "logs",
            settings=_container_env(container, manifest),
        )
        self.stack.callback(self.operator.stop)
        self.operator.start()
        self.say(f"operator running as ServiceAccount {NAMESPACE}/{account}")

    def kubelet_thread(self, neurons_file: Path) -> None:
        assert self.cluster is not None
        self.kubelet = LocalKubelet(
            client=self.cluster.client(),
            network=self.network,
            workdir=self.workdir / "kubelet",
            images=_images(self.root),
            nodes=frozenset(node.name for node in self.cluster.nodes),
            host_files=frozenset({str(neurons_file)}),  # the simulated chain, for every pod
        )
        self.kubelet.start()
        self.stack.callback(self.kubelet.stop)

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
            if self.operator is not None and not self.operator.running():
                raise DemoFailed("the operator exited:\n" + self.operator.log_tail(30))
            looping = self.kubelet.crash_looping() if self.kubelet is not None else []
            for container, log_path in looping:
                raise DemoFailed(f"{container} keeps exiting:\n" + tail(log_path, 15))
            time.sleep(2)
        raise DemoFailed(self.diagnosis(counters_url))

    def diagnosis(self, counters_url: str) -> str:
        lines = ["the fleet did not become Ready with submissions in time"]
        lines.append(self.kubectl("get", "sparketminers,pods", "-n", NAMESPACE, "-o", "wide"))
        if self.operator is not None:
            lines.append("operator log:\n" + self.operator.log_tail(20))
        if self.kubelet is not None:
            lines += self.kubelet.errors[-5:]
            for pod in self.kubelet.pods.values():
                for name, container in pod.containers.items():
                    lines.append(f"{pod.key[1]}/{name}:\n" + tail(container.process.log_path, 8))
        return "\n".join(lines)

    def run(self, *, interactive: bool) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.network_and_cluster()
        redis_url = self.redis()
        keys = self.workdir / "keys"
        fleet = make_miners(keys, self.count)
        validator_key = Keypair.create_from_mnemonic(mnemonic := Keypair.generate_mnemonic())
        mnemonic_file = keys / "validator.mnemonic"
        mnemonic_file.write_text(mnemonic)
        mnemonic_file.chmod(0o600)
        owner = Keypair.create_from_mnemonic(Keypair.generate_mnemonic()).ss58_address
        neurons_file = self.workdir / "neurons.json"
        neurons_file.write_text(
            json.dumps(
                neurons(
                    fleet,
                    validator=validator_key.ss58_address,
                    owner=owner,
                    validator_ip=self.network.validator_ip,
                    validator_port=VALIDATOR_PORT,
                    node_ip=self.network.node_ip,
                )
            )
        )
        counters_url = self.validator(neurons_file, mnemonic_file)
        self.chart(redis_url, neurons_file)
        self.operator_process()
        self.kubelet_thread(neurons_file)
        objects = fleet_objects(
            self.root / "manifests" / "sparketminer.yaml",
            fleet,
            NAMESPACE,
            self.workdir / "kubelet" / "claims",
        )
        self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(objects))
        self.say(f"kubectl apply: {self.count} SparketMiners (one hotkey each), waiting...")
        started = time.monotonic()
        self.wait_for_fleet(counters_url)
        self.say(f"every miner Ready and submitting after {time.monotonic() - started:.0f} s")
        print(f"\n$ kubectl get sparketminers -n {NAMESPACE}", flush=True)
        print(self.kubectl("get", "sparketminers", "-n", NAMESPACE), flush=True)
        print(_validator_summary(_get_json(counters_url)), flush=True)
        if interactive:
            print(f"\nexport KUBECONFIG={self.cluster.kubeconfig if self.cluster else ''}")
            input("The fleet is running. Press Enter to stop everything... ")
        self.say("stopping everything")


def _container_env(container: dict[str, Any], manifest: list[dict[str, Any]]) -> dict[str, str]:
    """The container's env as the kubelet would set it: `envFrom` ConfigMaps of the
    release, then `env` values (which win)."""
    config_maps = {d["metadata"]["name"]: d for d in manifest if d["kind"] == "ConfigMap"}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" not in source:
            raise DemoFailed(f"envFrom {source}: only ConfigMaps of the release are read")
        env |= config_maps[source["configMapRef"]["name"]].get("data", {})
    env |= {var["name"]: var["value"] for var in container.get("env", []) if "value" in var}
    return env


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
        f"validator counters: {json.dumps(shown)}; IPs with failures or violations: "
        f"{json.dumps(penalised) if penalised else 'none'}"
    )


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
