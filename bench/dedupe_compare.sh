#!/bin/sh
# Scores each near-duplicate method on a labelled set and on re-edited variants of it (dedupe_variants.py);
# docs/dedupe.md keeps the results. Usage: bench/dedupe_compare.sh [build/vnawire] [eval folder]
set -eu
bin=$(realpath "${1:-build/vnawire}")
eval_dir=${2:-/work/shared/eval/dedupe}
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$here/dedupe_variants.py" "$eval_dir/docs.jsonl" "$eval_dir/pairs.jsonl" "$tmp/variants"
summary='import json,sys; r=json.load(sys.stdin); print("P %.3f R %.3f false %d hard-neg %d/%d" % (r["precision"], r["recall"], r["false_merges"], r["hard_negatives_merged"], r["hard_negatives"]))'
for options in "{near_method: off}" \
               "{near_method: minhash}" \
               "{near_method: minhash, minhash_bands: 64}" \
               "{near_method: minhash, minhash_rows: 2}" \
               "{near_method: minhash, minhash_bands: 32, minhash_rows: 4}" \
               "{near_method: minhash, shingle_words: 5}" \
               "{near_method: minhash, near_threshold: 0.5}" \
               "{near_method: minhash, near_threshold: 0.25}" \
               "{near_method: simhash}" \
               "{near_method: simhash, shingle_words: 1}"; do
  printf '#!/bin/sh\nexec %s "$1" --options "%s"\n' "$bin" "$options" > "$tmp/run"
  chmod +x "$tmp/run"
  shared=$(python3 "$eval_dir/score.py" --bin "$tmp/run" --json | python3 -c "$summary")
  variants=$(python3 "$eval_dir/score.py" --bin "$tmp/run" --docs "$tmp/variants/docs.jsonl" \
             --pairs "$tmp/variants/pairs.jsonl" --json | python3 -c "$summary")
  printf '%-58s | shared: %s | variants: %s\n' "$options" "$shared" "$variants"
done
