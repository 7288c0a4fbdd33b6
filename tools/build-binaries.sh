#!/usr/bin/env bash
# Build the local control plane's Go binaries into a version-keyed cache outside the repo.
#
# Why a script of our own: kube-apiserver & co. ship no prebuilt package we can fetch here,
# so we compile them from the Go module proxy through the wrapper modules in tools/k8s and
# tools/etcd (see docs/development.md). Each component lands in its own directory named
# after its version and the hash of its go.mod/go.sum; a warm run finds it and builds nothing.
# A build happens in a temp dir and is renamed into place only when complete, so an
# interrupted build never leaves a half-filled cache.
#
# Usage: tools/build-binaries.sh [component ...]   (default: the control plane)
#        tools/build-binaries.sh --node | --all     (the real worker node's parts | everything)
#        tools/build-binaries.sh --print-dir        (prints the bin dir that holds symlinks to all)
# Env:   SPARKET_CACHE_DIR (default ${XDG_CACHE_HOME:-~/.cache}/sparket-fleet)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/versions.env
. "$here/versions.env"

cache_root=${SPARKET_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sparket-fleet}
bin_dir="$cache_root/bin"

die() { echo "build-binaries: $*" >&2; exit 1; }

# The temp dir of the build in progress; removed on any exit, so a failed or interrupted
# build never leaves a partial directory behind.
current_tmp=""
cleanup() { if [ -n "$current_tmp" ]; then rm -rf "$current_tmp"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

export GOTOOLCHAIN=local CGO_ENABLED=0
export GOFLAGS="-trimpath -mod=readonly"

require_go() {
  command -v go >/dev/null 2>&1 ||
    die "missing: the Go toolchain (>= ${GO_MIN}); install Go ${GO_MIN}+ and put 'go' on PATH"
  local have
  have=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
  [ -n "$have" ] || die "missing: a working Go toolchain ('go env GOVERSION' failed)"
  if [ "$(printf '%s\n%s\n' "$GO_MIN" "$have" | sort -V | head -n1)" != "$GO_MIN" ]; then
    die "missing: Go >= ${GO_MIN} (found ${have}); install a newer Go toolchain"
  fi
}

# Hash of a wrapper module's pinned inputs: a changed go.mod/go.sum means a new cache entry.
module_key() { cat "$1/go.mod" "$1/go.sum" | sha256sum | cut -c1-12; }

# run_build NAME DIR_KEY BUILD_FN: builds into a temp dir, then renames it to the final place.
run_build() {
  local name=$1 key=$2 fn=$3
  local final="$cache_root/$key"
  if [ -d "$final" ]; then
    echo "build-binaries: $name cached at $final"
    return 0
  fi
  require_go
  mkdir -p "$cache_root"
  current_tmp=$(mktemp -d "$cache_root/.tmp-$name-XXXXXX")
  chmod 755 "$current_tmp"
  local started=$SECONDS
  echo "build-binaries: building $name into $final (cold builds take minutes; see docs/development.md)"
  "$fn" "$current_tmp"
  mv -T "$current_tmp" "$final" 2>/dev/null || [ -d "$final" ] || die "could not move $name into $final"
  current_tmp=""
  echo "build-binaries: $name built in $((SECONDS - started)) s"
}

# go_or_die DESCRIPTION CMD...: runs a go command with a time limit and turns failure into one line.
go_or_die() {
  local what=$1; shift
  local log
  log=$(mktemp)
  if ! timeout "${SPARKET_GO_TIMEOUT:-3600}" "$@" >"$log" 2>&1; then
    local rc=$?
    tail -n 20 "$log" >&2
    rm -f "$log"
    if [ "$rc" = 124 ]; then die "timed out: $what (no answer within ${SPARKET_GO_TIMEOUT:-3600} s)"; fi
    die "failed: $what (is the Go module proxy reachable? GOPROXY=$(go env GOPROXY))"
  fi
  rm -f "$log"
}

k8s_ldflags() {
  local v="v${K8S_VERSION}" minor now ld="-s -w"
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ld="$ld -X $p.gitTreeState=clean -X $p.buildDate=$now"
  done
  echo "$ld"
}

build_k8s() {
  local out=$1
  (cd "$here/k8s" &&
    go_or_die "downloading k8s.io/kubernetes v${K8S_VERSION} modules" go mod download &&
    go_or_die "building kube-apiserver, kube-controller-manager, kube-scheduler" \
      go build -ldflags "$(k8s_ldflags)" -o "$out/" \
      k8s.io/kubernetes/cmd/kube-apiserver \
      k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler)
}

build_etcd() {
  local out=$1
  (cd "$here/etcd" &&
    go_or_die "downloading etcd v${ETCD_VERSION} modules" go mod download &&
    go_or_die "building etcd" go build -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3)
}

# KWOK and Helm have no replace directives, so plain `go install pkg@version` works.
# kwok itself ships no default behaviour: its Stages (what makes a node Ready and a pod
# Running) live in the module's kustomize/ tree. We take that version's "fast" node and pod
# stages and the lease heartbeat, unchanged, into kwok-stages.yaml beside the binary.
KWOK_STAGES="node/fast node/heartbeat-with-lease pod/fast"
build_kwok() {
  local out=$1
  (cd "$out" && GOFLAGS=-trimpath GOBIN="$out" go_or_die "go install kwok v${KWOK_VERSION}" \
    go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v${KWOK_VERSION}")
  local src stage f
  src=$(cd "$out" && GOFLAGS= go mod download -json "sigs.k8s.io/kwok@v${KWOK_VERSION}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])') ||
    die "cannot locate the kwok v${KWOK_VERSION} module source for its stages"
  for stage in $KWOK_STAGES; do
    for f in "$src/kustomize/stage/$stage"/*.yaml; do
      [ "$(basename "$f")" = kustomization.yaml ] && continue
      printf -- '---\n' >>"$out/kwok-stages.yaml"
      cat "$f" >>"$out/kwok-stages.yaml"
    done
  done
  grep -q 'kind: Stage' "$out/kwok-stages.yaml" || die "no kwok stages found in $src"
}

build_helm() {
  local out=$1
  (cd "$out" && GOFLAGS=-trimpath GOBIN="$out" go_or_die "go install helm v${HELM_VERSION}" \
    go install -ldflags "-s -w" "helm.sh/helm/v4/cmd/helm@v${HELM_VERSION}")
}

# The real worker node's parts (issue 19): kubelet and kube-proxy from the same pinned
# k8s.io/kubernetes module as the control plane (its own cache entry, so KWOK-only runs never
# wait for them), containerd v2 + its runc shim + ctr, the CNI reference plugins, and the
# sandbox ("pause") program compiled from that Kubernetes release's own source.
build_k8s_node() {
  local out=$1
  (cd "$here/k8s" &&
    go_or_die "downloading k8s.io/kubernetes v${K8S_VERSION} modules" go mod download &&
    go_or_die "building kubelet, kube-proxy" \
      go build -ldflags "$(k8s_ldflags)" -o "$out/" \
      k8s.io/kubernetes/cmd/kubelet \
      k8s.io/kubernetes/cmd/kube-proxy)
}

CONTAINERD_MODULE=github.com/containerd/containerd/v2
build_containerd() {
  local out=$1 v="v${CONTAINERD_VERSION}" tags="no_btrfs no_devmapper no_zfs urfave_cli_no_docs"
  local ld="-s -w -X ${CONTAINERD_MODULE}/version.Version=${v} -X ${CONTAINERD_MODULE}/version.Package=${CONTAINERD_MODULE}"
  (cd "$out" && GOFLAGS=-trimpath GOBIN="$out" go_or_die "go install containerd ${v}" \
    go install -tags "$tags" -ldflags "$ld" \
    "${CONTAINERD_MODULE}/cmd/containerd@${v}" "${CONTAINERD_MODULE}/cmd/ctr@${v}" &&
    GOFLAGS=-trimpath GOBIN="$out" go_or_die "go install containerd-shim-runc-v2 ${v}" \
      go install -tags "$tags no_grpc" -ldflags "$ld" \
      "${CONTAINERD_MODULE}/cmd/containerd-shim-runc-v2@${v}")
}

CNI_MODULE=github.com/containernetworking/plugins
build_cni() {
  local out=$1 v="v${CNI_PLUGINS_VERSION}"
  mkdir -p "$out/cni"
  (cd "$out" && GOFLAGS=-trimpath GOBIN="$out/cni" go_or_die "go install CNI plugins ${v}" \
    go install -ldflags "-s -w -X ${CNI_MODULE}/pkg/utils/buildversion.BuildVersion=${v}" \
    "${CNI_MODULE}/plugins/main/bridge@${v}" "${CNI_MODULE}/plugins/main/loopback@${v}" \
    "${CNI_MODULE}/plugins/ipam/host-local@${v}" "${CNI_MODULE}/plugins/meta/portmap@${v}")
}

# crictl: the node's teardown removes pod sandboxes through CRI, so CNI releases their
# addresses and rules (killing containerd's tasks directly would leak them).
build_crictl() {
  local out=$1
  (cd "$out" && GOFLAGS=-trimpath GOBIN="$out" go_or_die "go install crictl v${CRICTL_VERSION}" \
    go install -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=${CRICTL_VERSION}" \
    "sigs.k8s.io/cri-tools/cmd/crictl@v${CRICTL_VERSION}")
}

# runc built with cgo and libseccomp: Debian 12's runc 1.1.5 cannot start containerd 2.3's
# sandboxes here (its init dies without a word); v1.5.2 is what containerd 2.3 is tested with.
build_runc() {
  local out=$1
  [ -e /usr/include/seccomp.h ] || die "missing: libseccomp-dev (headers for runc's seccomp support)"
  command -v pkg-config >/dev/null 2>&1 || die "missing: pkg-config (to find libseccomp for runc)"
  (cd "$out" && CGO_ENABLED=1 GOFLAGS=-trimpath GOBIN="$out" go_or_die "go install runc v${RUNC_VERSION}" \
    go install -tags "seccomp urfave_cli_no_docs" -ldflags "-s -w -X main.version=${RUNC_VERSION}" \
    "github.com/opencontainers/runc@v${RUNC_VERSION}")
}

# CoreDNS, as the node's cluster DNS (pods resolve Service names such as the chart's bundled
# Redis): our own main package in tools/coredns imports only the plugins it needs.
build_coredns() {
  local out=$1
  (cd "$here/coredns" &&
    go_or_die "downloading CoreDNS v${COREDNS_VERSION} modules" go mod download &&
    go_or_die "building CoreDNS v${COREDNS_VERSION}" \
      go build -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=v${COREDNS_VERSION}" \
      -o "$out/coredns" .)
}

build_pause() {
  local out=$1 src
  command -v gcc >/dev/null 2>&1 || die "missing: gcc (and libc6-dev) to compile the pause program"
  src=$(cd "$here/k8s" && GOFLAGS= go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])') ||
    die "cannot locate the k8s.io/kubernetes v${K8S_VERSION} module source for pause.c"
  gcc -Os -Wall -Werror -static -DVERSION="v${PAUSE_VERSION}-sparket" \
    -o "$out/pause" "$src/build/pause/linux/pause.c" ||
    die "failed: compiling pause.c statically (is libc6-dev installed?)"
}

component_key() {
  case $1 in
    k8s) echo "k8s-v${K8S_VERSION}-$(module_key "$here/k8s")" ;;
    k8s_node) echo "k8s-node-v${K8S_VERSION}-$(module_key "$here/k8s")" ;;
    etcd) echo "etcd-v${ETCD_VERSION}-$(module_key "$here/etcd")" ;;
    kwok) echo "kwok-v${KWOK_VERSION}-fast-stages" ;;
    helm) echo "helm-v${HELM_VERSION}" ;;
    containerd) echo "containerd-v${CONTAINERD_VERSION}" ;;
    cni) echo "cni-plugins-v${CNI_PLUGINS_VERSION}" ;;
    pause) echo "pause-v${PAUSE_VERSION}-k8s-v${K8S_VERSION}" ;;
    crictl) echo "crictl-v${CRICTL_VERSION}" ;;
    runc) echo "runc-v${RUNC_VERSION}" ;;
    # Its plugin list is in main.go: a changed list is a new cache entry too.
    coredns) echo "coredns-v${COREDNS_VERSION}-$(cat "$here/coredns/main.go" "$here/coredns/go.mod" "$here/coredns/go.sum" | sha256sum | cut -c1-12)" ;;
    *) die "unknown component '$1' (choose from: ${ALL_COMPONENTS})" ;;
  esac
}

CONTROL_PLANE_COMPONENTS="etcd k8s kwok helm"
NODE_COMPONENTS="k8s_node containerd cni pause crictl runc coredns"
ALL_COMPONENTS="$CONTROL_PLANE_COMPONENTS $NODE_COMPONENTS"


# Symlinks in one bin dir keep callers simple: they need just one directory on PATH.
link_all() {
  mkdir -p "$bin_dir"
  local c key f
  for c in $ALL_COMPONENTS; do
    key=$(component_key "$c")
    [ -d "$cache_root/$key" ] || continue
    for f in "$cache_root/$key"/*; do ln -sfn "$f" "$bin_dir/$(basename "$f")"; done
  done
}

main() {
  if [ "${1:-}" = "--print-dir" ]; then echo "$bin_dir"; return 0; fi
  local components=("$@")
  if [ ${#components[@]} -eq 0 ]; then read -r -a components <<<"$CONTROL_PLANE_COMPONENTS"; fi
  if [ "${components[0]}" = "--node" ]; then read -r -a components <<<"$NODE_COMPONENTS"; fi
  if [ "${components[0]}" = "--all" ]; then read -r -a components <<<"$ALL_COMPONENTS"; fi
  mkdir -p "$cache_root"
  # One builder at a time per cache: a second caller waits instead of racing.
  exec 9>"$cache_root/.build.lock"
  flock 9
  local c
  for c in "${components[@]}"; do
    run_build "$c" "$(component_key "$c")" "build_$c"
  done
  link_all
  echo "build-binaries: binaries ready in $bin_dir"
}

main "$@"
