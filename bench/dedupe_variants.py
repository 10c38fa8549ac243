#!/usr/bin/env python3
"""Makes re-edited variants of a labelled set's documents and writes docs/pairs for score.py.

Each document gets three copies under new ids and URLs: (a) another outlet's layout (a title line, a
glued photo caption, a dateline, a "Voir plus" block, a share button); (b) a re-edit (one paragraph
cut, a few words replaced in two others); (c) a copy cut at 60 % of its length. The original pairs'
labels are kept, so hard negatives still count. Usage:
  dedupe_variants.py SRC_DOCS SRC_PAIRS OUT_DIR   then   score.py --docs OUT/docs.jsonl --pairs OUT/pairs.jsonl
"""
import json, os, random, sys


def variants(doc, rng):
    paragraphs = [p for p in doc["body"].split("\n") if p.strip()]
    words = doc["body"].split()
    layout = ("Titre : " + " ".join(words[:8]) + "\nLégende de la photo du jour. Photo : VNA\nHanoï (VNA) - "
              + "\n".join(paragraphs) + "\nPartager\nVoir plus\n" + " ".join(rng.sample(words, min(12, len(words)))))
    edited = list(paragraphs)
    if len(edited) > 2:
        del edited[rng.randrange(1, len(edited))]
    for _ in range(2):
        i = rng.randrange(len(edited))
        w = edited[i].split()
        for _ in range(min(3, len(w))):
            w[rng.randrange(len(w))] = rng.choice(["également", "notamment", "ainsi", "toutefois"])
        edited[i] = " ".join(w)
    cut = doc["body"][: int(len(doc["body"]) * 0.6)]
    return [layout, "\n".join(edited), cut]


def main():
    src_docs, src_pairs, out = sys.argv[1:4]
    rng = random.Random(4)
    docs = [json.loads(l) for l in open(src_docs, encoding="utf-8") if l.strip()]
    pairs = [json.loads(l) for l in open(src_pairs, encoding="utf-8") if l.strip()]
    os.makedirs(out, exist_ok=True)
    out_docs, out_pairs = [], []
    group = lambda i: [i] + [f"{i}-v{n}" for n in range(3)]
    for doc in docs:
        out_docs.append(doc)
        for n, body in enumerate(variants(doc, rng)):
            out_docs.append(dict(doc, id=f"{doc['id']}-v{n}", url=f"{doc.get('url') or ''}?variant={n}", body=body))
        members = group(doc["id"])
        out_pairs += [{"a": a, "b": b, "label": "duplicate", "tier": 2, "group": None}
                      for k, a in enumerate(members) for b in members[k + 1:]]
    # A labelled pair's label holds between every copy of one and every copy of the other.
    for p in pairs:
        out_pairs += [dict(p, a=a, b=b) for a in group(p["a"]) for b in group(p["b"])]
    with open(os.path.join(out, "docs.jsonl"), "w", encoding="utf-8") as f:
        for d in out_docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    with open(os.path.join(out, "pairs.jsonl"), "w", encoding="utf-8") as f:
        for p in out_pairs:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
