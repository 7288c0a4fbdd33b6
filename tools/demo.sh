#!/usr/bin/env bash
# The local demo (`make demo`): a real control plane, Redis, the local validator, the chart
# installed with helm, the operator, and a fleet of miners whose pods run here while KWOK
# marks them Running (see tools/local_cluster/src/sparket_local_cluster/demo/__main__.py). It ends by
# printing `kubectl get sparketminers` and stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
PATH="$(bash tools/build-binaries.sh --print-dir):$PATH"
export PATH
exec python3 -m uv run --locked --all-packages python -m sparket_local_cluster.demo "$@"
