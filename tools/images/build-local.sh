#!/usr/bin/env bash
# Build the two images of the Dockerfile (miner-runtime, operator) with podman, where no
# container registry is reachable: only the Debian archive and PyPI.
#
# The base image is made here instead of pulled: mmdebstrap builds a minimal Debian
# bookworm root filesystem with Debian's python3.11 (and python3.11-venv, for the Dockerfile's
# `python3 -m venv`), ca-certificates, netbase and tzdata; `podman import` turns it into
# localhost/sparket-python:3.11-bookworm-<key>, passed as PYTHON_IMAGE. The tarball is cached
# outside the repo under a key that hashes its recipe, so a warm run only imports it (and
# skips even that when the image is already in podman's store). The Debian archive moves on:
# --refresh-base builds the base again from today's packages.
#
# Podman is run the way this VM type needs it (docs/install.md, "Built in a test here"): runc, not crun
# (crun refuses cgroup v1 hybrid), and explicit nofile/nproc limits (podman's defaults exceed
# the VM's hard RLIMIT_NOFILE of 20000). Build steps use the host's network, so no bridge and
# no iptables rules are created. A CA bundle for TLS-intercepting networks
# (SPARKET_BUILD_CA_FILE, default $SSL_CERT_FILE) is mounted into the build steps only.
#
# Usage: tools/images/build-local.sh [--no-cache] [--refresh-base] [miner-runtime] [operator]
#        [model-example] [redis]
#        (default: miner-runtime and operator; model-example is the example pricing sidecar,
#        miner_runtime/examples/model_sidecar, on the same base; redis is the chart's bundled
#        Redis, Debian's redis-server, for clusters that cannot pull redis:7.4.2-alpine)
# Env:   SPARKET_CACHE_DIR       (default ${XDG_CACHE_HOME:-~/.cache}/sparket-fleet)
#        SPARKET_IMAGE_TAG       tag of the built images (default: dev)
#        SPARKET_BUILD_CA_FILE   CA bundle for PyPI through an intercepting proxy
#        SPARKET_DEBIAN_MIRROR   (default http://deb.debian.org/debian)
#        SPARKET_DEBIAN_SECURITY (default http://deb.debian.org/debian-security)
# Needs: root, podman, runc, mmdebstrap (installed from Debian when missing and root; else
#        exit 2 saying what is missing).
# Prints: one line per image, "build-local: image NAME size BYTES (HUMAN)".
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

cache_root=${SPARKET_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sparket-fleet}
image_cache="$cache_root/images"
tag=${SPARKET_IMAGE_TAG:-dev}
mirror=${SPARKET_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${SPARKET_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
ca_file=${SPARKET_BUILD_CA_FILE:-${SSL_CERT_FILE:-}}

# What the base is made of; changing any of it makes a new cache entry and image tag.
BASE_REVISION=1
BASE_SUITE=bookworm
BASE_PACKAGES=python3.11,python3.11-venv,libstdc++6,ca-certificates,netbase,tzdata
BASE_DPKG_OPTS=(
  'path-exclude=/usr/share/doc/*'
  'path-include=/usr/share/doc/*/copyright'
  'path-exclude=/usr/share/man/*'
  'path-exclude=/usr/share/info/*'
  'path-exclude=/usr/share/locale/*'
)
BASE_CHANGES=(
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  'ENV LANG=C.UTF-8'
  'CMD ["python3"]'
)
# Podman on this VM type: runc and limits below the hard caps (see the header).
PODMAN_FLAGS=(--runtime runc --ulimit nofile=16384:16384 --ulimit nproc=4096:4096)

die() { echo "build-local: $*" >&2; exit 1; }
missing() { echo "build-local: $*" >&2; exit 2; }
log() { echo "build-local: $*"; }

tmp_tar=""
cleanup() { if [ -n "$tmp_tar" ]; then rm -f "$tmp_tar"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

ensure_tools() {
  local need=()
  command -v podman >/dev/null 2>&1 || need+=(podman)
  command -v runc >/dev/null 2>&1 || need+=(runc)
  command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
  command -v flock >/dev/null 2>&1 || need+=(util-linux)
  [ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
  if [ "$(id -u)" != 0 ]; then
    missing "needs root (mmdebstrap's root mode and rootful podman)${need[*]:+; also missing: ${need[*]}}"
  fi
  [ ${#need[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 ||
    missing "missing: ${need[*]}; no apt-get here, install them with your system's package manager"
  log "installing ${need[*]} from Debian"
  timeout 600 apt-get update -qq >/dev/null ||
    missing "missing: ${need[*]}; apt-get update failed or timed out"
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends \
    "${need[@]}" >/dev/null || missing "missing: ${need[*]}; apt-get install failed"
}

# base_key [PACKAGES]: the recipe's hash (default: the Python base's packages).
base_key() {
  {
    echo "revision=$BASE_REVISION suite=$BASE_SUITE packages=${1:-$BASE_PACKAGES}"
    echo "mirror=$mirror security=$security arch=$(dpkg --print-architecture)"
    printf 'dpkg=%s\n' "${BASE_DPKG_OPTS[@]}"
    printf 'change=%s\n' "${BASE_CHANGES[@]}"
  } | sha256sum | cut -c1-12
}

# build_base_tarball OUT [PACKAGES] [PREFIX]: a Debian root filesystem of those packages.
build_base_tarball() {
  local out=$1 packages=${2:-$BASE_PACKAGES} prefix=${3:-python}
  mkdir -p "$image_cache"
  tmp_tar=$(mktemp "$image_cache/.tmp-base-XXXXXX.tar")
  local opts=() o
  for o in "${BASE_DPKG_OPTS[@]}"; do opts+=(--dpkgopt="$o"); done
  log "building a root filesystem with mmdebstrap ($BASE_SUITE: $packages)"
  mmdebstrap --quiet --variant=essential --mode=root \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --include="$packages" "${opts[@]}" \
    "$BASE_SUITE" "$tmp_tar" \
    "deb $mirror $BASE_SUITE main" \
    "deb $mirror $BASE_SUITE-updates main" \
    "deb $security $BASE_SUITE-security main" ||
    die "mmdebstrap failed (is $mirror reachable?)"
  chmod 644 "$tmp_tar"
  mv -f "$tmp_tar" "$out"
  tmp_tar=""
  # One base per cache: an older recipe's tarball is not needed any more.
  find "$image_cache" -maxdepth 1 -name "$prefix-*.tar" ! -name "${out##*/}" -delete
}

ensure_base() {
  local key tarball image
  key=$(base_key)
  tarball="$image_cache/python-3.11-$BASE_SUITE-$key.tar"
  image="localhost/sparket-python:3.11-$BASE_SUITE-$key"
  if [ "$refresh_base" = 1 ]; then
    rm -f "$tarball"
    podman image rm -f "$image" >/dev/null 2>&1 || true
  fi
  [ -f "$tarball" ] || build_base_tarball "$tarball"
  if ! podman image exists "$image"; then
    local changes=() c
    for c in "${BASE_CHANGES[@]}"; do changes+=(--change "$c"); done
    log "importing $tarball as $image"
    podman import --quiet "${changes[@]}" "$tarball" "$image" >/dev/null
  fi
  base_image=$image
}

# The Redis image the chart's bundled mode runs (redis.bundled.image): Debian's redis-server
# and redis-cli (the readiness probe) on the same minimal root filesystem, no Dockerfile.
REDIS_PACKAGES=redis-server,redis-tools
build_redis() {
  local key tarball image="localhost/sparket-redis:$tag"
  key=$(base_key "$REDIS_PACKAGES")
  tarball="$image_cache/redis-$BASE_SUITE-$key.tar"
  [ -f "$tarball" ] || build_base_tarball "$tarball" "$REDIS_PACKAGES" redis
  local changes=() c
  for c in "${BASE_CHANGES[@]}"; do changes+=(--change "$c"); done
  log "importing $tarball as $image"
  podman import --quiet "${changes[@]}" --change 'CMD ["redis-server"]' "$tarball" "$image" >/dev/null
  built+=("$image")
}

build_target() {
  local target=$1
  if [ "$target" = redis ]; then build_redis; return; fi
  # sparket-miner-runtime, sparket-operator, sparket-model-example
  local image="localhost/sparket-${target#sparket-}:$tag"
  local context=$repo
  local args=(
    "${PODMAN_FLAGS[@]}" --network host --pull=never --force-rm
    --build-arg "PYTHON_IMAGE=$base_image" --tag "$image"
  )
  if [ "$target" = model-example ]; then
    # The example pricing sidecar: its own Dockerfile and context (standard library only).
    context=$repo/miner_runtime/examples/model_sidecar
    args+=(--file "$context/Dockerfile")
  else
    args+=(--target "$target" --file "$repo/Dockerfile")
  fi
  [ "$no_cache" = 1 ] && args+=(--no-cache)
  if [ -n "$ca_file" ]; then
    [ -r "$ca_file" ] || die "cannot read the CA bundle $ca_file (SPARKET_BUILD_CA_FILE)"
    args+=(--volume "$ca_file:/run/sparket-build-ca.pem:ro"
      --build-arg SSL_CERT_FILE=/run/sparket-build-ca.pem)
  fi
  log "building $image (target $target)"
  podman build "${args[@]}" "$context" || die "podman build of target $target failed"
  built+=("$image")
}

report_sizes() {
  local image bytes
  for image in "${built[@]}"; do
    bytes=$(podman image inspect --format '{{.Size}}' "$image")
    log "image $image size $bytes ($(numfmt --to=si --suffix=B "$bytes"))"
  done
}

main() {
  no_cache=0
  refresh_base=0
  local targets=() arg
  for arg in "$@"; do
    case "$arg" in
      --no-cache) no_cache=1 ;;
      --refresh-base) refresh_base=1 ;;
      miner-runtime | operator | model-example | redis) targets+=("$arg") ;;
      -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; return 0 ;;
      *) die "unknown argument: $arg (targets: miner-runtime operator model-example redis)" ;;
    esac
  done
  [ ${#targets[@]} -gt 0 ] || targets=(miner-runtime operator)
  ensure_tools
  mkdir -p "$image_cache"
  # One builder at a time per cache and podman store: a second caller waits.
  exec 8>"$image_cache/.build.lock"
  flock 8
  ensure_base
  built=()
  local t
  for t in "${targets[@]}"; do build_target "$t"; done
  report_sizes
}

main "$@"
