#!/usr/bin/env python3
"""Import cycles among a crate's modules (one module per .rs file), for `make test`.

Reads every .rs file under the crate's src/, leaves out `#[cfg(test)]` modules, resolves each
`crate::…` and `super::…` path (in `use` lines and in code) to the deepest module that exists,
and reports every strongly connected group of two or more modules. Exit 1 when there is one.

Usage: tools/module-cycles.py shared/src [--allow PREFIX ...]
"""

import re
import sys
from pathlib import Path


def module_of(src: Path, file: Path) -> tuple:
    rel = file.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("lib", "main", "mod"):
        parts = parts[:-1]
    return tuple(parts)


def without_tests(text: str) -> str:
    # The crate's tests live in `#[cfg(test)] mod …` at the end of a file, or in their own file.
    match = re.search(r"^\s*#\[cfg\(test\)\]\s*\n\s*(pub(\(crate\))?\s+)?mod\s+\w+\s*\{", text, re.M)
    text = text[: match.start()] if match else text
    # Comments (doc links included) name modules without depending on them.
    return re.sub(r"//.*", "", text)


PATH = re.compile(r"\b(crate|super)((?:::\w+)+)")
GROUP = re.compile(r"\b(crate|super)((?:::\w+)*)::\{([^;]*?)\}", re.S)


def references(module: tuple, text: str):
    """Module paths this file names (not resolved yet)."""
    out = []

    def absolute(root: str, rest: list) -> list:
        # `super` is the module's parent, whether the module is a file or a folder's mod.rs.
        return rest if root == "crate" else list(module[:-1]) + rest

    for m in GROUP.finditer(text):
        root, prefix, inner = m.group(1), m.group(2), m.group(3)
        head = [p for p in prefix.split("::") if p]
        for item in re.split(r",", inner):
            names = [p for p in re.split(r"::", item.strip().split(" as ")[0]) if p and p != "{"]
            names = [re.sub(r"[^\w].*", "", n) for n in names]
            out.append(absolute(root, head + [n for n in names if n]))
    for m in PATH.finditer(text):
        root, rest = m.group(1), [p for p in m.group(2).split("::") if p]
        out.append(absolute(root, rest))
    return out


def main() -> int:
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        return 2
    src = Path(args[0])
    allow = args[args.index("--allow") + 1 :] if "--allow" in args else []
    files = sorted(src.rglob("*.rs"))
    modules = {module_of(src, f): f for f in files}
    graph = {m: set() for m in modules}
    for module, file in modules.items():
        text = without_tests(file.read_text())
        for path in references(module, text):
            # The deepest existing module the path names.
            target = None
            for n in range(len(path), 0, -1):
                if tuple(path[:n]) in modules:
                    target = tuple(path[:n])
                    break
            if target is None or target == module or target == ():
                continue
            # A parent module naming its own children is structure, not a dependency.
            if target[: len(module)] == module and module != ():
                continue
            graph[module].add(target)

    # Tarjan's strongly connected components.
    index, low, stack, on, sccs = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            sccs.append(comp)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    name = lambda m: "::".join(m) or "crate"
    cycles = [
        c for c in sccs if len(c) > 1 and not all(any(name(m).startswith(a) for a in allow) for m in c)
    ]
    for c in cycles:
        members = sorted(name(m) for m in c)
        print(f"import cycle among {len(members)} modules of {src}:")
        for m in sorted(c, key=name):
            inside = sorted(name(t) for t in graph[m] if t in c)
            print(f"  {name(m)} -> {', '.join(inside)}")
    if not cycles:
        print(f"no import cycle among the {len(modules)} modules of {src}")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
