#!/usr/bin/env bash
# A one-node Kubernetes cluster on this machine whose kubelet runs its pods through cricket:
# installs the packages the e2e suite uses, builds cricket and the Kubernetes binaries (the
# first build of Kubernetes takes about 15 minutes; it is kept), and keeps the cluster up until
# Ctrl-C. kubectl pointed at it: /run/cricket-cluster/kubectl.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$repo/e2e/run-all.sh" --install-only
export PATH="$HOME/.cargo/bin:$PATH"
if [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; fi
cd "$repo"
cargo build -q --bins
exec target/debug/one-node-cluster
