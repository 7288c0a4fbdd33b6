#!/usr/bin/env bash
# The local demo (`make demo`): the project's images, a real control plane and worker node,
# the local validator, the chart installed with helm (operator and Redis as pods), and a
# fleet of miners as real pods (see tools/local_cluster/src/sparket_local_cluster/demo/__main__.py).
# It ends by printing `kubectl get sparketminers` and `kubectl sparket status`, and stops
# everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
PATH="$(bash tools/build-binaries.sh --print-dir):$PATH"
export PATH
exec python3 -m uv run --locked --all-packages python -m sparket_local_cluster.demo "$@"
