"""Exam variants: one student's values of an experiment's exam parameters.

An experiment declares what an examiner may vary (:class:`dlkit.experiments.Parameter`). A
*variant* is one value for each; :func:`draw_variants` gives every student of a batch one, from
(roll, exam date, seed) with SHA-256 (never ``hash()``), so the same exam draws the same
variants, and no two neighbours in roll order share one (each takes, in its own seeded order,
the first variant that differs from the previous student's in every parameter, else in one).

One substitution serves the brief, the starter, the hidden tests and the grader's plan, so what
the student reads and what the grader applies are the same values:

- ``{{ parameters.NAME }}`` in markdown becomes the value as words (:meth:`Parameter.format`);
- ``parameter("<experiment>", "NAME")`` in code (given cells, solutions, public and hidden
  tests) becomes the value as a Python literal (:func:`bind`).
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import itertools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import nbformat

from dlkit.errors import DlkitError, NotebookFormatError
from dlkit.experiments import Experiment

PLACEHOLDER = re.compile(r"\{\{\s*parameters\.([A-Za-z_]\w*)\s*\}\}")
CALL = re.compile(r"""\bparameter\(\s*(["'])([\w.-]+)\1\s*,\s*(["'])(\w+)\3\s*\)""")


class VariantError(DlkitError):
    """A variant that does not fit its experiment, or a master that uses parameters wrongly."""


@dataclass(frozen=True)
class Variant:
    """One value for each exam parameter of an experiment (all of them, in declared order)."""

    experiment: str
    values: tuple[tuple[str, object], ...]

    def as_dict(self) -> dict[str, object]:
        return dict(self.values)

    def key(self) -> str:
        """A short stable name: ``normal_digit=7,k=2.5``."""
        return ",".join(f"{name}={_plain(value)}" for name, value in self.values)

    def to_json(self) -> str:
        return json.dumps({name: _jsonable(value) for name, value in self.values}, sort_keys=True)


def default_variant(experiment: Experiment) -> Variant:
    """The term-work release's values: every parameter's default."""
    return Variant(experiment.id, tuple((n, p.default) for n, p in experiment.parameters.items()))


def variant_of(experiment: Experiment, values: Mapping[str, object] | str | None) -> Variant:
    """A checked variant from a mapping or its JSON (``""``/None: the defaults). Lists read back
    from JSON become the tuples the registry declares; an unknown name or a value outside the
    declared choices is refused, naming it."""
    if values in (None, ""):
        return default_variant(experiment)
    if isinstance(values, str):
        try:
            values = json.loads(values)
        except ValueError as exc:
            raise VariantError(f"unreadable variant: {exc}", where=experiment.id) from None
    if not isinstance(values, Mapping):
        raise VariantError("a variant is a mapping of parameter names to values", where=experiment.id)
    unknown = sorted(set(values) - set(experiment.parameters))
    if unknown:
        raise VariantError(f"unknown parameter(s) {', '.join(unknown)}", where=experiment.id,
                           fix=f"known: {', '.join(experiment.parameters) or 'none'}")
    chosen = []
    for name, declared in experiment.parameters.items():
        value = values.get(name, declared.default)
        value = tuple(value) if isinstance(value, list) else value
        if value not in declared.choices:
            raise VariantError(f"{name}={value!r} is not one of the declared choices",
                               where=experiment.id,
                               fix=", ".join(map(repr, declared.choices)))
        chosen.append((name, value))
    return Variant(experiment.id, tuple(chosen))


def all_variants(experiment: Experiment) -> list[Variant]:
    names = list(experiment.parameters)
    return [Variant(experiment.id, tuple(zip(names, combo, strict=True)))
            for combo in itertools.product(*(experiment.parameters[n].choices for n in names))]


def draw_variants(experiment: Experiment, rolls: Sequence[str], date: dt.date,
                  seed: int = 0) -> dict[str, Variant]:
    """Each roll's variant (``rolls`` in roll order: neighbours are consecutive rolls)."""
    options = all_variants(experiment)
    drawn: dict[str, Variant] = {}
    previous: Variant | None = None
    for roll in rolls:
        order = sorted(options, key=lambda v: _digest(experiment.id, roll, date.isoformat(),
                                                      str(seed), v.key()))
        if previous is not None and len(options) > 1:
            apart = [v for v in order if all(a != b for (_, a), (_, b)
                                             in zip(v.values, previous.values, strict=True))]
            order = apart or [v for v in order if v != previous]
        drawn[roll] = previous = order[0]
    return drawn


# --------------------------------------------------------------------------- filling in

def fill_text(text: str, variant: Variant, experiment: Experiment, *, code: bool,
              where: str = "") -> str:
    """``text`` with the variant's values in place of its parameter calls (``code``) or its
    ``{{ parameters.NAME }}`` placeholders (markdown). An unknown name, or a call naming
    another experiment, is refused with where it was."""
    values = variant.as_dict()

    def known(name: str) -> None:
        if name not in values:
            raise NotebookFormatError(
                f"parameter {name!r} is not declared for {experiment.id}", path=where,
                fix=f"known: {', '.join(values) or 'none'} (dlkit/experiments.py)")

    def literal(match: re.Match) -> str:
        if match.group(2) != experiment.id:
            raise NotebookFormatError(
                f"parameter({match.group(2)!r}, ...) in a notebook of {experiment.id}", path=where)
        known(match.group(4))
        return repr(values[match.group(4)])

    def words(match: re.Match) -> str:
        known(match.group(1))
        return experiment.parameters[match.group(1)].format(values[match.group(1)])

    return CALL.sub(literal, text) if code else PLACEHOLDER.sub(words, text)


def fill_parameters(experiment: Experiment, variant: Variant | None = None
                    ) -> Callable[[nbformat.NotebookNode], nbformat.NotebookNode]:
    """A release step: the variant (default: the term-work values) filled into every cell."""
    variant = variant or default_variant(experiment)

    def fill(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
        for number, cell in enumerate(nb.cells, start=1):
            where = f"{experiment.master}, cell {number}"
            if cell.cell_type == "markdown":
                cell.source = fill_text(cell.source, variant, experiment, code=False, where=where)
            elif cell.cell_type == "code":
                cell.source = fill_text(cell.source, variant, experiment, code=True, where=where)
        return nb

    return fill


def bind(source: str, variant: Variant, experiment: Experiment, where: str = "") -> str:
    """A test's code with the variant's values bound in (what the grader and the judge run)."""
    return fill_text(source, variant, experiment, code=True, where=where)


def parameters_used(source: str) -> set[str]:
    """The parameter names a piece of code reads."""
    return {m.group(4) for m in CALL.finditer(source)}


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


# --------------------------------------------------------------------------- another variant

def given_values(nb: nbformat.NotebookNode, experiment: Experiment) -> dict[str, object]:
    """What a handed-in notebook sets its starter's parameter variables to (``NORMAL_DIGIT =
    3``), read from its code as literals (nothing is run); a variable it never sets as a
    literal is left out."""
    wanted = {p.given: name for name, p in experiment.parameters.items() if p.given}
    found: dict[str, object] = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                found.update(_assigned(node.targets[0], node.value, wanted))
    return found


def _assigned(target: ast.expr, value: ast.expr, wanted: Mapping[str, str]) -> dict[str, object]:
    pairs = zip(target.elts, value.elts, strict=False) \
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) else [(target, value)]
    out = {}
    for name, expr in pairs:
        if isinstance(name, ast.Name) and name.id in wanted:
            try:
                literal = ast.literal_eval(expr)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
            out[wanted[name.id]] = tuple(literal) if isinstance(literal, list) else literal
    return out


def another_variant(nb: nbformat.NotebookNode, experiment: Experiment, variant: Variant) -> str:
    """A sentence for a notebook that answers another variant than the roll's own ("" when it
    answers its own or says nothing): what it set and what it is graded against."""
    given = given_values(nb, experiment)
    own = variant.as_dict()
    differ = [name for name, value in given.items() if value != own[name]]
    if not differ:
        return ""
    params = experiment.parameters
    theirs = ", ".join(f"{params[n].given} = {given[n]!r}" for n in differ)
    yours = ", ".join(f"{params[n].given} = {own[n]!r}" for n in differ)
    return (f"this notebook answers another variant ({theirs}); it was graded against this "
            f"student's own ({yours})")


def describe(variant: Variant, experiment: Experiment) -> list[dict[str, str]]:
    """The variant as rows a slip or a page prints: name, value in words, what it changes."""
    return [{"name": name, "value": experiment.parameters[name].format(value),
             "brief": experiment.parameters[name].brief}
            for name, value in variant.values]


def _plain(value: object) -> str:
    return "-".join(map(str, value)) if isinstance(value, tuple) else f"{value}"


def _jsonable(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
