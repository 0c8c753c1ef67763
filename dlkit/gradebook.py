"""The gradebook: students, submissions (immutable versions), grading runs, results, manual marks.

SQLite through SQLAlchemy by default (``<course>/gradebook.db``); any SQLAlchemy URL works.
Every grading run is written in one transaction, so a crash or ``kill -9`` of the grader leaves
either the whole run or nothing — a rerun finishes the rest with nothing lost and nothing doubled.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    sessionmaker,
)

from dlkit import __version__

if TYPE_CHECKING:
    from dlkit.grading.tasks import Outcome

#: The statuses a submission's grading run can end with, and what each tells a student.
RUN_STATUSES = {
    "graded": "graded",
    "missing object": "graded, but the notebook lacks an object a test needs",
    "error": "the notebook stopped with an error",
    "data not provided": "the notebook reads data the course has not provided to the grader "
                         "(not the student's fault)",
    "timeout": "the notebook used more than its CPU time limit",
    "memory limit": "the notebook used more memory than allowed",
    "crashed": "the notebook's kernel died",
    "invalid notebook": "the file is not a notebook the grader can run",
    "sandbox error": "the grader could not run the notebook (not the student's fault)",
    "grader overloaded": "the grader machine was too busy to run the notebook in time, twice "
                         "(not the student's fault)",
}
#: Run statuses that were not the student's doing: ``dlkit grade`` runs those submissions again.
REGRADE_STATUSES = ("sandbox error", "grader overloaded")
#: A run that stopped at data the course had not provided: ``dlkit grade`` runs it again once
#: the course's dataset map provides the path it read (:meth:`Gradebook.to_grade`).
NOT_PROVIDED = "data not provided"
#: What became of one test of a run: judged (passed or failed), not judged (the notebook stopped
#: before its object existed, or could not be run: neither a pass nor a fail), or left to the
#: instructor (the grader cannot measure it: out of the automatic score, in the marking queue).
RESULT_STATES = ("judged", "not judged", "instructor")
#: Runs of one submission that may end in a status that is not the student's doing (a sandbox
#: error, an overloaded grader) before that status is final, over every ``dlkit grade``.
MAX_ATTEMPTS = 3
#: The longest regrade request (and answer), in characters.
MAX_REQUEST = 1000
#: Statuses of a collected file.
SUBMISSION_STATUSES = ("stored", "duplicate", "rejected")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Student(Base):
    __tablename__ = "students"
    roll: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    batch: Mapped[str] = mapped_column(String(32), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    prn: Mapped[str] = mapped_column(String(32), default="")
    division: Mapped[str] = mapped_column(String(32), default="")
    submissions: Mapped[list[Submission]] = relationship(back_populates="student")


class ExperimentRow(Base):
    """An experiment marks were recorded for (what the registry said when it was graded)."""

    __tablename__ = "experiments"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    auto_points: Mapped[float] = mapped_column(Float, default=0.0)


class Submission(Base):
    """One collected file. Accepted files are stored under their sha256 and never overwritten;
    a resubmission is a new version. Rejected inputs are recorded too, with the reason."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("experiment", "student_roll", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment: Mapped[str] = mapped_column(String(64), index=True)
    student_roll: Mapped[str | None] = mapped_column(ForeignKey("students.roll"), nullable=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    path: Mapped[str | None] = mapped_column(Text, nullable=True)  # relative to the course
    original_name: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text, default="")  # folder / zip / exchange it came from
    arrived_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    collected_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    late_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(16))  # stored | duplicate | rejected
    reason: Mapped[str] = mapped_column(Text, default="")
    # The grading queue lives here: "" (nothing asked), "queued", "running" (claimed by a
    # grader: ``claimed_by`` = "host:pid"). Recording a run sets it back to "".
    queue: Mapped[str] = mapped_column(String(16), default="")
    queued_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    claimed_by: Mapped[str] = mapped_column(String(128), default="")
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    #: the instructor chose this version to count instead of the newest (None: not pinned)
    pinned_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    pinned_by: Mapped[str] = mapped_column(String(100), default="")
    #: uploaded in this practical-exam slot (``exam_slots.id``; 0: term work): graded first,
    #: against ``variant`` (JSON of the roll's exam parameters; "": the term-work values), and
    #: never counted as the term-work submission
    exam_slot: Mapped[int] = mapped_column(Integer, default=0)
    variant: Mapped[str] = mapped_column(Text, default="")
    student: Mapped[Student | None] = relationship(back_populates="submissions")
    runs: Mapped[list[Run]] = relationship(back_populates="submission", order_by="Run.id")


class Run(Base):
    """One grading of one submission, written in a single transaction with its results."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    seconds: Mapped[float] = mapped_column(Float)
    device: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(128), default="")  # the machine that ran it
    sandbox: Mapped[str] = mapped_column(Text)
    #: the dlkit version that graded it (the coordinator's: workers of another version are
    #: refused); None for runs from before versions were recorded (a callable default, so
    #: adding the column to an older gradebook does not stamp its runs with this version)
    kit_version: Mapped[str | None] = mapped_column(String(32), nullable=True,
                                                    default=lambda: __version__)
    status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    #: JSON, when the notebook stopped with an error: its cell, first line, exception, message
    #: and the student's own frames (what the feedback page shows)
    error: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    #: how it was graded ("starter", "free-form"; "" before modes were recorded) and why
    mode: Mapped[str] = mapped_column(String(16), default="")
    mode_reason: Mapped[str] = mapped_column(Text, default="")
    current: Mapped[bool] = mapped_column(Boolean, default=True)  # False once regraded
    #: how its verdicts came about: "executed" (the notebook ran), "re-judged" (an earlier
    #: execution's kept exports judged again: the judging changed, not the notebook) or
    #: "shared" (an identical notebook of the same batch ran, once for both)
    origin: Mapped[str] = mapped_column(String(16), default="executed")
    #: the run whose notebook execution this run's exports come from (None: its own)
    execution_of: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: JSON (:class:`dlkit.grading.execution.Execution`): what a regrade needs to re-judge it
    execution: Mapped[str] = mapped_column(Text, default="")
    submission: Mapped[Submission] = relationship(back_populates="runs")
    results: Mapped[list[Result]] = relationship(back_populates="run", order_by="Result.id",
                                                 cascade="all, delete-orphan")


class ExamSlot(Base):
    """A practical-exam slot the examiner opened: a batch in a room between two times."""

    __tablename__ = "exam_slots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch: Mapped[str] = mapped_column(String(32))
    room: Mapped[str] = mapped_column(String(64), default="")
    exam_date: Mapped[dt.date] = mapped_column(Date)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC, naive
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime)
    opened_by: Mapped[str] = mapped_column(String(100), default="")
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    seats: Mapped[list[ExamSeat]] = relationship(back_populates="slot", order_by="ExamSeat.id",
                                                 cascade="all, delete-orphan")


class ExamSeat(Base):
    """One student's place in a slot: the experiment allotted and its variant (JSON)."""

    __tablename__ = "exam_seats"
    __table_args__ = (UniqueConstraint("slot_id", "roll"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("exam_slots.id"), index=True)
    roll: Mapped[str] = mapped_column(String(32))
    experiment: Mapped[str] = mapped_column(String(64))
    variant: Mapped[str] = mapped_column(Text, default="")
    name: Mapped[str] = mapped_column(String(200), default="")
    #: the student's own starter notebook, relative to the course (``release/exams/...``)
    starter: Mapped[str] = mapped_column(Text, default="")
    slot: Mapped[ExamSlot] = relationship(back_populates="seats")


class Result(Base):
    """Points for one test of one question in one run."""

    __tablename__ = "results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    question: Mapped[str] = mapped_column(String(64))
    test: Mapped[int] = mapped_column(Integer)  # index of the test within its question
    hidden: Mapped[bool] = mapped_column(Boolean)
    points: Mapped[float] = mapped_column(Float)
    max_points: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    message: Mapped[str] = mapped_column(Text, default="")
    measured: Mapped[str] = mapped_column(Text, default="")  # JSON figures the judge returned
    #: JSON words the judge returned (the data it measured on, how the inputs were scaled)
    labels: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="judged")  # one of RESULT_STATES
    run: Mapped[Run] = relationship(back_populates="results")


class ManualMark(Base):
    """A mark an examiner entered by hand (manual questions, journal, PR marks), with who and when."""

    __tablename__ = "manual_marks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_roll: Mapped[str] = mapped_column(ForeignKey("students.roll"), index=True)
    experiment: Mapped[str] = mapped_column(String(64))
    item: Mapped[str] = mapped_column(String(64))  # a manual question, or e.g. "journal", "PR"
    points: Mapped[float] = mapped_column(Float)
    max_points: Mapped[float] = mapped_column(Float)
    by: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


class AccessCode(Base):
    """A student's personal code for the course portal, kept only as an argon2 hash. Issuing a
    new code revokes the one before (``revoked_at`` set); at most one is active per student."""

    __tablename__ = "access_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_roll: Mapped[str] = mapped_column(ForeignKey("students.roll"), index=True)
    code_hash: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Extension(Base):
    """A later deadline for one student in one experiment (the newest one counts), with who
    granted it and when."""

    __tablename__ = "extensions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_roll: Mapped[str] = mapped_column(ForeignKey("students.roll"), index=True)
    experiment: Mapped[str] = mapped_column(String(64))
    until: Mapped[dt.datetime] = mapped_column(DateTime)  # naive UTC
    by: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


class RegradeRequest(Base):
    """A student's question about one question of one graded version, and the answer: a note,
    and for a question marked by hand possibly a new mark (a ManualMark like any other)."""

    __tablename__ = "regrade_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    student_roll: Mapped[str] = mapped_column(ForeignKey("students.roll"), index=True)
    experiment: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[str] = mapped_column(String(100), default="")
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    new_points: Mapped[float | None] = mapped_column(Float, nullable=True)


class LoginThrottle(Base):
    """Failed log-ins of one key (a roll number from one address; the instructor from one
    address), kept here so that a restart of the portal does not reset the delays."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


class PortalSession(Base):
    """A logged-in browser. The cookie holds a random token; only its sha256 is kept here.
    Logging out, a new access code, a new password or the instructor's "sign out" revoke it."""

    __tablename__ = "portal_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    role: Mapped[str] = mapped_column(String(16))  # student | instructor
    roll: Mapped[str] = mapped_column(String(32), default="", index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    code_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    password_mark: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_why: Mapped[str] = mapped_column(String(64), default="")


def default_url(course: Path) -> str:
    return f"sqlite:///{(course / 'gradebook.db').resolve()}"


class Gradebook:
    """A handle on one gradebook database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        Base.metadata.create_all(self.engine)
        _add_missing_columns(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(cls, course: Path, url: str | None = None) -> Gradebook:
        course.mkdir(parents=True, exist_ok=True)
        return cls(url or default_url(course))

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    # -- queries used by several commands ------------------------------------------------------
    def latest_submissions(self, experiment: str) -> list[Submission]:
        """The newest stored version of each known student's submission."""
        with self.session() as s:
            rows = s.scalars(select(Submission).where(
                Submission.experiment == experiment, Submission.status == "stored",
                Submission.exam_slot == 0,  # the practical exam's uploads are not term work
                Submission.student_roll.is_not(None)).order_by(Submission.student_roll,
                                                               Submission.version)).all()
        latest: dict[str, Submission] = {}
        for row in rows:
            latest[row.student_roll] = row
        return list(latest.values())

    def counted_submissions(self, experiment: str) -> dict[str, Submission]:
        """Roll -> the version that counts for marks: the one the instructor pinned, else the
        newest stored one. (``latest_submissions`` stays what the grader grades.)"""
        with self.session() as s:
            return counted_versions(s, experiment)

    def pin(self, submission_id: int, by: str, *, pinned: bool = True) -> Submission:
        """Make a stored version the one that counts for its student (unpinning the others),
        or, with ``pinned=False``, let the newest count again."""
        from dlkit.errors import DlkitError

        with self.session() as s:
            row = s.get(Submission, submission_id)
            if row is None or row.status != "stored":
                raise DlkitError("no such stored submission", where=str(submission_id))
            s.execute(update(Submission).where(
                Submission.experiment == row.experiment,
                Submission.student_roll == row.student_roll)
                .values(pinned_at=None, pinned_by=""))
            if pinned:
                row.pinned_at, row.pinned_by = utcnow(), by[:100]
            return row

    def summary_rows(self, experiment: str | None = None) -> list[tuple[str, ...]]:
        """A table: per student and experiment, the newest version, its status, marks, lateness."""
        rows = [("roll", "name", "experiment", "version", "status", "auto", "manual", "late")]
        with self.session() as s:
            students = s.scalars(select(Student).order_by(Student.roll)).all()
            query = select(Submission).where(Submission.status == "stored")
            if experiment:
                query = query.where(Submission.experiment == experiment)
            newest: dict[tuple[str, str], Submission] = {}
            for sub in s.scalars(query.order_by(Submission.version)).all():
                newest[(sub.student_roll, sub.experiment)] = sub
            manual: dict[tuple[str, str], dict[str, ManualMark]] = {}
            for mark in s.scalars(select(ManualMark).order_by(ManualMark.at)).all():
                manual.setdefault((mark.student_roll, mark.experiment), {})[mark.item] = mark
            rejected = {(sub.student_roll, sub.experiment): sub for sub in s.scalars(
                select(Submission).where(Submission.status == "rejected")).all()}
            for student in students:
                keys = sorted(k for k in newest if k[0] == student.roll)
                keys += sorted(k for k in rejected if k[0] == student.roll and k not in newest
                               and (experiment is None or k[1] == experiment))
                for _, exp in keys or [(student.roll, experiment or "-")]:
                    sub = newest.get((student.roll, exp))
                    run = current_run(s, sub.id) if sub else None
                    marks = manual.get((student.roll, exp), {}).values()
                    rows.append((
                        student.roll, student.name, exp, f"v{sub.version}" if sub else "-",
                        run.status if run else "not graded" if sub else
                        f"rejected: {rejected[(student.roll, exp)].reason[:40]}"
                        if (student.roll, exp) in rejected else "no submission",
                        f"{run.score:g}/{run.max_score:g}" if run else "-",
                        f"{sum(m.points for m in marks):g}/{sum(m.max_points for m in marks):g}"
                        if marks else "-",
                        _late(sub.late_seconds) if sub else "-"))
        return rows

    def set_manual_mark(self, roll: str, experiment: str, item: str, points: float,
                        max_points: float, by: str, note: str = "") -> ManualMark:
        """Record a mark given by hand; the newest mark for an item counts, older ones stay."""
        from dlkit.errors import DlkitError

        if not 0 <= points <= max_points:
            raise DlkitError(f"{points:g} is not between 0 and {max_points:g}",
                             where=f"{roll} {experiment} {item}")
        with self.session() as s:
            if s.get(Student, roll) is None:
                raise DlkitError(f"unknown student {roll!r}", fix="collect a submission or "
                                 "load the roster first")
            mark = ManualMark(student_roll=roll, experiment=experiment, item=item,
                              points=points, max_points=max_points, by=by, note=note)
            s.add(mark)
        return mark

    def note_experiment(self, experiment_id: str, number: int, title: str,
                        auto_points: float | None = None) -> None:
        """Record (or update) an experiment's row, so the database stands on its own."""
        with self.session() as s:
            row = s.get(ExperimentRow, experiment_id) or ExperimentRow(id=experiment_id)
            row.number, row.title = number, title
            if auto_points is not None:
                row.auto_points = auto_points
            s.add(row)

    def submission(self, submission_id: int) -> Submission | None:
        with self.session() as s:
            return s.get(Submission, submission_id)

    def versions(self, roll: str, experiment: str, *,
                 exam_slot: int = 0) -> list[tuple[Submission, Run | None]]:
        """A student's stored versions of one experiment, newest first, each with its current
        run (None while not graded): the term work's, or the uploads in practical-exam slot
        ``exam_slot``."""
        with self.session() as s:
            rows = s.scalars(select(Submission).where(
                Submission.experiment == experiment, Submission.student_roll == roll,
                Submission.exam_slot == exam_slot,
                Submission.status == "stored").order_by(Submission.version.desc())).all()
            return [(row, current_run(s, row.id)) for row in rows]

    def uploads_since(self, roll: str, since: dt.datetime, source: str,
                      statuses: tuple[str, ...] | None = None) -> int:
        """How many files ``roll`` sent through ``source`` (e.g. the portal) since ``since``
        (of ``statuses`` only, when given): what an hourly cap counts."""
        return len(self.upload_times(roll, since, source, statuses))

    def upload_times(self, roll: str, since: dt.datetime, source: str,
                     statuses: tuple[str, ...] | None = None) -> list[dt.datetime]:
        """When each of those files arrived (naive UTC), oldest first."""
        query = select(Submission.collected_at).where(
            Submission.student_roll == roll, Submission.source == source,
            Submission.collected_at >= since)
        if statuses is not None:
            query = query.where(Submission.status.in_(statuses))
        with self.session() as s:
            return list(s.scalars(query.order_by(Submission.collected_at)))

    # -- portal access codes (hashed; the plain code exists only on the student's slip) --------
    def issue_access_code(self, roll: str, code_hash: str) -> AccessCode:
        """Store a new code for ``roll``, revoking the active one in the same transaction."""
        from dlkit.errors import DlkitError

        with self.session() as s:
            if s.get(Student, roll) is None:
                raise DlkitError(f"unknown student {roll!r}", fix="load the roster first "
                                 "(dlkit roster codes --roster roster.csv ...)")
            s.execute(update(AccessCode).where(AccessCode.student_roll == roll,
                                               AccessCode.revoked_at.is_(None))
                      .values(revoked_at=utcnow()))
            _revoke_sessions(s, roll, "a new access code")
            code = AccessCode(student_roll=roll, code_hash=code_hash)
            s.add(code)
        return code

    def active_access_code(self, roll: str) -> AccessCode | None:
        with self.session() as s:
            return s.scalars(select(AccessCode).where(
                AccessCode.student_roll == roll, AccessCode.revoked_at.is_(None))
                .order_by(AccessCode.id.desc())).first()

    def access_code(self, code_id: int) -> AccessCode | None:
        with self.session() as s:
            return s.get(AccessCode, code_id)

    # -- deadlines ------------------------------------------------------------------------
    def grant_extension(self, roll: str, experiment: str, until: dt.datetime, by: str,
                        note: str = "") -> Extension:
        """Give ``roll`` until ``until`` (naive UTC, or aware) for ``experiment``; the newest
        extension replaces earlier ones, which stay on record."""
        from dlkit.errors import DlkitError

        if until.tzinfo is not None:
            until = until.astimezone(dt.UTC).replace(tzinfo=None)
        with self.session() as s:
            if s.get(Student, roll) is None:
                raise DlkitError(f"unknown student {roll!r}", fix="load the roster first "
                                 "(dlkit roster codes --roster roster.csv ...)")
            extension = Extension(student_roll=roll, experiment=experiment, until=until,
                                  by=by[:100], note=note[:500])
            s.add(extension)
        return extension

    def extension(self, roll: str, experiment: str) -> Extension | None:
        """The extension that counts (the newest), or None."""
        with self.session() as s:
            return extension_of(s, roll, experiment)

    # -- regrade requests -------------------------------------------------------------------
    def ask_regrade(self, roll: str, submission_id: int, question: str,
                    text: str) -> RegradeRequest:
        """Record a student's request about ``question`` of their stored version; one open
        request per question at a time."""
        from dlkit.errors import DlkitError

        text, question = text.strip(), question.strip()
        if not text:
            raise DlkitError("say what you would like checked", where=question)
        if len(text) > MAX_REQUEST:
            raise DlkitError(f"the request is too long ({len(text)} characters)",
                             fix=f"keep it under {MAX_REQUEST}")
        with self.session() as s:
            submission = s.get(Submission, submission_id)
            if submission is None or submission.student_roll != roll or \
                    submission.status != "stored":
                raise DlkitError("no such submission of yours", where=str(submission_id))
            open_one = s.scalars(select(RegradeRequest).where(
                RegradeRequest.student_roll == roll,
                RegradeRequest.experiment == submission.experiment,
                RegradeRequest.question == question,
                RegradeRequest.answered_at.is_(None))).first()
            if open_one is not None:
                raise DlkitError(f"you already asked about {question}; wait for the answer",
                                 where=question)
            request = RegradeRequest(submission_id=submission_id, student_roll=roll,
                                     experiment=submission.experiment, question=question[:64],
                                     text=text)
            s.add(request)
        return request

    def regrade_requests(self, *, roll: str | None = None, experiment: str | None = None,
                         open_only: bool = False) -> list[RegradeRequest]:
        """Requests, open ones first, oldest first."""
        query = select(RegradeRequest)
        if roll is not None:
            query = query.where(RegradeRequest.student_roll == roll)
        if experiment is not None:
            query = query.where(RegradeRequest.experiment == experiment)
        if open_only:
            query = query.where(RegradeRequest.answered_at.is_(None))
        with self.session() as s:
            rows = list(s.scalars(query.order_by(RegradeRequest.asked_at, RegradeRequest.id)))
        return sorted(rows, key=lambda r: r.answered_at is not None)

    def regrade_request(self, request_id: int) -> RegradeRequest | None:
        with self.session() as s:
            return s.get(RegradeRequest, request_id)

    def answer_regrade(self, request_id: int, by: str, answer: str,
                       points: float | None = None, max_points: float | None = None) -> None:
        """Answer a request; with ``points`` the question's mark changes as well (a new manual
        mark, with who and when), in the same transaction."""
        from dlkit.errors import DlkitError

        if not answer.strip() and points is None:
            raise DlkitError("write an answer, or give a new mark")
        if points is not None and (max_points is None or not 0 <= points <= max_points):
            raise DlkitError(f"{points:g} is not between 0 and {max_points or 0:g}")
        with self.session() as s:
            request = s.get(RegradeRequest, request_id)
            if request is None:
                raise DlkitError("no such regrade request", where=str(request_id))
            request.answer, request.answered_by = answer.strip()[:MAX_REQUEST], by[:100]
            request.answered_at, request.new_points = utcnow(), points
            if points is not None:
                s.add(ManualMark(student_roll=request.student_roll,
                                 experiment=request.experiment, item=request.question,
                                 points=points, max_points=max_points, by=by[:100],
                                 note=answer.strip()[:2000]))

    # -- portal log-in throttle and sessions -------------------------------------------------
    def login_failures(self, key: str, forget_after: dt.timedelta) -> tuple[int, dt.datetime | None]:
        """(failures, when the last one was) of ``key``; (0, None) once ``forget_after`` has
        passed since its last failure."""
        with self.session() as s:
            row = s.get(LoginThrottle, key)
            if row is None or row.last_at < utcnow() - forget_after:
                return 0, None
            return row.failures, row.last_at

    def note_login_failure(self, key: str, forget_after: dt.timedelta) -> int:
        """Count one more failure of ``key`` (a fresh count once ``forget_after`` has passed);
        rows of keys quiet for that long are dropped. Returns the failures now counted."""
        from sqlalchemy import delete

        now = utcnow()
        with self.session() as s:
            s.execute(delete(LoginThrottle).where(LoginThrottle.last_at < now - forget_after))
            row = s.get(LoginThrottle, key)
            if row is None:
                row = LoginThrottle(key=key, failures=0)
                s.add(row)
            row.failures, row.last_at = row.failures + 1, now
            return row.failures

    def clear_login_failures(self, key: str) -> None:
        from sqlalchemy import delete

        with self.session() as s:
            s.execute(delete(LoginThrottle).where(LoginThrottle.key == key))

    def open_session(self, token_hash: str, role: str, *, roll: str = "", name: str = "",
                     code_id: int | None = None, password_mark: str = "") -> None:
        with self.session() as s:
            s.add(PortalSession(id=token_hash, role=role, roll=roll, name=name[:200],
                                code_id=code_id, password_mark=password_mark))

    def live_session(self, token_hash: str, *, idle: dt.timedelta, longest: dt.timedelta,
                     touch_every: dt.timedelta = dt.timedelta(minutes=1)) -> PortalSession | None:
        """The session of ``token_hash`` while it is not revoked, has been used within
        ``idle`` and is younger than ``longest``; an expired one is revoked now. Its last use
        is written at most every ``touch_every`` (one write a minute, not one a request)."""
        now = utcnow()
        with self.session() as s:
            row = s.get(PortalSession, token_hash)
            if row is None or row.revoked_at is not None:
                return None
            if row.last_seen < now - idle or row.created_at < now - longest:
                row.revoked_at, row.revoked_why = now, "expired"
                return None
            if row.last_seen < now - touch_every:
                row.last_seen = now
            return row

    def end_session(self, token_hash: str, why: str = "logged out") -> None:
        with self.session() as s:
            s.execute(update(PortalSession).where(PortalSession.id == token_hash,
                                                  PortalSession.revoked_at.is_(None))
                      .values(revoked_at=utcnow(), revoked_why=why))

    def end_sessions(self, roll: str, why: str) -> int:
        """Revoke every open session of student ``roll``; how many there were."""
        with self.session() as s:
            return _revoke_sessions(s, roll, why)

    def open_sessions(self, roll: str) -> int:
        """How many portal sessions of student ``roll`` are open."""
        with self.session() as s:
            return s.scalar(select(func.count()).select_from(PortalSession).where(
                PortalSession.role == "student", PortalSession.roll == roll,
                PortalSession.revoked_at.is_(None))) or 0

    # -- the grading queue (one writer per claim: a submission is graded once at a time) --------
    def enqueue(self, submission_id: int) -> bool:
        """Ask for a submission to be graded; False when it is already queued or running."""
        with self.session() as s:
            done = s.execute(update(Submission).where(
                Submission.id == submission_id, Submission.queue.not_in(("queued", "running")))
                .values(queue="queued", queued_at=utcnow(), claimed_by="", claimed_at=None))
            return done.rowcount == 1

    def claim(self, submission_id: int, owner: str, *, stale: set[str] = frozenset()) -> bool:
        """Take a submission for grading, atomically: True for exactly one claimant. A claim
        held by an owner in ``stale`` (a grader that died) may be taken over."""
        with self.session() as s:
            free = Submission.queue.not_in(("running",))
            if stale:
                free = free | Submission.claimed_by.in_(stale)
            done = s.execute(update(Submission).where(Submission.id == submission_id, free)
                             .values(queue="running", claimed_by=owner, claimed_at=utcnow()))
            return done.rowcount == 1

    def unclaim(self, submission_id: int, owner: str, *, requeue: bool = False) -> None:
        """Give a claim back without a run (the grader stopped before finishing it)."""
        with self.session() as s:
            s.execute(update(Submission).where(Submission.id == submission_id,
                                               Submission.claimed_by == owner)
                      .values(queue="queued" if requeue else "", claimed_by="", claimed_at=None))

    def queued(self, experiment: str | None = None) -> list[Submission]:
        """Submissions waiting for a grader, oldest request first."""
        with self.session() as s:
            query = select(Submission).where(Submission.queue == "queued")
            if experiment:
                query = query.where(Submission.experiment == experiment)
            # the practical exam's uploads first: a student waits in the room for the mark
            return list(s.scalars(query.order_by(Submission.exam_slot == 0, Submission.queued_at,
                                                 Submission.id)).all())

    # -- the practical exam's slots ---------------------------------------------------------------
    def open_exam_slot(self, *, batch: str, room: str, exam_date: dt.date, seed: int,
                       starts_at: dt.datetime, ends_at: dt.datetime, by: str,
                       seats: list[ExamSeat]) -> ExamSlot:
        """Record a slot and its seats in one go (times naive UTC). Refused, naming them, when
        the slot ends before it starts or a student already sits in a slot overlapping it."""
        from dlkit.errors import DlkitError

        if ends_at <= starts_at:
            raise DlkitError("the slot must end after it starts",
                             where=f"{starts_at:%Y-%m-%d %H:%M} to {ends_at:%Y-%m-%d %H:%M} UTC")
        if not seats:
            raise DlkitError("a slot needs at least one student", where=batch or "no batch")
        with self.session() as s:
            taken = s.execute(select(ExamSeat.roll, ExamSlot.id).join(ExamSlot).where(
                ExamSeat.roll.in_([seat.roll for seat in seats]),
                ExamSlot.starts_at < ends_at, ExamSlot.ends_at > starts_at)).all()
            if taken:
                rolls = sorted({roll for roll, _ in taken})
                raise DlkitError(f"{len(rolls)} student(s) already sit in a slot at that time: "
                                 f"{', '.join(rolls[:10])}", where=f"slot {taken[0][1]}",
                                 fix="close that slot first, or choose other times")
            slot = ExamSlot(batch=batch, room=room, exam_date=exam_date, seed=seed,
                            starts_at=starts_at, ends_at=ends_at, opened_by=by, seats=seats)
            s.add(slot)
            s.flush()
            s.refresh(slot)
            list(slot.seats)
            s.expunge_all()
            return slot

    def close_exam_slot(self, slot_id: int, at: dt.datetime | None = None) -> ExamSlot | None:
        """End a slot now (or at ``at``) if it ends later: uploads close at once."""
        at = at or utcnow()
        with self.session() as s:
            s.execute(update(ExamSlot).where(ExamSlot.id == slot_id, ExamSlot.ends_at > at)
                      .values(ends_at=at))
        return self.exam_slot(slot_id)

    def exam_slot(self, slot_id: int) -> ExamSlot | None:
        """A slot with its seats, or None."""
        with self.session() as s:
            slot = s.get(ExamSlot, slot_id)
            if slot is not None:
                list(slot.seats)
                s.expunge_all()
            return slot

    def exam_slots(self) -> list[ExamSlot]:
        """Every slot with its seats, the latest start first."""
        with self.session() as s:
            slots = list(s.scalars(select(ExamSlot).order_by(ExamSlot.starts_at.desc(),
                                                             ExamSlot.id.desc())).all())
            for slot in slots:
                list(slot.seats)
            s.expunge_all()
            return slots

    def exam_seat(self, roll: str, at: dt.datetime, *,
                  around: dt.timedelta = dt.timedelta(0)) -> ExamSeat | None:
        """The roll's seat in a slot open at ``at`` (UTC, naive); else, with ``around``, the
        seat of the slot nearest ``at`` that ended or starts within ``around`` of it (what the
        student's exam page shows: "uploads closed at ...", "opens at ...")."""
        with self.session() as s:
            seats = list(s.scalars(select(ExamSeat).join(ExamSlot).where(
                ExamSeat.roll == roll, ExamSlot.starts_at <= at + around,
                ExamSlot.ends_at > at - around).order_by(ExamSlot.id.desc())).all())
            for seat in seats:
                seat.slot  # noqa: B018 - loaded while the session is open
            s.expunge_all()

        def distance(seat: ExamSeat) -> dt.timedelta:
            slot = seat.slot
            if slot.starts_at <= at < slot.ends_at:
                return dt.timedelta(0)
            return slot.starts_at - at if slot.starts_at > at else at - slot.ends_at

        return min(seats, key=distance, default=None)

    def exam_uploads(self, slot_id: int) -> list[Submission]:
        """Every stored upload of a slot, oldest first."""
        with self.session() as s:
            return list(s.scalars(select(Submission).where(
                Submission.exam_slot == slot_id, Submission.status == "stored")
                .order_by(Submission.id)).all())

    def exam_board(self, slot_id: int) -> list[tuple[ExamSeat, Submission | None, Run | None,
                                                     int]]:
        """Each seat of a slot with its newest stored upload, that upload's current run and
        how many uploads it made: the examiner's live view, read in one transaction."""
        with self.session() as s:
            seats = list(s.scalars(select(ExamSeat).where(ExamSeat.slot_id == slot_id)
                                   .order_by(ExamSeat.id)).all())
            uploads: dict[str, list[Submission]] = {}
            for row in s.scalars(select(Submission).where(
                    Submission.exam_slot == slot_id, Submission.status == "stored")
                    .order_by(Submission.id)):
                uploads.setdefault(row.student_roll or "", []).append(row)
            board = []
            for seat in seats:
                mine = uploads.get(seat.roll, [])
                newest = mine[-1] if mine else None
                run = current_run(s, newest.id) if newest is not None else None
                if run is not None:
                    list(run.results)
                board.append((seat, newest, run, len(mine)))
            s.expunge_all()
            return board

    def exam_run(self, roll: str) -> tuple[Submission, dict[str, float]] | None:
        """The roll's newest graded exam upload and what its current run measured (each
        verdict's figures, merged): what the viva asks about."""
        with self.session() as s:
            for submission in s.scalars(select(Submission).where(
                    Submission.student_roll == roll, Submission.exam_slot != 0,
                    Submission.status == "stored").order_by(Submission.id.desc())).all():
                run = current_run(s, submission.id)
                if run is None:
                    continue
                figures: dict[str, float] = {}
                for result in run.results:
                    if result.measured:
                        try:
                            figures.update(json.loads(result.measured))
                        except ValueError:
                            continue
                s.expunge(submission)
                return submission, figures
        return None

    def claims(self) -> dict[str, list[int]]:
        """Owner -> the submissions it is grading now."""
        with self.session() as s:
            rows = s.execute(select(Submission.claimed_by, Submission.id)
                             .where(Submission.queue == "running")).all()
        owners: dict[str, list[int]] = {}
        for owner, submission_id in rows:
            owners.setdefault(owner, []).append(submission_id)
        return owners

    # -- grading runs (the coordinator is their one writer) --------------------------------------
    def to_grade(self, experiment: str, *, regrade: bool = False,
                 provided: Callable[[str], bool] | None = None) -> list[Submission]:
        """The newest submission of each student that has no current run, or whose run was not
        the student's doing (a sandbox error, an overloaded grader) fewer than
        :data:`MAX_ATTEMPTS` times, or stopped at data the course had not provided that it
        provides now (``provided(path)``: the course's dataset map gives that path or URL);
        every newest one with ``regrade``."""
        submissions = self.latest_submissions(experiment)
        if regrade:
            return submissions
        with self.session() as s:
            done = {sub.id for sub in submissions if (run := current_run(s, sub.id))
                    and (run.status not in REGRADE_STATUSES
                         or failed_attempts(s, sub.id) >= MAX_ATTEMPTS)
                    and not (provided is not None and run.status == NOT_PROVIDED
                             and (path := not_provided_path(run)) and provided(path))}
        return [sub for sub in submissions if sub.id not in done]

    def record_run(self, submission_id: int, outcome: Outcome,
                   execution_of: int | None = None) -> int:
        """Write one run and its results in one transaction; older runs stop being current, and
        the submission's claim is released. ``execution_of``: the run whose notebook execution
        this one's exports come from (a re-judge, an identical notebook's). Returns its id."""
        with self.session() as s:
            reason = outcome.reason
            if outcome.status in REGRADE_STATUSES \
                    and failed_attempts(s, submission_id) + 1 >= MAX_ATTEMPTS:
                reason = (f"{reason} — graded {MAX_ATTEMPTS} times with this result, so it is "
                          "final: the instructor can grade it again with --regrade")[:1500]
            s.execute(update(Run).where(Run.submission_id == submission_id).values(current=False))
            s.execute(update(Submission).where(Submission.id == submission_id)
                      .values(queue="", claimed_by="", claimed_at=None))
            run = Run(submission_id=submission_id, started_at=utcnow(), seconds=outcome.seconds,
                      device=outcome.device, host=outcome.host, sandbox=outcome.sandbox,
                      status=outcome.status, reason=reason, score=outcome.score,
                      error=json.dumps(outcome.error) if outcome.error else "",
                      mode=outcome.mode, mode_reason=outcome.mode_reason[:500],
                      max_score=sum(r["max_points"] for r in outcome.results
                                    if r.get("state") != "instructor"), current=True,
                      origin=outcome.origin, execution_of=execution_of,
                      execution=outcome.execution.to_json() if outcome.execution else "")
            run.results = [Result(question=r["question"], test=r["test"], hidden=r["hidden"],
                                  points=r["points"], max_points=r["max_points"],
                                  passed=r["passed"], message=r["message"],
                                  measured=json.dumps(r["measured"]) if r.get("measured") else "",
                                  labels=json.dumps(r["labels"]) if r.get("labels") else "",
                                  state=r.get("state", "judged"))
                           for r in outcome.results]
            s.add(run)
            s.flush()
            return run.id

    def current_runs(self, experiment: str) -> list[Run]:
        """The current run of every graded submission of ``experiment``."""
        with self.session() as s:
            return list(s.scalars(select(Run).join(Submission).where(
                Submission.experiment == experiment, Run.current.is_(True))).all())


def not_provided_path(run: Run) -> str:
    """The path or URL a "data not provided" run stopped at ("" for any other run)."""
    if run.status != NOT_PROVIDED or not run.error:
        return ""
    try:
        error = json.loads(run.error)
    except ValueError:
        return ""
    path = error.get("not_provided") if isinstance(error, dict) else None
    return path if isinstance(path, str) else ""


def current_run(session: Session, submission_id: int) -> Run | None:
    """The submission's current run (its newest, unless regraded since), or None."""
    return session.scalars(select(Run).where(Run.submission_id == submission_id,
                                             Run.current.is_(True))).first()


def failed_attempts(session: Session, submission_id: int) -> int:
    """Runs of the submission since its last run the grader did finish."""
    finished = select(func.max(Run.id)).where(Run.submission_id == submission_id,
                                              Run.status.not_in(REGRADE_STATUSES))
    return session.scalar(select(func.count(Run.id)).where(
        Run.submission_id == submission_id, Run.status.in_(REGRADE_STATUSES),
        Run.id > func.coalesce(finished.scalar_subquery(), 0))) or 0


def counted_versions(session: Session, experiment: str,
                     roll: str | None = None) -> dict[str, Submission]:
    """Roll -> the version that counts (pinned, else newest stored), in one query."""
    query = select(Submission).where(Submission.experiment == experiment,
                                     Submission.status == "stored",
                                     Submission.exam_slot == 0,  # exam uploads are not term work
                                     Submission.student_roll.is_not(None))
    if roll is not None:
        query = query.where(Submission.student_roll == roll)
    counted: dict[str, Submission] = {}
    for row in session.scalars(query.order_by(Submission.version)):
        held = counted.get(row.student_roll)
        if held is None or held.pinned_at is None:
            counted[row.student_roll] = row
    return counted


def extension_of(session: Session, roll: str, experiment: str) -> Extension | None:
    return session.scalars(select(Extension).where(
        Extension.student_roll == roll, Extension.experiment == experiment)
        .order_by(Extension.at.desc(), Extension.id.desc())).first()


def _revoke_sessions(session: Session, roll: str, why: str) -> int:
    done = session.execute(update(PortalSession).where(
        PortalSession.role == "student", PortalSession.roll == roll,
        PortalSession.revoked_at.is_(None)).values(revoked_at=utcnow(), revoked_why=why))
    return done.rowcount


def _add_missing_columns(engine) -> None:
    """Bring a gradebook written by an older dlkit up to date: add the columns it lacks
    (each new column has a default), keeping every row."""
    from sqlalchemy import inspect, text

    inspector = inspect(engine)
    with engine.begin() as connection:
        for table in Base.metadata.sorted_tables:
            present = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in present:
                    continue
                kind = column.type.compile(engine.dialect)
                default = column.default.arg if column.default is not None and \
                    not callable(column.default.arg) else None
                clause = f" DEFAULT {default!r}" if isinstance(default, (str, int, float)) else ""
                connection.execute(text(
                    f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}{clause}'))


def result_state(result) -> str:
    """A result's :data:`RESULT_STATES` entry (a row from before states were kept: from its
    message)."""
    state = getattr(result, "state", "") or "judged"
    if state == "judged" and not result.passed and str(result.message).startswith("not judged"):
        return "not judged"
    return state


def result_labels(result) -> dict[str, str]:
    """The words a result's judge returned (``data``: what it measured on; ``inputs``: how it
    scaled them; ``model``: the backbone it found), {} for rows without them."""
    try:
        labels = json.loads(getattr(result, "labels", "") or "{}")
    except ValueError:
        return {}
    return {k: v for k, v in labels.items() if isinstance(k, str) and isinstance(v, str)} \
        if isinstance(labels, dict) else {}


def run_found(results) -> tuple[list[str], str]:
    """What a run's judges say the notebook used: the data they measured on (each once, in
    order) and the backbone they found ("" when none)."""
    labels = [result_labels(r) for r in results]
    data = list(dict.fromkeys(lab["data"] for lab in labels if lab.get("data")))
    return data, next((lab["model"] for lab in labels if lab.get("model")), "")


def instructor_items(run) -> dict[str, float]:
    """What a run left to the instructor (criterion -> its marks): the marking queue's items."""
    return {r.question: r.max_points for r in (run.results if run is not None else [])
            if result_state(r) == "instructor"}


def duration(seconds: float) -> str:
    """A span in words a student reads: "1 day 2 h 1 min", "3 h 5 min", "42 s"."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} day{'s' if days != 1 else ''}" if days else "",
             f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return " ".join(p for p in parts if p) or f"{secs} s"


def _late(seconds: float) -> str:
    return "on time" if seconds <= 0 else f"late by {duration(seconds)}"


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the grader's commits
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
