#!/usr/bin/env bash
# Kubernetes' node conformance suite (test/e2e_node's [NodeConformance] specs, from the
# Kubernetes release kubelet is built from) three ways on this machine: cricket on Debian's
# containerd 1.6, cricket on containerd 2.x, and containerd 2.x's own CRI. Prints one table
# (a row per spec, a column per run) with the totals, and keeps it in
# e2e/node-conformance.md below the account of the runs written there. Each run takes up
# to MINUTES (default 120) minutes; the first build of the suite and of containerd 2.x takes
# about 20 more. FOCUS (a regular expression)
# narrows the specs to those whose names match it too; SKIP (one too) leaves out those whose
# names match it, e.g. SKIP='\[Slow\]|\[Serial\]'. RUNS (default all three) names the
# columns to run; the table takes the others from their last results. RERUN_FAILED=1 runs
# only the specs that failed in each chosen column's last results, and takes their new
# outcomes into them. MERGE=1 adds a run's outcomes to each chosen column's last results
# instead of replacing them: the suite can run in parts, e.g. SKIP='\[Slow\]|\[Serial\]' and
# then FOCUS='\[Slow\]|\[Serial\]' MERGE=1. Run logs stay in target/node-conformance/.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
minutes="${MINUTES:-120}"
bash "$repo/e2e/run-all.sh" --install-only
export PATH="$HOME/.cargo/bin:$PATH"
if [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; fi
cd "$repo"
cargo build -q --bins
out=target/node-conformance
mkdir -p "$out"
runs=("cricket-on-1.6 cricket 1.6" "cricket-on-2.x cricket 2" "containerd-2.x-cri containerd-cri 2")
columns=()
for r in "${runs[@]}"; do
  read -r column runtime backend <<<"$r"
  columns+=("$column=$out/$column.tsv")
  case " ${RUNS:-$column} " in *" $column "*) ;; *) continue ;; esac
  results="$out/$column.tsv" focus="${FOCUS:-}"
  if [ -n "${RERUN_FAILED:-}" ]; then
    focus="$(target/debug/node-conformance failed-focus "$results")"
    [ -n "$focus" ] || { echo "==> $column: nothing failed"; continue; }
    echo "==> $column: the specs that failed, again"
    results="$out/$column.rerun.tsv"
  else
    echo "==> $column"
    if [ -n "${MERGE:-}" ]; then results="$out/$column.part.tsv"; fi
  fi
  CRICKET_E2E_CONTAINERD="$backend" target/debug/node-conformance run "$runtime" "$results" "$out/$column" "$minutes" "$focus" "${SKIP:-}" || true
  # A rerun's or a part's outcomes go into the column's last results.
  if [ "$results" != "$out/$column.tsv" ]; then target/debug/node-conformance merge "$out/$column.tsv" "$results"; fi
done
# The account of the runs above the table is written by hand once there is one; the script
# writes a first one and rewrites only the table and what follows it.
md=e2e/node-conformance.md
account="$(sed '/^| spec |/,$d' "$md" 2>/dev/null || true)"
if [ -z "$account" ]; then
  account="# Node conformance: Kubernetes $(sed -n 's/^require k8s.io\/kubernetes //p' e2e/kube/go.mod)

Taken $(date -u +%Y-%m-%d) on $(uname -sr), cgroup $(stat -fc %T /sys/fs/cgroup | sed 's/cgroup2fs/v2/;s/tmpfs/v1/'), by e2e/node-conformance.sh${FOCUS:+ with FOCUS=\`$FOCUS\`}${SKIP:+ and SKIP=\`$SKIP\`}.
"
fi
table="$(target/debug/node-conformance table "${columns[@]}")"
printf '%s\n\n%s\n' "$account" "$table" > "$md.new" && mv "$md.new" "$md"
cat "$md"
