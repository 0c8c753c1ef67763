"""What a run grades: an experiment's tests split into their halves, the free-form rubric's
criteria, and the starter's cells (for "the starter asks for it in cell N").

Read from the experiment's files and cached until its master changes.
"""

from __future__ import annotations

import re
from dataclasses import astuple, dataclass

import nbformat

from dlkit.experiments import Experiment
from dlkit.grading.split import split_test
from dlkit.grading.tasks import GradingTask, PlannedTest
from dlkit.grading.verdicts import from_starter
from dlkit.notebook.master import read_master
from dlkit.rubrics import free_form_rubric
from dlkit.variants import bind, variant_of


def plan_tests(experiment: Experiment, variant: str = "") -> list[PlannedTest]:
    """Every autograded test of the experiment, split in halves, with otter's points:
    a test with its own ``points`` keeps them; the others share the rest of the question's.
    The exam ``variant`` (its JSON; "" the term-work values) is bound into each test's code
    (:func:`dlkit.variants.bind`), so the judge applies the roll's own parameters."""
    chosen = variant_of(experiment, variant)
    master = read_master(experiment.master)
    plan = []
    for question in master.autograded:
        fixed = sum(t.points or 0 for t in question.tests if t.points is not None)
        shared = [t for t in question.tests if t.points is None]
        each = (question.points - fixed) / len(shared) if shared else 0.0
        for index, test in enumerate(question.tests):
            halves = split_test(bind(test.source, chosen, experiment,
                                     where=f"{experiment.master}, cell {test.cell}"))
            points = float(test.points) if test.points is not None else each
            plan.append(PlannedTest(f"{question.name}-{index}", question.name, index,
                                    test.hidden, points, halves.extract, halves.judge))
    return plan


def free_form_plan(experiment: Experiment) -> list[PlannedTest]:
    """The tests of a free-form grading (:mod:`dlkit.grading.free_form`): one per criterion of
    the experiment's free-form rubric, with its marks."""
    from dlkit.errors import DlkitError
    rubric = free_form_rubric(experiment)
    if rubric is None:
        raise DlkitError(f"{experiment.id} has no free-form rubric", where=str(experiment.rubric))
    return [PlannedTest(f"{c.name}-0", c.name, 0, False, c.points, *astuple(split_test(c.source)))
            for c in rubric.criteria]


def starter_cells(experiment: Experiment) -> dict[str, int]:
    """Variable name -> the released notebook's cell (1-based) that asks for it."""
    released = experiment.root / "release" / experiment.id / experiment.master.name
    cells: dict[str, int] = {}
    if released.exists():
        nb = nbformat.read(released, as_version=4)
        for number, cell in enumerate(nb.cells, start=1):
            if cell.cell_type == "code":
                for name in re.findall(r"^\s*([A-Za-z_]\w*)\s*(?:,[^=]*)?=(?!=)", cell.source, re.M):
                    cells.setdefault(name, number)
                for name in re.findall(r"^def\s+([A-Za-z_]\w*)", cell.source, re.M):
                    cells.setdefault(name, number)
    return cells


@dataclass(frozen=True)
class Mode:
    """How a notebook is graded, and why (the page and the gradebook say both)."""

    free_form: bool
    why: str

    @property
    def name(self) -> str:
        return "free-form" if self.free_form else "starter"


def starter_objects(plan: list[PlannedTest]) -> list[str]:
    """The names the starter's tests take from the student's notebook, in the plan's order."""
    names: dict[str, None] = {}
    for test in plan:
        names.update(dict.fromkeys(re.findall(r"\bns\s*,\s*[\"'](\w+)[\"']", test.extract)))
    return list(names)


def defined_names(nb) -> set[str]:
    """The names a notebook's code cells define themselves (assignments, functions, classes,
    loop and ``with`` targets); imports are not the student's own objects."""
    import ast

    names: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join("" if line.lstrip().startswith(("!", "%")) else line
                           for line in cell.source.splitlines())
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


def grading_mode(experiment: Experiment, nb, forced: bool | None = None) -> Mode:
    """Starter or free-form: ``forced`` (``--starter``/``--free-form``, the rubric's switch)
    when given; else free-form when the notebook does not come from the starter (no otter
    cell) and defines fewer than half of the objects the starter's tests ask for."""
    if forced is not None:
        return Mode(forced, "asked for by the instructor (" + ("--free-form or the rubric's "
                    "free_form switch)" if forced else "--starter)"))
    if from_starter(nb):
        return Mode(False, "the notebook comes from the starter (it has the starter's cells)")
    asked = starter_objects(_cached(plan_tests, experiment))
    defined = [name for name in asked if name in defined_names(nb)]
    counted = f"defines {len(defined)} of the {len(asked)} objects the starter's tests ask for" + \
        (f" ({', '.join(f'`{n}`' for n in defined[:6])})" if defined else "")
    if len(defined) * 2 >= len(asked):
        return Mode(False, f"the notebook {counted}")
    if free_form_rubric(experiment) is None:
        return Mode(False, f"the notebook does not come from the starter and {counted}, but "
                           f"{experiment.id} has no free-form rubric")
    return Mode(True, f"the notebook does not come from the starter (no starter cells) and "
                      f"{counted}")


def task_mode(experiment: Experiment, task: GradingTask) -> Mode:
    """The task's grading mode; a notebook that cannot be read is graded as forced (or on the
    starter), and fails as an invalid notebook there."""
    try:
        nb = nbformat.reads(task.notebook.decode("utf-8"), as_version=4)
    except Exception:  # noqa: BLE001 - any way a file can fail to be a notebook
        return Mode(bool(task.free_form), "the notebook could not be read")
    return grading_mode(experiment, nb, task.free_form)


def plan_for(experiment: Experiment, free_form: bool | None = False, variant: str = "") -> list[PlannedTest]:
    """The tests a run of ``experiment`` is graded on (the free-form rubric's, with ``free_form``;
    with the exam ``variant``'s parameters bound in)."""
    if free_form:
        return free_form_plan(experiment)
    return _cached(plan_tests, experiment, variant) if variant else _cached(plan_tests, experiment)


def starter_for(experiment: Experiment) -> dict[str, int]:
    """:func:`starter_cells`, cached."""
    return _cached(starter_cells, experiment)


_CACHE: dict[tuple, object] = {}


def _cached(function, experiment: Experiment, *args):
    """What ``function`` reads from an experiment's files, read again when its master changes."""
    master = experiment.master
    key = (function.__name__, experiment.id, str(master),
           master.stat().st_mtime_ns if master.exists() else 0, *args)
    if key not in _CACHE:
        _CACHE[key] = function(experiment, *args)
    return _CACHE[key]
