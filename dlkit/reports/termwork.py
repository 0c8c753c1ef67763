"""The SPPU examiner's term-work papers, from :func:`dlkit.reports.course.student_records`.

    write_term_work         one report per student: cover, index, experiments, TW total
    write_batch_summary     one row per student: marks of each experiment, TW, eligibility
    write_mark_sheet        TW + PR per student with the examiners' signature columns
    read_practical_marks    the examiners' ``roll,pr`` CSV, checked line by line
    record_practical_marks  those PR marks into the gradebook (item ``PR`` of ``course``)

HTML is the source of truth and is byte-for-byte the same for the same records: nothing prints
the current time. The PDFs are rendered from it by :mod:`dlkit.reports.render`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dlkit.errors import DlkitError, FileProblems
from dlkit.gradebook import RUN_STATUSES, Gradebook, Student
from dlkit.reports.course import Course, ExperimentRecord, StudentRecord, local_date
from dlkit.reports.render import render
from dlkit.roster import csv_records

DASH = "—"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
PR_COLUMNS = ("roll", "pr")


class PracticalMarksError(FileProblems):
    """A PR marks file with problems, each with its line."""

    subject = "the practical marks"


# --------------------------------------------------------------------------- the papers

def write_term_work(records: list[StudentRecord], course: Course, out: Path, *,
                    pdf: bool = True, progress: bool = True) -> list[Path]:
    """``out/term-work/<roll>.html`` (and ``.pdf``) for every student of ``records``."""
    from tqdm import tqdm

    written: list[Path] = []
    for record in tqdm(records, desc="term work", unit="student", disable=not progress,
                       file=sys.stderr):
        context = {**_common(course), "student": record,
                   "experiments": [_experiment_view(e, course) for e in record.experiments],
                   "total": _total_view(record, course)}
        written += render("term_work.html", context, out / "term-work" / f"{record.roll}.html",
                          pdf=pdf)
    return written


def write_batch_summary(records: list[StudentRecord], course: Course, out: Path,
                        batch: str | None = None, *, pdf: bool = True,
                        course_folder: Path | None = None) -> list[Path]:
    """``out/term-work/summary-<batch or all>.html`` (and ``.pdf``): one row per student; with
    ``course_folder``, links to the similarity reports made there (``dlkit similarity``)."""
    students = _of_batch(records, batch)
    eligible = sum(r.eligible for r in students)
    context = {**_common(course), "batch": batch, "students": students,
               "similarity": _similarity_links(course, course_folder, out / "term-work"),
               "numbers": [e.number for e in course.experiments], "eligible": eligible,
               "average": (sum(r.term_work for r in students) / len(students)
                           if students else None)}
    name = f"summary-{batch or 'all'}.html"
    return render("batch_summary.html", context, out / "term-work" / name, pdf=pdf)


def write_mark_sheet(records: list[StudentRecord], course: Course, out: Path,
                     batch: str | None = None, *, pdf: bool = True,
                     practical: Mapping[str, Any] | None = None) -> list[Path]:
    """``out/mark-sheet-<batch or all>.html`` (and ``.pdf``): TW, PR and total per student,
    with columns and lines for the internal and external examiners to sign. With
    ``practical`` (roll -> :class:`dlkit.reports.exam.PracticalMarks`) PR is the exam's
    performance plus the viva, both shown (a PR entered by hand counts instead, marked so)."""
    students = _of_batch(records, batch)
    if practical is not None:
        students = [dataclasses.replace(r, practical=practical[r.roll].total)
                    if r.roll in practical else r for r in students]
    context = {**_common(course), "batch": batch, "students": students,
               "total_out_of": course.term_work["out_of"] + course.practical["out_of"],
               "total": _grand_total, "parts": practical,
               "performance_out_of": course.practical.get("performance"),
               "viva_out_of": course.practical.get("viva")}
    return render("mark_sheet.html", context, out / f"mark-sheet-{batch or 'all'}.html", pdf=pdf)


def _similarity_links(course: Course, course_folder: Path | None, page_folder: Path
                      ) -> list[tuple[int, str]]:
    """(experiment number, link relative to the page) of each similarity report that exists."""
    from dlkit.similarity import similarity_report_path

    if course_folder is None:
        return []
    reports = [(e.number, similarity_report_path(course_folder, e.id)) for e in course.experiments]
    return [(number, Path(os.path.relpath(path.resolve(), page_folder.resolve())).as_posix())
            for number, path in reports if path.exists()]


def _common(course: Course) -> dict[str, Any]:
    return {"course": course, "marks": marks_text, "day": day_text,
            "tw_out_of": course.term_work["out_of"], "pr_out_of": course.practical["out_of"],
            "exp_out_of": course.experiment_marks["out_of"]}


def _of_batch(records: list[StudentRecord], batch: str | None) -> list[StudentRecord]:
    return [r for r in records if batch is None or r.batch == batch]


def _grand_total(record: StudentRecord) -> float | None:
    return None if record.practical is None else record.term_work + record.practical


def _experiment_view(record: ExperimentRecord, course: Course) -> dict[str, Any]:
    """One experiment as the report prints it: the record plus words for lateness and status."""
    remarks = []
    late = _lateness(record, course)
    if late:
        remarks.append(late)
    if record.submitted is None:
        remarks.append("not submitted")
    elif record.remarks:
        remarks.append(record.remarks)
    return {"record": record, "remarks": "; ".join(remarks),
            "submitted_day": local_date(record.submitted, course.zone)
            if record.submitted is not None else None,
            "status_words": RUN_STATUSES.get(record.status, record.status),
            "measured": [(name, figure_text(value)) for name, value in record.measured.items()]}


def _lateness(record: ExperimentRecord, course: Course) -> str:
    """What the late policy did, in words (the same rule as the marks: course.py)."""
    extended = day_text(record.extended_to.replace(tzinfo=dt.UTC).astimezone(course.zone)) \
        if record.extended_to is not None else ""
    if record.submitted is None or record.days_late == 0:
        return f"on time (extended to {extended})" \
            if record.submitted is not None and record.extended_to is not None else ""
    half = course.late_policy.get("half_credit_days", 0) - course.late_policy["grace_days"]
    credit = "half the timely mark" if record.days_late <= half else "no timely mark"
    if record.marks_off:
        credit += f", {marks_text(record.marks_off)} mark(s) off"
    if record.extended_to is None and record.planned is not None:
        days = (local_date(record.submitted, course.zone) - record.planned).days
        return f"late by {days} days: {credit}"
    after = f"the extension to {extended}" if record.extended_to \
        else "the due date"
    return f"late by {record.days_late} day(s) after {after}: {credit}"


def _total_view(record: StudentRecord, course: Course) -> dict[str, Any]:
    marks = [e.marks for e in record.experiments]
    return {"average": sum(marks) / len(marks) if marks else 0.0, "count": len(marks),
            "experiments_weight": course.term_work["experiments"],
            "attendance_weight": course.term_work["attendance"]}


# --------------------------------------------------------------------------- words for numbers

def marks_text(value: float | None, out_of: float | None = None, *, places: int | None = None
               ) -> str:
    """``7.5``, ``8.25``, ``10``; with ``out_of``: ``7.5 / 10``; with ``places=2`` (columns of
    a table): ``7.50``, ``10.00``; none: an em dash."""
    if value is None:
        return DASH
    text = f"{value:.{places}f}" if places is not None else \
        f"{value:.2f}".rstrip("0").rstrip(".")
    return text if out_of is None else f"{text} / {marks_text(out_of)}"


def figure_text(value: object) -> str:
    """A measured figure: four significant digits for fractions, one decimal for large ones."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:.4g}" if abs(value) < 1000 else f"{value:.1f}"


def day_text(moment) -> str:
    """``11 Jan 2027`` whatever the locale; none: an em dash."""
    if moment is None:
        return DASH
    return f"{moment.day:02d} {MONTHS[moment.month - 1]} {moment.year}"


# --------------------------------------------------------------------------- PR marks

def read_practical_marks(path: Path, *, out_of: float = 25, column: str = "pr"
                         ) -> dict[str, float]:
    """Roll -> marks from a CSV with the header ``roll,pr`` (any case, more columns allowed);
    ``column="viva"`` reads the examiners' viva marks (``roll,viva``) the same way.

    Raises :class:`PracticalMarksError` listing every problem, each with its line (header = 1).
    """
    path = Path(path)
    columns = ("roll", column)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise PracticalMarksError(str(path), [f"{path.name}: cannot read: {exc.strerror}"]) \
            from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise PracticalMarksError(str(path), [
            f"{path.name} line {line}: not UTF-8 text; save the file as 'CSV UTF-8'"]) from None
    rows = csv_records(text)
    if not rows:
        raise PracticalMarksError(str(path), [
            f"{path.name} line 1: empty file; the header must be {','.join(columns)}"])
    header_line, header = rows[0]
    names = [cell.casefold() for cell in header]
    if not all(c in names for c in columns) or any(names.count(c) > 1 for c in columns):
        problem = (f"{path.name} line {header_line}: unknown format: the header must be "
                   f"{','.join(columns)} (found {','.join(header) or 'nothing'})")
        raise PracticalMarksError(str(path), [problem])
    roll_at, pr_at = names.index("roll"), names.index(column)
    marks: dict[str, float] = {}
    first_line: dict[str, int] = {}
    problems = []
    for line, cells in rows[1:]:
        roll = cells[roll_at] if roll_at < len(cells) else ""
        value = cells[pr_at] if pr_at < len(cells) else ""
        problem = _pr_problem(roll, value, out_of, first_line, column)
        if problem:
            problems.append(f"{path.name} line {line}: {problem}")
            continue
        first_line[roll] = line
        marks[roll] = float(value)
    if problems:
        raise PracticalMarksError(str(path), problems)
    return marks


def _pr_problem(roll: str, value: str, out_of: float, first_line: Mapping[str, int],
                column: str = "pr") -> str:
    what = column.upper() if column == "pr" else column
    if not roll:
        return "empty roll number"
    if roll in first_line:
        return f"duplicate roll number {roll!r} (also on line {first_line[roll]})"
    if not value:
        return f"no {what} marks for {roll}; leave the line out until the marks are known"
    try:
        points = float(value)
    except ValueError:
        return f"{what} marks {value!r} of {roll} are not a number"
    if not math.isfinite(points) or not 0 <= points <= out_of:
        return f"{what} marks {value} of {roll} are not between 0 and {marks_text(out_of)}"
    return ""


def record_practical_marks(gradebook: Gradebook, marks: Mapping[str, float], by: str, *,
                           out_of: float = 25, item: str = "PR") -> list[str]:
    """Store each student's PR marks (the newest counts); refuses them all if a roll is unknown.

    Returns the roll numbers recorded, in roll order.
    """
    with gradebook.session() as session:
        unknown = sorted(roll for roll in marks if session.get(Student, roll) is None)
    if unknown:
        raise DlkitError(f"unknown student(s) {', '.join(unknown)} in the practical marks",
                         fix="correct the roll numbers or load the roster first")
    rolls = sorted(marks)
    for roll in rolls:
        gradebook.set_manual_mark(roll, "course", item, marks[roll], out_of, by)
    return rolls


__all__ = ["PracticalMarksError", "day_text", "figure_text", "marks_text",
           "read_practical_marks", "record_practical_marks", "write_batch_summary",
           "write_mark_sheet", "write_term_work"]
