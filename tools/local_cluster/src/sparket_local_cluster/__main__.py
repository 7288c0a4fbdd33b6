"""`sparket-local-cluster`: bring the local control plane up or down from the command line.

sparket-local-cluster cluster up [--dir .local/cluster]    start it, write a kubeconfig
sparket-local-cluster cluster down [--dir .local/cluster]  stop every process it started
sparket-local-cluster dev-wallet-secret --uri //Alice --name N --namespace NS
                                                           print a development key's
                                                           wallet Secret
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import yaml

from sparket_local_cluster.control_plane import LocalCluster, stop_detached
from sparket_local_cluster.miner_kube_objects import dev_wallet_secret
from sparket_local_services.errors import LocalSetupError
from sparket_local_services.paths import binaries_dir

DEFAULT_DIR = Path(".local/cluster")


def cluster_up(workdir: Path) -> int:
    workdir = workdir.resolve()
    if (workdir / "state.json").exists():
        stop_detached(workdir)
    cluster = LocalCluster(workdir=workdir, bin_dir=binaries_dir())
    cluster.start()
    (workdir / "state.json").write_text(json.dumps(cluster.state(), indent=2))
    print(f"cluster up: {cluster.server}")
    print(f"export KUBECONFIG={cluster.kubeconfig}")
    return 0


def cluster_down(workdir: Path) -> int:
    stopped = stop_detached(workdir.resolve())
    print("cluster down: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sparket-local-cluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="area", required=True)
    cluster = sub.add_parser("cluster", help="the local Kubernetes control plane")
    cluster.add_argument("action", choices=["up", "down"])
    cluster.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_DIR,
        help="working directory for state, logs and the kubeconfig",
    )
    secret = sub.add_parser("dev-wallet-secret", help="a public development key's wallet Secret")
    secret.add_argument("--uri", required=True, help="a development key URI such as //Alice")
    secret.add_argument("--name", required=True)
    secret.add_argument("--namespace", required=True)
    args = parser.parse_args(argv)
    if args.area == "dev-wallet-secret":
        with tempfile.TemporaryDirectory() as keys:
            print(
                yaml.safe_dump(dev_wallet_secret(Path(keys), args.namespace, args.name, args.uri))
            )
        return 0
    try:
        if args.action == "up":
            return cluster_up(args.dir)
        return cluster_down(args.dir)
    except LocalSetupError as exc:
        # Process boundary: one clear line (plus the log tail the error carries), no traceback.
        print(f"sparket-local-cluster: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
