"""The package's import graph: no cycle, and no module reaching into another's private names.

Walks every module of ``dlkit/`` with :mod:`ast` (imports inside functions count: a cycle put off
until call time is still a cycle a reader must hold in their head).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import dlkit

PACKAGE = Path(dlkit.__file__).parent
#: files that are not the kit's modules: what the sandboxed kernel imports in place of libraries
NOT_MODULES = ("kernel_path", "_kit")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(p): p for p in sorted(root.rglob("*.py"))
            if not set(p.relative_to(root).parts) & set(NOT_MODULES)}


def owner(name: str, known: dict[str, Path]) -> str | None:
    """The module a dotted name lives in (``dlkit.a.b.c`` -> ``dlkit.a.b`` when that is one)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(name: str, path: Path, known: dict[str, Path]):
    """``(module imported, private name or None)`` for each import of a ``dlkit`` module, and each
    ``module._name`` read through a name bound to a ``dlkit`` module."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("dlkit"):
                    yield owner(alias.name, known), None
                    if alias.asname and alias.name in known:
                        bound[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            if not base.startswith("dlkit"):
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in known:
                    yield full, None
                    bound[alias.asname or alias.name] = full
                else:
                    private = alias.name.startswith("_") and not alias.name.startswith("__")
                    yield owner(base, known), alias.name if private else None
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in bound and node.attr.startswith("_") \
                and not node.attr.startswith("__"):
            yield bound[node.value.id], node.attr


def graph(known: dict[str, Path]) -> tuple[dict[str, set[str]], list[str]]:
    edges: dict[str, set[str]] = {name: set() for name in known}
    private = []
    for name, path in known.items():
        for target, secret in imports(name, path, known):
            if target is None or target == name:
                continue
            edges[name].add(target)
            if secret:
                private.append(f"{name} uses {target}.{secret}")
    return edges, sorted(set(private))


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(edges[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while (top := stack.pop()) != node:
                component.append(top)
            if component:
                found.append(sorted([node, *component]))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def package_edges_removed(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """A package's ``__init__`` re-exporting its own modules is not a cycle with them."""
    return {name: {t for t in targets if not t.startswith(name + ".")} for name, targets in edges.items()}


def test_the_package_has_no_import_cycle():
    edges, _ = graph(modules())
    assert cycles(package_edges_removed(edges)) == []


def test_no_module_uses_another_modules_private_names():
    _, private = graph(modules())
    assert private == []


@pytest.mark.parametrize("files, problem", [
    ({"a.py": "from pkg import b\n", "b.py": "def f():\n    from pkg.a import x\n"}, "cycle"),
    ({"a.py": "from pkg.b import _hidden\n", "b.py": "_hidden = 1\n"}, "private"),
    ({"a.py": "from pkg import b\nb._hidden\n", "b.py": "_hidden = 1\n"}, "private"),
    ({"a.py": "from pkg import b\nb.shown\n", "b.py": "shown = 1\n"}, None),
])
def test_the_walk_finds_what_it_is_for(tmp_path, files, problem):
    """The checks above can fail: a planted cycle (through a function's import) and a private
    name (imported, or read off a module) are found; a clean pair is not flagged."""
    root = tmp_path / "dlkit"
    root.mkdir()
    (root / "__init__.py").write_text("")
    for name, text in files.items():
        (root / name).write_text(text.replace("pkg", "dlkit"))
    known = {".".join(["dlkit", *p.relative_to(root).with_suffix("").parts]).removesuffix(".__init__"): p
             for p in root.rglob("*.py")}
    edges, private = graph(known)
    assert bool(cycles(package_edges_removed(edges))) == (problem == "cycle")
    assert bool(private) == (problem == "private")

