#!/usr/bin/env python3
"""The layer and import-cycle check of `make lint` (docs/ARCHITECTURE.md says why it exists).

It reads every `.rs` file of `shared` and of each function crate, turns each file into a
module (`shared/src/store/orders.rs` is `store::orders`; `x_test.rs` is `x::tests`, the module
it is declared as),
and follows every `crate::` and `super::` path, in `use` trees and inline (also through a
module a `use` binds, `use crate::store as st; st::keys::X`), to the module the path names
and, through `pub use` re-exports, to the module that defines the item. Then it fails when

* two modules that do not contain one another depend on each other, directly or through
  others (an import cycle; a `mod.rs` and its own children are one unit, as Rust intends),
* a top-level module of `shared` uses one that `LAYERS` places above it, or one of the uses
  `FORBIDDEN` lists, or
* a file outside `shared/src/store` (and the client construction in `shared/src/aws.rs`)
  names `aws_sdk_dynamodb`.

Usage: infra/layers.py [--edges]   (--edges prints the module graph instead of checking it)
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# shared's top-level modules, highest first: each may use only those after it.
LAYERS = [
    "lambda",
    "services",
    "http",
    "search",
    "outbox",
    "store",
    "blob",
    "sockets",
    "aws",
    "payments",
    "mail",
    "sms",
    "google",
    "personas",
    "config",
    "auth",
    "telemetry",
    "domain",
]

# Uses the order above allows but the design does not: HTTP plumbing knows no provider's
# errors (services convert them), and search reads keys through the store's functions.
FORBIDDEN = [
    (("http",), ("payments",)),
    (("http",), ("personas",)),
    (("search",), ("store", "keys")),
]

# Where the DynamoDB SDK may be named: the adapter, and the construction of its client.
DYNAMODB_ALLOWED = ("shared/src/store/", "shared/src/aws.rs")

CRATES = [ROOT / "shared" / "src"] + sorted((ROOT / "functions").glob("*/src"))


def strip(text):
    """Source without comments, string and char literals (so paths in them are not read)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c == "r" and re.match(r'r#*"', text[i:]) and (i == 0 or not text[i - 1].isalnum()):
            hashes = re.match(r"r(#*)\"", text[i:]).group(1)
            j = text.find('"' + hashes, i + 2 + len(hashes))
            i = n if j < 0 else j + 1 + len(hashes)
            out.append('""')
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:]):
            i += len(re.match(r"'(\\.|[^\\'])'", text[i:]).group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def module_of(src, path):
    """The module path (tuple) a file defines, relative to its crate's `src`."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("lib", "main", "mod"):
        parts.pop()
    elif parts[-1].endswith("_test"):
        parts[-1] = parts[-1][: -len("_test")]
        parts.append("tests")
    return tuple(parts)


def use_paths(tree, prefix=()):
    """Expands a `use` tree (`a::{b, c::{d as e}}`) into its paths."""
    return [path for path, _ in use_bindings(tree, prefix)]


def use_bindings(tree, prefix=()):
    """Expands a `use` tree into (path, the name it binds: its alias or its last segment)."""
    tree = tree.strip()
    if not tree:
        return []
    if tree.endswith("}") and "{" in tree:
        head, _, body = tree.partition("{")
        head = [s for s in head.strip().rstrip(":").split("::") if s]
        body = body[:-1]
        items, depth, start = [], 0, 0
        for k, ch in enumerate(body):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                items.append(body[start:k])
                start = k + 1
        items.append(body[start:])
        paths = []
        for item in items:
            paths += use_bindings(item, prefix + tuple(head))
        return paths
    alias = re.search(r"\s+as\s+(\w+)$", tree)
    tree = re.sub(r"\s+as\s+\w+$", "", tree)
    path = prefix + tuple(s for s in tree.split("::") if s)
    if path and path[-1] == "self":
        path = path[:-1]
    return [(path, alias.group(1) if alias else (path[-1] if path else ""))]


class Crate:
    def __init__(self, src):
        self.src = src
        self.name = "shared" if src.parent.name == "shared" else src.parent.name
        self.files = {}  # module -> [stripped text]
        for path in sorted(src.rglob("*.rs")):
            if "bin" in path.relative_to(src).parts:
                continue
            self.files.setdefault(module_of(src, path), []).append(
                (path, strip(path.read_text()))
            )
        self.modules = set(self.files)
        self.reexports = {}  # module -> {name: the path it re-exports, relative to module}
        for module, texts in self.files.items():
            names = {}
            for _, text in texts:
                for m in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", text):
                    for p, local in use_bindings(m.group(1)):
                        if not p:
                            continue
                        if p[0] not in ("crate", "super", "self"):
                            if module + (p[0],) not in self.modules:
                                continue
                            p = ("self",) + p
                        names[local] = p
            self.reexports[module] = names

    def resolve(self, module, path, follow=True):
        """The module that defines what `path` (written in `module`) names, or None; with
        `follow=False`, the module the path itself names (before any `pub use`)."""
        found = self.walk(module, path, 0, follow)
        return found and found[0]

    def walk(self, module, path, depth=0, follow=True):
        """(the module reached, whether every segment of `path` was a module on the way)."""
        if not path or depth > 20:
            return None
        if path[0] == "crate":
            here, rest = (), list(path[1:])
        elif path[0] in ("super", "self"):
            here, rest = module, list(path)
            while rest and rest[0] in ("super", "self"):
                if rest[0] == "super":
                    here = here[:-1]
                rest.pop(0)
        else:
            return None
        while rest:
            if here + (rest[0],) in self.modules:
                here = here + (rest[0],)
                rest.pop(0)
            elif follow and rest[0] in self.reexports.get(here, {}):
                target = self.walk(here, self.reexports[here][rest[0]], depth + 1)
                if target is None:
                    break
                rest.pop(0)
                here = target[0]
                if not target[1]:
                    return here, False
            else:
                break
        return here, not rest

    def edges(self):
        found = {}
        for module, texts in self.files.items():
            for path, text in texts:
                paths, aliases = [], {}
                for m in re.finditer(r"\buse\s+([^;]+);", text):
                    for p, local in use_bindings(m.group(1)):
                        paths.append(p)
                        reached = self.walk(module, p)
                        if reached and reached[1] and local not in ("crate", "super", "self"):
                            aliases[local] = reached[0]  # `use crate::store;` binds `store`
                for m in re.finditer(r"(?<![\w:])(\w+)((?:::\w+)+)", text):
                    first = m.group(1)
                    rest = tuple(s for s in m.group(2).split("::") if s)
                    if first in ("crate", "super"):
                        paths.append((first,) + rest)
                    elif first in aliases:
                        paths.append(("crate",) + aliases[first] + rest)
                for p in paths:
                    # Both the module a path names and the one that defines the item: a
                    # re-export does not hide whom a file depends on.
                    for target in {self.resolve(module, p), self.resolve(module, p, False)}:
                        if target is None or target == module:
                            continue
                        found.setdefault((module, target), path)
        return found


def related(a, b):
    return a[: len(b)] == b or b[: len(a)] == a


def cycles(edges):
    """Strongly connected groups of more than one module, ignoring containment edges."""
    graph = {}
    for a, b in edges:
        if not related(a, b):
            graph.setdefault(a, set()).add(b)
            graph.setdefault(b, set())
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def name(crate, module):
    return crate.name + "::" + "::".join(module) if module else crate.name


def main():
    problems = []
    show = "--edges" in sys.argv
    for src in CRATES:
        crate = Crate(src)
        edges = crate.edges()
        if show:
            for (a, b), path in sorted(edges.items()):
                print(f"{name(crate, a)} -> {name(crate, b)}")
        for group in cycles(edges):
            members = ", ".join(name(crate, m) for m in group)
            problems.append(f"import cycle between {members}")
        if crate.name == "shared":
            rank = {layer: i for i, layer in enumerate(LAYERS)}
            for top in {m[0] for m in crate.modules if m}:
                if top not in rank:
                    problems.append(f"shared::{top} has no place in LAYERS (infra/layers.py)")
            for (a, b), path in sorted(edges.items()):
                if a and b and a[0] != b[0] and a[0] in rank and b[0] in rank:
                    if rank[b[0]] < rank[a[0]]:
                        problems.append(
                            f"{path.relative_to(ROOT)}: {name(crate, a)} uses "
                            f"{name(crate, b)}, a higher layer"
                        )
                for user, used in FORBIDDEN:
                    if a[: len(user)] == user and b[: len(used)] == used:
                        problems.append(
                            f"{path.relative_to(ROOT)}: {name(crate, a)} uses "
                            f"{name(crate, b)}, which docs/ARCHITECTURE.md rules out"
                        )
    for path in sorted(list((ROOT / "shared" / "src").rglob("*.rs")) + list((ROOT / "functions").rglob("*.rs"))):
        rel = str(path.relative_to(ROOT))
        if rel.startswith(DYNAMODB_ALLOWED):
            continue
        if "aws_sdk_dynamodb" in strip(path.read_text()):
            problems.append(f"{rel}: names aws_sdk_dynamodb outside the store")
    if show:
        return 0
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} layering problem(s); see docs/ARCHITECTURE.md")
        return 1
    print("layers: no import cycles, no upward imports, DynamoDB types only in the store")
    return 0


if __name__ == "__main__":
    sys.exit(main())
