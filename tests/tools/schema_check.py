#!/usr/bin/env python3
"""Validates real records against docs/schema/document.schema.json: every record the demo stored,
and the output of each standalone filter."""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

import jsonschema

binary, schema_path = sys.argv[1], sys.argv[2]
schema = json.load(open(schema_path, encoding="utf-8"))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
checked = 0


def check(record, where):
    global checked
    errors = sorted(validator.iter_errors(record), key=lambda e: list(e.path))
    if errors:
        for e in errors[:5]:
            sys.stderr.write(f"{where}: {'/'.join(map(str, e.path))}: {e.message}\n")
        sys.exit(1)
    checked += 1


with tempfile.TemporaryDirectory() as tmp:
    # Its own metrics port, whatever else runs on this host (another test's daemon, a service).
    env = dict(os.environ, VNAWIRE_METRICS_ADDRESS=os.environ.get("VNAWIRE_METRICS_ADDRESS", "127.0.0.1:0"))
    subprocess.run([binary, "demo", "--state-dir", tmp + "/demo"], check=True, capture_output=True, timeout=300,
                   env=env)
    db = sqlite3.connect(tmp + "/demo/demo.db")
    rows = db.execute("SELECT id, record FROM documents").fetchall()
    if not rows:
        sys.exit("the demo stored no record")
    for doc_id, record in rows:
        check(json.loads(record), f"demo record {doc_id}")
    lines = [json.dumps(json.loads(r), ensure_ascii=False) for _, r in rows[:10]]
    for command in ("dedupe", "langid", "extract"):
        out = subprocess.run([binary, command], input="\n".join(lines) + "\n", check=True, capture_output=True,
                             text=True, timeout=120).stdout
        for line in out.splitlines():
            check(json.loads(line), f"{command} output")
# An HTML page that says something about itself, so that article.meta is checked too.
page = ('<html><head><meta property="og:title" content="T"><meta property="article:tag" content="A">'
        '<meta property="article:published_time" content="2023-09-13T10:00:00+07:00">'
        '<script type="application/ld+json">{"@type": "NewsArticle", "author": [{"name": "N"}]}</script>'
        '</head><body><p>Texte.</p></body></html>')
html_record = {"id": "schema-html", "url": "https://example.vn/a", "content_type": "text/html", "body": page}
out = subprocess.run([binary, "extract"], input=json.dumps(html_record) + "\n", check=True, capture_output=True,
                     text=True, timeout=120).stdout
for line in out.splitlines():
    record = json.loads(line)
    if "meta" not in record.get("article", {}):
        sys.exit("extract gave no article.meta for an HTML page with metadata")
    check(record, "extract output (html)")
print(f"{checked} records valid against {schema_path}")
