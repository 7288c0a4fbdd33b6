#!/usr/bin/env bash
# The local demo (until the full fleet demo lands): a real control plane on loopback,
# shown live with kubectl, then torn down. Nothing is left running when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
run() { python3 -m uv run --locked --all-packages "$@"; }

workdir=.local/demo-cluster
cleanup() { run sparket-devkit cluster down --dir "$workdir" >/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

run sparket-devkit cluster up --dir "$workdir"
export KUBECONFIG="$PWD/$workdir/kubeconfig"
export PATH="$(bash tools/build-binaries.sh --print-dir):$PATH"

echo
echo "\$ kubectl version"
run kubectl version
echo
echo "\$ kubectl get nodes,crds -o wide"
run kubectl get nodes,crds -o wide
echo

if [ -t 0 ] && [ -z "${CI:-}" ]; then
  echo "The cluster is up. Try: KUBECONFIG=$KUBECONFIG kubectl get pods -A"
  read -r -p "Press Enter to stop it... " _
fi
echo "Stopping the local control plane."
