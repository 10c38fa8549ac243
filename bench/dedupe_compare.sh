#!/bin/sh
# Scores each near-duplicate method on a labelled set (docs/dedupe.md keeps the results).
# Usage: bench/dedupe_compare.sh [build/vnawire] [score.py]
set -eu
bin=$(realpath "${1:-build/vnawire}")
score=${2:-/work/shared/eval/dedupe/score.py}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for options in "{near_method: off}" \
               "{near_method: minhash}" \
               "{near_method: minhash, minhash_bands: 32, minhash_rows: 4}" \
               "{near_method: minhash, minhash_bands: 128, minhash_rows: 1}" \
               "{near_method: minhash, shingle_words: 5}" \
               "{near_method: simhash}" \
               "{near_method: simhash, shingle_words: 1}"; do
  printf '#!/bin/sh\nexec %s "$1" --options "%s"\n' "$bin" "$options" > "$tmp/run"
  chmod +x "$tmp/run"
  printf '%-62s %s\n' "$options" "$(python3 "$score" --bin "$tmp/run" --json)"
done
