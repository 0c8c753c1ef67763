"""Export grades from the gradebook: a CSV sheet, nbgrader's CSV, or Gradescope results.json files.

Every format reads the same records (:class:`Grade`): for each student and experiment, the newest
stored submission, its current run, and the newest manual marks. An ungraded cell stays empty
rather than 0, so a missing grade is never mistaken for a zero.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from dlkit import queries
from dlkit.errors import UnknownName
from dlkit.experiments import EXPERIMENTS, Experiment
from dlkit.experiments import get as get_experiment
from dlkit.feedback import (
    load_manifest,
    manual_questions,
    points,
    safe_filename,
    student_hint,
    summary_line,
)
from dlkit.gradebook import (
    RUN_STATUSES,
    Gradebook,
    Result,
    Run,
    Student,
    Submission,
    counted_versions,
    current_run,
    result_state,
)
from dlkit.reports.render import write_atomic

NBGRADER_COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
                    "email", "raw_score", "late_submission_penalty", "score", "max_score")


@dataclass(frozen=True)
class Grade:
    """One student's marks in one experiment; ``submission``/``run`` None when there is none."""

    experiment: Experiment
    student: Student
    submission: Submission | None
    run: Run | None
    results: list[Result] = field(default_factory=list)
    manual: float | None = None  # sum of the newest manual marks; None when nothing is marked
    auto_max: float = 0.0
    manual_max: float = 0.0
    marks: float | None = None  # the course's marks (experiment_marks.out_of); None: nothing yet

    @property
    def auto(self) -> float | None:
        return self.run.score if self.run else None

    @property
    def total(self) -> float | None:
        marks = [m for m in (self.auto, self.manual) if m is not None]
        return sum(marks) if marks else None


# --------------------------------------------------------------------------- the API

def export_grades(experiment_ids: list[str] | None, *, fmt: str, course: Path,
                  gradebook: Gradebook, out: Path) -> list[Path]:
    """Export the experiments' grades (all registered ones when None) in ``fmt``; the files written.

    ``csv`` and ``nbgrader`` write one file: ``out`` itself when it ends in ``.csv``, else
    ``out/grades.csv`` or ``out/nbgrader-grades.csv``; ``gradescope`` writes
    ``out/<experiment>/<roll>/results.json`` per graded submission.
    """
    if fmt not in FORMATS:
        raise UnknownName("export format", fmt, FORMATS)
    experiments = [get_experiment(e) for e in experiment_ids] if experiment_ids \
        else list(EXPERIMENTS.values())
    from dlkit.reports.course import find_course

    config = find_course(course)
    with gradebook.session() as session:
        grades = {experiment.id: collect_grades(session, experiment, config, course)
                  for experiment in experiments}
    return FORMATS[fmt](grades, out, course=config)


def collect_grades(session: Session, experiment: Experiment, config=None,
                   folder: Path | None = None) -> list[Grade]:
    """A Grade for every student on the roster, in roll order; with the course file
    (``config``), each with the course's marks as the term-work report computes them."""
    from dlkit.reports.course import experiment_record

    manual = manual_questions(experiment)
    manifest = load_manifest(experiment) or {}
    default_max = float(manifest.get("points", {}).get("auto", 0.0))
    newest = counted_versions(session, experiment.id)  # pinned, else the newest
    grades = []
    for student in queries.students(session):
        submission = newest.get(student.roll)
        run = current_run(session, submission.id) if submission else None
        marks = queries.latest_marks(session, experiment.id, student.roll)
        extra_max = sum(m.max_points for item, m in marks.items() if item not in manual)
        course_marks = experiment_record(session, config, experiment.id, student.roll,
                                         course_folder=folder or Path()).marks \
            if config is not None and (submission is not None or marks) else None
        grades.append(Grade(
            experiment, student, submission, run, list(run.results) if run else [],
            manual=sum(m.points for m in marks.values()) if marks else None,
            auto_max=run.max_score if run else default_max,
            manual_max=sum(manual.values()) + extra_max, marks=course_marks))
    return grades


# --------------------------------------------------------------------------- formats

def export_csv(grades: dict[str, list[Grade]], out: Path, *, course=None) -> list[Path]:
    """One row per student: roll, name, batch, per experiment auto/manual/total raw points, the
    run's status and how many of its tests were not judged (neither passed nor failed),
    then the raw total; with the course file also, per experiment, when the counted version
    arrived (in the course's time zone, named in the header) and the course's marks out of
    ``experiment_marks.out_of``, and the sum of those marks."""
    from dlkit.reports.course import show_time

    header = ["roll", "name", "batch"]
    out_of = course.experiment_marks["out_of"] if course is not None else 0
    zone_name = (course.time_zone or show_time(dt.datetime(2000, 1, 1), course.zone)
                 .rsplit(" ", 1)[-1]) if course is not None else ""
    for exp in grades:
        header += [f"{exp} auto", f"{exp} manual", f"{exp} total", f"{exp} status",
                   f"{exp} not judged"]
        if course is not None:
            header += [f"{exp} arrived ({zone_name})", f"{exp} marks /{out_of:g}"]
    rows = []
    for per_student in zip(*grades.values(), strict=True):
        student = per_student[0].student
        row = [student.roll, student.name, student.batch]
        for grade in per_student:
            row += [points(grade.auto), points(grade.manual), points(grade.total),
                    grade.run.status if grade.run else "",
                    str(sum(result_state(r) == "not judged" for r in grade.results))
                    if grade.run else ""]
            if course is not None:
                arrived = grade.submission.arrived_at if grade.submission else None
                row += [show_time(arrived, course.zone, ""), points(grade.marks)]
        totals = [g.total for g in per_student if g.total is not None]
        row.append(points(sum(totals)) if totals else "")
        if course is not None:
            given = [g.marks for g in per_student if g.marks is not None]
            row.append(points(round(sum(given), 2)) if given else "")
        rows.append(row)
    header.append("total")
    if course is not None:
        header.append(f"marks /{out_of * len(grades):g}")
    path = _csv_path(out, "grades.csv")
    write_atomic(path, _csv_text([header, *rows]))
    return [path]


def export_nbgrader(grades: dict[str, list[Grade]], out: Path, **_) -> list[Path]:
    """nbgrader's ``export`` CSV: one row per (experiment, student with a submission)."""
    rows: list[list[str]] = [list(NBGRADER_COLUMNS)]
    for grade in _each(grades):
        if grade.submission is None:
            continue
        first, last = split_name(grade.student.name)
        score = points(grade.total)
        rows.append([grade.experiment.id, _timestamp(grade.submission.due_at),
                     _timestamp(grade.submission.arrived_at), grade.student.roll, last, first,
                     grade.student.email, score, "0", score,
                     points(grade.auto_max + grade.manual_max)])
    path = _csv_path(out, "nbgrader-grades.csv")
    write_atomic(path, _csv_text(rows))
    return [path]


def export_gradescope(grades: dict[str, list[Grade]], out: Path, **_) -> list[Path]:
    """Gradescope autograder ``results.json`` per graded submission; hidden tests after publishing."""
    written = []
    for grade in _each(grades):
        if grade.run is None:
            continue
        path = out / grade.experiment.id / safe_filename(grade.student.roll) / "results.json"
        text = json.dumps(gradescope_results(grade, grade.run), indent=1, ensure_ascii=False)
        write_atomic(path, text + "\n")
        written.append(path)
    return written


def gradescope_results(grade: Grade, run: Run) -> dict:
    """Gradescope's results format for one graded submission (auto-graded tests only)."""
    output = summary_line(grade.results, run.status)
    if run.reason:
        output += f" {RUN_STATUSES.get(run.status, run.status).capitalize()}: {run.reason}"
    return {
        "score": run.score,
        "execution_time": round(run.seconds),
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [gradescope_test(r) for r in grade.results],
        "extra_data": {"roll": grade.student.roll,
                       "version": grade.submission.version if grade.submission else None,
                       "status": run.status, "max_score": run.max_score},
    }


def gradescope_test(result: Result) -> dict:
    """One test: a hidden test shows only its hint, and only once grades are published."""
    label = "hidden test" if result.hidden else f"test {result.test + 1}"
    return {
        "name": f"{result.question} {label}",
        "score": result.points,
        "max_score": result.max_points,
        "status": "passed" if result.passed else "failed",
        "visibility": "after_published" if result.hidden else "visible",
        "output": student_hint(result.message) if result.hidden else result.message,
    }


FORMATS: dict[str, Callable[..., list[Path]]] = {
    "csv": export_csv, "nbgrader": export_nbgrader, "gradescope": export_gradescope,
}


# --------------------------------------------------------------------------- helpers

def _each(grades: dict[str, list[Grade]]) -> list[Grade]:
    return [grade for experiment_grades in grades.values() for grade in experiment_grades]


def split_name(name: str) -> tuple[str, str]:
    """(first, last): the last word is taken as the surname; one word is a first name."""
    words = name.split()
    return (" ".join(words[:-1]), words[-1]) if len(words) > 1 else (name.strip(), "")


def _timestamp(moment: dt.datetime | None) -> str:
    return moment.isoformat(sep=" ") if moment else ""


def _csv_path(out: Path, default_name: str) -> Path:
    return out if out.suffix.lower() == ".csv" else out / default_name


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()
