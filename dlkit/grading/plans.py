"""What a run grades: an experiment's tests split into their halves, the free-form rubric's
criteria, and the starter's cells (for "the starter asks for it in cell N").

Read from the experiment's files and cached until its master changes.
"""

from __future__ import annotations

import re
from dataclasses import astuple

import nbformat

from dlkit.experiments import Experiment
from dlkit.grading.split import split_test
from dlkit.grading.tasks import PlannedTest
from dlkit.notebook.master import read_master
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
    from dlkit.grading.free_form import load_rubric

    rubric = load_rubric(experiment)
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


def plan_for(experiment: Experiment, free_form: bool = False, variant: str = "") -> list[PlannedTest]:
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
