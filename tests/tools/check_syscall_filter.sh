#!/bin/sh
# The unit's SystemCallFilter=@system-service must allow every system call vnawire makes: a call outside it
# fails with EPERM (SystemCallErrorNumber=EPERM) under systemd. Runs the daemon and a whole pipeline (files,
# dedupe, langid, extract, SQLite and JSON Lines sinks, a SIGHUP reload, the SIGTERM drain) under strace and
# checks each call against the set that systemd-analyze expands @system-service to.
# Usage: check_syscall_filter.sh BINARY. Exit 77 (skipped) without strace or systemd-analyze, or when ptrace
# is not allowed.
set -u
binary=$1
command -v strace >/dev/null 2>&1 && command -v systemd-analyze >/dev/null 2>&1 || {
  echo "strace or systemd-analyze not found: skipped"
  exit 77
}
dir=$(mktemp -d /tmp/vnawire-syscalls-XXXXXX)
strace_pid=
cleanup() {
  [ -n "$strace_pid" ] && kill -KILL "$strace_pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
strace -f -qq -o /dev/null true 2>/dev/null || { echo "ptrace not allowed: skipped"; exit 77; }

# @system-service names groups inside groups: expand them all.
expand() {
  systemd-analyze syscall-filter "$1" | sed -n '/^@/,$p' | tail -n +2 | sed 's/^ *//' | grep -v '^#' |
    while read -r name; do
      case "$name" in
        @*) expand "$name" ;;
        "") ;;
        *) echo "$name" ;;
      esac
    done
}
expand @system-service | sort -u >"$dir/allowed"
[ "$(wc -l <"$dir/allowed")" -gt 100 ] || { echo "FAIL: could not expand @system-service"; exit 1; }

mkdir -p "$dir/inbox"
for n in 1 2 3 4; do
  printf 'Hanoi (VNA) - Dispatch %s: the ministry of transport announced plan %s for the northern railway.\n\nThe plan covers %s stations.\n' \
    "$n" "$n" "$n" >"$dir/inbox/doc-$n.txt"
done
cat >"$dir/pipeline.yaml" <<YAML
pipeline: {state_dir: $dir/state, heartbeat_ms: 200, flush_interval_ms: 100}
stages:
  - {name: fetch, type: fetch, options: {directory: $dir/inbox, poll_interval_ms: 50, settle_ms: 50}}
  - {name: dedupe, type: dedupe, inputs: [fetch]}
  - {name: langid, type: langid, inputs: [dedupe]}
  - {name: extract, type: extract, inputs: [langid]}
  - {name: db, type: sink_sqlite, inputs: [extract], options: {path: out.db}}
  - {name: lines, type: sink_jsonl, inputs: [extract], options: {path: out.jsonl}}
YAML

strace -f -qq -o "$dir/trace" "$binary" run -c "$dir/pipeline.yaml" >"$dir/log" 2>&1 &
strace_pid=$!
# Polls `condition` (a shell command) every 0.1 s for up to `seconds`.
wait_for() {
  tries=$(($1 * 10))
  shift
  while [ $tries -gt 0 ]; do
    eval "$*" && return 0
    sleep 0.1
    tries=$((tries - 1))
  done
  return 1
}
wait_for 60 'daemon=$(pgrep -P "$strace_pid" -x vnawire | head -1); [ -n "$daemon" ]' || { echo "FAIL: no daemon"; exit 1; }
wait_for 60 '[ -s "$dir/state/out.jsonl" ] && grep -q "pipeline running" "$dir/log"' ||
  { echo "FAIL: nothing stored"; cat "$dir/log"; exit 1; }
kill -HUP "$daemon"
wait_for 30 'grep -q "reload: nothing to change" "$dir/log"' || { echo "FAIL: no reload"; cat "$dir/log"; exit 1; }
kill -TERM "$daemon"
wait_for 60 '! kill -0 "$strace_pid" 2>/dev/null' || { echo "FAIL: the daemon did not stop"; cat "$dir/log"; exit 1; }
strace_pid=
grep -q "stopped cleanly" "$dir/log" || { echo "FAIL: not a clean stop"; cat "$dir/log"; exit 1; }

# strace pads the pid to five columns ("1143  execve(", "26846 openat("): one space or more.
sed -n 's/^[0-9]*  *\([a-z_0-9]*\)(.*/\1/p' "$dir/trace" | sort -u >"$dir/used"
# A whole pipeline makes some eighty distinct calls: a trace read as a handful (empty, or in a format the
# line above does not parse) would otherwise pass without checking anything. It did, whenever the pids had
# fewer than five digits, until this check.
if [ "$(wc -l <"$dir/used")" -lt 20 ]; then
  echo "FAIL: only $(wc -l <"$dir/used") distinct system calls read from the trace ($(wc -l <"$dir/trace") lines):"
  head -5 "$dir/trace"
  exit 1
fi
outside=$(comm -23 "$dir/used" "$dir/allowed")
if [ -n "$outside" ]; then
  echo "FAIL: system calls outside @system-service: $outside"
  exit 1
fi
echo "$(wc -l <"$dir/used") distinct system calls, all within @system-service"
