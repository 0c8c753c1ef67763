"""The exception tree in errors.py's docstring names every error the kit defines."""

from __future__ import annotations

import ast

import dlkit.errors
from tests.test_import_graph import modules


def error_classes() -> dict[str, str]:
    """Class name -> module, for every class whose base is DlkitError or one of its subclasses
    (followed by name through the whole package)."""
    classes: dict[str, tuple[str, list[str]]] = {}
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
                classes[node.name] = (name, bases)
    errors = {"DlkitError"}
    changed = True
    while changed:
        changed = False
        for cls, (_, bases) in classes.items():
            if cls not in errors and errors & set(bases):
                errors.add(cls)
                changed = True
    return {cls: classes[cls][0] for cls in errors}


def test_the_docstring_tree_names_every_dlkit_error():
    tree = dlkit.errors.__doc__
    missing = {cls: module for cls, module in error_classes().items()
               if not (cls in tree if module == "dlkit.errors"
                       else f"{module.removeprefix('dlkit.')}.{cls}" in tree
                       or f"{module.removeprefix('dlkit.').rpartition('.')[0]}.{cls}" in tree)}
    assert missing == {}
