"""Grade exports read back with csv and json: columns, values, totals, visibilities, errors."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest

from dlkit.errors import DlkitError, UnknownName
from dlkit.export import NBGRADER_COLUMNS, export_grades, split_name
from tests.test_feedback import EXP, HINT, make_gradebook


@pytest.fixture
def course(tmp_path):
    gradebook = make_gradebook(tmp_path / "course")
    yield tmp_path / "course", gradebook
    gradebook.engine.dispose()


def _export(course, fmt: str, out, experiments: list[str] | None = None):
    root, gradebook = course
    return export_grades(experiments if experiments is not None else [EXP], fmt=fmt,
                         course=root, gradebook=gradebook, out=out)


def _rows(path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_csv_columns_values_and_totals(course, tmp_path):
    (path,) = _export(course, "csv", tmp_path / "out")
    assert path == tmp_path / "out" / "grades.csv"
    text = path.read_text(encoding="utf-8")
    assert not text.startswith("\ufeff")
    assert text.splitlines()[0] == (f"roll,name,batch,{EXP} auto,{EXP} manual,{EXP} total,"
                                    f"{EXP} status,{EXP} not judged,"
                                    f"{EXP} arrived (UTC),{EXP} marks /10,total,marks /10")
    rows = {row["roll"]: row for row in _rows(path)}
    assert list(rows) == ["41201", "41202", "41203", "41204", "41205"]
    amit = rows["41201"]
    assert (amit["name"], amit["batch"]) == ("अमित पाटील", "B1")
    # the current run of v2 (6), the newest q7 mark (1.5) and the journal (3)
    assert [amit[f"{EXP} {c}"] for c in ("auto", "manual", "total")] == ["6", "4.5", "10.5"]
    assert amit["total"] == "10.5"
    assert (amit[f"{EXP} status"], amit[f"{EXP} not judged"]) == ("graded", "0")
    assert [rows["41202"][f"{EXP} {c}"] for c in ("auto", "manual", "total")] == ["3", "", "3"]
    for roll in ("41203", "41204", "41205"):  # none, ungraded, newest version ungraded
        assert rows[roll][f"{EXP} auto"] == rows[roll]["total"] == ""
    assert rows["41203"]["name"] == 'Sharma, "Ravi"'
    assert '"Sharma, ""Ravi"""' in text  # quoted by the csv module


def test_csv_times_in_the_course_zone_and_the_course_marks_of_the_term_work(course, tmp_path):
    from dlkit.reports.course import load_course, student_records

    root, gradebook = course
    (root / "course.yml").write_text("time_zone: Asia/Kolkata\n")
    (path,) = _export(course, "csv", tmp_path / "out")
    rows = {row["roll"]: row for row in _rows(path)}
    records = {r.roll: r for r in student_records(gradebook, load_course(folder=root),
                                                  course_folder=root)}
    with gradebook.session() as s:
        from sqlalchemy import select

        from dlkit.gradebook import Submission
        arrived = max(s.scalars(select(Submission.arrived_at).where(
            Submission.student_roll == "41201", Submission.status == "stored")))
    local = arrived + dt.timedelta(hours=5, minutes=30)  # IST has no summer time
    assert rows["41201"][f"{EXP} arrived (Asia/Kolkata)"] == f"{local:%Y-%m-%d %H:%M} IST"
    for roll in ("41201", "41202"):
        expected = next(e.marks for e in records[roll].experiments if e.id == EXP)
        assert float(rows[roll][f"{EXP} marks /10"]) == pytest.approx(expected)
    assert rows["41203"][f"{EXP} marks /10"] == ""  # nothing submitted, nothing marked


def test_csv_of_every_experiment_to_a_named_file(course, tmp_path):
    root, gradebook = course
    (path,) = export_grades(None, fmt="csv", course=root, gradebook=gradebook,
                            out=tmp_path / "term.csv")
    assert path == tmp_path / "term.csv"
    rows = _rows(path)
    assert "exp4-autoencoder-anomaly total" in rows[0]
    assert rows[0]["exp4-autoencoder-anomaly auto"] == "" and rows[0]["total"] == "10.5"


def test_nbgrader_columns_and_rows(course, tmp_path):
    (path,) = _export(course, "nbgrader", tmp_path)
    with path.open(encoding="utf-8", newline="") as handle:
        assert tuple(next(csv.reader(handle))) == NBGRADER_COLUMNS
    rows = {row["student_id"]: row for row in _rows(path)}
    assert list(rows) == ["41201", "41202", "41204", "41205"]  # only students with a submission
    amit = rows["41201"]
    assert amit["assignment"] == EXP
    assert (amit["duedate"], amit["timestamp"]) == ("2025-08-14 17:00:00", "2025-08-14 15:05:00")
    assert (amit["first_name"], amit["last_name"], amit["email"]) == ("अमित", "पाटील",
                                                                      "amit@example.in")
    assert (amit["raw_score"], amit["late_submission_penalty"], amit["score"]) == ("10.5", "0",
                                                                                   "10.5")
    assert amit["max_score"] == "15"  # run max 8 + q7_fitting 2 + journal 5
    assert rows["41202"]["score"] == "3" and rows["41202"]["max_score"] == "5"
    assert rows["41204"]["score"] == "" and rows["41204"]["max_score"] == "16"  # manifest 14 + 2


def test_gradescope_results_shape_and_visibility(course, tmp_path):
    paths = _export(course, "gradescope", tmp_path / "gs")
    assert sorted(p.relative_to(tmp_path / "gs").as_posix() for p in paths) == [
        f"{EXP}/41201/results.json", f"{EXP}/41202/results.json"]
    results = json.loads((tmp_path / "gs" / EXP / "41201" / "results.json").read_text("utf-8"))
    assert results["score"] == 6 and results["execution_time"] == 42
    assert "1 hidden test(s) failed" in results["output"]
    assert results["extra_data"] == {"roll": "41201", "version": 2, "status": "graded",
                                     "max_score": 8}
    tests = results["tests"]
    assert [set(t) >= {"name", "score", "max_score", "visibility", "output"} for t in tests] \
        == [True] * 5
    hidden = [t for t in tests if t["name"].endswith("hidden test")]
    assert {t["visibility"] for t in hidden} == {"after_published"}
    assert {t["visibility"] for t in tests if t not in hidden} == {"visible"}
    failed_hidden = next(t for t in hidden if t["status"] == "failed")
    assert failed_hidden["output"] == HINT and failed_hidden["name"] == "q2_architecture hidden test"
    assert (failed_hidden["score"], failed_hidden["max_score"]) == (0, 2)
    assert "accuracy 0.91 < 0.97 (the bar)" in [t["output"] for t in tests]
    text = json.dumps(results)
    assert "Traceback" not in text and "def judge" not in text


def test_unknown_format_lists_the_known_ones(course, tmp_path):
    with pytest.raises(DlkitError, match="known export formats: csv, gradescope, nbgrader"):
        _export(course, "xlsx", tmp_path)
    with pytest.raises(UnknownName, match="unknown experiment 'exp9'"):
        _export(course, "csv", tmp_path, ["exp9"])
    assert not list(tmp_path.glob("*.csv"))


def test_split_name():
    assert split_name("अमित पाटील") == ("अमित", "पाटील")
    assert split_name("Ravi") == ("Ravi", "")
    assert split_name("Sai Kiran Rao") == ("Sai Kiran", "Rao")
