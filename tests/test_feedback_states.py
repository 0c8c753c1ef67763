"""What a page says was judged: "not judged" is neutral and counted apart, and what is left to the
instructor is no fail, out of the automatic score, and listed for marking."""

from __future__ import annotations

import json

from dlkit.feedback import summary_line, write_feedback
from dlkit.gradebook import Gradebook, Result, Student
from dlkit.grading.tasks import PlannedTest
from dlkit.grading.verdicts import results_for
from tests.test_feedback import _result, _run, _submission

EXP5 = "exp5-cbow"


def test_an_instructor_verdict_is_out_of_the_score_and_a_stop_is_not_judged():
    plan = [PlannedTest(f"{q}-0", q, 0, False, p, "", "")
            for q, p in (("embedding", 2.0), ("training", 4.0), ("neighbour_quality", 4.0))]
    judged = {"embedding-0": {"passed": True, "message": ""},
              "training-0": {"passed": False, "message": "never trained"},
              "neighbour_quality-0": {"passed": False, "manual": True,
                                      "message": "your instructor judges them"}}
    results = results_for(plan, judged, {})
    assert [r["state"] for r in results] == ["judged", "judged", "instructor"]
    stopped = results_for(plan, {}, {}, {"cell": 5, "error": "KeyError", "message": "'acc'"})
    assert {r["state"] for r in stopped} == {"not judged"}


def test_not_judged_is_counted_apart_from_failed():
    def result(passed, message="", state="judged", hidden=False):
        return Result(question="q", test=0, hidden=hidden, passed=passed, points=0.0,
                      max_points=1.0, message=message, state=state)

    stopped = [result(True), *(result(False, "not judged: the notebook stopped at cell 4",
                                      "not judged") for _ in range(3))]
    assert summary_line(stopped, "error") == (
        "Your notebook did not finish: the notebook stopped with an error. "
        "1 of 4 tests passed; 3 not judged.")
    nothing = [result(False, "not judged: ...", "not judged") for _ in range(4)]
    assert summary_line(nothing, "error").endswith("None of the 4 tests could be judged.")
    # a row from before states were kept: told by its message
    assert summary_line([result(False, "not judged: the notebook stopped at cell 2")]) == \
        "None of the 1 tests could be judged."
    mixed = [result(False, "wrong"), result(False, "hidden hint", hidden=True),
             result(False, "left", "instructor")]
    assert summary_line(mixed) == "0 of 2 tests passed; 1 public test(s) failed; " \
                                  "1 hidden test(s) failed."


def test_a_cbow_page_lists_neighbour_quality_as_left_to_the_instructor_and_scores_it_nowhere(
        tmp_path):
    gradebook = Gradebook.open(tmp_path)
    with gradebook.session() as s:
        s.add(Student(roll="41007", name="Omkar Jadhav", batch="B2"))
        s.flush()
        submission = _submission("41007", 1)
        submission.experiment = EXP5
        quality = _result("neighbour_quality", 0, False, False, 4.0,
                          "the vocabulary is not one of the corpora the grader has: your "
                          "instructor judges them")
        quality.state = "instructor"
        run = _run(submission, [_result("embedding", 0, False, True, 2.0),
                                _result("training", 0, False, True, 4.0), quality])
        run.max_score, run.mode = 6.0, "free-form"
        s.add(submission)
    (page,) = write_feedback(EXP5, course=tmp_path, gradebook=gradebook)
    html = " ".join(page.read_text(encoding="utf-8").split())
    assert "6 / 6" in html and "All 2 tests passed." in html
    assert "Judged automatically: <strong>embedding</strong>, <strong>training</strong>." in html
    table = html.split("<h2>Questions</h2>")[1].split("</table>")[0]
    assert "neighbour_quality" not in table and "failed" not in table
    left = html.split("<h2>Left to your instructor</h2>")[1].split("</table>")[0]
    assert "neighbour_quality" in left and "– / 4" in left
    gradebook.engine.dispose()


def _free_form_page(tmp_path, experiment, results, mode="free-form"):
    gradebook = Gradebook.open(tmp_path)
    with gradebook.session() as s:
        s.add(Student(roll="41008", name="Pooja Kale", batch="B2"))
        s.flush()
        submission = _submission("41008", 1)
        submission.experiment = experiment
        run = _run(submission, results)
        run.mode = mode
        s.add(submission)
    (page,) = write_feedback(experiment, course=tmp_path, gradebook=gradebook)
    gradebook.engine.dispose()
    return " ".join(page.read_text(encoding="utf-8").split())


def _labelled(result, **labels):
    result.labels = json.dumps(labels)
    return result


def test_an_ecg_notebook_s_page_is_titled_by_its_data_and_says_its_scaler_was_applied(tmp_path):
    html = _free_form_page(tmp_path, "exp4-autoencoder-anomaly", [
        _labelled(_result("architecture", 0, False, True, 3.0), data="ECG5000"),
        _result("training", 0, False, True, 2.0),
        _labelled(_result("roc_auc", 0, False, True, 4.0), data="ECG5000",
                  inputs="after your StandardScaler (`scaler`)"),
        _result("threshold", 0, False, False, 3.0, "balanced accuracy 0.61 on ECG5000")])
    assert "<h1>Experiment 4: Autoencoder anomaly detection: ECG5000</h1>" in html
    assert "MNIST" not in html
    assert "measured on ECG5000; inputs after your StandardScaler (`scaler`)" in html


def test_a_vgg16_notebook_is_not_titled_efficientnet_and_a_starter_run_keeps_the_title(tmp_path):
    html = _free_form_page(tmp_path / "a", "exp6-transfer-learning", [
        _labelled(_result("frozen_backbone", 0, False, True, 3.0), model="VGG16"),
        _result("head", 0, False, False, 2.0, "`model` has 1 trainable dense layer(s)")])
    assert "Transfer learning from a pretrained CNN: VGG16 backbone" in html
    assert "EfficientNet" not in html and "MNIST" not in html
    starter = _free_form_page(tmp_path / "b", "exp6-transfer-learning",
                              [_result("q1_backbone", 0, False, True, 3.0)], mode="starter")
    assert "EfficientNet-Lite0" in starter
