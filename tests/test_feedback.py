"""Feedback pages from a gradebook built by hand: content, honesty, hidden tests, plots, escaping."""

from __future__ import annotations

import base64
import datetime as dt
import io
from functools import cache
from pathlib import Path

import nbformat
import pytest
from sqlalchemy import select

from dlkit.feedback import (
    MAX_PLOT_CHARS,
    duration,
    notebook_plots,
    student_hint,
    summary_line,
    ungraded_students,
    write_feedback,
)
from dlkit.gradebook import (
    RUN_STATUSES,
    Gradebook,
    ManualMark,
    Result,
    Run,
    Student,
    Submission,
)

EXP = "exp2-feedforward"
HINT = "the model needs at least two hidden Dense layers"
LEAK = ("\nTraceback (most recent call last):\n  File \"<judge q2_architecture-1>\", line 3\n"
        "    def judge(data): assert SECRET_HIDDEN_SOURCE")
TIMEOUT_REASON = "cell 12 was still running when the 10 min limit was reached"
DUE = dt.datetime(2025, 8, 14, 17, 0)


@cache
def png_bytes() -> bytes:
    """A real PNG drawn by matplotlib (the object API: no pyplot, no global backend)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 1.5), dpi=40)
    figure.add_subplot().plot([0, 1, 2], [0.9, 0.95, 0.97])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _result(question: str, test: int, hidden: bool, passed: bool, max_points: float,
            message: str = "") -> Result:
    return Result(question=question, test=test, hidden=hidden, passed=passed,
                  points=max_points if passed else 0.0, max_points=max_points, message=message)


def _run(submission: Submission, results: list[Result], status: str = "graded",
         reason: str = "", current: bool = True) -> Run:
    return Run(submission=submission, started_at=DUE, seconds=42.4, device="cpu",
               sandbox="bubblewrap", status=status, reason=reason, current=current,
               score=sum(r.points for r in results), max_score=sum(r.max_points for r in results),
               results=results)


def _submission(roll: str, version: int, late_seconds: float = 0.0,
                status: str = "stored") -> Submission:
    return Submission(experiment=EXP, student_roll=roll, version=version, sha256="0" * 64,
                      path=f"submissions/{roll}-{version}.ipynb", original_name="exp2.ipynb",
                      arrived_at=DUE - dt.timedelta(hours=5) + dt.timedelta(seconds=late_seconds),
                      due_at=DUE, late_seconds=late_seconds, status=status)


def make_gradebook(course: Path) -> Gradebook:
    """Five students: 41201 graded (a hidden test failed, manual marks, plots, v1 superseded),
    41202 graded with every test passed, 41203 no submission, 41204 submitted but not graded,
    41205 v1 timed out and v2 not graded yet."""
    gradebook = Gradebook.open(course)
    with gradebook.session() as s:
        s.add_all([Student(roll="41201", name="अमित पाटील", batch="B1", email="amit@example.in"),
                   Student(roll="41202", name="R&D <Lab>", batch="B2"),
                   Student(roll="41203", name='Sharma, "Ravi"', batch="B1"),
                   Student(roll="41204", name="Neha Joshi", batch="B2"),
                   Student(roll="41205", name="Kiran Rao", batch="B2")])
        s.flush()  # manual marks refer to students without a relationship to order them by
        old = _submission("41201", 1)
        _run(old, [_result("q1_data", 0, False, False, 1.0, "old run")])
        amit = _submission("41201", 2, late_seconds=3 * 3600 + 5 * 60)
        _run(amit, [_result("q1_data", 0, False, True, 9.0)], current=False)  # regraded since
        _run(amit, [
            _result("q1_data", 0, False, True, 1.0),
            _result("q2_architecture", 0, False, True, 1.0),
            _result("q2_architecture", 1, True, False, 2.0, HINT + LEAK),
            _result("q5_accuracy", 0, False, False, 0.0, "accuracy 0.91 < 0.97 (the bar)"),
            _result("q5_accuracy", 1, True, True, 4.0),
        ])
        lab = _submission("41202", 1)
        _run(lab, [_result("q1_data", 0, False, True, 1.0),
                   _result("q2_architecture", 1, True, True, 2.0)])
        kiran = _submission("41205", 1)
        _run(kiran, [_result("q1_data", 0, False, False, 1.0, "the notebook did not get this far")],
             status="timeout", reason=TIMEOUT_REASON)
        s.add_all([old, amit, lab, kiran, _submission("41204", 1), _submission("41205", 2),
                   _submission("41203", 0, status="rejected")])
        s.add_all([
            ManualMark(student_roll="41201", experiment=EXP, item="q7_fitting", points=0.5,
                       max_points=2, by="prof", at=DUE, note="first look"),
            ManualMark(student_roll="41201", experiment=EXP, item="q7_fitting", points=1.5,
                       max_points=2, by="prof", at=DUE + dt.timedelta(days=1),
                       note="good discussion of over-fitting"),
            ManualMark(student_roll="41201", experiment=EXP, item="journal", points=3,
                       max_points=5, by="prof", at=DUE),
        ])
    write_executed(course / "graded" / EXP / str(amit.id) / "executed.ipynb", plots=2)
    return gradebook


def write_executed(path: Path, plots: int) -> None:
    """An executed notebook with text output and ``plots`` image/png outputs."""
    png = base64.b64encode(png_bytes()).decode()
    cell = nbformat.v4.new_code_cell("plt.plot(history)")
    cell.outputs = [nbformat.v4.new_output("stream", text="Epoch 1/6\n")] + [
        nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})
        for _ in range(plots)]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Exp 2"), cell])
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture
def course(tmp_path):
    gradebook = make_gradebook(tmp_path)
    yield tmp_path, gradebook
    gradebook.engine.dispose()


@pytest.fixture
def pages(course):
    root, gradebook = course
    paths = write_feedback(EXP, course=root, gradebook=gradebook)
    return {p.stem: p.read_text(encoding="utf-8") for p in paths}


def test_one_page_per_graded_student_in_the_default_folder(course, caplog):
    root, gradebook = course
    with caplog.at_level("WARNING", logger="dlkit.feedback"):
        paths = write_feedback(EXP, course=root, gradebook=gradebook)
    folder = root / "feedback" / EXP
    assert sorted(paths) == [folder / "41201.html", folder / "41202.html", folder / "41205.html"]
    assert sorted(p.name for p in folder.iterdir()) == ["41201.html", "41202.html",
                                                        "41205.html"]  # no temp files left
    assert ungraded_students(EXP, gradebook) == ["41203", "41204"]
    assert "41203, 41204" in caplog.text


def test_students_and_out_select_pages(course):
    root, gradebook = course
    paths = write_feedback(EXP, course=root, gradebook=gradebook, out=root / "x",
                           students=["41202", "41204"])
    assert paths == [root / "x" / "41202.html"]
    assert ungraded_students(EXP, gradebook, ["41202", "41204"]) == ["41204"]


def test_page_content(pages):
    page = pages["41201"]
    assert "Experiment 2: Feed-forward neural network with Keras on MNIST" in page
    assert "41201" in page and "version 2" in page
    assert "2025-08-14 15:05 UTC" in page and "late by 3 h 5 min" in page
    assert "6 / 8" in page  # the current run's score, not the superseded ones
    assert "9 / 9" not in page and "old run" not in page
    assert "q2_architecture" in page and "1 / 3" in page  # per question
    assert "accuracy 0.91 &lt; 0.97 (the bar)" in page  # a public message in full, escaped
    assert "on time" in pages["41202"]


def test_summary_is_honest_about_failed_hidden_tests(pages):
    assert "3 of 5 tests passed; 1 public test(s) failed; 1 hidden test(s) failed." in pages["41201"]
    assert "All" not in pages["41201"] and "all tests passed" not in pages["41201"].lower()
    assert "All 2 tests passed." in pages["41202"]


def test_hidden_tests_show_only_the_hint(pages):
    page = pages["41201"]
    assert f"Hint: {HINT}</pre>" in page
    for secret in ("Traceback", "def judge", "SECRET_HIDDEN_SOURCE", "line 3"):
        assert secret not in page


def test_status_and_reason_in_words(pages):
    page = pages["41205"]
    assert RUN_STATUSES["timeout"] in page and TIMEOUT_REASON in page
    assert "Your notebook did not finish" in page
    assert "Version 2 arrived later and is not graded yet." in page  # v1 is the graded one
    assert "version 1" in page


def test_manual_questions_marked_by_the_instructor(pages):
    page = pages["41201"]
    assert "Left to your instructor" in page
    assert "q7_fitting" in page and "1.5 / 2" in page and "good discussion" in page
    assert "first look" not in page  # superseded by the newer mark
    assert "journal" in page and "3 / 5" in page
    assert "not marked yet" in pages["41202"]


def test_plots_are_embedded(pages, course):
    page = pages["41201"]
    assert page.count('src="data:image/png;base64,') == 2
    first = page.split('src="data:image/png;base64,')[1].split('"')[0]
    assert base64.b64decode(first) == png_bytes()
    assert "data:image/png" not in pages["41202"]  # no kept notebook: no plots, no error
    root, gradebook = course
    (path,) = write_feedback(EXP, course=root, gradebook=gradebook, students=["41201"],
                             max_plots=1)
    assert path.read_text(encoding="utf-8").count("data:image/png") == 1


def test_names_are_escaped_and_unicode_kept(pages):
    assert "R&amp;D &lt;Lab&gt;" in pages["41202"] and "<Lab>" not in pages["41202"]
    assert "अमित पाटील" in pages["41201"]
    assert '<meta charset="utf-8">' in pages["41201"]


def test_student_hint_cuts_tracebacks_and_length():
    assert student_hint(HINT + LEAK) == HINT
    assert len(student_hint("x" * 1000)) == 300


def test_summary_line_cases():
    passed = Result(question="q", test=0, hidden=True, passed=True, points=1, max_points=1)
    failed = Result(question="q", test=1, hidden=True, passed=False, points=0, max_points=1)
    assert summary_line([passed]) == "All 1 tests passed."
    assert summary_line([passed, failed]) == "1 of 2 tests passed; 1 hidden test(s) failed."
    assert summary_line([]) == "No tests were run."
    assert summary_line([passed], "crashed").startswith("Your notebook did not finish")


def test_duration_words():
    assert duration(42) == "42 s"
    assert duration(86400 + 2 * 3600 + 60) == "1 day 2 h 1 min"


def test_plots_from_the_graded_copy_when_no_executed_notebook(course):
    root, gradebook = course
    with gradebook.session() as s:
        lab = s.scalars(select(Submission).where(Submission.student_roll == "41202")).one()
    write_executed(root / "graded" / EXP / str(lab.id) / "exp2-feedforward.ipynb", plots=1)
    (path,) = write_feedback(EXP, course=root, gradebook=gradebook, students=["41202"])
    assert path.read_text(encoding="utf-8").count("data:image/png") == 1


def test_huge_or_invalid_images_are_left_out(tmp_path):
    path = tmp_path / "nb.ipynb"
    write_executed(path, plots=1)
    nb = nbformat.read(path, as_version=4)
    outputs = nb.cells[1].outputs
    outputs[1].data["image/png"] = "A" * (MAX_PLOT_CHARS + 4)
    outputs.append(nbformat.v4.new_output("display_data", data={"image/png": "<script>"}))
    nbformat.write(nb, path)
    assert notebook_plots(path) == []


def test_notebook_plots_of_a_broken_or_missing_notebook(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("not json")
    assert notebook_plots(bad) == [] and notebook_plots(None) == []
