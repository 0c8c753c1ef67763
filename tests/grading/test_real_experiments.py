"""The real experiments graded through the sandbox: every reference gets full marks (slow), and
an Experiment 2 cheat that hard-codes its accuracy, monkeypatches numpy and keras and snoops for
the hidden tests earns no accuracy marks."""

from __future__ import annotations

import pytest

from dlkit.experiments import EXPERIMENTS, ROOT, get
from dlkit.grading.plans import plan_tests, starter_cells
from dlkit.grading.run import grade_submission
from dlkit.sandbox import Limits, default_sandbox


def test_exp2_cheat_gets_the_graders_accuracy_not_its_own(tmp_path):
    experiment = get("exp2-feedforward")
    cheat = ROOT / "demo" / "submissions" / experiment.id / f"41004_{experiment.id}.ipynb"
    outcome = grade_submission(cheat, tmp_path / "work", plan_tests(experiment),
                               default_sandbox([tmp_path, ROOT]), Limits(seconds=600),
                               starter=starter_cells(experiment), name=experiment.master.name)
    assert outcome.status == "graded"
    accuracy = next(r for r in outcome.results if r["question"] == "q5_accuracy" and r["hidden"])
    assert not accuracy["passed"] and accuracy["points"] == 0
    assert "test accuracy measured by the grader: 0." in accuracy["message"]
    public = next(r for r in outcome.results if r["question"] == "q5_accuracy" and not r["hidden"])
    assert public["passed"]  # its printed 0.99 is a number between 0 and 1 - and counts for 0
    executed = (tmp_path / "work" / "executed.ipynb").read_text()
    assert "found: ['" in executed and "def judge" not in executed  # the snooping found nothing


@pytest.mark.slow
@pytest.mark.parametrize("experiment_id", sorted(EXPERIMENTS))
def test_reference_gets_full_marks_from_the_sandboxed_grader(experiment_id, tmp_path):
    """What otter's zip gives the reference, dlkit's own grader gives too: sandbox, split halves,
    judge in a clean process (and, for each experiment, every exported kind of object)."""
    experiment = get(experiment_id)
    solution = ROOT / "autograder" / experiment.id / experiment.master.name
    outcome = grade_submission(solution, tmp_path / "work", plan_tests(experiment),
                               default_sandbox([tmp_path, ROOT]), Limits(seconds=experiment.time_limit),
                               starter=starter_cells(experiment), name=experiment.master.name)
    assert outcome.status == "graded", outcome
    failed = [(r["question"], r["message"]) for r in outcome.results if not r["passed"]]
    assert not failed
    assert outcome.score == sum(r["max_points"] for r in outcome.results) > 0
