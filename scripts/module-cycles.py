#!/usr/bin/env python3
"""Import cycles between the modules of a Rust crate, read from its `crate::` and `super::`
paths.

Usage: module-cycles.py SRC_DIR...  Prints every cycle and exits 1 if there is one.
Comments and the `#[cfg(test)] mod tests` block at the end of a file are not read: a test may
use what it likes. The rule it keeps (README, "Architecture"): no two modules of the host or
the SDK import each other, directly or around a ring, so each can be read on its own.
"""
import os
import re
import sys

PATH = r"([a-z_][a-z0-9_]*(?:::[a-z_][a-z0-9_]*)*)"


def modules(root):
    """Module path ("sandbox::outbound") -> source without comments and tests."""
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(folder, name)
            parts = os.path.relpath(path, root)[:-3].split("/")
            if parts[-1] in ("mod", "lib", "main"):
                parts = parts[:-1]
            with open(path, encoding="utf-8") as f:
                lines = [l for l in f if not l.lstrip().startswith("//")]
            text = re.split(r"#\[cfg\(test\)\]\s*(?:pub\(crate\) )?mod tests", "".join(lines))[0]
            found["::".join(parts)] = text
    return found


def edges(mods):
    def owner(path):
        """The longest module that is a prefix of `path`."""
        segs, best = path.split("::"), None
        for i in range(1, len(segs) + 1):
            if "::".join(segs[:i]) in mods:
                best = "::".join(segs[:i])
        return best

    def related(a, b):
        return a == b or a.startswith(b + "::") or b.startswith(a + "::")

    out = {m: set() for m in mods}
    for m, text in mods.items():
        parent = m.rsplit("::", 1)[0] if "::" in m else ""
        refs = re.findall(r"\bcrate::" + PATH, text)
        refs += [f"{parent}::{r}" if parent else r for r in re.findall(r"\bsuper::" + PATH, text)]
        for ref in refs:
            target = owner(ref)
            if target is not None and not related(m, target):
                out[m].add(target)
    return out


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main(roots):
    bad = 0
    for root in roots:
        mods = modules(root)
        graph = edges(mods)
        for ring in cycles(graph):
            bad += 1
            print(f"{root}: import cycle: {' '.join(ring)}")
            for m in ring:
                print(f"    {m} -> {', '.join(sorted(t for t in graph[m] if t in ring))}")
        print(f"{root}: {len(mods)} modules, {len(cycles(graph))} import cycles")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["src", "host-harness/src"]))
