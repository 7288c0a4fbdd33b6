#!/usr/bin/env bash
# One-shot set-up for a fresh machine: uv, Python deps, Redis/PostgreSQL, control-plane binaries.
# Every step is skipped when already done; every failure is one line naming what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "setup: $*" >&2; exit 1; }
UV_VERSION=0.13.9

command -v python3 >/dev/null 2>&1 || die "missing: python3 (3.11); install Python 3.11"
python3 -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' ||
  die "missing: Python >= 3.11 as python3 (found $(python3 -V 2>&1))"

if ! python3 -m uv --version >/dev/null 2>&1; then
  echo "setup: installing uv ${UV_VERSION} from PyPI"
  timeout 600 python3 -m pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}" ||
    die "cannot install uv from PyPI (python3 -m pip install uv==${UV_VERSION} failed)"
fi

bash tools/install-system-deps.sh

# Never let uv download an interpreter: the machine's Python 3.11 is the one we use.
export UV_PYTHON_DOWNLOADS=never
timeout 1200 python3 -m uv sync --locked --all-packages --quiet ||
  die "cannot install the Python dependencies (uv sync --locked failed; is PyPI reachable?)"

bash tools/build-binaries.sh --all
echo "setup: done"
