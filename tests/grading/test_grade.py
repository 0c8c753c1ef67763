"""Grading one notebook: full marks, zero, partial, messages, the test plan."""

from __future__ import annotations

import pytest

from dlkit.grading.plans import plan_tests, starter_cells
from dlkit.grading.split import NotSplittable, split_test


def _scores(outcome):
    return {(r["question"], r["test"]): r["points"] for r in outcome.results}


def test_plan_splits_points_like_otter(toy_course):
    plan = {t.id: t for t in plan_tests(toy_course)}
    assert plan["q1_mean-0"].points == 1 and not plan["q1_mean-0"].hidden
    assert plan["q1_mean-1"].points == 2 and plan["q1_mean-1"].hidden
    assert "def judge" not in plan["q1_mean-1"].extract
    assert "def extract" not in plan["q1_mean-1"].judge
    assert "checks.run" not in plan["q1_mean-1"].extract + plan["q1_mean-1"].judge


def test_split_refuses_tests_outside_the_protocol():
    with pytest.raises(NotSplittable):
        split_test("assert 1 == 1")


def test_reference_gets_full_marks(grade_toy):
    outcome, work = grade_toy()
    assert outcome.status == "graded" and outcome.score == 5
    # what is kept is what the trusted side chose: the executed notebook and the exports
    assert sorted(p.name for p in work.iterdir()) == ["executed.ipynb", "exports"]


def test_unanswered_gets_zero_and_names_the_missing_variable(grade_toy, toy_course):
    outcome, _ = grade_toy(solution=False)
    assert outcome.status == "missing object" and outcome.score == 0
    cell = starter_cells(toy_course)["centred"]
    # where to define it, said once
    assert f"no variable `centred`: the starter notebook asks you to define it in cell {cell}" \
        in outcome.reason and outcome.reason.count("starter notebook") == 1


def test_partial_answer_gets_partial_marks(grade_toy):
    outcome, _ = grade_toy(after=["def scale(x):\n    return x"])
    assert _scores(outcome) == {("q1_mean", 0): 1, ("q1_mean", 1): 2, ("q2_scale", 0): 0}
    failed = next(r for r in outcome.results if r["question"] == "q2_scale")
    assert failed["message"] == "divide by the largest absolute value"


def test_invalid_notebook(toy_course, tmp_path):
    from dlkit.grading.run import grade_submission
    from dlkit.sandbox import Limits, default_sandbox

    bad = tmp_path / "bad.ipynb"
    bad.write_text('{"cells": "not a list"}')
    outcome = grade_submission(bad, tmp_path / "work", plan_tests(toy_course),
                               default_sandbox(toy_course.root), Limits(30))
    assert outcome.status == "invalid notebook" and outcome.score == 0
    assert all(r["max_points"] > 0 for r in outcome.results)


def test_stderr_and_warnings_do_not_fail_tests(grade_toy):
    outcome, _ = grade_toy(after=[
        "import sys, warnings\nwarnings.warn('framework noise', DeprecationWarning)\n"
        "print('loud', file=sys.stderr)"])
    assert outcome.status == "graded" and outcome.score == 5
