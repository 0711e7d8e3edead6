#!/usr/bin/env python3
"""The module graph of src/, from the paths each file names (`crate::a::b`, `super::x`,
`self::y`, `mod z`): prints every circle (files that reach each other) and every import that
runs back up to a parent module's own file. Rough but enough for this code base's style.
Exits 1 when there is either (`.ci/run` runs it).

   scripts/module-graph.py"""
import os, re, sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
files = {}
for dp, _, fs in os.walk(root):
    for f in fs:
        if f.endswith(".rs"):
            p = os.path.relpath(os.path.join(dp, f), root)
            files[p] = open(os.path.join(dp, f), encoding="utf-8").read()

def mod_path(p):
    """src-relative file -> module path list."""
    parts = p[:-3].split("/")
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return parts

by_mod = {tuple(mod_path(p)): p for p in files}

def resolve(mp):
    """The file of the longest prefix of a module path."""
    for k in range(len(mp), -1, -1):
        if tuple(mp[:k]) in by_mod:
            return by_mod[tuple(mp[:k])]
    return None

edges = {p: set() for p in files}
up = []
for p, text in files.items():
    code = re.sub(r"#\[cfg\(test\)\]\s*mod tests\s*\{.*", "", text, flags=re.S)
    here = mod_path(p)
    for m in re.finditer(r"\b(crate|super(?:::super)*|self)::((?:\w+::)*\w+)", code):
        head, rest = m.group(1), m.group(2).split("::")
        if head == "crate":
            target = rest
        elif head == "self":
            target = here + rest
        else:
            n = head.count("super")
            base = here[:-n] if n <= len(here) else []
            # A file that is a module's mod.rs is that module: super is its parent.
            target = base + rest
        f = resolve(target)
        if f and f != p:
            edges[p].add(f)
            # Back up: naming an item of an ancestor module's own file.
            if tuple(mod_path(f)) == tuple(target[: len(mod_path(f))]) and len(mod_path(f)) < len(here) and here[: len(mod_path(f))] == mod_path(f):
                up.append((p, f, m.group(0)))
    for m in re.finditer(r"^\s*(?:pub\s+)?mod\s+(\w+)\s*;", code, re.M):
        f = resolve(here + [m.group(1)])
        if f:
            edges[p].add(f)

# Tarjan's strongly connected components.
index, low, on, stack, sccs, counter = {}, {}, set(), [], [], [0]
sys.setrecursionlimit(10000)
def strong(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on.add(v)
    for w in edges[v]:
        if w not in index:
            strong(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(sorted(comp))
for v in files:
    if v not in index:
        strong(v)
# A module's mod.rs declaring its children and a child naming an item of mod.rs is the usual
# Rust shape; circles are reported without those parent-child pairs.
def real(comp):
    out = []
    for a in comp:
        for b in comp:
            if a < b and b in edges[a] and a in edges[b]:
                pa, pb = mod_path(a), mod_path(b)
                if pa == pb[: len(pa)] or pb == pa[: len(pb)]:
                    continue
                out.append((a, b))
    return out
circles = [c for c in (real(s) for s in sccs) if c]
print(f"{len(files)} files; circles between modules that are not parent and child:")
for c in circles:
    for a, b in c:
        print(f"  {a} <-> {b}")
if not circles:
    print("  none")
ups = sorted(set(up))
print(f"imports of an ancestor module's own items: {len(ups)}")
for p, f, what in ups:
    print(f"  {p} -> {f} ({what})")
# Either is a defect of the house's shape: a non-zero exit, so CI stops on it.
sys.exit(1 if circles or ups else 0)
