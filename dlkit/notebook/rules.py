"""Two release checks read from a master's test code (nothing is executed), so that a student
is never graded by a rule the notebook does not show:

**Every criterion in the brief.** Each registry threshold a hidden test reads
(``threshold("<experiment>", "<name>")``) is written in its question's text as
``{{ thresholds.<name> }}``, which the release fills in from the experiment registry
(:func:`fill_thresholds`), so the text and the test read the same number and cannot drift apart.
Each other number a hidden test's judge compares against (``len(loss) >= 3``) must be in the
question's text too. Not counted as bars: 0 and 1, numbers in the test's extract half (the
grader's own probe inputs), indices, and tolerances of agreement (comparisons of ``abs(...)``).

**One rule for the public and the hidden test.** Each public test of a question is contained in
one hidden test of that question: the hidden test extracts the same values with the same code and
makes every check the public test makes (and may make more). A student who reads a public check
has then seen how the hidden test treats that input; a hidden test cannot accept what its public
preview refuses, nor refuse it.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import nbformat

from dlkit.errors import NotebookFormatError
from dlkit.experiments import Experiment
from dlkit.notebook.master import Master, Test, cell_marker

#: The two checks, by the names their refusals carry.
UNSTATED = "criterion not in the brief"
DISAGREE = "public and hidden tests disagree"

PLACEHOLDER = re.compile(r"\{\{\s*thresholds\.([A-Za-z_]\w*)\s*\}\}")
_NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twice": 2, "half": 0.5}
_ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


@dataclass(frozen=True)
class Problem:
    check: str  # UNSTATED or DISAGREE
    question: str
    cell: int  # the master's cell (1-based) of the test
    detail: str

    def __str__(self) -> str:
        return f"{self.question} (cell {self.cell}): {self.detail}"


# --------------------------------------------------------------------------- the brief

def format_threshold(value: float) -> str:
    """How a threshold reads in the student's text: 0.97, 3, 0.985."""
    return f"{value:g}"


def fill_thresholds(experiment: Experiment) -> Callable[[nbformat.NotebookNode], nbformat.NotebookNode]:
    """A release step: every ``{{ thresholds.NAME }}`` in a markdown cell becomes the registry's
    value of the experiment's threshold NAME; an unknown NAME stops the release."""

    def fill(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
        for number, cell in enumerate(nb.cells, start=1):
            if cell.cell_type != "markdown":
                continue

            def value(match: re.Match, number: int = number) -> str:
                name = match.group(1)
                if name not in experiment.thresholds:
                    raise NotebookFormatError(
                        f"{{{{ thresholds.{name} }}}}: the registry has no threshold {name!r} for "
                        f"{experiment.id}", path=str(experiment.master), cell=number,
                        fix=f"known: {', '.join(sorted(experiment.thresholds)) or 'none'} "
                            "(dlkit/experiments.py)")
                return format_threshold(experiment.thresholds[name].value)

            cell.source = PLACEHOLDER.sub(value, cell.source)
        return nb

    return fill


def question_texts(master: Master) -> dict[str, str]:
    """Each question's text as the student reads it: its markdown cells outside the solution
    and tests regions (placeholders not yet filled)."""
    texts: dict[str, list[str]] = {}
    question: str | None = None
    region: str | None = None
    names = iter(q.name for q in master.questions)
    for cell in master.notebook.cells:
        marker = cell_marker(cell)
        if marker:
            kind, what = marker
            if what == "QUESTION":
                question = next(names) if kind == "BEGIN" else None
            elif what in ("SOLUTION", "TESTS"):
                region = what if kind == "BEGIN" else None
            continue
        if question and not region and cell.cell_type == "markdown":
            texts.setdefault(question, []).append(cell.source)
    return {name: "\n".join(parts) for name, parts in texts.items()}


def unstated_criteria(master: Master, experiment: Experiment) -> list[Problem]:
    """Thresholds and numeric bars that hidden tests apply but their question's text omits."""
    problems = []
    texts = question_texts(master)
    for question in master.autograded:
        text = texts.get(question.name, "")
        written = set(PLACEHOLDER.findall(text))
        filled = PLACEHOLDER.sub(
            lambda m: format_threshold(experiment.thresholds[m.group(1)].value)
            if m.group(1) in experiment.thresholds else m.group(0), text)
        numbers = _numbers_in(filled)
        for test in (t for t in question.tests if t.hidden):
            tree = ast.parse(test.source)
            cell = master.notebook.cells[test.cell - 1].source
            offset = cell[:cell.find(test.source)].count("\n") if test.source in cell else 0
            for name, where in _thresholds_read(tree, experiment, offset):
                if name.startswith("?"):
                    problems.append(Problem(UNSTATED, question.name, test.cell, name[1:]))
                elif name not in written:
                    problems.append(Problem(
                        UNSTATED, question.name, test.cell,
                        f"the hidden test applies the threshold {name} "
                        f"({format_threshold(experiment.thresholds[name].value)}, line {where}) "
                        f"but the question's text does not state it: write "
                        f"{{{{ thresholds.{name} }}}} where the text gives the criterion"))
            for value, line, code in _bars(test):
                if not any(math.isclose(value, n, rel_tol=1e-9, abs_tol=1e-12) for n in numbers):
                    problems.append(Problem(
                        UNSTATED, question.name, test.cell,
                        f"the hidden test compares with {value:g} (line {line + offset}: `{code}`) but the "
                        "question's text never gives that number: state the criterion there "
                        "(or make it a registry threshold and write {{ thresholds.NAME }})"))
    return problems


def _threshold_names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Names bound to ``dlkit.experiments.threshold`` and to the module ``dlkit.experiments``."""
    functions, modules = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "dlkit.experiments":
            functions |= {a.asname or a.name for a in node.names if a.name == "threshold"}
        elif isinstance(node, ast.ImportFrom) and node.module == "dlkit":
            modules |= {a.asname or a.name for a in node.names if a.name == "experiments"}
        elif isinstance(node, ast.Import):
            modules |= {a.asname for a in node.names if a.name == "dlkit.experiments" and a.asname}
    return functions, modules


def _thresholds_read(tree: ast.AST, experiment: Experiment, offset: int = 0) -> list[tuple[str, int]]:
    """(threshold name, line) for every ``threshold(...)`` call; an f-string name stands for every
    registry name it can produce. A problem is returned as a name starting with "?"."""
    functions, modules = _threshold_names(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or len(node.args) != 2:
            continue
        func = node.func
        if not ((isinstance(func, ast.Name) and func.id in functions) or (
                isinstance(func, ast.Attribute) and func.attr == "threshold"
                and isinstance(func.value, ast.Name) and func.value.id in modules)):
            continue
        owner, name = node.args
        if not (isinstance(owner, ast.Constant) and owner.value == experiment.id):
            found.append((f"?line {node.lineno + offset} reads a threshold of "
                          f"{ast.unparse(owner)}, not of {experiment.id}", node.lineno + offset))
            continue
        if isinstance(name, ast.Constant) and isinstance(name.value, str):
            names = [name.value] if name.value in experiment.thresholds else []
        elif isinstance(name, ast.JoinedStr):
            pattern = "".join(re.escape(str(part.value)) if isinstance(part, ast.Constant) else ".+"
                              for part in name.values)
            names = sorted(n for n in experiment.thresholds if re.fullmatch(pattern, n))
        else:
            names = []
        if not names:
            found.append((f"?line {node.lineno + offset} reads the threshold {ast.unparse(name)}, "
                          f"which the registry does not have for {experiment.id}", node.lineno + offset))
        found.extend((n, node.lineno + offset) for n in names)
    return found


def _numbers_in(text: str) -> list[float]:
    """The numbers a reader finds in ``text``: digits (1,280 and 0.97 and 99.9 %), and small
    numbers written as words."""
    numbers = []
    for match in re.finditer(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)(\s?%)?", text):
        value = float(match.group(1).replace(",", ""))
        numbers.append(value / 100 if match.group(2) else value)
        if match.group(2):
            numbers.append(value)
    lowered = text.lower()
    numbers += [v for word, v in _NUMBER_WORDS.items() if re.search(rf"\b{word}\b", lowered)]
    return numbers


def _bars(test: Test) -> list[tuple[float, int, str]]:
    """Numbers the judge half compares against: (value, line, code) of each."""
    tree = ast.parse(test.source)
    extract = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "extract"]
    probes = {n.value for f in extract for n in ast.walk(f) if _is_number(n)}
    inside_extract = {id(n) for f in extract for n in ast.walk(f)}
    bars = []
    for node in ast.walk(tree):
        if id(node) in inside_extract:
            continue
        if not isinstance(node, ast.Compare) or not all(isinstance(op, _ORDERING) for op in node.ops):
            continue
        if any(isinstance(n, ast.Call) and _call_name(n) in ("abs", "isclose", "allclose")
               for n in ast.walk(node)):
            continue  # a tolerance of agreement, not a criterion
        indices = {id(n) for s in ast.walk(node) if isinstance(s, ast.Subscript)
                   for n in ast.walk(s.slice)}
        for n in ast.walk(node):
            if _is_number(n) and id(n) not in indices and n.value not in (0, 1) \
                    and n.value not in probes:
                bars.append((float(n.value), node.lineno, ast.unparse(node)[:100]))
    return bars


def _is_number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
        and not isinstance(node.value, bool)


def _call_name(node: ast.Call) -> str:
    return node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")


# --------------------------------------------------------------------------- public vs hidden

@dataclass(frozen=True)
class _Parts:
    """A test's code as sets of normalised statements: module-level helpers, the extract half's
    statements and exported values (key -> expression), the judge half's statements."""

    helpers: frozenset[str]
    extract: frozenset[str]
    exports: dict[str, str]
    judge: frozenset[str]


def _parts(source: str) -> _Parts:
    tree = ast.parse(source)
    helpers, extract, judge, exports = set(), set(), set(), {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in ("extract", "judge"):
            body = [s for s in node.body if not _is_docstring(s)]
            if node.name == "judge":
                judge |= {ast.unparse(s) for s in body if not isinstance(s, ast.Return)}
            else:
                built = {s.targets[0].id: s.value for s in body if isinstance(s, ast.Assign)
                         and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)}
                for statement in body:
                    if isinstance(statement, ast.Return):
                        value = statement.value
                        if isinstance(value, ast.Name) and value.id in built:
                            # out = {...}; out[k] = ...; return out: the items are the exports
                            value = built[value.id]
                            if not isinstance(value, ast.Dict):
                                continue  # built otherwise: its statements are compared
                        exports.update(_exported(value))
                    elif not (isinstance(statement, ast.Assign)
                              and isinstance(statement.value, ast.Dict)
                              and statement.value in built.values()):
                        extract.add(ast.unparse(statement))
                for inner in ast.walk(node):
                    exports.update(_stored(inner))
        elif not isinstance(node, (ast.Import, ast.ImportFrom)) and not (
                isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                and _call_name(node.value) == "run"):
            helpers.add(ast.unparse(node))
    return _Parts(frozenset(helpers), frozenset(extract), exports, frozenset(judge))


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
        and isinstance(node.value.value, str)


def _exported(value: ast.expr | None) -> dict[str, str]:
    if isinstance(value, ast.Dict) and all(isinstance(k, ast.Constant) for k in value.keys):
        return {str(k.value): ast.unparse(v) for k, v in zip(value.keys, value.values)}
    return {"<returned>": ast.unparse(value) if value is not None else "None"}


def _stored(node: ast.AST) -> dict[str, str]:
    """``out["key"] = value`` and ``out.update({...})`` inside the extract half."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
            node.targets[0], ast.Subscript) and isinstance(node.targets[0].slice, ast.Constant):
        return {str(node.targets[0].slice.value): ast.unparse(node.value)}
    if isinstance(node, ast.Call) and _call_name(node) == "update" and node.args \
            and isinstance(node.args[0], ast.Dict):
        return {k: v for k, v in _exported(node.args[0]).items() if k != "<returned>"}
    return {}


def _missing(public: _Parts, hidden: _Parts) -> str:
    """What of ``public`` ``hidden`` lacks, in a phrase ("" when it contains it all)."""
    for key, expression in public.exports.items():
        if hidden.exports.get(key) != expression:
            shown = "the value it returns" if key == "<returned>" else f"data[{key!r}]"
            return f"extracts {shown} as `{expression[:90]}`"
    for kind, mine, theirs in (("helper", public.helpers, hidden.helpers),
                               ("extract step", public.extract, hidden.extract),
                               ("check", public.judge, hidden.judge)):
        for statement in sorted(mine - theirs):
            first = statement.splitlines()[0]
            return f"has the {kind} `{first[:110]}`"
    return ""


def public_hidden_mismatches(master: Master) -> list[Problem]:
    """Public tests that no hidden test of their question contains (see the module docstring)."""
    problems = []
    for question in master.autograded:
        hidden = [(t, _parts(t.source)) for t in question.tests if t.hidden]
        if not hidden:
            continue
        for test in (t for t in question.tests if not t.hidden):
            public = _parts(test.source)
            gaps = [_missing(public, parts) for _, parts in hidden]
            if all(gaps):
                closest = max(hidden, key=lambda pair: len(public.judge & pair[1].judge)
                              + len(public.exports.items() & pair[1].exports.items()))
                best = _missing(public, closest[1])
                cells = f"cell{'s' * (len(hidden) > 1)} {', '.join(str(t.cell) for t, _ in hidden)}"
                problems.append(Problem(
                    DISAGREE, question.name, test.cell,
                    f"the public test {best}, which no hidden test of {question.name} repeats on "
                    f"the same input ({cells}): a hidden "
                    "test must extract what the public test extracts, with the same code, and "
                    "make every check it makes"))
    return problems


def problems_of(master: Master, experiment: Experiment) -> dict[str, list[Problem]]:
    """Both checks' problems, by check name (only checks with problems)."""
    found = {UNSTATED: unstated_criteria(master, experiment),
             DISAGREE: public_hidden_mismatches(master)}
    return {check: problems for check, problems in found.items() if problems}


__all__ = ["DISAGREE", "UNSTATED", "Problem", "fill_thresholds", "format_threshold",
           "problems_of", "public_hidden_mismatches", "question_texts", "unstated_criteria"]
