"""The portal's web application: routes as thin as click commands (parse, call the API, render).

Students (``/s/...``) log in with their roll number and access code and see only their own
submissions; instructors (``/i/...``) log in with the course password. Every page is rendered
from the reports' Jinja environment (autoescaped) and sent with a Content-Security-Policy that
forbids inline script. Who is asking is Starlette's ``request.user`` (:class:`SessionUsers`, from
a server-side session behind a signed, HttpOnly, SameSite cookie) and each route names its role
with :func:`requires`; every unsafe request from another origin is refused (:class:`SameOrigin`)
and every form carries a CSRF token. The web process only queues submissions: workers grade them
(see ``supervisor``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import inspect
import io
import secrets
import threading
import time
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders, UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from dlkit import collect as collecting
from dlkit.errors import DlkitError
from dlkit.experiments import EXPERIMENTS
from dlkit.experiments import get as get_experiment
from dlkit.feedback import environment, manual_questions
from dlkit.gradebook import Gradebook, duration, utcnow
from dlkit.portal import auth, pages
from dlkit.portal.cells import render_cells
from dlkit.portal.config import MB, Clock, Schedule, Settings, State, load_schedule

STATIC = Path(__file__).parent / "static"
UPLOAD_SOURCE = "portal"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; "
       "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
#: the similarity report is the kit's own HTML (student code escaped in it), with inline styles
REPORT_CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
              "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
FORM_BYTES = 64 * 1024  # any request but an upload


@dataclass(frozen=True)
class User(BaseUser):
    """Who is logged in (Starlette's ``request.user``, set by :class:`SessionUsers`)."""

    role: str  # student | instructor
    roll: str = ""
    name: str = ""

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.name or self.roll


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"request body over {limit} bytes")


# --------------------------------------------------------------------------- the portal

class Portal:
    """The state every route shares: the course, its gradebook, throttles, the workers."""

    def __init__(self, settings: Settings, supervisor=None) -> None:
        self.settings = settings
        self.course = settings.course.resolve()
        self.gradebook = Gradebook.open(self.course)
        self.state = State.of(self.course)
        self.supervisor = supervisor
        self.throttle = auth.Throttle(self.gradebook)
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._schedule: tuple[float, Schedule] | None = None
        self.schedule()  # a broken portal.yml stops the server at once, with the reason

    def schedule(self) -> Schedule:
        """``portal.yml`` (or the released experiments), read again every few seconds."""
        if self._schedule is None or time.monotonic() - self._schedule[0] > 5:
            self._schedule = (time.monotonic(), load_schedule(self.course))
        return self._schedule[1]

    def regrade_plan(self, experiment_id: str, submissions: list):
        """What the workers will do with ``submissions`` regraded: re-judge or run again."""
        from dlkit.grading.grade import plan_regrade, queue_limits

        return plan_regrade(submissions, course=self.course, gradebook=self.gradebook,
                            limits=queue_limits(get_experiment(experiment_id),
                                                self.settings.memory_gb))

    @property
    def uploads_per_hour(self) -> int:
        return self.settings.uploads_per_hour or self.schedule().uploads_per_hour

    @property
    def anonymous_key(self) -> str | None:
        """The secret anonymous codes are made from, when portal.yml asks for
        ``anonymous_marking``; else None (marking shows roll and name)."""
        return self.state.secret_key() if self.schedule().anonymous_marking else None

    @property
    def clock(self) -> Clock:
        return self.schedule().clock or Clock.server()

    def address(self, request: Request) -> str:
        """Who connects: the peer, or the client a trusted proxy names (portal.yml)."""
        peer = request.client.host if request.client else "?"
        return auth.client_address(peer, request.headers.get("x-forwarded-for"),
                                   self.schedule().forwarded_allow_ips)

    def due_for(self, roll: str, assignment) -> tuple[dt.datetime | None, bool]:
        """(the student's deadline, aware; whether it is their extension)."""
        extension = self.gradebook.extension(roll, assignment.id)
        if extension is not None:
            return extension.until.replace(tzinfo=dt.UTC).astimezone(self.clock.zone), True
        return assignment.due, False

    def closes_at(self, due: dt.datetime | None) -> dt.datetime | None:
        """When uploads stop: ``late_policy.closes_after_days`` after the student's deadline
        (None: late uploads are always taken, and marked late)."""
        course = self.schedule().course
        days = course.late_policy.get("closes_after_days") if course is not None else None
        return due + dt.timedelta(days=float(days)) if due is not None and days is not None \
            else None

    def start_session(self, request: Request, role: str, **fields) -> None:
        """A new server-side session for this browser (any earlier one of it ends)."""
        self.end_session(request)
        token = auth.new_token()
        self.gradebook.open_session(auth.token_hash(token), role, **fields)
        request.session.clear()
        request.session.update(sid=token, csrf=auth.new_token())

    def end_session(self, request: Request, why: str = "logged out") -> None:
        token = request.session.get("sid")
        if token:
            self.gradebook.end_session(auth.token_hash(str(token)), why)
        _forget(request.session)

    # -- who is asking ---------------------------------------------------------------------
    def session_user(self, request: Request) -> User | None:
        """The logged-in user of this browser's session, while their code (or the password) is
        still the current one."""
        token = request.session.get("sid")
        if not token:
            return None
        row = self.gradebook.live_session(
            auth.token_hash(str(token)), idle=dt.timedelta(minutes=self.settings.idle_minutes),
            longest=dt.timedelta(hours=self.settings.session_hours))
        if row is not None and row.role == "student" and row.code_id is not None and \
                auth.code_is_active(self.gradebook, row.roll, row.code_id):
            return User("student", roll=row.roll, name=row.name)
        if row is not None and row.role == "instructor" and row.password_mark == \
                auth.fingerprint(auth.password_hash(self.state)):
            return User("instructor", name=row.name)
        _forget(request.session)
        return None

    def assignment(self, experiment_id: str):
        assignment = self.schedule().get(experiment_id)
        if assignment is None or not assignment.is_open():
            raise HTTPException(404)
        return assignment

    # -- uploads ---------------------------------------------------------------------------
    def accept_upload(self, roll: str, experiment_id: str, filename: str,
                      data: bytes) -> tuple[bool, str, int | None]:
        """Refuse (over the hourly caps, a version still waiting) or collect and queue one file:
        (stored, what to tell the student, submission id). The upload cap counts stored
        versions; refused files count against a cap of their own, higher; every refusal says
        when the student may upload again."""
        assignment = self.assignment(experiment_id)
        with self._locks[roll]:  # one upload of a student at a time: versions stay in order
            since = utcnow() - dt.timedelta(hours=1)
            per_hour = self.uploads_per_hour
            stored = self.gradebook.upload_times(roll, since, UPLOAD_SOURCE, ("stored",))
            if len(stored) >= per_hour:
                return False, (f"upload refused: at most {per_hour} new versions an hour; "
                               f"{self._reopens(stored, per_hour)}"), None
            refusals_cap = self.schedule().refusals_per_hour
            refused = self.gradebook.upload_times(roll, since, UPLOAD_SOURCE,
                                                  ("rejected", "duplicate"))
            if len(refused) >= refusals_cap:
                return False, (f"upload refused: {len(refused)} files were refused in the last "
                               f"hour (at most {refusals_cap}); "
                               f"{self._reopens(refused, refusals_cap)}"), None
            due, extended = self.due_for(roll, assignment)
            closes = self.closes_at(due)
            if closes is not None and dt.datetime.now(dt.UTC) > closes:
                return False, (f"upload refused: uploads closed at {self.clock.show(closes)} "
                               f"(due {self.clock.show(due)}"
                               + (", your extension" if extended else "") + "); ask your "
                               "instructor for an extension"), None
            waiting = pages.waiting_version(self.gradebook, roll, experiment_id)
            if waiting is not None:
                return False, (f"upload refused: your version {waiting.version} is still waiting "
                               "in the queue; upload again once it is graded"), None
            upload = collecting.collect_upload(
                experiment_id, roll, filename, data, course=self.course,
                gradebook=self.gradebook, due=due, source=UPLOAD_SOURCE,
                limits=collecting.Limits(notebook_bytes=self.settings.upload_bytes),
                enqueue=True)
            if upload.status != "stored":
                left = refusals_cap - len(refused) - 1
                when = "you may upload a corrected file now" if left > 0 else \
                    self._reopens(refused + [utcnow()], refusals_cap)
                return False, f"upload refused: {upload.reason}; {when}", None
            return True, f"{upload.reason}: stored and queued for grading", upload.submission_id

    def accept_exam_upload(self, roll: str, filename: str,
                           data: bytes) -> tuple[bool, str, int | None]:
        """Refuse (no slot open, one upload still waiting, too many refused files) or store one
        practical-exam upload, queued ahead of term work and bound to the roll's variant in the
        same transaction: (stored, what to tell the student, submission id)."""
        with self._locks[roll]:
            now = utcnow()
            seat = self.gradebook.exam_seat(roll, now, around=dt.timedelta(
                hours=pages.EXAM_PAGE_HOURS))
            if seat is None:
                return False, "upload refused: you have no practical-exam slot now", None
            slot = seat.slot
            where = f"batch {slot.batch}" + (f", {slot.room}" if slot.room else "")
            if now >= slot.ends_at:
                return False, (f"upload refused: the exam slot ({where}) closed at "
                               f"{self.clock.show(slot.ends_at)}; uploads are closed (your "
                               "examiner has the uploads you made in time)"), None
            if now < slot.starts_at:
                return False, (f"upload refused: the exam slot ({where}) opens at "
                               f"{self.clock.show(slot.starts_at)}"), None
            waiting = next((v for v in pages.student_exam(self.gradebook, roll, now).uploads
                            if v.state == "queued"), None)
            if waiting is not None:
                return False, ("upload refused: your previous upload is still waiting for the "
                               "grader; upload again once it is graded"), None
            refusals_cap = self.schedule().refusals_per_hour
            refused = self.gradebook.upload_times(roll, now - dt.timedelta(hours=1),
                                                  UPLOAD_SOURCE, ("rejected", "duplicate"))
            if len(refused) >= refusals_cap:
                return False, (f"upload refused: {len(refused)} files were refused in the last "
                               f"hour (at most {refusals_cap}); ask your examiner"), None
            upload = collecting.collect_upload(
                seat.experiment, roll, filename, data, course=self.course,
                gradebook=self.gradebook, due=slot.ends_at.replace(tzinfo=dt.UTC),
                source=UPLOAD_SOURCE,
                limits=collecting.Limits(notebook_bytes=self.settings.upload_bytes),
                enqueue=True, exam=(slot.id, seat.variant))
            if upload.status != "stored":
                return False, f"upload refused: {upload.reason}", None
            return True, ("stored and queued for grading ahead of term work; the newest "
                          "upload graded counts"), upload.submission_id

    def _reopens(self, times: list[dt.datetime], cap: int) -> str:
        """When a cap of ``cap`` an hour over ``times`` (oldest first) lets the next one in."""
        opens = times[len(times) - cap] + dt.timedelta(hours=1)
        wait = max(60.0, (opens - utcnow()).total_seconds())
        return f"you may upload again at {self.clock.show(opens)} (in {duration(wait)})"


def _forget(session: dict) -> None:
    token = session.get("csrf")
    session.clear()
    if token:
        session["csrf"] = token


# --------------------------------------------------------------------------- rendering

def render(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    session = request.session
    if "csrf" not in session:
        session["csrf"] = auth.new_token()
    portal: Portal = request.app.state.portal
    clock = portal.clock
    html = environment().get_template(template).render(
        csp_nonce=request.state.csp_nonce, csrf=session["csrf"], user=current_user(request),
        flash=session.pop("flash", None), clock=clock, now=clock.now(), **context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def redirect(request: Request, url: str, flash: str = "", kind: str = "ok") -> RedirectResponse:
    if flash:
        request.session["flash"] = {"kind": kind, "text": flash}
    return RedirectResponse(url, status_code=303)


async def form_of(request: Request, **limits):
    """The request's form, after checking its CSRF token (its origin: :class:`SameOrigin`)."""
    form = await request.form(**limits)
    if not auth.same_token(request.session.get("csrf"), form.get("csrf")):
        raise HTTPException(403, "the form expired (or came from another site): reload the page "
                                 "and try again")
    return form


async def uploaded_notebook(request: Request, page) -> tuple[str, bytes] | Response:
    """The uploaded notebook's (file name, bytes), or ``page`` (the form it came from) saying
    why not: over the size limit, or no file chosen."""
    limit = _portal(request).settings.upload_bytes
    too_large = (f"upload refused: the file is larger than {limit / MB:.0f} MB; clear the "
                 "outputs (Kernel > Restart & Clear Output), save and upload again")
    if int(request.headers.get("content-length") or 0) > limit + MB:
        return await run_in_threadpool(page, request, 413, too_large)
    try:
        form = await form_of(request, max_files=1, max_fields=4)
    except BodyTooLarge:
        return await run_in_threadpool(page, request, 413, too_large)
    notebook = form.get("notebook")
    if not isinstance(notebook, UploadFile) or not notebook.filename:
        return await run_in_threadpool(page, request, 422,
                                       "choose your notebook (.ipynb) before uploading")
    return notebook.filename, await notebook.read(limit + 1)


def _portal(request: Request) -> Portal:
    return request.app.state.portal


# --------------------------------------------------------------------------- who may ask

class SessionUsers(AuthenticationBackend):
    """Starlette's authentication backend: the user of the browser's server-side session."""

    async def authenticate(self, conn):
        if conn.scope["path"].startswith("/static/"):
            return None
        portal: Portal = conn.app.state.portal
        user = await run_in_threadpool(portal.session_user, conn)
        return (AuthCredentials([user.role]), user) if user is not None else None


def current_user(request: Request) -> User | None:
    """The logged-in user, or None (also before :class:`SessionUsers` ran: an error page)."""
    user = request.scope.get("user")
    return user if isinstance(user, User) else None


LOGIN_PAGES = {"student": "/login", "instructor": "/instructor/login"}


def requires(role: str):
    """The route is ``role``'s only: nobody logged in is sent to that role's login page, the
    other role gets "not found" (a student learns nothing of the instructor's pages)."""
    def check(request: Request) -> None:
        user = current_user(request)
        if user is None:
            raise HTTPException(303, headers={"Location": LOGIN_PAGES[role]})
        if user.role != role:
            raise HTTPException(404)

    def decorate(handler):
        if inspect.iscoroutinefunction(handler):
            @functools.wraps(handler)
            async def guarded_async(request: Request, *args, **kwargs):
                check(request)
                return await handler(request, *args, **kwargs)
            guarded_async.role = role
            return guarded_async

        @functools.wraps(handler)
        def guarded(request: Request, *args, **kwargs):
            check(request)
            return handler(request, *args, **kwargs)
        guarded.role = role
        return guarded
    return decorate


# --------------------------------------------------------------------------- public pages

async def home(request: Request) -> Response:
    user = current_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/s" if user.role == "student" else "/i", status_code=303)


async def login(request: Request) -> Response:
    portal = _portal(request)
    if request.method == "GET":
        return render(request, "portal/login.html")
    form = await form_of(request)
    roll, code = str(form.get("roll", "")).strip()[:32], str(form.get("code", ""))[:64]
    known = await run_in_threadpool(auth.roll_exists, portal.gradebook, roll)
    key = auth.student_key(roll, portal.address(request), known)
    wait = await run_in_threadpool(portal.throttle.wait, key)
    if wait:
        return render(request, "portal/login.html", 429, roll=roll, error=_wait_words(wait))
    code_id = await run_in_threadpool(auth.check_student, portal.gradebook, roll, code)
    if code_id is None:
        delay = await run_in_threadpool(portal.throttle.fail, key)
        return render(request, "portal/login.html", 401, roll=roll,
                      error="wrong roll number or access code (ask your instructor for a new "
                            "code if you lost yours)" + (f"; {_wait_words(delay)}" if delay else ""))
    await run_in_threadpool(portal.throttle.clear, key)
    name = await run_in_threadpool(auth.student_name, portal.gradebook, roll)
    await run_in_threadpool(portal.start_session, request, "student", roll=roll, name=name,
                            code_id=code_id)
    return RedirectResponse("/s", status_code=303)


def _wait_words(seconds: float) -> str:
    return f"too many failed attempts from here: try again in {duration(max(1.0, seconds))}"


async def instructor_login(request: Request) -> Response:
    portal = _portal(request)
    if request.method == "GET":
        return render(request, "portal/instructor_login.html",
                      no_password=auth.password_hash(portal.state) is None)
    form = await form_of(request)
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))[:1024]
    key = auth.instructor_key(portal.address(request))
    wait = await run_in_threadpool(portal.throttle.wait, key)
    if wait:
        return render(request, "portal/instructor_login.html", 429, name=name, no_password=False,
                      error=_wait_words(wait))
    mark = await run_in_threadpool(auth.check_password, portal.state, password)
    if mark is None or not name:
        if mark is None:
            await run_in_threadpool(portal.throttle.fail, key)
        return render(request, "portal/instructor_login.html", 401, name=name,
                      no_password=auth.password_hash(portal.state) is None,
                      error="wrong password" if mark is None else
                      "give your name: it is recorded with the marks you save")
    await run_in_threadpool(portal.throttle.clear, key)
    await run_in_threadpool(portal.start_session, request, "instructor", name=name[:100],
                            password_mark=mark)
    return RedirectResponse("/i", status_code=303)


async def logout(request: Request) -> Response:
    await form_of(request)
    await run_in_threadpool(_portal(request).end_session, request)
    return RedirectResponse("/login", status_code=303)


# --------------------------------------------------------------------------- students

@requires("student")
def student_home(request: Request) -> Response:
    portal = _portal(request)
    user = request.user
    schedule = portal.schedule()
    rows = pages.student_home(portal.gradebook, user.roll, schedule.open(), schedule.course,
                              portal.course)
    dues = {row.assignment.id: portal.due_for(user.roll, row.assignment) for row in rows}
    return render(request, "portal/student_home.html", rows=rows, out_of=_out_of(schedule),
                  dues=dues, exam=pages.student_exam(portal.gradebook, user.roll, utcnow()))


def _out_of(schedule: Schedule) -> float | None:
    return schedule.course.experiment_marks["out_of"] if schedule.course is not None else None


@requires("student")
def student_experiment(request: Request, status: int = 200, error: str = "") -> Response:
    portal = _portal(request)
    user = request.user
    assignment = portal.assignment(request.path_params["experiment"])
    versions = pages.student_versions(portal.gradebook, user.roll, assignment.id)
    schedule = portal.schedule()
    marks = pages.course_marks(portal.gradebook, schedule.course, portal.course, assignment.id,
                               user.roll) if versions else None
    due, extended = portal.due_for(user.roll, assignment)
    counted = next((v for v in versions if v.pinned), versions[0] if versions else None)
    return render(request, "portal/student_experiment.html", status, assignment=assignment,
                  counted=counted,
                  versions=versions, error=error, limit_mb=portal.settings.upload_bytes / MB,
                  per_hour=portal.uploads_per_hour, marks=marks, out_of=_out_of(schedule),
                  due=due, extended=extended, closes=portal.closes_at(due))


@requires("student")
async def upload(request: Request) -> Response:
    portal = _portal(request)
    user = request.user
    experiment_id = request.path_params["experiment"]
    await run_in_threadpool(portal.assignment, experiment_id)
    got = await uploaded_notebook(request, student_experiment)
    if isinstance(got, Response):
        return got
    stored, message, _ = await run_in_threadpool(portal.accept_upload, user.roll, experiment_id,
                                                 *got)
    if not stored:
        return await run_in_threadpool(student_experiment, request, 422, message)
    return redirect(request, f"/s/{experiment_id}", message)


@requires("student")
def starter(request: Request, kind: str) -> Response:
    """The released notebook (``ipynb``), or a zip of it with its public checks (``zip``)."""
    portal = _portal(request)
    assignment = portal.assignment(request.path_params["experiment"])
    path = assignment.starter
    if not path.exists():
        raise HTTPException(404)
    return starter_response(path, kind, assignment.id)


def starter_response(path: Path, kind: str, name: str) -> Response:
    """A starter notebook (``ipynb``), or a zip ``name.zip`` of its folder: the notebook with
    its public checks (``zip``; otter reads tests/). Links in the folder are left out."""
    if kind == "ipynb":
        return FileResponse(path, media_type="application/x-ipynb+json", filename=path.name)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(path.parent.rglob("*")):
            if file.is_file() and not file.is_symlink() and not file.name.startswith("."):
                archive.write(file, f"{name}/{file.relative_to(path.parent).as_posix()}")
    return Response(buffer.getvalue(), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{name}.zip"'})


@requires("student")
def submission_page(request: Request, status: int = 200, error: str = "") -> Response:
    portal = _portal(request)
    user = request.user
    submission_id = request.path_params["submission"]
    version = pages.own_version(portal.gradebook, user.roll, submission_id)
    if version is None or portal.schedule().get(version.experiment) is None:
        raise HTTPException(404)
    page = pages.version_feedback(portal.course, portal.gradebook, user.roll, submission_id,
                                  portal.clock)
    if page is not None:
        schedule = portal.schedule()
        marks = pages.course_marks(portal.gradebook, schedule.course, portal.course,
                                   version.experiment, user.roll)
        requests = portal.gradebook.regrade_requests(roll=user.roll,
                                                     experiment=version.experiment)
        return render(request, "portal/feedback.html", status, page=page, version=version,
                      course_marks=marks, out_of=_out_of(schedule),
                      titles=pages.question_titles(page.experiment), requests=requests,
                      askable=pages.askable_questions(page.experiment, page), error=error)
    return render(request, "portal/version.html", version=version,
                  assignment=portal.schedule().get(version.experiment))


@requires("student")
async def ask_regrade(request: Request) -> Response:
    """A student asks about one question of a graded version (a short text)."""
    portal = _portal(request)
    user = request.user
    form = await form_of(request)
    submission_id = request.path_params["submission"]
    question = str(form.get("question", ""))[:64]
    page = await run_in_threadpool(pages.version_feedback, portal.course, portal.gradebook,
                                   user.roll, submission_id, portal.clock)
    if page is None:  # not theirs, or not graded: there is no feedback page to ask from
        raise HTTPException(404)
    if question not in dict(pages.askable_questions(page.experiment, page)):
        return await run_in_threadpool(submission_page, request, 422,
                                       "choose one of the questions of this page")
    try:
        await run_in_threadpool(portal.gradebook.ask_regrade, user.roll, submission_id,
                                question, str(form.get("text", ""))[:5000])
    except DlkitError as exc:
        if "no such submission" in exc.what:
            raise HTTPException(404) from None
        return await run_in_threadpool(submission_page, request, 422, exc.message)
    return redirect(request, f"/s/submissions/{submission_id}#requests",
                    f"your request about {question} was sent to your instructor")


@requires("student")
def submission_status(request: Request) -> Response:
    portal = _portal(request)
    user = request.user
    version = pages.own_version(portal.gradebook, user.roll, request.path_params["submission"])
    if version is None:
        raise HTTPException(404)
    return JSONResponse(version.as_json(), headers={"Cache-Control": "no-store"})


# --------------------------------------------------------------------------- the practical exam

@requires("student")
def student_exam(request: Request, status: int = 200, error: str = "") -> Response:
    """The student's exam: their experiment and parameters, their starter, the upload form
    while the slot is open, and their uploads' grading."""
    portal = _portal(request)
    exam = pages.student_exam(portal.gradebook, request.user.roll, utcnow())
    return render(request, "portal/student_exam.html", status, exam=exam, error=error,
                  limit_mb=portal.settings.upload_bytes / MB)


@requires("student")
async def exam_upload(request: Request) -> Response:
    portal = _portal(request)
    got = await uploaded_notebook(request, student_exam)
    if isinstance(got, Response):
        return got
    stored, message, _ = await run_in_threadpool(portal.accept_exam_upload, request.user.roll, *got)
    if not stored:
        return await run_in_threadpool(student_exam, request, 422, message)
    return redirect(request, "/s/exam", message)


@requires("student")
def exam_starter(request: Request, kind: str) -> Response:
    """The student's own starter (their variant), from ``release/exams/``."""
    from dlkit.exam_release import starter_path

    portal = _portal(request)
    exam = pages.student_exam(portal.gradebook, request.user.roll, utcnow())
    path = starter_path(portal.course, exam.seat.starter) if exam is not None else None
    if path is None or exam.state == "not open yet":
        raise HTTPException(404)
    return starter_response(path, kind, f"exam-{exam.experiment.id}")


@requires("instructor")
def exam_slots(request: Request, status: int = 200, error: str = "") -> Response:
    """The slots opened so far, and the form that opens one for a released exam."""
    from dlkit.exam_release import released_exams

    portal = _portal(request)
    now = utcnow()
    slots = [(slot, pages.slot_state(slot, now)) for slot in portal.gradebook.exam_slots()]
    return render(request, "portal/exam_slots.html", status, slots=slots, error=error,
                  exams=released_exams(portal.course), default_start=_minute(portal.clock.now()),
                  default_end=_minute(portal.clock.now() + dt.timedelta(hours=3)))


def _minute(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


@requires("instructor")
async def open_slot(request: Request) -> Response:
    """Open a slot (start, end, batch, room) for a released exam: its seats from exam.json."""
    from dlkit.exam_release import open_slot as open_exam_slot
    from dlkit.exam_release import released_exams

    portal = _portal(request)
    form = await form_of(request)
    exams = {e.name: e for e in await run_in_threadpool(released_exams, portal.course)}
    exam = exams.get(str(form.get("exam", "")))
    if exam is None:
        return await run_in_threadpool(exam_slots, request, 422,
                                       "choose one of the released exams")
    try:
        starts, ends = (portal.clock.in_zone(dt.datetime.fromisoformat(
            str(form.get(name, "")).strip())) for name in ("starts", "ends"))
    except ValueError:
        return await run_in_threadpool(exam_slots, request, 422,
                                       "give the slot's start and end as dates and times")
    try:
        slot = await run_in_threadpool(functools.partial(
            open_exam_slot, portal.course, portal.gradebook, date=exam.date, batch=exam.batch,
            room=str(form.get("room", "")).strip()[:64], starts_at=starts, ends_at=ends,
            by=request.user.name))
    except DlkitError as exc:
        return await run_in_threadpool(exam_slots, request, 422, exc.message)
    return redirect(request, f"/i/exam/{slot.id}",
                    f"slot opened for batch {slot.batch}: {len(slot.seats)} student(s), "
                    f"{portal.clock.show(slot.starts_at)} to {portal.clock.show(slot.ends_at)}")


@requires("instructor")
def exam_live(request: Request) -> Response:
    """The examiner's live view of a slot: every student's upload and grading."""
    portal = _portal(request)
    board = pages.exam_board(portal.gradebook, request.path_params["slot"], utcnow())
    if board is None:
        raise HTTPException(404)
    return render(request, "portal/exam_live.html", board=board)


@requires("instructor")
async def close_slot(request: Request) -> Response:
    """End a slot now: every later upload is refused."""
    portal = _portal(request)
    await form_of(request)
    slot = await run_in_threadpool(portal.gradebook.close_exam_slot, request.path_params["slot"])
    if slot is None:
        raise HTTPException(404)
    return redirect(request, f"/i/exam/{slot.id}",
                    f"uploads closed at {portal.clock.show(slot.ends_at)}")


# --------------------------------------------------------------------------- instructors

@requires("instructor")
def instructor_home(request: Request) -> Response:
    portal = _portal(request)
    overviews = [pages.experiment_overview(portal.course, portal.gradebook, a.id)
                 for a in portal.schedule().assignments]
    return render(request, "portal/instructor_home.html", overviews=overviews,
                  states=pages.DASHBOARD_STATES,
                  open_requests=len(portal.gradebook.regrade_requests(open_only=True)),
                  queue=pages.queue_view(portal.gradebook), health=_health(portal))


def _experiment(request: Request):
    experiment_id = request.path_params["experiment"]
    if experiment_id not in EXPERIMENTS:
        raise HTTPException(404)
    return experiment_id


@requires("instructor")
def instructor_experiment(request: Request) -> Response:
    portal = _portal(request)
    overview = pages.experiment_overview(portal.course, portal.gradebook, _experiment(request),
                                         portal.schedule().course)
    return render(request, "portal/instructor_experiment.html", overview=overview,
                  states=pages.DASHBOARD_STATES,
                  assignment=portal.schedule().get(overview.experiment.id))


@requires("instructor")
def run_page(request: Request) -> Response:
    portal = _portal(request)
    page = pages.run_page(portal.gradebook, _experiment(request), request.path_params["submission"])
    if page is None:
        raise HTTPException(404)
    return render(request, "portal/run.html", page=page)


@requires("instructor")
def notebook_page(request: Request) -> Response:
    portal = _portal(request)
    page = pages.run_page(portal.gradebook, _experiment(request), request.path_params["submission"])
    if page is None:
        raise HTTPException(404)
    cells, label = pages.notebook_cells(portal.course, portal.gradebook,
                                        portal.gradebook.submission(page.version.submission_id))
    return render(request, "portal/notebook.html", page=page, label=label,
                  cells=render_cells(cells))


@requires("instructor")
def first_to_mark(request: Request) -> Response:
    portal = _portal(request)
    experiment_id = _experiment(request)
    keys = list(pages.students_to_mark(portal.gradebook, experiment_id, portal.anonymous_key))
    if request.path_params["question"] not in manual_questions(EXPERIMENTS[experiment_id]) \
            or not keys:
        raise HTTPException(404)
    return RedirectResponse(f"/i/{experiment_id}/mark/{request.path_params['question']}/"
                            f"{keys[0]}", status_code=303)


@requires("instructor")
def marking(request: Request, status: int = 200, error: str = "") -> Response:
    portal = _portal(request)
    params = request.path_params
    page = pages.marking_page(portal.course, portal.gradebook, _experiment(request),
                              params["question"], params["roll"], portal.anonymous_key)
    if page is None:
        raise HTTPException(404)
    asked = [r for r in portal.gradebook.regrade_requests(
        roll=page.roll, experiment=page.experiment.id, open_only=True)
        if r.question == page.question]
    return render(request, "portal/marking.html", status, page=page, error=error, asked=asked)


@requires("instructor")
async def save_mark(request: Request) -> Response:
    portal = _portal(request)
    user = request.user
    form = await form_of(request)
    params = request.path_params
    experiment_id, question, key = _experiment(request), params["question"], params["roll"]
    page = await run_in_threadpool(pages.marking_page, portal.course, portal.gradebook,
                                   experiment_id, question, key, portal.anonymous_key)
    if page is None:
        raise HTTPException(404)
    roll = page.roll
    try:
        points = float(str(form.get("points", "")).strip())
        await run_in_threadpool(portal.gradebook.set_manual_mark, roll, experiment_id, question,
                                points, page.max_points, user.name, str(form.get("note", ""))[:2000])
    except (ValueError, DlkitError) as exc:
        message = exc.message if isinstance(exc, DlkitError) else \
            f"give the mark as a number from 0 to {page.max_points:g}"
        return await run_in_threadpool(marking, request, 422, message)
    target = page.next if form.get("go") != "stay" and page.next else key
    return redirect(request, f"/i/{experiment_id}/mark/{question}/{target}",
                    f"saved {points:g}/{page.max_points:g} for "
                    f"{page.key if page.anonymous else roll} ({question})")


@requires("instructor")
async def regrade(request: Request) -> Response:
    portal = _portal(request)
    await form_of(request)
    submission = await run_in_threadpool(portal.gradebook.submission,
                                         request.path_params["submission"])
    if submission is None or submission.status != "stored":
        raise HTTPException(404)
    queued = await run_in_threadpool(portal.gradebook.enqueue, submission.id)
    return redirect(request, f"/i/{submission.experiment}/runs/{submission.id}",
                    f"submission {submission.id} queued for grading again" if queued else
                    f"submission {submission.id} is already queued or being graded")


@requires("instructor")
async def pin(request: Request) -> Response:
    """Make a version the one that counts for its student ("this one counts"), or unpin."""
    portal = _portal(request)
    user = request.user
    form = await form_of(request)
    keep = form.get("action") != "unpin"
    try:
        row = await run_in_threadpool(functools.partial(
            portal.gradebook.pin, request.path_params["submission"], user.name, pinned=keep))
    except DlkitError:
        raise HTTPException(404) from None
    return redirect(request, f"/i/{row.experiment}/runs/{row.id}",
                    f"version {row.version} of {row.student_roll} counts now" if keep else
                    f"{row.student_roll}'s newest version counts again")


@requires("instructor")
async def regrade_all(request: Request) -> Response:
    portal = _portal(request)
    await form_of(request)
    experiment_id = _experiment(request)
    latest = await run_in_threadpool(portal.gradebook.latest_submissions, experiment_id)
    plan = await run_in_threadpool(portal.regrade_plan, experiment_id, latest)
    queued = [await run_in_threadpool(portal.gradebook.enqueue, sub.id) for sub in latest]
    return redirect(request, f"/i/{experiment_id}",
                    f"{sum(queued)} submission(s) queued for grading again ({plan.describe()}); "
                    f"{len(queued) - sum(queued)} were already queued or running")


@requires("instructor")
def instructor_student(request: Request, status: int = 200, error: str = "") -> Response:
    portal = _portal(request)
    page = pages.student_page(portal.gradebook, request.path_params["roll"],
                              list(portal.schedule().assignments))
    if page is None:
        raise HTTPException(404)
    dues = {row.assignment.id: portal.due_for(page.roll, row.assignment) for row in page.rows}
    return render(request, "portal/instructor_student.html", status, page=page, dues=dues,
                  error=error)


@requires("instructor")
async def extend(request: Request) -> Response:
    """A later deadline for one student (as `dlkit roster extend`)."""
    from dlkit.roster import extend_deadline

    portal = _portal(request)
    user = request.user
    form = await form_of(request)
    roll = request.path_params["roll"]
    experiment_id = str(form.get("experiment", ""))
    if portal.schedule().get(experiment_id) is None:
        raise HTTPException(404)
    try:
        until = dt.datetime.fromisoformat(str(form.get("until", "")).strip())
        extension = await run_in_threadpool(
            functools.partial(extend_deadline, portal.gradebook, roll, experiment_id,
                              until.replace(tzinfo=None), course_folder=portal.course,
                              by=user.name, note=str(form.get("note", ""))[:500]))
    except ValueError:
        return await run_in_threadpool(instructor_student, request, 422,
                                       "give the new deadline as a date and time")
    return redirect(request, f"/i/students/{roll}", f"{roll} has until "
                    f"{portal.clock.show(extension.until)} for {experiment_id}")


@requires("instructor")
async def sign_student_out(request: Request) -> Response:
    """End every session of one student at once (a shared lab PC left logged in)."""
    portal = _portal(request)
    await form_of(request)
    roll = request.path_params["roll"]
    if await run_in_threadpool(pages.student_page, portal.gradebook, roll, []) is None:
        raise HTTPException(404)
    ended = await run_in_threadpool(portal.gradebook.end_sessions, roll, "signed out by the "
                                                                       "instructor")
    return redirect(request, f"/i/students/{roll}", f"{roll} signed out ({ended} session(s) "
                                                    "ended)")


@requires("instructor")
def requests_page(request: Request) -> Response:
    portal = _portal(request)
    return render(request, "portal/requests.html",
                  requests=portal.gradebook.regrade_requests())


@requires("instructor")
def request_page(request: Request, status: int = 200, error: str = "") -> Response:
    portal = _portal(request)
    page = pages.request_page(portal.gradebook, request.path_params["request"])
    if page is None:
        raise HTTPException(404)
    secret = portal.anonymous_key
    key = pages.anonymous_code(secret, page.experiment.id, page.request.student_roll) \
        if secret else page.request.student_roll
    return render(request, "portal/request.html", status, page=page, error=error, mark_key=key)


@requires("instructor")
async def answer_request(request: Request) -> Response:
    portal = _portal(request)
    user = request.user
    form = await form_of(request)
    page = await run_in_threadpool(pages.request_page, portal.gradebook,
                                   request.path_params["request"])
    if page is None:
        raise HTTPException(404)
    text = str(form.get("points", "")).strip()
    try:
        points = float(text) if text else None
        if points is not None and page.max_points is None:
            raise DlkitError(f"{page.request.question} is marked by the tests: answer with a "
                             "note (or regrade the run)")
        await run_in_threadpool(portal.gradebook.answer_regrade, page.request.id, user.name,
                                str(form.get("answer", ""))[:5000], points, page.max_points)
    except ValueError:
        return await run_in_threadpool(request_page, request, 422,
                                       f"give the mark as a number from 0 to "
                                       f"{page.max_points or 0:g}")
    except DlkitError as exc:
        return await run_in_threadpool(request_page, request, 422, exc.message)
    return redirect(request, "/i/requests", f"answered {page.request.student_roll}'s request "
                                            f"about {page.request.question}")


@requires("instructor")
def queue_page(request: Request) -> Response:
    portal = _portal(request)
    return render(request, "portal/queue.html", queue=pages.queue_view(portal.gradebook, 25),
                  health=_health(portal))


@requires("instructor")
def export_csv(request: Request) -> Response:
    from dlkit.export import export_grades

    portal = _portal(request)
    (path,) = export_grades(None, fmt="csv", course=portal.course, gradebook=portal.gradebook,
                            out=portal.course / "exports")
    return FileResponse(path, media_type="text/csv", filename="grades.csv",
                        headers={"Cache-Control": "no-store"})


@requires("instructor")
def similarity_file(request: Request) -> Response:
    portal = _portal(request)
    folder = (portal.course / "reports" / "similarity" / _experiment(request)).resolve()
    path = (folder / (request.path_params["path"] or "index.html")).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        raise HTTPException(404)
    if path == folder / "index.html":  # the same report inside the portal's layout
        from dlkit.reports.similarity import similarity_page_context

        context = similarity_page_context(folder)
        if context is not None:
            return render(request, "portal/similarity.html", **context)
    return FileResponse(path, headers={"Content-Security-Policy": REPORT_CSP,
                                       "Cache-Control": "no-store"})


def _health(portal: Portal):
    return portal.supervisor.health() if portal.supervisor is not None else None


# --------------------------------------------------------------------------- errors

async def http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code in (301, 302, 303, 307) and exc.headers:
        return RedirectResponse(exc.headers["Location"], status_code=exc.status_code)
    if "state" not in request.scope or "session" not in request.scope:
        return Response(exc.detail or "error", status_code=exc.status_code)
    words = {404: "Not found", 403: "Refused", 405: "Not allowed"}.get(exc.status_code, "Error")
    detail = exc.detail if exc.status_code != 404 else "There is no such page for you."
    return render(request, "portal/error.html", exc.status_code, heading=words, detail=detail)


async def body_too_large(request: Request, exc: BodyTooLarge) -> Response:
    return Response(f"request too large (over {exc.limit} bytes)", status_code=413)


async def dlkit_error(request: Request, exc: DlkitError) -> Response:
    return render(request, "portal/error.html", 400, heading="Error", detail=exc.message)


# --------------------------------------------------------------------------- middleware

class SecurityHeaders:
    """CSP with a per-response nonce for the page's one style block, and the usual headers."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = CSP.format(nonce=nonce)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "same-origin"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SameOrigin:
    """Every unsafe request (POST, PUT, PATCH, DELETE) from another site is refused: its
    ``Origin`` (or, without one, ``Sec-Fetch-Site``) must be this portal's. The forms' CSRF token
    is checked as well (:func:`form_of`)."""

    UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] in self.UNSAFE and not same_origin(scope):
            await PlainTextResponse("cross-site request refused", status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def same_origin(scope) -> bool:
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    origin = headers.get("origin")
    if origin:
        return origin != "null" and origin.split("://", 1)[-1] == headers.get("host", "")
    return headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


class BodyLimit:
    """Requests may send at most ``upload`` bytes to an upload route and ``default`` elsewhere;
    more raises :class:`BodyTooLarge` while the body is read."""

    def __init__(self, app, default: int, upload: int) -> None:
        self.app, self.default, self.upload = app, default, upload

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload if scope["path"].endswith("/upload") else self.default
        total = 0

        async def limited():
            nonlocal total
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited, send)


#: every page: those under /s are the students', those under /i the instructor's (:func:`requires`)
ROUTES = [
    Route("/", home),
    Route("/login", login, methods=["GET", "POST"]),
    Route("/instructor/login", instructor_login, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
    Route("/s", student_home),
    Route("/s/submissions/{submission:int}", submission_page),
    Route("/s/submissions/{submission:int}/status", submission_status),
    Route("/s/submissions/{submission:int}/regrade", ask_regrade, methods=["POST"]),
    Route("/s/exam", student_exam),
    Route("/s/exam/upload", exam_upload, methods=["POST"]),
    Route("/s/exam/starter.ipynb", functools.partial(exam_starter, kind="ipynb")),
    Route("/s/exam/starter.zip", functools.partial(exam_starter, kind="zip")),
    Route("/s/{experiment}", student_experiment),
    Route("/s/{experiment}/upload", upload, methods=["POST"]),
    Route("/s/{experiment}/starter.ipynb", functools.partial(starter, kind="ipynb")),
    Route("/s/{experiment}/starter.zip", functools.partial(starter, kind="zip")),
    Route("/i", instructor_home),
    Route("/i/queue", queue_page),
    Route("/i/requests", requests_page),
    Route("/i/requests/{request:int}", request_page, methods=["GET"]),
    Route("/i/requests/{request:int}", answer_request, methods=["POST"]),
    Route("/i/export.csv", export_csv),
    Route("/i/regrade/{submission:int}", regrade, methods=["POST"]),
    Route("/i/pin/{submission:int}", pin, methods=["POST"]),
    Route("/i/exam", exam_slots, methods=["GET"]),
    Route("/i/exam", open_slot, methods=["POST"]),
    Route("/i/exam/{slot:int}", exam_live),
    Route("/i/exam/{slot:int}/close", close_slot, methods=["POST"]),
    Route("/i/students/{roll}", instructor_student),
    Route("/i/students/{roll}/signout", sign_student_out, methods=["POST"]),
    Route("/i/students/{roll}/extend", extend, methods=["POST"]),
    Route("/i/{experiment}", instructor_experiment),
    Route("/i/{experiment}/regrade", regrade_all, methods=["POST"]),
    Route("/i/{experiment}/runs/{submission:int}", run_page),
    Route("/i/{experiment}/notebook/{submission:int}", notebook_page),
    Route("/i/{experiment}/mark/{question}", first_to_mark),
    Route("/i/{experiment}/mark/{question}/{roll}", marking, methods=["GET"]),
    Route("/i/{experiment}/mark/{question}/{roll}", save_mark, methods=["POST"]),
    Route("/i/{experiment}/similarity/{path:path}", similarity_file),
]


# --------------------------------------------------------------------------- the app

def create_app(settings: Settings, *, start_workers: bool = True) -> Starlette:
    """The portal for ``settings.course``; with ``start_workers`` its grading workers start and
    stop with the application (``settings.workers`` of them; 0: none)."""
    from dlkit.portal.supervisor import Supervisor

    supervisor = Supervisor.planned(settings.course, workers=settings.workers, gpus=settings.gpus,
                                    memory_gb=settings.memory_gb) \
        if start_workers and settings.workers != 0 else None
    portal = Portal(settings, supervisor)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if supervisor is not None:
            supervisor.start()
        try:
            yield
        finally:
            if supervisor is not None:
                await run_in_threadpool(supervisor.stop)

    middleware = [
        Middleware(SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=portal.state.secret_key(),
                   session_cookie="dlkit_session", max_age=int(settings.session_hours * 3600),
                   same_site="lax", https_only=settings.behind_https),
        Middleware(SameOrigin),
        Middleware(AuthenticationMiddleware, backend=SessionUsers()),
        Middleware(BodyLimit, default=FORM_BYTES, upload=settings.upload_bytes + MB),
    ]
    app = Starlette(routes=ROUTES, middleware=middleware, lifespan=lifespan, exception_handlers={
        HTTPException: http_error, BodyTooLarge: body_too_large, DlkitError: dlkit_error})
    app.state.portal = portal
    return app
