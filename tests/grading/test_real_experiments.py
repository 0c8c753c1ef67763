"""The real Experiment 2 graded through the sandbox: a cheat that hard-codes its accuracy,
monkeypatches numpy and keras and snoops for the hidden tests earns no accuracy marks."""

from __future__ import annotations

from dlkit.experiments import ROOT, get
from dlkit.grading.grade import grade_submission, plan_tests, starter_cells
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
