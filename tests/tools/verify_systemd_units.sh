#!/bin/sh
# Checks the systemd files in deploy/systemd: `systemd-analyze verify` on both units (pointed at the built
# binary, since verify requires ExecStart's program to exist), and sysusers.d/tmpfiles.d applied to a scratch
# root. systemd-analyze exits 0 on an unknown key or a bad value, so any message it prints fails the test too.
# Usage: verify_systemd_units.sh BINARY DEPLOY_DIR. Exit 77 (skipped) without systemd-analyze.
set -u
binary=$1
deploy=$2
command -v systemd-analyze >/dev/null 2>&1 || { echo "systemd-analyze not found: skipped"; exit 77; }
scratch=$(mktemp -d /tmp/vnawire-units-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
status=0

verify() {  # verify UNIT_FILE INSTANCE_NAME: prints what systemd-analyze said, returns 1 on any complaint
  sed "s#/usr/bin/vnawire#$binary#g" "$1" >"$scratch/$(basename "$1")"
  out=$(cd "$scratch" && systemd-analyze verify "./$2" 2>&1)
  rc=$?
  [ -n "$out" ] && printf '%s\n' "$out"
  [ $rc -eq 0 ] && [ -z "$out" ]
}

verify "$deploy/vnawire.service" vnawire.service || { echo "FAIL: vnawire.service"; status=1; }
verify "$deploy/vnawire-stage@.service" vnawire-stage@extract.service || { echo "FAIL: vnawire-stage@.service"; status=1; }

# The check itself must be able to fail: a unit with a key systemd does not know.
mkdir -p "$scratch/bad"
sed 's/^Restart=on-failure/Restart=on-failure\nRestartt=always/' "$deploy/vnawire.service" >"$scratch/bad/vnawire.service"
if verify "$scratch/bad/vnawire.service" vnawire.service >/dev/null; then
  echo "FAIL: a misspelt key went unnoticed"
  status=1
fi

if command -v systemd-sysusers >/dev/null 2>&1 && command -v systemd-tmpfiles >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  root="$scratch/root"
  mkdir -p "$root/etc"
  systemd-sysusers --root="$root" "$deploy/vnawire.sysusers" || { echo "FAIL: sysusers"; status=1; }
  grep -q '^vnawire:.*:/var/lib/vnawire:/usr/sbin/nologin$' "$root/etc/passwd" || { echo "FAIL: no vnawire user"; status=1; }
  systemd-tmpfiles --root="$root" --create "$deploy/vnawire.tmpfiles" || { echo "FAIL: tmpfiles"; status=1; }
  uid=$(grep '^vnawire:' "$root/etc/passwd" | cut -d: -f3)
  [ "$(stat -c '%a %u' "$root/run/vnawire" 2>/dev/null)" = "750 $uid" ] ||
    { echo "FAIL: /run/vnawire not made 0750 for vnawire"; status=1; }
else
  echo "sysusers/tmpfiles check skipped (needs root and systemd-sysusers, systemd-tmpfiles)"
fi
[ $status -eq 0 ] && echo "units verified"
exit $status
