"""The mark sheet's PR from the practical exam: the exam upload's test points scaled to the
course's ``practical.performance``, the examiners' viva marks (``--viva``) scaled to
``practical.viva``, a PR entered by hand counting instead; the term work beside it. The course is
built as tests/reports/conftest.py builds it; exam uploads are stored as the portal's exam slot
stores them (``collect_upload(exam=...)``) and graded with the coordinator's ``record_run``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import nbformat
import pytest
from click.testing import CliRunner

from dlkit.cli import main
from dlkit.collect import collect_upload
from dlkit.errors import DlkitError
from dlkit.gradebook import ExamSeat, utcnow
from dlkit.grading.tasks import Outcome
from dlkit.reports.course import load_course, student_records
from dlkit.reports.exam import PracticalMarks, practical_marks

from .conftest import build_course

EXP4 = "exp4-autoencoder-anomaly"


def exam_upload(gradebook, folder, slot_id: int, roll: str, points: list[tuple[float, float]],
                status: str = "graded", variant: str = '{"k": 2.5, "normal_digit": 2}') -> int:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"# {roll} {points}")])
    upload = collect_upload(EXP4, roll, "exam.ipynb", nbformat.writes(nb).encode(), course=folder,
                            gradebook=gradebook, source="portal", enqueue=True,
                            exam=(slot_id, variant))
    assert upload.status == "stored", upload.reason
    results = [{"question": f"q{i}", "test": 0, "hidden": False, "points": got,
                "max_points": top, "passed": got == top, "message": ""}
               for i, (got, top) in enumerate(points)]
    gradebook.record_run(upload.submission_id, Outcome(status, "", 30.0, "cpu", "bubblewrap",
                                                       results))
    return upload.submission_id


def test_pr_is_the_exam_performance_plus_the_viva_beside_the_term_work(tmp_path):
    data = build_course(tmp_path / "course")
    gradebook, folder = data.gradebook, data.folder
    seated = [r for r in data.records if r.batch == "B2" and r.eligible and r.practical is None][:4]
    assert len(seated) == 4
    first, second, third, fourth = (r.roll for r in seated)
    now = utcnow()
    slot = gradebook.open_exam_slot(
        batch="B2", room="Lab 3", exam_date=dt.date(2027, 3, 22), seed=0,
        starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(hours=1), by="test",
        seats=[ExamSeat(roll=r.roll, experiment=EXP4, variant="{}") for r in seated])
    exam_upload(gradebook, folder, slot.id, first, [(6, 6), (6, 6), (0, 6)])  # 12/18 first,
    exam_upload(gradebook, folder, slot.id, first, [(6, 6), (6, 6), (3, 6)])  # then 15/18
    exam_upload(gradebook, folder, slot.id, second, [(9, 9), (9, 9)])  # 18/18
    exam_upload(gradebook, folder, slot.id, second, [(0, 9), (0, 9)],
                status="sandbox error")  # not the student's doing: the 18/18 stands
    exam_upload(gradebook, folder, slot.id, third, [(3, 6), (3, 6), (3, 6)])  # 9/18, PR by hand
    viva = tmp_path / "viva.csv"
    viva.write_text(f"roll,viva\n{first},7\n{second},10\n{third},4\n{fourth},8\n")
    pr = tmp_path / "pr.csv"
    pr.write_text(f"roll,pr\n{third},21\n")

    course = load_course(folder=folder)
    before = {r.roll: r.term_work for r in student_records(gradebook, course,
                                                            course_folder=folder, batch="B2")}
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["exam", "sheet", "--batch", "B2", "--viva", str(viva),
                                       "--pr", str(pr), "--by", "Prof. Rao", "--course",
                                       str(folder), "--out", str(out), "--no-pdf"])
    assert result.exit_code == 0, result.output
    assert "recorded viva marks of 4 student(s)" in result.output
    assert "recorded PR marks of 1 student(s)" in result.output
    marks = practical_marks(gradebook, course, [first, second, third, fourth])
    assert marks[first] == PracticalMarks(12.5, 7.0, None, "exp 4: 15/18")
    assert marks[first].total == 20.0  # 12.5 + 7 = 19.5, halves up
    assert (marks[second].performance, marks[second].total) == (15.0, 25.0)
    assert (marks[third].performance, marks[third].viva, marks[third].total) == (7.5, 4.0, 21.0)
    assert (marks[fourth].performance, marks[fourth].total) == (None, None)  # no exam upload

    page = (out / "mark-sheet-B2.html").read_text()
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "Exam / 15" in text and "Viva / 10" in text
    for roll, pieces in ((first, ["12.5 exp 4: 15/18", "7", "20", f"{before[first] + 20:g}"]),
                         (second, ["15", "10", "25", f"{before[second] + 25:g}"]),
                         (third, ["7.5", "4", "21 entered", f"{before[third] + 21:g}"])):
        row = text.split(f" {roll} ", 1)[1].split(" Internal", 1)[0][:300]
        for piece in pieces:
            assert f" {piece} " in f" {row} ", (roll, piece, row)
    fourth_row = text.split(f" {fourth} ", 1)[1][:200]
    assert f"{before[fourth]:g} 8 " in fourth_row  # the viva alone: no PR, no total yet
    # exam uploads never count as the term work of the experiment
    after = {r.roll: r.term_work for r in student_records(gradebook, course, course_folder=folder,
                                                           batch="B2")}
    assert after == before


def test_a_course_whose_parts_do_not_add_up_is_refused(tmp_path):
    from dlkit.gradebook import Gradebook

    broken = dataclasses.replace(load_course(),
                                 practical={"out_of": 25, "performance": 15, "viva": 5})
    with pytest.raises(DlkitError, match=r"must both be given and add up to out_of \(25\)"):
        practical_marks(Gradebook.open(tmp_path), broken, [])
