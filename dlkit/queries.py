"""The gradebook's reads that the pages, feedback, exports, reports and similarity share.

Each query is written once, here or in :mod:`dlkit.gradebook` (the tables, the writes and the
grading queue's reads); the modules that show or export what they read hold no SQL. Each takes an
open session (:meth:`dlkit.gradebook.Gradebook.session`), so a caller reads everything it shows
in one transaction.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dlkit.gradebook import REGRADE_STATUSES, ManualMark, Run, Student, Submission

__all__ = [
    "all_latest_marks", "batches", "exam_result", "graded_submissions", "has_marks", "latest_marks",
    "newest_version", "queue_rows", "recent_runs", "run_history", "stored_versions",
    "student_names", "students",
]


# --------------------------------------------------------------------------- students

def students(session: Session, *, batch: str | None = None, rolls: list[str] | None = None,
             roll: str | None = None) -> list[Student]:
    """The roster in roll order: of ``batch``, of ``rolls`` or only ``roll`` when given."""
    query = select(Student).order_by(Student.roll)
    if batch:
        query = query.where(Student.batch == batch)
    if rolls:
        query = query.where(Student.roll.in_(rolls))
    if roll:
        query = query.where(Student.roll == roll)
    return list(session.scalars(query))


def student_names(session: Session) -> dict[str, str]:
    """Roll -> name, for every student on the roster."""
    return {roll: name for roll, name in session.execute(select(Student.roll, Student.name))}


def batches(session: Session) -> list[str]:
    """The roster's batches (B1, B2, ...), sorted."""
    return sorted({b for b in session.scalars(select(Student.batch)) if b})


# --------------------------------------------------------------------------- submissions and runs

def stored_versions(session: Session, experiment: str, roll: str) -> list[Submission]:
    """A student's stored versions of one experiment, oldest first."""
    return list(session.scalars(select(Submission).where(
        Submission.experiment == experiment, Submission.student_roll == roll,
        Submission.status == "stored").order_by(Submission.version)))


def newest_version(session: Session, experiment: str, roll: str) -> int | None:
    """The number of a student's newest stored version of one experiment (None: none stored)."""
    return session.scalars(select(Submission.version).where(
        Submission.experiment == experiment, Submission.student_roll == roll,
        Submission.status == "stored").order_by(Submission.version.desc())).first()


def graded_submissions(session: Session, experiment: str,
                       rolls: list[str] | None = None) -> list[tuple[Submission, Run]]:
    """Each student's newest stored submission that has a current run, with that run (of the
    students ``rolls`` when given)."""
    query = (select(Submission, Run).join(Run, Run.submission_id == Submission.id)
             .where(Submission.experiment == experiment, Submission.status == "stored",
                    Submission.exam_slot == 0,  # the practical exam's uploads are not term work
                    Submission.student_roll.is_not(None), Run.current.is_(True))
             .order_by(Submission.student_roll, Submission.version))
    if rolls is not None:
        query = query.where(Submission.student_roll.in_(rolls))
    newest = {sub.student_roll: (sub, run) for sub, run in session.execute(query)}
    return list(newest.values())


def exam_result(session: Session, roll: str) -> tuple[Submission, Run] | None:
    """The roll's newest practical-exam upload the grader finished (a sandbox error or an
    overloaded grader is not the student's result), with its current run."""
    return session.execute(select(Submission, Run).join(Run, Run.submission_id == Submission.id)
                           .where(Submission.student_roll == roll, Submission.exam_slot != 0,
                                  Submission.status == "stored", Run.current.is_(True),
                                  Run.status.not_in(REGRADE_STATUSES))
                           .order_by(Submission.id.desc())).first()


def run_history(session: Session, submission_id: int) -> list[Run]:
    """Every run of one submission, newest first."""
    return list(session.scalars(select(Run).where(Run.submission_id == submission_id)
                                .order_by(Run.id.desc())))


def queue_rows(session: Session) -> list[Submission]:
    """Submissions queued for grading or being graded, the practical exam's first (as the
    graders take them), then the oldest request first."""
    return list(session.scalars(select(Submission).where(
        Submission.queue.in_(("queued", "running"))).order_by(
            Submission.exam_slot == 0, Submission.queued_at, Submission.id)))


def recent_runs(session: Session, limit: int) -> list[tuple[Run, Submission]]:
    """The ``limit`` newest runs, with their submissions."""
    return list(session.execute(select(Run, Submission).join(Submission)
                                .order_by(Run.id.desc()).limit(limit)))


# --------------------------------------------------------------------------- marks

def latest_marks(session: Session, experiment: str, roll: str) -> dict[str, ManualMark]:
    """Item -> the newest mark of one student in one experiment (``course`` for PR, attendance)."""
    marks = session.scalars(select(ManualMark).where(
        ManualMark.experiment == experiment, ManualMark.student_roll == roll)
        .order_by(ManualMark.at, ManualMark.id))
    return {mark.item: mark for mark in marks}


def all_latest_marks(session: Session) -> dict[tuple[str, str], dict[str, ManualMark]]:
    """(roll, experiment) -> item -> the newest mark, for the whole gradebook."""
    marks: dict[tuple[str, str], dict[str, ManualMark]] = {}
    for mark in session.scalars(select(ManualMark).order_by(ManualMark.at, ManualMark.id)):
        marks.setdefault((mark.student_roll, mark.experiment), {})[mark.item] = mark
    return marks


def has_marks(session: Session, experiment: str, roll: str) -> bool:
    """Whether the instructor marked anything of one student in one experiment."""
    return session.scalars(select(ManualMark.id).where(
        ManualMark.student_roll == roll, ManualMark.experiment == experiment)).first() is not None
