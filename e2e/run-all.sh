#!/usr/bin/env bash
# Runs every test: unit tests and the end-to-end suite against real containerd, runc, CNI
# plugins and a docker-registry on 127.0.0.1. Installs what the tests need on Debian 12; each
# test starts its own containerd, registry and cricket on private paths and cleans up after
# itself. Needs root (containers, mounts, network namespaces). With --install-only it stops
# once the packages are in place.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
packages=(containerd runc containernetworking-plugins iptables iproute2 docker-registry busybox-static
          skopeo umoci protobuf-compiler gcc libc6-dev golang-go golang-google-grpc-dev
          golang-github-docker-spdystream-dev apparmor openssl
          apache2-utils  # htpasswd for the registry with basic auth
          systemd)  # systemd-analyze verifies the unit

[ "$(id -u)" -eq 0 ] || { echo "run as root: the e2e tests run containers" >&2; exit 1; }

missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
# The shell of critest's stand-in images: Debian's busybox package, unpacked by the tests and
# never installed (it conflicts with busybox-static), whose shell execs the commands it runs.
shell_debs=/var/cache/cricket-e2e
if ! compgen -G "$shell_debs/busybox_*.deb" >/dev/null; then
  echo "==> fetching Debian's busybox package for the test images"
  mkdir -p "$shell_debs"
  (cd "$shell_debs" && { apt-get download busybox 2>/dev/null || { apt-get update -qq && apt-get download busybox; }; })
fi
# Debian's docker-registry package starts a registry on :5000 at install; the tests start
# their own on free ports and do not need it.

if [ "${1:-}" = "--install-only" ]; then exit 0; fi

export PATH="$HOME/.cargo/bin:$PATH"
# critest's module (e2e/critest/go.mod) needs a current Go; Debian's golang-go (1.19) builds
# only the small GOPATH-mode peers. Prefer the machine's own Go where there is one.
if [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; fi
cd "$repo"
echo "==> building"
cargo build --workspace --bins --all-targets
echo "==> testing"
cargo test --workspace --no-fail-fast
