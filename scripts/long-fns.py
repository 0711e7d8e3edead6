#!/usr/bin/env python3
"""Lists functions longer than a limit (default 120 lines) in src/, longest first.

   scripts/long-fns.py [LIMIT]

A function is counted from its `fn` line to the line of its closing brace (braces in strings
and comments are skipped roughly: good enough for this code base's style). Exits 1 when any
function is over the limit (`.ci/run` runs it)."""
import os, re, sys

limit = int(sys.argv[1]) if len(sys.argv) > 1 else 120
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
found = []
for dirpath, _, files in os.walk(root):
    for f in files:
        if not f.endswith(".rs"):
            continue
        path = os.path.join(dirpath, f)
        lines = open(path, encoding="utf-8").read().split("\n")
        in_tests = False
        for i, line in enumerate(lines):
            if re.match(r"\s*#\[cfg\(test\)\]", line):
                in_tests = True
            m = re.match(r"\s*(pub(\([^)]*\))?\s+)?(async\s+)?(const\s+)?fn\s+(\w+)", line)
            if not m or in_tests:
                continue
            depth, started, j = 0, False, i
            while j < len(lines):
                code = re.sub(r'"(\\.|[^"\\])*"', '""', lines[j])
                code = re.sub(r"'(\\.|[^'\\])'", "''", code)
                code = code.split("//")[0]
                for ch in code:
                    if ch == "{":
                        depth += 1
                        started = True
                    elif ch == "}":
                        depth -= 1
                if started and depth <= 0:
                    break
                if not started and code.rstrip().endswith(";"):
                    break
                j += 1
            n = j - i + 1
            if started and n > limit:
                found.append((n, os.path.relpath(path, os.path.join(root, "..")), m.group(5), i + 1))
for n, path, name, line in sorted(found, reverse=True):
    print(f"{n:5} {path}:{line} {name}")
if not found:
    print(f"none over {limit} lines")
# A function over the limit is a defect of the house's shape: a non-zero exit, so CI stops on it.
sys.exit(1 if found else 0)
