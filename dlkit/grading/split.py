"""Split a test cell into its extract half and its judge half (see :mod:`dlkit.checks`).

A test cell defines ``extract(ns)`` and ``judge(data)`` and ends with
``checks.run(extract, judge, globals())``. The extract program keeps the imports and every
top-level definition except ``judge``; the judge program keeps everything except ``extract``.
Neither keeps the final ``checks.run`` call.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass


class NotSplittable(ValueError):
    """The test does not follow the extract/judge protocol."""


@dataclass(frozen=True)
class SplitTest:
    extract: str
    judge: str


def split_test(source: str) -> SplitTest:
    tree = ast.parse(source)
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    if not {"extract", "judge"} <= names:
        raise NotSplittable("a test must define extract(ns) and judge(data)")
    extract, judge = [], []
    for node in tree.body:
        if _is_run_call(node):
            continue
        if isinstance(node, ast.FunctionDef) and node.name == "judge":
            judge.append(node)
        elif isinstance(node, ast.FunctionDef) and node.name == "extract":
            extract.append(node)
        else:  # imports, helpers, constants: both halves may need them
            extract.append(node)
            judge.append(node)
    return SplitTest(_unparse(extract), _unparse(judge))


def _is_run_call(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "run")


def _unparse(nodes: list[ast.stmt]) -> str:
    return ast.unparse(ast.Module(body=nodes, type_ignores=[]))
