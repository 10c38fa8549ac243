#!/bin/sh
# A vnawire sink in a few lines of shell: the `exec` stage in jsonl mode (docs/protocol.md).
# Each record arrives as one JSON line on stdin; it is stored as DIR/<id>.json (written aside, then
# renamed, so a replay rewrites the same file and a reader never sees half of one), then acknowledged
# with "ok <id>" on stdout. A record without a usable id is refused with "error <id> <reason>".
#   pipeline.yaml:  - {name: files, type: exec, inputs: [extract],
#                      options: {command: [examples/sinks/shell/store.sh, /var/lib/vnawire/records]}}
set -eu
dir=${1:?usage: store.sh DIR}
mkdir -p "$dir"
while IFS= read -r line; do
  id=$(printf '%s\n' "$line" | jq -r '.id // empty')
  case "$id" in
    "" | */* | .*)
      printf 'error %s no usable id\n' "$id"
      continue
      ;;
  esac
  printf '%s\n' "$line" >"$dir/$id.json.tmp"
  mv "$dir/$id.json.tmp" "$dir/$id.json"
  printf 'ok %s\n' "$id"
done
