#!/usr/bin/env bash
# Brings up a working cricket node runtime on Debian 12: installs what is missing, starts
# containerd if none runs, writes a default config and CNI network if none exist, builds and
# starts cricket on /run/cricket/cricket.sock. Safe to run again (it restarts cricket).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
socket=/run/cricket/cricket.sock
containerd_socket=/run/containerd/containerd.sock
packages=(containerd runc containernetworking-plugins iptables protobuf-compiler gcc libc6-dev curl ca-certificates)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
have_systemd() { [ -d /run/systemd/system ]; }
containerd_answers() { ctr --address "$containerd_socket" version >/dev/null 2>&1; }
wait_for() { # wait_for COMMAND...: up to 10 s
  for _ in $(seq 1 100); do "$@" && return 0; sleep 0.1; done
  return 1
}
# cricket replaces a stale socket file at start, so a socket newer than $since is the live one.
fresh_socket() { [ -S "$socket" ] && [ "$(stat -c %Y "$socket")" -ge "$since" ]; }

# Debian 12 packages no crictl: build the pinned release (manifests/crictl/go.mod) when a Go
# new enough for it is at hand (Debian's golang-go is too old).
install_crictl() {
  command -v crictl >/dev/null && return 0
  local go want
  want="$(awk '$1 == "go" {print $2}' "$repo/manifests/crictl/go.mod")"
  for go in /usr/local/go/bin/go "$(command -v go || true)"; do
    [ -x "$go" ] || continue
    if [ "$(printf '%s\n%s\n' "$want" "$("$go" env GOVERSION | sed 's/^go//')" | sort -V | head -1)" = "$want" ]; then
      local version
      version="$(awk '$1 == "sigs.k8s.io/cri-tools" {print $2}' "$repo/manifests/crictl/go.mod")"
      say "building crictl $version from the Go module proxy"
      (cd "$repo/manifests/crictl" && "$go" build -trimpath -ldflags "-X sigs.k8s.io/cri-tools/pkg/version.Version=$version" \
        -o /usr/local/bin/crictl sigs.k8s.io/cri-tools/cmd/crictl)
      return 0
    fi
  done
  say "crictl is not installed and needs Go $want or newer to build: install that Go and run this again"
}

[ "$(id -u)" -eq 0 ] || { echo "run as root: $0" >&2; exit 1; }

missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# CRIU for CheckpointContainer and restores (Debian 12's own is too old for current kernels).
say "installing CRIU if missing"
bash "$repo/manifests/criu.sh"

# Debian's own cargo is too old for cricket's dependencies; use rustup's when needed.
export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo --version >/dev/null 2>&1 || [ "$(cargo --version | awk '{split($2, v, "."); print (v[1] * 1000 + v[2] >= 1089)}')" != 1 ]; then
  say "installing a current Rust toolchain with rustup"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  export PATH="$HOME/.cargo/bin:$PATH"
fi

say "building cricket (release)"
(cd "$repo" && cargo build --release --bins --quiet)
install -m 0755 "$repo/target/release/cricket" /usr/local/bin/cricket
# The per-container log writer the shim starts; cricket looks for it beside itself.
install -m 0755 "$repo/target/release/cricket-logger" /usr/local/bin/cricket-logger

mkdir -p /etc/cricket
if command -v ctr >/dev/null && containerd_answers; then
  say "containerd already runs at $containerd_socket (left as it is)"
elif have_systemd; then
  say "starting containerd (systemd) with /etc/cricket/containerd.toml (its own CRI plugin off)"
  install -m 0644 "$repo/manifests/containerd.toml" /etc/cricket/containerd.toml
  install -D -m 0644 "$repo/manifests/systemd/containerd-cricket.conf" /etc/systemd/system/containerd.service.d/cricket.conf
  systemctl daemon-reload
  systemctl enable containerd >/dev/null 2>&1
  systemctl restart containerd
  wait_for containerd_answers || { echo "containerd did not start; see journalctl -u containerd" >&2; exit 1; }
else
  say "starting containerd (no systemd: background process, log /var/log/containerd.log; its own CRI plugin off)"
  install -m 0644 "$repo/manifests/containerd.toml" /etc/cricket/containerd.toml
  nohup containerd --config /etc/cricket/containerd.toml >>/var/log/containerd.log 2>&1 &
  echo $! >/run/containerd-by-cricket-setup.pid
  wait_for containerd_answers || { echo "containerd did not start; see /var/log/containerd.log" >&2; exit 1; }
fi

mkdir -p /etc/cni/net.d
if [ ! -e /etc/cricket/config.toml ]; then
  say "writing /etc/cricket/config.toml (cricket config default)"
  /usr/local/bin/cricket config default >/etc/cricket/config.toml
fi
shopt -s nullglob
existing_networks=(/etc/cni/net.d/*.conflist /etc/cni/net.d/*.conf /etc/cni/net.d/*.json)
shopt -u nullglob
if [ ${#existing_networks[@]} -eq 0 ]; then
  say "writing the default pod network /etc/cni/net.d/10-cricket-bridge.conflist"
  install -m 0644 "$repo/manifests/cni/10-cricket-bridge.conflist" /etc/cni/net.d/10-cricket-bridge.conflist
fi
[ -e /etc/crictl.yaml ] || install -m 0644 "$repo/manifests/crictl.yaml" /etc/crictl.yaml
install_crictl

# Pods reach each other and the node through the bridge: forwarding on, as kubeadm requires,
# and kept across reboots.
if [ "$(cat /proc/sys/net/ipv4/ip_forward)" != 1 ]; then
  say "enabling net.ipv4.ip_forward (kept in /etc/sysctl.d/99-cricket.conf)"
fi
install -m 0644 "$repo/manifests/sysctl/99-cricket.conf" /etc/sysctl.d/99-cricket.conf
echo 1 >/proc/sys/net/ipv4/ip_forward

since=$(date +%s)
if have_systemd; then
  say "starting cricket (systemd unit cricket.service)"
  install -m 0644 "$repo/manifests/systemd/cricket.service" /etc/systemd/system/cricket.service
  systemctl daemon-reload
  systemctl enable cricket >/dev/null 2>&1
  systemctl restart cricket
else
  pidfile=/run/cricket-by-setup.pid
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    say "stopping the cricket this script started before (pid $(cat "$pidfile"))"
    kill -TERM "$(cat "$pidfile")"
    for _ in $(seq 1 100); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
  fi
  say "starting cricket (no systemd: background process, log /var/log/cricket.log)"
  nohup /usr/local/bin/cricket serve --config /etc/cricket/config.toml >>/var/log/cricket.log 2>&1 &
  echo $! >"$pidfile"
fi
wait_for fresh_socket || { echo "cricket did not start; see its log" >&2; exit 1; }
say "preflight: cricket check"
/usr/local/bin/cricket check --config /etc/cricket/config.toml || true

cat <<EOF

cricket is serving on unix://$socket

  crictl --runtime-endpoint unix://$socket info
  (or simply 'crictl info': /etc/crictl.yaml points at cricket)

kubelet: --container-runtime-endpoint=unix://$socket
EOF
