"""What each portal page shows, gathered from the gradebook and the course folder.

Routes call one of these and render the result; the queries live here (and in the gradebook and
feedback modules they build on), never in a route. Student pages only ever receive their own
roll number's records: a submission of another roll is "not found".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from dlkit import queries
from dlkit.experiments import Experiment
from dlkit.experiments import get as get_experiment
from dlkit.feedback import (
    Feedback,
    build_feedback,
    executed_notebook,
    lateness,
    manual_questions,
    notebook_plots,
    run_title,
)
from dlkit.gradebook import (
    REGRADE_STATUSES,
    RUN_STATUSES,
    ExamSeat,
    ExamSlot,
    Gradebook,
    ManualMark,
    RegradeRequest,
    Run,
    Student,
    Submission,
    current_run,
    instructor_items,
    result_labels,
    result_state,
)
from dlkit.notebook.master import read_master
from dlkit.portal.cells import Cell, answer_region, render_cells
from dlkit.portal.config import Assignment, Clock

DONE = ("graded", "missing object")  # the run finished; anything else is a failure
#: The dashboard's states of a student's counted version, in the order it shows them.
DASHBOARD_STATES = ("submitted", "queued", "graded", "needs marking", "stopped with an error",
                    "not graded", "not submitted", "students")


def question_titles(experiment: Experiment) -> dict[str, str]:
    """Question id -> its title: the first line of its prompt in the master notebook
    ("(c) Define the network"), else the id."""
    if not experiment.master.exists():
        return {}
    return dict(_titles(experiment.master, experiment.master.stat().st_mtime))


@functools.lru_cache(maxsize=32)
def _titles(path: Path, _mtime: float) -> tuple[tuple[str, str], ...]:
    master = read_master(path)
    titles = []
    for question in master.questions:
        text = master.notebook.cells[question.prompt_cells[0] - 1].source \
            if question.prompt_cells else ""
        line = next((ln for ln in text.splitlines() if ln.strip()), "")
        title = re.sub(r"[`*_]", "", line.lstrip("#").strip())
        titles.append((question.name, title[:80] + ("…" if len(title) > 80 else "")
                       if title else question.name))
    return tuple(titles)


def course_marks(gradebook: Gradebook, course, folder: Path, experiment_id: str,
                 roll: str) -> float | None:
    """The student's marks in the experiment out of the course file's
    ``experiment_marks.out_of``, as the term-work report computes them; None before anything
    was submitted or marked (or without a course file)."""
    from dlkit.reports.course import experiment_record

    if course is None:
        return None
    with gradebook.session() as s:
        record = experiment_record(s, course, experiment_id, roll, course_folder=folder)
        marked = queries.has_marks(s, experiment_id, roll)
    return record.marks if record.submitted is not None or marked else None


# --------------------------------------------------------------------------- states

@dataclass(frozen=True)
class VersionState:
    """One stored version as its student (or the instructor) sees its progress."""

    submission_id: int
    experiment: str
    version: int
    arrived_at: dt.datetime | None  # naive UTC; pages show it with the course's clock
    lateness: str
    original_name: str
    state: str  # queued | running | not graded | a run status (graded, timeout, ...)
    words: str
    score: float | None = None
    max_score: float | None = None
    ahead: int | None = None  # queued: submissions waiting before it
    pinned: bool = False  # the instructor chose it to count

    @property
    def final(self) -> bool:
        return self.state not in ("queued", "running")

    def as_json(self) -> dict:
        return {"id": self.submission_id, "version": self.version, "state": self.state,
                "words": self.words, "final": self.final, "ahead": self.ahead,
                "score": None if self.score is None else f"{self.score:g}/{self.max_score:g}"}


def version_state(submission: Submission, run: Run | None,
                  positions: dict[int, int] | None = None) -> VersionState:
    if submission.queue == "queued":
        ahead = (positions or {}).get(submission.id)
        state, words = "queued", "waiting for a grader" + (
            f" ({ahead} submission{'s' if ahead != 1 else ''} ahead)" if ahead else "")
    elif submission.queue == "running":
        state, words, ahead = "running", "your notebook is running in the grader", None
    elif run is not None:
        state, ahead = run.status, None
        words = RUN_STATUSES.get(run.status, run.status) + (f": {run.reason}" if run.reason else "")
    else:
        state, words, ahead = "not graded", "stored, not queued for grading", None
    done = run is not None and submission.queue == ""
    return VersionState(submission.id, submission.experiment, submission.version or 0,
                        submission.arrived_at, lateness(submission),
                        submission.original_name, state, words,
                        run.score if done else None, run.max_score if done else None, ahead,
                        submission.pinned_at is not None)


def queue_positions(gradebook: Gradebook) -> dict[int, int]:
    """Queued submission id -> how many wait before it."""
    return {sub.id: index for index, sub in enumerate(gradebook.queued())}


def student_versions(gradebook: Gradebook, roll: str, experiment_id: str) -> list[VersionState]:
    """A student's versions of one experiment, newest first."""
    positions = queue_positions(gradebook)
    return [version_state(sub, run, positions)
            for sub, run in gradebook.versions(roll, experiment_id)]


def own_submission(gradebook: Gradebook, roll: str, submission_id: int) -> Submission | None:
    """The stored submission ``submission_id`` when it is ``roll``'s, else None (not found)."""
    submission = gradebook.submission(submission_id)
    if submission is None or submission.student_roll != roll or submission.status != "stored":
        return None
    return submission


def own_version(gradebook: Gradebook, roll: str, submission_id: int) -> VersionState | None:
    submission = own_submission(gradebook, roll, submission_id)
    if submission is None:
        return None
    with gradebook.session() as s:
        run = current_run(s, submission.id)
    return version_state(submission, run, queue_positions(gradebook))


def counted_version(gradebook: Gradebook, roll: str, experiment_id: str) -> VersionState | None:
    """The version that counts for the student's marks (pinned, else the newest)."""
    versions = student_versions(gradebook, roll, experiment_id)
    return next((v for v in versions if v.pinned), versions[0] if versions else None)


def waiting_version(gradebook: Gradebook, roll: str, experiment_id: str) -> VersionState | None:
    """The student's version of this experiment that waits in the queue (not yet running)."""
    return next((v for v in student_versions(gradebook, roll, experiment_id)
                 if v.state == "queued"), None)


@dataclass(frozen=True)
class AssignmentRow:
    assignment: Assignment
    latest: VersionState | None
    marks: float | None = None  # the course's marks (out of experiment_marks.out_of)


def student_home(gradebook: Gradebook, roll: str, assignments: list[Assignment], course=None,
                 folder: Path | None = None) -> list[AssignmentRow]:
    rows = []
    for assignment in assignments:
        versions = student_versions(gradebook, roll, assignment.id)
        marks = course_marks(gradebook, course, folder or Path(), assignment.id, roll) \
            if versions else None
        rows.append(AssignmentRow(assignment, versions[0] if versions else None, marks))
    return rows


def version_feedback(course: Path, gradebook: Gradebook, roll: str, submission_id: int,
                     clock: Clock) -> Feedback | None:
    """The feedback page of one of the student's own graded versions (None: not graded, or not
    theirs), as ``dlkit feedback`` builds it."""
    submission = own_submission(gradebook, roll, submission_id)
    if submission is None:
        return None
    experiment = get_experiment(submission.experiment)
    with gradebook.session() as s:
        submission = s.get(Submission, submission_id)
        run = current_run(s, submission_id)
        if run is None or submission.queue != "":
            return None
        page = build_feedback(s, experiment, submission, run, manual_questions(experiment))
    page.plots = notebook_plots(executed_notebook(course, experiment, submission_id))
    page.arrived_at = clock.show(submission.arrived_at)
    return page


# --------------------------------------------------------------------------- the instructor

@dataclass(frozen=True)
class StudentRow:
    roll: str
    name: str
    batch: str
    version: VersionState | None
    manual: str  # "1.5/2" or ""
    state: str = "not submitted"  # one of DASHBOARD_STATES
    marks: float | None = None  # the course's marks


@dataclass
class Histogram:
    """Counts of scores per bin, for an SVG bar chart: one bar per whole point when the maximum
    is at most 20 points (a full score has its own bar), else ten equal ranges."""

    top: float
    width: float
    counts: list[int]
    whole: bool = False  # bars are whole points

    @property
    def bars(self) -> list[dict]:
        most = max(self.counts, default=0) or 1
        step = 440 / len(self.counts)
        return [{"x": 40 + i * step, "w": step - 4, "h": 120 * n / most, "y": 140 - 120 * n / most,
                 "n": n, "label": f"{i:d}" if self.whole else
                 f"{i * self.width:g}–{min(self.top, (i + 1) * self.width):g}"}
                for i, n in enumerate(self.counts)]


def histogram(scores: list[float], top: float) -> Histogram:
    top = top or max(scores, default=1) or 1
    if float(top).is_integer() and top <= 20:
        counts = [0] * (int(top) + 1)
        for score in scores:
            counts[min(int(top), max(0, int(score)))] += 1
        return Histogram(top, 1.0, counts, whole=True)
    width = top / 10
    counts = [0] * 10
    for score in scores:
        counts[min(9, max(0, int(score / width)))] += 1
    return Histogram(top, width, counts)


@dataclass
class Overview:
    experiment: Experiment
    counts: dict[str, int]
    rows: list[StudentRow]
    histogram: Histogram
    manual: dict[str, float]
    similarity: bool = False
    titles: dict[str, str] = field(default_factory=dict)
    out_of: float | None = None  # the course's experiment_marks.out_of


def dashboard_state(state: VersionState | None, manual: dict[str, float],
                    marked: set[str]) -> str:
    """graded / needs marking / stopped with an error / queued / not graded / not submitted."""
    if state is None:
        return "not submitted"
    if not state.final:
        return "queued"
    if state.state == "not graded" or state.state in (*REGRADE_STATUSES, "data not provided"):
        return "not graded"  # nothing the student did: the grader (or the instructor's data)
    if state.state not in DONE:
        return "stopped with an error"
    return "needs marking" if set(manual) - marked else "graded"


def experiment_overview(course: Path, gradebook: Gradebook, experiment_id: str,
                        course_file=None) -> Overview:
    """Counts, the score distribution and the student table of one experiment."""
    experiment = get_experiment(experiment_id)
    manual = manual_questions(experiment)
    positions = queue_positions(gradebook)
    latest = gradebook.counted_submissions(experiment.id)  # pinned, else the newest
    rows, scores, top = [], [], 0.0
    counts = dict.fromkeys(DASHBOARD_STATES, 0)
    with gradebook.session() as s:
        students = queries.students(s)
        for student in students:
            counts["students"] += 1
            submission = latest.get(student.roll)
            state, pending = None, manual
            if submission is not None:
                run = current_run(s, submission.id)
                pending = {**manual, **instructor_items(run)}
                state = version_state(submission, run, positions)
                counts["submitted"] += 1
                if state.score is not None:
                    scores.append(state.score)
                    top = max(top, state.max_score or 0)
            marks = queries.latest_marks(s, experiment.id, student.roll)
            given = [m for item, m in marks.items() if item in manual]
            where = dashboard_state(state, pending, set(marks))
            counts[where] += 1
            rows.append(StudentRow(student.roll, student.name, student.batch, state,
                                   f"{sum(m.points for m in given):g}/{sum(manual.values()):g}"
                                   if given else "", where))
    if course_file is not None:
        rows = [dataclasses.replace(row, marks=course_marks(
            gradebook, course_file, course, experiment.id, row.roll)) if row.version else row
            for row in rows]
    similarity = (course / "reports" / "similarity" / experiment.id / "index.html").exists()
    return Overview(experiment, counts, rows, histogram(scores, top), manual, similarity,
                    question_titles(experiment), course_file.experiment_marks["out_of"]
                    if course_file is not None else None)


@dataclass
class StudentPage:
    """One student as the instructor sees them: their experiments and open sessions."""

    roll: str
    name: str
    batch: str
    sessions: int
    rows: list[AssignmentRow]


def student_page(gradebook: Gradebook, roll: str,
                 assignments: list[Assignment]) -> StudentPage | None:
    with gradebook.session() as s:
        student = s.get(Student, roll)
        if student is None:
            return None
        name, batch = student.name, student.batch
    return StudentPage(roll, name, batch, gradebook.open_sessions(roll),
                       student_home(gradebook, roll, assignments))


@dataclass(frozen=True)
class ResultLine:
    question: str
    test: int
    hidden: bool
    passed: bool
    points: float
    max_points: float
    message: str
    measured: dict
    state: str = "judged"  # or "not judged", "instructor" (RESULT_STATES)
    labels: dict = field(default_factory=dict)  # the judge's words: data, inputs, model


@dataclass
class RunPage:
    experiment: Experiment
    roll: str
    name: str
    version: VersionState
    run: Run | None
    results: list[ResultLine]
    history: list[Run]
    title: str = ""  # what the run was built on and measured on (feedback.run_title)


def run_page(gradebook: Gradebook, experiment_id: str, submission_id: int) -> RunPage | None:
    """Everything the grader recorded for one submission (hidden tests' full messages too)."""
    experiment = get_experiment(experiment_id)
    with gradebook.session() as s:
        submission = s.get(Submission, submission_id)
        if submission is None or submission.experiment != experiment.id \
                or submission.status != "stored":
            return None
        run = current_run(s, submission_id)
        results = [ResultLine(r.question, r.test, r.hidden, r.passed, r.points, r.max_points,
                              r.message, json.loads(r.measured) if r.measured else {},
                              result_state(r), result_labels(r))
                   for r in (run.results if run else [])]
        history = queries.run_history(s, submission_id)
        student = submission.student
        return RunPage(experiment, submission.student_roll or "", student.name if student else "",
                       version_state(submission, run, queue_positions(gradebook)), run, results,
                       history, run_title(experiment, list(run.results), run.mode or "")
                       if run else experiment.title)


def notebook_cells(course: Path, gradebook: Gradebook, submission: Submission,
                   ) -> tuple[list[dict], str]:
    """A submission's cells: the grader's executed copy when there is one, else the file as
    submitted; and which of the two it is."""
    experiment = get_experiment(submission.experiment)
    executed = executed_notebook(course, experiment, submission.id)
    for path, label in ((executed, "the grader's run of it"), (course / (submission.path or ""),
                                                                "as submitted, not yet run")):
        if path is not None and path.is_file():
            try:
                return nbformat.read(path, as_version=4).cells, label
            except Exception:  # noqa: BLE001, S112 - a damaged copy: try the next one
                continue
    return [], "unreadable"


# --------------------------------------------------------------------------- marking

@dataclass
class MarkingPage:
    experiment: Experiment
    question: str
    max_points: float
    prompt: list[Cell]
    model_answer: list[Cell]
    roll: str
    name: str
    submission: VersionState | None
    cells: list[Cell]
    region_found: bool
    source_label: str
    mark: ManualMark | None
    rolls: list[str]
    previous: str | None = None
    next: str | None = None
    questions: list[str] = field(default_factory=list)
    key: str = ""  # the student in this view's URLs: the roll, or the anonymous code
    label: str = ""  # who the page names: "101 Asha Kulkarni", or "student A3F9C21"
    anonymous: bool = False

    @property
    def title(self) -> str:
        return question_titles(self.experiment).get(self.question, self.question)

    @property
    def position(self) -> int:
        return self.rolls.index(self.key) + 1 if self.key in self.rolls else 0


def students_to_mark(gradebook: Gradebook, experiment_id: str,
                     anonymous_key: str | None = None) -> dict[str, str]:
    """Who the marking view goes through: key in its URLs -> roll, in order. The key is the
    roll, in roll order; with anonymous marking a code (the same for a student throughout an
    experiment, meaningless without the course's secret), in code order."""
    rolls = sorted(gradebook.counted_submissions(experiment_id))
    if anonymous_key is None:
        return {roll: roll for roll in rolls}
    codes = {anonymous_code(anonymous_key, experiment_id, roll): roll for roll in rolls}
    return dict(sorted(codes.items()))


def anonymous_code(secret: str, experiment_id: str, roll: str) -> str:
    digest = hmac.new(secret.encode(), f"{experiment_id}\0{roll}".encode(), hashlib.sha256)
    return "A" + digest.hexdigest()[:7].upper()


def marking_page(course: Path, gradebook: Gradebook, experiment_id: str, question: str,
                 key: str, anonymous_key: str | None = None) -> MarkingPage | None:
    """One student's answer to one manual question beside the rubric; None when the question
    is not a manual question of the experiment or the student (``key``: their roll, or their
    code when marking is anonymous) has no submission."""
    experiment = get_experiment(experiment_id)
    manual = manual_questions(experiment)
    if question not in manual:
        return None
    keys = students_to_mark(gradebook, experiment.id, anonymous_key)
    roll = keys.get(key)
    if roll is None:
        return None
    rolls = list(keys)
    prompt, model = _rubric_cells(experiment, question)
    submission = gradebook.counted_submissions(experiment.id)[roll]
    cells, label = notebook_cells(course, gradebook, submission)
    numbers, found = answer_region(cells, list(manual).index(question))
    with gradebook.session() as s:
        run = current_run(s, submission.id)
        student = s.get(Student, roll)
        mark = queries.latest_marks(s, experiment.id, roll).get(question)
    index = rolls.index(key)
    name = student.name if student else roll
    return MarkingPage(
        experiment, question, manual[question], prompt, model, roll, name,
        version_state(submission, run), render_cells(
            [cells[n - 1] for n in numbers], numbers), found, label, mark, rolls,
        rolls[index - 1] if index > 0 else None,
        rolls[index + 1] if index + 1 < len(rolls) else None, list(manual), key=key,
        label=f"student {key}" if anonymous_key else f"{roll} {name}",
        anonymous=anonymous_key is not None)


def _rubric_cells(experiment: Experiment, question: str) -> tuple[list[Cell], list[Cell]]:
    """The question's prompt and model answer from the master notebook (the course's own)."""
    if not experiment.master.exists():
        return [], []
    master = read_master(experiment.master)
    try:
        q = master.question(question)
    except StopIteration:
        return [], []
    cells = master.notebook.cells
    return (render_cells([cells[n - 1] for n in q.prompt_cells], q.prompt_cells),
            render_cells([cells[n - 1] for n in q.solution_cells], q.solution_cells))


# --------------------------------------------------------------------------- regrade requests

@dataclass
class RequestPage:
    """One regrade request as the instructor answers it."""

    request: RegradeRequest
    experiment: Experiment
    name: str
    title: str
    max_points: float | None  # a question marked by hand: its mark may change; else None
    mark: ManualMark | None


def request_page(gradebook: Gradebook, request_id: int) -> RequestPage | None:
    request = gradebook.regrade_request(request_id)
    if request is None:
        return None
    experiment = get_experiment(request.experiment)
    manual = manual_questions(experiment)
    with gradebook.session() as s:
        student = s.get(Student, request.student_roll)
        mark = queries.latest_marks(s, experiment.id, request.student_roll).get(request.question)
    return RequestPage(request, experiment, student.name if student else request.student_roll,
                       question_titles(experiment).get(request.question, request.question),
                       manual.get(request.question), mark)


def askable_questions(experiment: Experiment, page: Feedback) -> list[tuple[str, str]]:
    """(id, title) of the questions a student may ask about on a feedback page."""
    titles = question_titles(experiment)
    names = [q.name for q in page.questions] + [item.name for item in page.manual]
    return [(name, titles.get(name, name)) for name in dict.fromkeys(names)]


# --------------------------------------------------------------------------- the queue

@dataclass(frozen=True)
class QueueLine:
    submission_id: int
    experiment: str
    roll: str
    version: int
    since: str
    claimed_by: str = ""


@dataclass
class QueueView:
    queued: list[QueueLine]
    running: list[QueueLine]
    recent: list[tuple[Run, Submission]]

    @property
    def mean_seconds(self) -> float | None:
        runs = [run.seconds for run, _ in self.recent]
        return sum(runs) / len(runs) if runs else None


def queue_view(gradebook: Gradebook, recent: int = 10) -> QueueView:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)

    def waited(moment: dt.datetime | None) -> str:
        return f"{(now - moment).total_seconds():.0f} s ago" if moment else ""

    with gradebook.session() as s:
        rows = queries.queue_rows(s)
        queued = [QueueLine(r.id, r.experiment, r.student_roll or "", r.version or 0,
                            waited(r.queued_at)) for r in rows if r.queue == "queued"]
        running = [QueueLine(r.id, r.experiment, r.student_roll or "", r.version or 0,
                             waited(r.claimed_at), r.claimed_by) for r in rows if r.queue == "running"]
        done = queries.recent_runs(s, recent)
    return QueueView(queued, running, done)


# --------------------------------------------------------------------------- the practical exam

#: how far from its slot a student's exam page still shows it ("closed at", "opens at")
EXAM_PAGE_HOURS = 12


def slot_state(slot: ExamSlot, at: dt.datetime) -> str:
    """``open``, ``not open yet`` or ``closed`` at ``at`` (naive UTC)."""
    if at < slot.starts_at:
        return "not open yet"
    return "open" if at < slot.ends_at else "closed"


def seat_parameters(seat: ExamSeat) -> list[dict[str, str]]:
    """The seat's variant as rows (name, value in words, what it changes in the brief)."""
    from dlkit.variants import describe, variant_of

    experiment = get_experiment(seat.experiment)
    return describe(variant_of(experiment, seat.variant), experiment)


@dataclass(frozen=True)
class ExamRow:
    """One seat of the examiner's live view."""

    roll: str
    name: str
    experiment: Experiment
    parameters: list[dict[str, str]]
    uploads: int
    latest: VersionState | None  # the newest upload's progress (None: nothing uploaded)

    @property
    def state(self) -> str:
        return self.latest.state if self.latest is not None else "not uploaded"


@dataclass
class ExamBoard:
    slot: ExamSlot
    state: str  # see slot_state
    rows: list[ExamRow]

    def counts(self) -> dict[str, int]:
        """How many seats are in each state, in the order the page shows them."""
        order = ("not uploaded", "queued", "running", "graded")
        counts = {name: 0 for name in order}
        for row in self.rows:
            counts[row.state] = counts.get(row.state, 0) + 1
        return counts

    @property
    def live(self) -> bool:
        """Whether the page still changes by itself (the slot open, or a grading pending)."""
        return self.state != "closed" or any(r.latest is not None and not r.latest.final
                                             for r in self.rows)


def exam_board(gradebook: Gradebook, slot_id: int, at: dt.datetime) -> ExamBoard | None:
    """The examiner's live view of a slot: every seat with its newest upload's state."""
    slot = gradebook.exam_slot(slot_id)
    if slot is None:
        return None
    positions = queue_positions(gradebook)
    rows = [ExamRow(seat.roll, seat.name, get_experiment(seat.experiment), seat_parameters(seat),
                    uploads, version_state(upload, run, positions) if upload else None)
            for seat, upload, run, uploads in gradebook.exam_board(slot_id)]
    return ExamBoard(slot, slot_state(slot, at), rows)


@dataclass
class StudentExam:
    """A student's exam page: their seat, its slot's state, their uploads (newest first)."""

    seat: ExamSeat
    slot: ExamSlot
    state: str
    experiment: Experiment
    parameters: list[dict[str, str]]
    uploads: list[VersionState]


def student_exam(gradebook: Gradebook, roll: str, at: dt.datetime) -> StudentExam | None:
    """The roll's practical exam now (open, or within :data:`EXAM_PAGE_HOURS` of it)."""
    seat = gradebook.exam_seat(roll, at, around=dt.timedelta(hours=EXAM_PAGE_HOURS))
    if seat is None:
        return None
    positions = queue_positions(gradebook)
    uploads = [version_state(sub, run, positions)
               for sub, run in gradebook.versions(roll, seat.experiment, exam_slot=seat.slot_id)]
    return StudentExam(seat, seat.slot, slot_state(seat.slot, at),
                       get_experiment(seat.experiment), seat_parameters(seat), uploads)
