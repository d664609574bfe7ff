#!/usr/bin/env python3
"""Structure checks of the workspace, run by .ci/run (standard library only).

1. No import circle between the files of a crate's `src/`: every `use` (and every inline
   `crate::`/`super::`/`self::` path) is resolved to the deepest module file it names; a
   `pub use` re-export counts as an import. Circles are printed with the names that tie them.
2. No test function longer than 150 lines: functions in `*/tests/**.rs` and in
   `ecom-core/src/testkit/**.rs` (tables of cases stay tables, split into helpers).
3. Every `pub async fn case(backend: &Backend)` of the conformance suite is listed in
   `conformance_suite!` (`ecom-core/src/testkit/mod.rs`), and every listed case exists.

Usage: python3 scripts/check-structure.py [--verbose]
"""
from __future__ import annotations

import os
import re
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = ["ecom-core/src", "ecom-mongo/src", "ecom-redis/src", "ecom-http/src", "ecom-load/src", "src"]
MAX_TEST_FN_LINES = 150


def strip_comments_and_strings(text: str) -> str:
    """Blanks out comments and string/char literals, keeping line breaks (so line numbers hold)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
            continue
        if text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
            continue
        m = re.match(r'r(#*)"', text[i:i + 20]) if c == "r" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")) else None
        if m:
            hashes = m.group(1)
            end = text.find('"' + hashes, i + len(m.group(0)))
            end = n if end < 0 else end + 1 + len(hashes)
            out.append('""' + re.sub(r"[^\n]", "", text[i:end]))
            i = end
            continue
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + re.sub(r"[^\n]", "", text[i:j + 1]))
            i = j + 1
            continue
        if c == "'":
            m = re.match(r"'(\\.|\\x[0-9a-fA-F]{2}|\\u\{[0-9a-fA-F]+\}|[^\\'])'", text[i:i + 12])
            if m:
                out.append("' '")
                i += len(m.group(0))
                continue
        out.append(c)
        i += 1
    return "".join(out)


def cfg_test_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of `#[cfg(test)] mod x { ... }` blocks (left out of the import graph)."""
    spans = []
    for m in re.finditer(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text):
        start = m.end() - 1
        depth, j = 0, start
        while j < len(text):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        spans.append((m.start(), j + 1))
    return spans


class Crate:
    def __init__(self, src: str):
        self.src = src
        self.modules: dict[tuple[str, ...], str] = {}  # module path -> file (relative to ROOT)
        for dirpath, _, files in os.walk(os.path.join(ROOT, src)):
            for f in files:
                if not f.endswith(".rs"):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, f), os.path.join(ROOT, src))
                parts = rel[:-3].split(os.sep)
                if parts[-1] in ("mod", "lib"):
                    parts = parts[:-1]
                elif parts == ["main"]:
                    continue  # a binary: its own crate root
                self.modules[tuple(parts)] = os.path.join(src, rel)

    def module_of(self, file: str) -> tuple[str, ...]:
        for path, f in self.modules.items():
            if f == file:
                return path
        raise KeyError(file)

    def resolve(self, base: tuple[str, ...], path: list[str]) -> tuple[str, ...] | None:
        """The deepest module file `path` (relative to the module `base`) names."""
        if not path:
            return None
        if path[0] == "crate":
            mod, rest = (), path[1:]
        elif path[0] in ("self", "super"):
            mod = base
            rest = path
            while rest and rest[0] in ("self", "super"):
                if rest[0] == "super":
                    mod = mod[:-1]
                rest = rest[1:]
        else:
            # A path starting with a child module of the current one (2018 paths).
            if base + (path[0],) in self.modules:
                mod, rest = base, path
            else:
                return None  # an external crate or a local item
        deepest = mod
        for part in rest:
            if mod + (part,) in self.modules:
                mod = mod + (part,)
                deepest = mod
            else:
                break
        return deepest


def use_paths(text: str) -> list[tuple[str, int]]:
    """Every path a file imports: `use` trees expanded, plus inline crate/super/self paths."""
    found = []

    def expand(prefix: str, tree: str):
        tree = tree.strip()
        if not tree:
            return
        if tree.endswith("}") and "{" in tree:
            head, inner = tree.split("{", 1)
            inner = inner[:-1]
            head = head.strip().rstrip(":").strip()
            new_prefix = f"{prefix}::{head}" if prefix and head else (prefix or head)
            depth, cur, parts = 0, "", []
            for ch in inner:
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                if ch == "," and depth == 0:
                    parts.append(cur)
                    cur = ""
                else:
                    cur += ch
            parts.append(cur)
            for p in parts:
                expand(new_prefix, p)
            return
        tree = re.sub(r"\s+as\s+\w+$", "", tree)
        if tree == "self":
            found.append(prefix)
        else:
            found.append(f"{prefix}::{tree}" if prefix else tree)

    for m in re.finditer(r"\buse\s+([^;]+);", text):
        before = len(found)
        expand("", re.sub(r"\s+", " ", m.group(1)).replace(" ", "") if "{" in m.group(1) else m.group(1).strip())
        line = text.count("\n", 0, m.start()) + 1
        found[before:] = [(p, line) for p in found[before:]]
    for m in re.finditer(r"(?<![\w:])((?:crate|super|self)(?:::\w+)+)", text):
        line = text.count("\n", 0, m.start()) + 1
        found.append((m.group(1), line))
    return found


def import_graph(crate: Crate):
    edges: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for mod, file in crate.modules.items():
        text = open(os.path.join(ROOT, file), encoding="utf-8").read()
        for start, end in reversed(cfg_test_spans(text)):
            text = text[:start] + text[end:]
        text = strip_comments_and_strings(text)
        for path, _line in use_paths(text):
            parts = [p for p in path.split("::") if p]
            target = crate.resolve(mod, parts)
            if target is None or target == mod or target not in crate.modules:
                continue
            # A module's own children and their parents: `mod x;` is not an import, but an
            # import of a parent (super::Item) or of a child's item is.
            name = parts[-1]
            edges[file][crate.modules[target]].add(name)
    return edges


def strongly_connected(nodes, edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
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
            out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1]


def check_cycles(verbose: bool) -> int:
    failures = 0
    for src in CRATES:
        if not os.path.isdir(os.path.join(ROOT, src)):
            continue
        crate = Crate(src)
        edges = import_graph(crate)
        if verbose:
            for a in sorted(edges):
                for b in sorted(edges[a]):
                    print(f"  {a} -> {b}: {', '.join(sorted(edges[a][b]))}")
        for comp in strongly_connected(set(crate.modules.values()), edges):
            failures += 1
            print(f"import circle of {len(comp)} files in {src}:")
            members = set(comp)
            for a in comp:
                for b, names in sorted(edges[a].items()):
                    if b in members:
                        print(f"  {a} -> {b}: {', '.join(sorted(names))}")
    return failures


def fn_spans(text: str):
    """(name, first line, line count) of every fn with a body in `text` (comments stripped)."""
    for m in re.finditer(r"\bfn\s+(\w+)", text):
        j = m.end()
        depth = 0
        # Find the body's opening brace: the first `{` outside parentheses/generics, before a `;`.
        while j < len(text):
            ch = text[j]
            if ch in "(<[":
                depth += 1
            elif ch in ")>]":
                depth -= 1
            elif ch == ";" and depth <= 0:
                j = -1
                break
            elif ch == "{" and depth <= 0:
                break
            j += 1
        if j < 0 or j >= len(text):
            continue
        depth, k = 0, j
        while k < len(text):
            if text[k] == "{":
                depth += 1
            elif text[k] == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        first = text.count("\n", 0, m.start()) + 1
        last = text.count("\n", 0, k) + 1
        yield m.group(1), first, last - first + 1


def check_test_lengths() -> int:
    failures = 0
    roots = []
    for dirpath, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in ("target", ".git", "node_modules")]
        rel = os.path.relpath(dirpath, ROOT)
        in_tests = rel.split(os.sep)[-1] == "tests" or "/tests/" in f"/{rel}/" or rel.startswith("tests")
        in_testkit = rel.startswith(os.path.join("ecom-core", "src", "testkit"))
        if in_tests or in_testkit:
            roots += [os.path.join(dirpath, f) for f in files if f.endswith(".rs")]
    for path in sorted(roots):
        text = strip_comments_and_strings(open(path, encoding="utf-8").read())
        for name, line, count in fn_spans(text):
            if count > MAX_TEST_FN_LINES:
                failures += 1
                print(f"{os.path.relpath(path, ROOT)}:{line}: fn {name} has {count} lines (at most {MAX_TEST_FN_LINES})")
    return failures


def check_conformance_list() -> int:
    kit = os.path.join(ROOT, "ecom-core", "src", "testkit")
    text = open(os.path.join(kit, "mod.rs"), encoding="utf-8").read()
    body = text[text.index("macro_rules! conformance_suite"):]
    body = body[: body.index("(@cases $factory:ident")]
    listed = set()
    for module, cases in re.findall(r"(\w+)\s*\{([^{}]*)\}", body):
        for case in re.findall(r"\w+", cases):
            listed.add((module, case))
    defined = set()
    for f in os.listdir(kit):
        if not f.endswith(".rs") or f == "mod.rs":
            continue
        module = f[:-3]
        src = open(os.path.join(kit, f), encoding="utf-8").read()
        for m in re.finditer(r"pub async fn (\w+)\s*\(\s*\w+\s*:\s*&Backend\s*\)", src):
            defined.add((module, m.group(1)))
    failures = 0
    for module, case in sorted(defined - listed):
        failures += 1
        print(f"conformance case testkit::{module}::{case} is not listed in conformance_suite!")
    for module, case in sorted(listed - defined):
        failures += 1
        print(f"conformance_suite! lists testkit::{module}::{case}, which is not a case")
    return failures


def main() -> int:
    verbose = "--verbose" in sys.argv
    cycles = check_cycles(verbose)
    lengths = check_test_lengths()
    listing = check_conformance_list()
    print(f"structure: {cycles} import circles, {lengths} test functions over {MAX_TEST_FN_LINES} lines, "
          f"{listing} conformance cases listed wrong")
    return 1 if cycles or lengths or listing else 0


if __name__ == "__main__":
    sys.exit(main())
