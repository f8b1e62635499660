#!/usr/bin/env bash
# systemctl for the node suite's kubelet on a machine where no systemd runs. The suite stops,
# starts and restarts kubelet as a unit it finds with `systemctl list-units '*kubelet*'`; here
# that unit is the process whose program is this run's kubelet (@KUBELET@), and starting it
# again runs the command line it had when it was last stopped. No other unit exists.
set -u
kubelet='@KUBELET@'
saved='@STATE@/kubelet.cmdline'
log='@LOG@'
unit=kubelet-e2e.service

# Whether process $1 runs this kubelet. An exited one awaiting its parent has an empty
# command line.
is_kubelet() {
  [ "$({ tr '\0' '\n' <"/proc/$1/cmdline"; } 2>/dev/null | head -n1)" = "$kubelet" ]
}

# The running kubelet's PID.
kubelet_pid() {
  local d
  for d in /proc/[0-9]*; do
    if is_kubelet "${d#/proc/}"; then
      echo "${d#/proc/}"
      return 0
    fi
  done
  return 1
}

stop_kubelet() {
  local pid
  pid="$(kubelet_pid)" || return 0
  cp "/proc/$pid/cmdline" "$saved"
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 100); do
    is_kubelet "$pid" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  while is_kubelet "$pid"; do sleep 0.1; done
}

start_kubelet() {
  kubelet_pid >/dev/null && return 0
  [ -f "$saved" ] || { echo "kubelet was never stopped: no command line to start" >&2; return 1; }
  local args
  mapfile -d '' args <"$saved"
  setsid "${args[@]}" >>"$log" 2>&1 </dev/null &
}

# The first argument that is not an option, after the verb.
verb="${1:-}"
shift || true
name=""
running_only=false
for a in "$@"; do
  case "$a" in
    --state=running) running_only=true ;;
    -*) ;;
    *) [ -n "$name" ] || name="$a" ;;
  esac
done
case "$name" in
  *kubelet*) ;;
  *) [ "$verb" = list-units ] && exit 0
     echo "Unit $name not found." >&2
     exit 5 ;;
esac
case "$verb" in
  list-units)
    if kubelet_pid >/dev/null; then
      echo "$unit loaded active running kubelet"
    elif ! $running_only; then
      echo "$unit loaded failed failed kubelet"
    fi ;;
  reset-failed | daemon-reload) ;;
  kill | stop) stop_kubelet ;;
  start) start_kubelet ;;
  restart) stop_kubelet && start_kubelet ;;
  is-active)
    if kubelet_pid >/dev/null; then echo active; else echo inactive; exit 3; fi ;;
  *) echo "systemctl $verb: not supported here" >&2; exit 1 ;;
esac
