#!/usr/bin/env python3
"""Measures the glued-word repair of `vnawire extract` on raw dispatches (standard library only).

Usage:
    python3 tests/tools/glued_words.py --bin build/vnawire [--seeds DIR] [--gold FILE] [--json] [--show]

Every `*.txt` in the seeds folder (default ../shared/seeds) is sent to `BIN extract` as a text/plain
record with id `seed-NNN` (the file name's leading number). The extracted body paragraphs are then
compared with the raw text, and, when the gold file (default ../shared/eval/dev/gold.jsonl) has a
record with that id, with the gold body.

Alignment. The repair only moves white space, so texts are compared on their non-white-space
characters. Each text becomes a list of those characters, each with a flag "a token boundary comes
before it" (white space before it, or the start of a paragraph). The characters of the extracted
body and of the gold body are mapped onto the raw characters by difflib's matching blocks (exact
runs of equal characters); dateline prefixes, captions and other text the extractor drops are left
unmapped. A raw token (a maximal run of non-white-space raw characters) is *covered* by a text when
all its characters are mapped into that text consecutively. For a covered token, its *split* in
that text is the set of its inner positions with a boundary, and it is *joined* when a boundary of
the raw text at its start or just after its end is missing in that text (both characters mapped).

Figures, per seed:
  * changed: raw tokens, covered by the output, that the output splits or joins.
  * For a seed with gold, over raw tokens covered by both output and gold:
      - precision: changed tokens whose split and joins equal the gold's, over changed tokens;
      - recall: glued tokens (raw tokens the gold splits into two or more) whose split in the
        output equals the gold's, over glued tokens.
"""
import argparse
import difflib
import json
import pathlib
import re
import subprocess
import sys


def characters(paragraphs):
    """Non-white-space characters of the paragraphs and, for each, whether a boundary precedes it."""
    chars, boundary = [], []
    for paragraph in paragraphs:
        before = True
        for c in paragraph:
            if c.isspace():
                before = True
                continue
            chars.append(c)
            boundary.append(before)
            before = False
    return chars, boundary


def raw_mapping(raw_chars, chars):
    """For each raw character, the index of the text character aligned with it, or None."""
    mapped = [None] * len(raw_chars)
    matcher = difflib.SequenceMatcher(None, raw_chars, chars, autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        for k in range(size):
            mapped[a + k] = b + k
    return mapped


def raw_tokens(boundary):
    """(start, end) index pairs of the raw tokens."""
    starts = [i for i, b in enumerate(boundary) if b] + [len(boundary)]
    return list(zip(starts, starts[1:]))


class View:
    """How one text (output or gold) spaces the raw characters."""

    def __init__(self, raw_chars, paragraphs):
        self.chars, self.boundary = characters(paragraphs)
        self.mapped = raw_mapping(raw_chars, self.chars)

    def covers(self, start, end):
        m = self.mapped[start:end]
        return all(x is not None for x in m) and all(m[k + 1] == m[k] + 1 for k in range(len(m) - 1))

    def split(self, start, end):
        return frozenset(p for p in range(start + 1, end) if self.boundary[self.mapped[p]])

    def joins(self, start, end, raw_boundary):
        """Raw boundaries at the token's start or after its end that this text removes."""
        out = set()
        for p in (start, end):
            if p <= 0 or p >= len(raw_boundary) or not raw_boundary[p]:
                continue
            here, prev = self.mapped[p], self.mapped[p - 1]
            if here is not None and prev is not None and here == prev + 1 and not self.boundary[here]:
                out.add(p)
        return frozenset(out)


def measure(raw_text, output_body, gold_body):
    raw_chars, raw_boundary = characters([raw_text])
    out = View(raw_chars, output_body)
    gold = View(raw_chars, gold_body) if gold_body is not None else None
    result = {"tokens": 0, "changed": 0, "changes": []}
    if gold is not None:
        result.update({"scored_changed": 0, "correct": 0, "glued": 0, "repaired": 0, "misses": []})
    for start, end in raw_tokens(raw_boundary):
        if not out.covers(start, end):
            continue
        result["tokens"] += 1
        o_split, o_joins = out.split(start, end), out.joins(start, end, raw_boundary)
        changed = bool(o_split or o_joins)
        token = "".join(raw_chars[start:end])
        shown = "".join(c if p == start or p not in o_split else " " + c for p, c in enumerate(raw_chars[start:end], start))
        if changed:
            result["changed"] += 1
        if gold is None or not gold.covers(start, end):
            if changed:
                result["changes"].append({"raw": token, "output": shown})
            continue
        g_split, g_joins = gold.split(start, end), gold.joins(start, end, raw_boundary)
        if changed:
            result["scored_changed"] += 1
            right = o_split == g_split and o_joins == g_joins
            result["correct"] += right
            result["changes"].append({"raw": token, "output": shown, "right": right})
        if g_split:
            result["glued"] += 1
            if o_split == g_split:
                result["repaired"] += 1
            else:
                gold_shown = "".join(c if p == start or p not in g_split else " " + c
                                     for p, c in enumerate(raw_chars[start:end], start))
                result["misses"].append({"raw": token, "output": shown, "gold": gold_shown})
    if gold is not None:
        result["precision"] = result["correct"] / result["scored_changed"] if result["scored_changed"] else 1.0
        result["recall"] = result["repaired"] / result["glued"] if result["glued"] else 1.0
    return result


def main():
    root = pathlib.Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", required=True, help="the vnawire binary")
    parser.add_argument("--seeds", default=str(root.parent / "shared" / "seeds"))
    parser.add_argument("--gold", default=str(root.parent / "shared" / "eval" / "dev" / "gold.jsonl"))
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--show", action="store_true", help="list every changed and every missed token")
    args = parser.parse_args()

    seeds = {}
    for path in sorted(pathlib.Path(args.seeds).glob("*.txt")):
        number = re.match(r"\d+", path.name)
        if number:
            seeds["seed-" + number.group(0)] = path.read_text(encoding="utf-8")
    if not seeds:
        print(f"no seeds in {args.seeds}", file=sys.stderr)
        return 2
    gold = {}
    if pathlib.Path(args.gold).exists():
        for line in pathlib.Path(args.gold).read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                gold[record["id"]] = record["expect"]["article"]["body"]

    records = "".join(json.dumps({"id": i, "url": None, "content_type": "text/plain", "body": t}) + "\n"
                      for i, t in seeds.items())
    run = subprocess.run([args.bin, "extract"], input=records, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        print(f"{args.bin} extract exited {run.returncode}: {run.stderr[-2000:]}", file=sys.stderr)
        return 2
    outputs = {}
    for line in run.stdout.splitlines():
        if line.strip():
            record = json.loads(line)
            outputs[record["id"]] = record.get("article", {}).get("body", [])

    report = {}
    for seed_id, text in seeds.items():
        report[seed_id] = measure(text, outputs.get(seed_id, []), gold.get(seed_id))
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    for seed_id, r in report.items():
        line = f"{seed_id}: {r['tokens']} tokens, {r['changed']} changed"
        if "precision" in r:
            line += (f"; precision {r['precision']:.3f} ({r['correct']}/{r['scored_changed']}),"
                     f" recall {r['recall']:.3f} ({r['repaired']}/{r['glued']})")
        print(line)
        if args.show:
            for c in r["changes"]:
                mark = "" if "right" not in c else (" ok" if c["right"] else " WRONG")
                print(f"    changed{mark}: {c['raw']} -> {c['output']}")
            for m in r.get("misses", []):
                print(f"    missed: {m['raw']} -> {m['output']} (gold {m['gold']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
