#!/usr/bin/env bash
# Runs every test: unit tests and the end-to-end suite against real containerd, runc, CNI
# plugins and a docker-registry on 127.0.0.1. Everything runs on containerd 2.x and a current
# runc (built from pinned Go modules); the tests that need no cluster run on Debian's
# containerd 1.6 as well. Installs what the tests need on Debian 12; each test starts its own
# containerd, registry and cricket on private paths and cleans up after itself. Needs root
# (containers, mounts, network namespaces). With --install-only it stops once the packages
# are in place.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
packages=(containerd runc containernetworking-plugins iptables iproute2 docker-registry busybox-static
          skopeo umoci protobuf-compiler gcc libc6-dev golang-go golang-google-grpc-dev
          golang-github-docker-spdystream-dev apparmor openssl
          apache2-utils  # htpasswd for the registry with basic auth
          curl netcat-openbsd  # in the node conformance suite's agnhost image
          libseccomp-dev pkgconf  # runc built with seccomp for the containerd 2.x backend
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
# CRIU for the checkpoint tests, built once from Debian's source (manifests/criu.sh).
bash "$repo/manifests/criu.sh"
# Debian's docker-registry package starts a registry on :5000 at install; the tests start
# their own on free ports and do not need it.

if [ "${1:-}" = "--install-only" ]; then exit 0; fi

export PATH="$HOME/.cargo/bin:$PATH"
# runc finds criu (installed in /usr/local/sbin) on the PATH containerd passes down.
case ":$PATH:" in *:/usr/local/sbin:*) ;; *) export PATH="/usr/local/sbin:$PATH" ;; esac
# critest's module (e2e/critest/go.mod) needs a current Go; Debian's golang-go (1.19) builds
# only the small GOPATH-mode peers. Prefer the machine's own Go where there is one.
if [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; fi
cd "$repo"
status=0
# The gates: rustfmt (rustfmt.toml) and clippy with warnings as errors. A failure fails the run;
# the tests still run, so one run tells everything.
echo "==> checking format and lints"
cargo fmt --all --check || { echo "rustfmt: the files above are not formatted (cargo fmt --all)"; status=1; }
cargo clippy --workspace --all-targets -- -D warnings || status=1
echo "==> building"
cargo build --workspace --bins --all-targets
# The Go peers (containerd 2.x, runc, Kubernetes, critest, ...) build in the background while
# the first tests run; a test that needs one still being built waits for it. A second run
# builds nothing.
mkdir -p target
target/debug/go-peers > target/go-peers.log 2>&1 &
peers=$!
# Every test that runs containerd but no cluster, on Debian 12's containerd 1.6 and runc.
debian_tests=()
for f in e2e/tests/*.rs; do
  name="$(basename "$f" .rs)"
  case "$name" in kube_*|node_conformance) ;; *) debian_tests+=(--test "$name") ;; esac
done
echo "==> testing on Debian's containerd 1.6"
# (--workspace, not -p e2e: the same features as the build above, so nothing is built again.)
CRICKET_E2E_CONTAINERD=1.6 cargo test --workspace --no-fail-fast "${debian_tests[@]}" || status=1
echo "==> testing everything on containerd 2.x"
CRICKET_E2E_CONTAINERD=2 cargo test --workspace --no-fail-fast || status=1
wait "$peers" || { echo "building the Go peers failed:"; cat target/go-peers.log; status=1; }
exit "$status"
