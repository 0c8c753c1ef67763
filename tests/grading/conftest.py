"""Fixtures for grading tests: the toy experiment released, and a way to grade notebook variants."""

from __future__ import annotations

import nbformat
import pytest

from dlkit.grading.plans import plan_tests, starter_cells
from dlkit.grading.run import grade_submission
from dlkit.release import build
from dlkit.sandbox import Limits, default_sandbox


@pytest.fixture
def toy_course(toy):
    """The toy experiment, built (release/ and autograder/) in its private course folder."""
    build(toy, toy.root)
    return toy


@pytest.fixture
def grade_toy(toy_course, tmp_path):
    """grade_toy(before=[...], after=[...], solution=True, **limits) -> (Outcome, work folder)."""
    plan = plan_tests(toy_course)
    starter = starter_cells(toy_course)
    counter = iter(range(1000))

    def grade(before=(), after=(), solution=True, seconds=60, memory_gb=2.0, wall_factor=10.0):
        # seconds: CPU time. The wall-clock backstop is more generous than the grader's (3x):
        # test machines are shared, and only the tests of the backstop itself should meet it
        kind = "autograder" if solution else "release"
        nb = nbformat.read(toy_course.root / kind / "toy" / "toy.ipynb", as_version=4)
        first = 2  # after the otter init cell and the imports
        nb.cells[first:first] = [nbformat.v4.new_code_cell(src) for src in before]
        nb.cells.extend(nbformat.v4.new_code_cell(src) for src in after)
        for cell in nb.cells:
            cell.pop("id", None)  # the released notebooks are nbformat 4.4
        path = tmp_path / f"submission-{next(counter)}.ipynb"
        nbformat.write(nb, path)
        work = toy_course.root / "graded" / "toy" / path.stem
        outcome = grade_submission(path, work, plan, default_sandbox(toy_course.root),
                                   Limits(seconds=seconds, memory_bytes=int(memory_gb * 2**30),
                                          wall_factor=wall_factor),
                                   starter=starter, name="toy.ipynb")
        return outcome, work

    return grade


def printed_json(work, tag: str):
    """The JSON a cell of the graded run printed after ``tag`` (a run's files stay in its
    sandbox: what a test reads back is what the executed notebook shows)."""
    import json

    nb = nbformat.read(work / "executed.ipynb", as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith(tag + " "):
                    return json.loads(line[len(tag) + 1:])
    raise AssertionError(f"no {tag} printed by the graded run")
