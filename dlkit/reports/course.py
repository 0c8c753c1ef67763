"""The course file (``rubrics/course.yml``), the rubrics, and each student's term-work record.

Everything the examiner's papers print comes from here: the gradebook's runs and manual marks,
combined by the weights of the course file into experiment marks, the term-work total out of 25
and the eligibility for the practical exam (journal complete: every experiment submitted and
graded).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import yaml

from dlkit import queries
from dlkit.errors import DlkitError
from dlkit.experiments import ROOT
from dlkit.gradebook import (
    REGRADE_STATUSES,
    Gradebook,
    ManualMark,
    Result,
    Run,
    Submission,
    counted_versions,
    current_run,
    extension_of,
)
from dlkit.rubrics import load_rubric
from dlkit.settings import COURSE_FILE, read_yaml


class CourseConfigError(DlkitError):
    """The course file or a rubric is missing or wrong."""


@dataclass(frozen=True)
class PlannedExperiment:
    id: str
    number: int
    title: str
    planned: dt.date | None  # None: an experiment the course file does not plan
    aim: str
    conclusion: str


@dataclass(frozen=True)
class Course:
    institute: str
    department: str
    course_code: str
    course_name: str
    academic_year: str
    semester: str
    batches: tuple[str, ...]
    experiments: tuple[PlannedExperiment, ...]
    experiment_marks: dict
    late_policy: dict
    term_work: dict
    practical: dict
    time_zone: str = ""  # an IANA name (Asia/Kolkata); "": the server's own zone

    @property
    def zone(self) -> dt.tzinfo:
        """The course's clock: every time a page, CSV or paper shows is in it."""
        return time_zone(self.time_zone)

    def experiment(self, experiment_id: str) -> PlannedExperiment:
        return next(e for e in self.experiments if e.id == experiment_id)


def load_course(root: Path = ROOT, folder: Path | None = None) -> Course:
    """The kit's ``rubrics/course.yml``; a course folder's own ``course.yml`` (when ``folder``
    has one) replaces the keys it gives (a mapping such as ``late_policy`` key by key)."""
    path = root / "rubrics" / COURSE_FILE
    own = folder / COURSE_FILE if folder is not None else None
    try:
        data = read_yaml(path)
        if data is None:
            raise FileNotFoundError(path)
        if own is not None and own.exists():
            path = own
            for key, value in (read_yaml(own) or {}).items():
                data[key] = {**data[key], **value} if isinstance(value, dict) and \
                    isinstance(data.get(key), dict) else value
        experiments = tuple(PlannedExperiment(
            e["id"], int(e["number"]), e["title"], _date(e["planned"]), e.get("aim", ""),
            e.get("conclusion", "")) for e in data["experiments"])
        course = Course(
            data["institute"], data["department"], str(data["course_code"]),
            data["course_name"], str(data["academic_year"]), str(data.get("semester", "")),
            tuple(data.get("batches", [])), experiments, data["experiment_marks"],
            data["late_policy"], data["term_work"], data["practical"],
            str(data.get("time_zone") or ""))
        course.zone  # noqa: B018 - an unknown zone is refused here, with the file's name
        return course
    except FileNotFoundError:
        raise CourseConfigError("course file not found", where=str(path)) from None
    except (KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise CourseConfigError(f"course file is incomplete or invalid: {exc}",
                                where=str(path)) from None


def find_course(folder: Path | None = None) -> Course | None:
    """The course file of ``folder`` (see :func:`load_course`), or None when there is none;
    a wrong one is still an error, with its place."""
    try:
        return load_course(folder=folder)
    except CourseConfigError as exc:
        if exc.what != "course file not found":
            raise
        return None


def show_time(moment: dt.datetime | None, zone: dt.tzinfo, empty: str = "unknown") -> str:
    """``2027-01-18 17:00 IST``: ``moment`` (naive: UTC, as the gradebook keeps it) in ``zone``,
    labelled with the zone's abbreviation."""
    if moment is None:
        return empty
    local = (moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment).astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.strftime('%Z')}"


def local_date(moment: dt.datetime, zone: dt.tzinfo) -> dt.date:
    """The course's calendar day of ``moment`` (naive: UTC, as the gradebook keeps it)."""
    return (moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment) \
        .astimezone(zone).date()


def time_zone(name: str) -> dt.tzinfo:
    """The zone called ``name`` (IANA, e.g. Asia/Kolkata); "" is the server's own."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not name:
        return dt.datetime.now().astimezone().tzinfo or dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as "
                         "Asia/Kolkata)") from None


def _date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


# --------------------------------------------------------------------------- records

@dataclass
class ExperimentRecord:
    """One experiment of one student's journal."""

    id: str
    number: int
    title: str
    aim: str
    conclusion: str
    planned: dt.date | None
    submitted: dt.datetime | None = None  # arrival of the graded version
    late_seconds: float = 0.0  # after the due date the submission recorded
    extended_to: dt.datetime | None = None  # the student's extension (naive UTC), if any
    days_late: int = 0  # days (begun) after the student's deadline: what the late policy uses
    marks_off: float = 0.0  # taken off by the late policy's marks_off_per_day
    status: str = "not submitted"
    auto: float = 0.0
    auto_max: float = 0.0
    manual: float = 0.0
    manual_max: float = 0.0
    write_up: float | None = None
    write_up_max: float = 0.0
    marks: float = 0.0  # out of course.experiment_marks.out_of
    remarks: str = ""
    measured: dict[str, float] = field(default_factory=dict)  # the grader's own figures
    plots: list[str] = field(default_factory=list)  # base64 PNGs from the executed notebook

    @property
    def complete(self) -> bool:
        """Submitted and graded: the grader ran it (a timeout or crash still has its marks)."""
        return self.submitted is not None and self.status not in (
            "not submitted", "not graded", *REGRADE_STATUSES, "invalid notebook")


@dataclass
class StudentRecord:
    roll: str
    name: str
    batch: str
    prn: str
    experiments: list[ExperimentRecord]
    attendance: float | None
    term_work: float  # out of course.term_work.out_of
    breakdown: dict[str, float]
    practical: float | None  # PR marks entered by the examiners

    @property
    def eligible(self) -> bool:
        return all(e.complete for e in self.experiments)

    @property
    def ineligible_reason(self) -> str:
        missing = [f"{e.number}" for e in self.experiments if not e.complete]
        return "" if not missing else f"journal incomplete: experiment(s) {', '.join(missing)}"


def student_records(gradebook: Gradebook, course: Course, *, course_folder: Path,
                    batch: str | None = None, roll: str | None = None,
                    plots: int = 2) -> list[StudentRecord]:
    """Every student's term-work record (of ``batch`` or only ``roll``), in roll order."""
    with gradebook.session() as s:
        students = queries.students(s, batch=batch, roll=roll)
        marks = queries.all_latest_marks(s)
        records = []
        for student in students:
            experiments = [_experiment_record(s, course, planned, student.roll,
                                              marks.get((student.roll, planned.id), {}),
                                              course_folder, plots)
                           for planned in course.experiments]
            course_marks = marks.get((student.roll, "course"), {})
            attendance = course_marks.get("attendance")
            practical = course_marks.get("PR")
            total, breakdown = _term_work(course, experiments, attendance)
            records.append(StudentRecord(
                student.roll, student.name, student.batch, student.prn, experiments,
                attendance.points if attendance else None, total, breakdown,
                practical.points if practical else None))
    return records


def _experiment_record(session, course: Course, planned: PlannedExperiment, roll: str,
                       marks: dict[str, ManualMark], course_folder: Path,
                       plots: int) -> ExperimentRecord:
    rubric = load_rubric(planned.id)
    record = ExperimentRecord(planned.id, planned.number, planned.title, planned.aim,
                              planned.conclusion, planned.planned)
    submission, run = _graded(session, planned.id, roll)
    manual_items = rubric.get("manual") or {}
    record.manual_max = float(sum(manual_items.values()))
    record.manual = float(sum(marks[q].points for q in manual_items if q in marks))
    record.write_up_max = float(rubric.get("write_up", 5))
    if "journal" in marks:
        record.write_up = marks["journal"].points
    if submission is not None and run is not None:
        record.submitted, record.status = submission.arrived_at, run.status
        record.late_seconds = submission.late_seconds or 0.0
        record.auto, record.auto_max = run.score, run.max_score
        record.measured = _measured(run)
        record.plots = _plots(course_folder / "graded" / planned.id / str(submission.id), plots)
        record.remarks = "" if run.status == "graded" else run.status
    elif submission is not None:
        record.submitted, record.status = submission.arrived_at, "not graded"
        record.late_seconds = submission.late_seconds or 0.0
    weights = course.experiment_marks
    performance = weights["performance"] * (record.auto / record.auto_max
                                            if record.auto_max else 0.0)
    methodology = weights["methodology"] * (record.manual / record.manual_max
                                            if record.manual_max else
                                            (1.0 if record.complete else 0.0))
    write_up = weights["write_up"] * ((record.write_up or 0.0) / record.write_up_max
                                      if record.write_up_max else 0.0)
    extension = extension_of(session, roll, planned.id)
    record.extended_to = extension.until if extension is not None else None
    record.days_late = _days_late(course, record)
    earned = performance + methodology + write_up + weights["timely"] * _timeliness(course, record)
    record.marks_off = min(earned, float(course.late_policy.get("marks_off_per_day", 0) or 0)
                           * record.days_late)
    record.marks = round(earned - record.marks_off, 2)
    if record.complete and record.write_up is None:
        record.remarks = (record.remarks + "; " if record.remarks else "") + "write-up not marked"
    return record


def _graded(session, experiment: str, roll: str) -> tuple[Submission | None, Run | None]:
    submission = counted_versions(session, experiment, roll).get(roll)  # pinned, else newest
    if submission is None:
        return None, None
    return submission, current_run(session, submission.id)


def _days_late(course: Course, record: ExperimentRecord) -> int:
    """Days (a day begun counts) the counted version came after the student's deadline: their
    extension when they have one, else the planned date plus ``grace_days``, else (an
    experiment the course file does not plan) the due date the submission recorded."""
    if record.submitted is None:
        return 0
    if record.extended_to is not None:
        seconds = (record.submitted - record.extended_to).total_seconds()
    elif record.planned is not None:
        return max(0, (local_date(record.submitted, course.zone) - record.planned).days
                   - int(course.late_policy["grace_days"]))
    else:
        seconds = record.late_seconds
    return int(-(-seconds // 86400)) if seconds > 0 else 0


def _timeliness(course: Course, record: ExperimentRecord) -> float:
    """The share of the ``timely`` mark: full by the student's deadline (within ``grace_days``
    of the planned date, or their extension), half up to ``half_credit_days`` after the planned
    date (that many less ``grace_days`` after an extension or a due date), else none."""
    if record.submitted is None:
        return 0.0
    policy = course.late_policy
    if record.days_late == 0:
        return 1.0
    half = policy.get("half_credit_days", 0) - policy["grace_days"]
    return 0.5 if record.days_late <= half else 0.0


def experiment_record(session, course: Course, experiment_id: str, roll: str, *,
                      course_folder: Path, plots: int = 0) -> ExperimentRecord:
    """One student's record of one experiment with its marks out of
    ``experiment_marks.out_of``, computed as the term-work report computes them (for the
    portal and the CSV); an experiment the course file does not list counts from its due date."""
    planned = next((e for e in course.experiments if e.id == experiment_id), None)
    if planned is None:
        from dlkit.experiments import get as get_experiment

        known = get_experiment(experiment_id)
        planned = PlannedExperiment(known.id, known.number, known.title, None, "", "")
    marks = queries.latest_marks(session, experiment_id, roll)
    return _experiment_record(session, course, planned, roll, marks, course_folder, plots)


def _measured(run: Run) -> dict[str, float]:
    figures: dict[str, float] = {}
    for result in run.results:
        if result.measured:
            figures.update(json.loads(result.measured))
    return figures


def _plots(work: Path, limit: int) -> list[str]:
    import nbformat

    path = work / "executed.ipynb"
    if limit <= 0 or not path.exists():
        return []
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - a broken executed notebook just has no plots
        return []
    images = [o["data"]["image/png"] for c in nb.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    return [str(i).replace("\n", "") for i in images[:limit]]


def _term_work(course: Course, experiments: list[ExperimentRecord],
               attendance: ManualMark | None) -> tuple[float, dict[str, float]]:
    weights = course.term_work
    out_of = course.experiment_marks["out_of"]
    average = sum(e.marks for e in experiments) / (len(experiments) * out_of) if experiments else 0
    from_experiments = round(weights["experiments"] * average, 2)
    from_attendance = round(weights["attendance"] * (attendance.points / attendance.max_points)
                            if attendance and attendance.max_points else 0.0, 2)
    return whole_marks(from_experiments + from_attendance), {"experiments": from_experiments,
                                                             "attendance": from_attendance}


def whole_marks(value: float) -> float:
    """Rounded to a whole mark, halves up (18.5 -> 19): Python's ``round`` rounds halves to the
    even number (18.5 -> 18, 19.5 -> 20), which would treat equal halves differently."""
    return float(Decimal(repr(round(value, 2))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


__all__ = ["Course", "CourseConfigError", "ExperimentRecord", "PlannedExperiment", "Result",
           "StudentRecord", "experiment_record", "find_course", "load_course",
           "local_date", "show_time", "student_records", "time_zone", "whole_marks"]
