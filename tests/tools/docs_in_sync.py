#!/usr/bin/env python3
"""Fails when docs/configuration.md no longer matches `vnawire describe` (the option declarations)."""
import subprocess
import sys

binary, doc = sys.argv[1], sys.argv[2]
described = subprocess.run([binary, "describe"], check=True, capture_output=True, text=True).stdout
text = open(doc, encoding="utf-8").read()
start = text.index("```\n") + 4
documented = text[start:text.index("```", start)]
if documented != described:
    sys.stderr.write(f"{doc} is out of date: run scripts/gen-docs\n")
    sys.exit(1)
print("docs/configuration.md matches the option declarations")
