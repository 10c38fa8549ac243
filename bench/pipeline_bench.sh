#!/usr/bin/env bash
# End-to-end throughput of the real multi-process pipeline: N generated dispatches dropped into a
# fetch folder, timed until the JSON Lines sink holds all of them.
# usage: bench/pipeline_bench.sh [N=2000] [EXTRACT_REPLICAS=2] [BINARY=build/vnawire] [ACKNOWLEDGEMENTS=true]
set -euo pipefail
n="${1:-2000}"
replicas="${2:-2}"
binary="$(realpath "${3:-build/vnawire}")"
acks="${4:-true}"
dir="$(mktemp -d /tmp/vnawire-bench-XXXXXX)"
trap 'kill "$daemon" 2>/dev/null || true; rm -rf "$dir"' EXIT
mkdir -p "$dir/inbox"
python3 - "$dir/inbox" "$n" <<'PY'
import random, sys
out, n = sys.argv[1], int(sys.argv[2])
words = ("coopération commerce délégation ministre province investissement accord énergie port riz "
         "formation tourisme culture agriculture exportation développement partenariat").split()
places = ["Hanoï", "Da Nang", "Hai Phong", "Can Tho", "Hue", "Quang Ninh"]
for i in range(n):
    r = random.Random(i)
    title = f"Dépêche {i} : " + " ".join(r.choice(words) for _ in range(7))
    paras = [" ".join(r.choice(words) for _ in range(r.randint(25, 60))).capitalize() + "." for _ in range(5)]
    text = f"{title}\n\n{paras[0]}\n\n{r.choice(places)} (VNA) – {paras[0]}\n\n" + "\n\n".join(paras[1:]) + " -VNA"
    open(f"{out}/d{i:06d}.txt", "w", encoding="utf-8").write(text)
PY
cat > "$dir/pipeline.yaml" <<YAML
pipeline: {state_dir: $dir/state, log_level: warn, flush_interval_ms: 200, acknowledgements: $acks}
stages:
  - {name: fetch, type: fetch, options: {directory: $dir/inbox, settle_ms: 0, poll_interval_ms: 100}}
  - {name: dedupe, type: dedupe, inputs: [fetch]}
  - {name: langid, type: langid, inputs: [dedupe]}
  - {name: extract, type: extract, replicas: $replicas, inputs: [langid]}
  - {name: out, type: sink_jsonl, inputs: [extract], options: {path: out.jsonl}}
YAML
start=$(date +%s.%N)
"$binary" run -c "$dir/pipeline.yaml" &
daemon=$!
while [ "$(wc -l < "$dir/state/out.jsonl" 2>/dev/null || echo 0)" -lt "$n" ]; do sleep 0.05; done
end=$(date +%s.%N)
kill -TERM "$daemon"; wait "$daemon"
python3 -c "import sys; n, s, e = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]); print(f'{n} dispatches through fetch, dedupe, langid, extract x{sys.argv[4]}, sink_jsonl (acknowledgements {sys.argv[6]}): {e - s:.2f} s, {n / (e - s):.0f} docs/s ({sys.argv[5]} cores)')" "$n" "$start" "$end" "$replicas" "$(nproc)" "$acks"
