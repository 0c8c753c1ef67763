"""Wrong Experiment 6 submissions lose exactly the marks they should (slow: real training)."""

from __future__ import annotations

import re

import nbformat
import pytest

from dlkit.experiments import ROOT, get
from dlkit.grading.plans import plan_tests, starter_cells
from dlkit.grading.run import grade_submission
from dlkit.grading.verdicts import questions_not_run
from dlkit.sandbox import Limits, default_sandbox
from tests.experiments.helpers import grade, lost

pytestmark = pytest.mark.slow

ID = "exp6-transfer-learning"

TWO_LAYER_HEAD = """    return nn.Sequential(
        nn.Linear(in_features, 256),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(256, num_classes),
    )"""


def test_nothing_frozen_loses_the_freezing_question_only(tmp_path):
    scores = grade(ID, {"param.requires_grad = False": "param.requires_grad = True"}, tmp_path)
    # (b)'s counts and its public check; step (e) is judged against what the student's own (b)
    # froze, and the detector's question builds a fresh detector with a correct freezing step
    assert lost(scores) == {"q2_freeze": 4}


def test_a_trainabler_typo_loses_only_the_freezing_question(tmp_path):
    # `param.trainabler = False` sets an attribute nothing reads: nothing is frozen, silently
    scores = grade(ID, {"param.requires_grad = False": "param.trainabler = False"}, tmp_path)
    assert lost(scores) == {"q2_freeze": 4}


TRAINING_STEP = """    # BEGIN SOLUTION
    train_mode(model)"""
HEAD_TRAINING = """history_head = {"loss": [], "val_accuracy": []}
for epoch in range(EPOCHS_HEAD):"""


def test_typed_in_numbers_lose_the_questions_that_report_them(tmp_path):
    # train_one_epoch trains nothing and returns a number; the history, the test accuracy and
    # mAP are typed in. The grader's own measurements catch each: its probe of train_one_epoch
    # (q4), its accuracy of the untrained model (q6) and its mAP from the detector's boxes (q8,
    # whose public check is repeated by the hidden test)
    scores = grade(ID, {
        TRAINING_STEP: "    return 0.25  # typed in\n" + TRAINING_STEP,
        HEAD_TRAINING: 'history_head = {"loss": [0.9, 0.4], "val_accuracy": [0.91, 0.95]}\nfor epoch in range(0):',
        "test_accuracy = accuracy(model, x_test, y_test)": "test_accuracy = 0.95",
        'map50 = float(metric.compute()["map_50"])': "map50 = 0.9",
    }, tmp_path)
    assert lost(scores) == {"q4_train_head": 3, "q6_accuracy": 5, "q8_map": 5}


def test_a_one_layer_head_loses_the_head_marks(tmp_path):
    scores = grade(ID, {TWO_LAYER_HEAD: "    return nn.Sequential(nn.Linear(in_features, num_classes))"},
                   tmp_path)
    assert lost(scores) == {"q3_head": 3}


def test_one_learning_rate_everywhere_loses_the_parameter_group_marks(tmp_path):
    scores = grade(ID, {'{"params": backbone_params, "lr": backbone_lr}':
                        '{"params": backbone_params, "lr": head_lr}'}, tmp_path)
    assert lost(scores) == {"q5_finetune": 2}


def test_a_notebook_cut_by_the_time_limit_says_not_judged_for_what_never_ran(tmp_path):
    """Graded by dlkit's own grader with 45 s of CPU time: the limit falls while the head
    trains (the cells before it use about 12 CPU s, head training about 67: the runner's
    timings.json, 2-core CPU). A failed test of a question whose cells never ran is "not
    judged: the notebook was stopped at cell N ...", even where its objects exist (the
    untrained classifier would measure about 0.1), and never "no variable ..."; the questions
    before the stop keep their marks."""
    experiment = get(ID)
    solution = ROOT / "autograder" / ID / experiment.master.name
    outcome = grade_submission(solution, tmp_path / "work", plan_tests(experiment),
                               default_sandbox([tmp_path, ROOT]), Limits(seconds=45, wall_factor=10),
                               starter=starter_cells(experiment), name=experiment.master.name)
    assert outcome.status == "timeout", outcome.reason
    cell = int(re.match(r"cell (\d+) ", outcome.reason).group(1))
    nb = nbformat.read(solution, as_version=4)
    late = questions_not_run(nb, {"cell": cell})
    assert "q6_accuracy" in late  # the classifier exists but never finished training
    stopped = f"not judged: the notebook was stopped at cell {cell} by the time limit"
    for result in outcome.results:
        if result["question"] == "q6_accuracy":
            assert not result["passed"] and result["message"].startswith(stopped), result
        elif result["question"] in late:  # a test whose objects were complete may still pass
            assert result["passed"] or result["message"].startswith(stopped), result
        else:
            assert result["passed"], result
    assert not any("measured by the grader" in r["message"] or "no variable" in r["message"]
                   for r in outcome.results)
