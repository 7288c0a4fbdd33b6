#!/usr/bin/env bash
# Install the Debian packages that tests and the demo need (Redis, PostgreSQL, iproute2,
# iptables and what runc's build needs), only if missing. The image builder (tools/images/build-local.sh) installs its own.
# Services are never started here: tests start their own servers on free loopback ports.
set -euo pipefail

die() { echo "install-system-deps: $*" >&2; exit 1; }

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || need+=(postgresql)
command -v flock >/dev/null 2>&1 || need+=(util-linux)
# Network namespaces and links (the demo validator's place, test networks).
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# The real worker node: iptables for kube-proxy and CNI; runc is built with cgo against
# libseccomp (RuntimeDefault seccomp profiles), from the headers in libseccomp-dev.
command -v iptables-restore >/dev/null 2>&1 || need+=(iptables)
[ -e /usr/include/seccomp.h ] || need+=(libseccomp-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)

if [ ${#need[@]} -eq 0 ]; then
  echo "install-system-deps: redis-server, postgresql, ip, iptables, libseccomp-dev, pkg-config and gcc present"
  exit 0
fi
command -v apt-get >/dev/null 2>&1 ||
  die "missing: ${need[*]}; no apt-get here, install them with your system's package manager"
[ "$(id -u)" = 0 ] || die "missing: ${need[*]}; run as root or: sudo apt-get install -y ${need[*]}"

# Keep Debian's maintainer scripts from starting the packaged services on their fixed ports.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
fi
cleanup() { [ "$made_policy" = 1 ] && rm -f "$policy"; return 0; }
trap cleanup EXIT

echo "install-system-deps: installing ${need[*]} from Debian"
timeout 600 apt-get update -qq >/dev/null ||
  die "cannot reach Debian's package archive (apt-get update failed or timed out); needed: ${need[*]}"
DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends \
  "${need[@]}" >/dev/null || die "failed: apt-get install ${need[*]}"
echo "install-system-deps: installed ${need[*]}"
