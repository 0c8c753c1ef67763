"""The viva from the student's own run: questions with their figures, answers computed from
what the grader measured on their exported objects (checked here against those exports)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pypdf import PdfReader

from dlkit import checks
from dlkit.experiments import get
from dlkit.gradebook import Gradebook, Submission
from dlkit.grading.plans import plan_tests
from dlkit.grading.tasks import Outcome
from dlkit.reports.course import load_course
from dlkit.reports.own_run import mix, own_run_questions
from dlkit.reports.viva import load_bank, viva_sets, write_viva
from dlkit.roster import RosterEntry, sync_roster
from dlkit.variants import variant_of

EXP2, EXP4 = get("exp2-feedforward"), get("exp4-autoencoder-anomaly")
DATE = dt.date(2027, 4, 20)


def test_threshold_questions_are_computed_from_the_figures():
    import numpy as np

    val = np.array([0.01, 0.02, 0.03, 0.02])
    test = np.array([0.001, 0.5, 0.04, 0.5, 0.02, 0.2])
    digits = np.array([7, 1, 7, 9, 1, 4])
    figures = checks.threshold_figures(val, test, digits, 7, 2.5)
    limit = val.mean() + 2.5 * val.std()
    assert figures["threshold: value"] == pytest.approx(limit)
    assert figures["threshold: flagged"] == 4  # 0.5, 0.04, 0.5, 0.2 are above ~0.0327
    assert figures["threshold: flagged normal"] == 1 and figures["threshold: flagged anomalies"] == 3
    assert figures["threshold: most missed digit"] == 1  # the 1 with error 0.02
    questions = own_run_questions(EXP4.id, figures, {"normal_digit": 7, "k": 2.5})
    threshold = next(q for q in questions if q.id == "run-exp4-threshold")
    assert "mean + 2.5 x std" in threshold.question and "flags 4 of" in threshold.question
    assert f"= {limit:.5f}" in threshold.answer and "1 of the 2 normal 7s" in threshold.answer


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A student whose exam upload (Experiment 2, hidden layers 512 and 128) was graded: the
    real hidden structure test is extracted from their model, exported through the safe formats
    under graded/<exp>/<id>/exports/, judged, and the run recorded with what the judge measured."""
    import keras

    course = tmp_path_factory.mktemp("course")
    gradebook = Gradebook.open(course)
    sync_roster(gradebook, [RosterEntry("41007", "Priya Deshmukh", "B1", "p@example.org")])
    variant = variant_of(EXP2, {"hidden_units": (512, 128), "epochs": 5})
    with gradebook.session() as s:
        submission = Submission(experiment=EXP2.id, student_roll="41007", version=1,
                                original_name="exp2-feedforward.ipynb", status="stored",
                                exam_slot=1, variant=variant.to_json())
        s.add(submission)
        s.flush()
        submission_id = submission.id
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"),
                              keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    test = next(t for t in plan_tests(EXP2, variant.to_json()) if t.id == "q2_architecture-1")
    exports = course / "graded" / EXP2.id / str(submission_id) / "exports" / test.id
    exports.mkdir(parents=True)
    kernel = {"model": model}
    exec(compile(test.extract, "<extract>", "exec"), kernel)  # noqa: S102
    checks.export(kernel["extract"](kernel), exports)
    judge: dict = {}
    exec(compile(test.judge, "<judge>", "exec"), judge)  # noqa: S102
    measured = judge["judge"](checks.load(exports))
    gradebook.record_run(submission_id, Outcome(
        "graded", "", 1.0, "cpu", "test", results=[{
            "question": "q2_architecture", "test": 1, "hidden": True, "points": 2.0, "max_points": 2.0,
            "passed": True, "message": "", "measured": measured}]))
    return course, gradebook, exports


def test_the_viva_pdf_asks_about_the_students_own_run(graded, tmp_path):
    course, gradebook, exports = graded
    submission, figures = gradebook.exam_run("41007")
    assert submission.experiment == EXP2.id and json.loads(submission.variant)["epochs"] == 5
    own = own_run_questions(submission.experiment, figures,
                            variant_of(EXP2, submission.variant).as_dict())
    # the answer's figure is the exported model's own count, recomputed here from the exports
    exported = checks.load(exports)["model"]
    first = next(layer for layer in exported.layers if layer.__class__.__name__ == "Dense")
    assert first.count_params() == 784 * 512 + 512 == int(figures["first layer parameters (grader)"])
    bank = load_bank()
    sets = viva_sets([("41007", [EXP2.id])], DATE, bank, 4)
    mixed = {"41007": mix(own, list(sets["41007"]), 4)}
    assert [q.id for q in mixed["41007"]][:1] == ["run-exp2-first-layer"]
    assert len(mixed["41007"]) == 4
    paths = write_viva(mixed, {"41007": "Priya Deshmukh"}, DATE, tmp_path, batch="B1",
                       bank=bank, course=load_course())
    examiner = next(p for p in paths if p.name == "examiner-B1.pdf")
    student = next(p for p in paths if p.name == "student-B1.pdf")
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(examiner).pages)
    assert "Your first hidden layer has 512 units" in text
    assert "784 x 512 weights + 512 biases = 401,920" in text
    student_text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(student).pages)
    assert "512 units" in student_text and "401,920" not in student_text  # no answers there


def test_the_viva_command_mixes_own_run_questions(graded):
    from click.testing import CliRunner

    from dlkit.cli import main

    course, _, _ = graded
    result = CliRunner().invoke(main, ["viva", "--batch", "B1", "--date", "2027-04-20",
                                       "--per-student", "4", "--no-pdf", "--course", str(course)])
    assert result.exit_code == 0, result.output
    assert "questions from their own exam run: 41007" in result.output
    html = (course / "reports" / "viva" / "2027-04-20" / "examiner-B1.html").read_text()
    assert "401,920" in html
