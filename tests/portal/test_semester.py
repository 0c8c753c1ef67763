"""The portal through a semester (issue 24): log-in delays that lock nobody out and survive a
restart, the upload cap that counts versions and not refusals, sessions that end, one clock.

In process (Starlette's TestClient, with the connecting address set per client) except the
per-address test, which runs ``dlkit serve`` and sends from 127.0.0.2 with httpx.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from dlkit.gradebook import LoginThrottle, PortalSession, Student, Submission
from dlkit.portal.auth import delay_after, issue_code

from .conftest import main_text
from .test_http import TOY_RESULTS, grade, stored

CLASS = [f"2{n:02d}" for n in range(8)]


@pytest.fixture
def classroom(course):
    """The course with eight more students, who have codes too."""
    with course.gradebook.session() as s:
        s.add_all(Student(roll=roll, name=f"Student {roll}", batch="B3") for roll in CLASS)
    course.codes.update({roll: issue_code(course.gradebook, roll) for roll in CLASS})
    return course


def age_failures(course, seconds: float) -> None:
    """Move every recorded failure ``seconds`` into the past (the clock going on)."""
    with course.gradebook.session() as s:
        for row in s.scalars(select(LoginThrottle)):
            row.last_at -= dt.timedelta(seconds=seconds)


# --------------------------------------------------------------------------- log-in delays

def test_delays_grow_with_failures_and_are_bounded():
    assert [delay_after(n) for n in range(1, 8)] == [0, 0, 0, 10, 20, 40, 80]
    assert delay_after(100) == 15 * 60


def test_a_class_failing_behind_one_address_locks_out_neither_the_instructor_nor_a_student(
        portal, classroom):
    lab = portal(address="10.1.1.1")  # the lab's NAT: every student shares this address
    for roll in CLASS:
        for _ in range(5):
            assert lab.login(roll, "WRONG-CODE-00").status_code in (401, 429)
    assert lab.login(CLASS[0], classroom.codes[CLASS[0]]).status_code == 429  # that roll waits
    instructor = portal(address="10.1.1.1")
    assert instructor.login_instructor().url.path == "/i"
    fresh = portal(address="10.1.1.1")
    assert fresh.login("103", classroom.codes["103"]).url.path == "/s"


def test_a_classmate_cannot_lock_a_student_out_and_a_restart_keeps_the_delays(portal, course):
    rival = portal(address="10.0.0.66")
    responses = [rival.login("101", "WRONG-CODE-00") for _ in range(6)]
    assert [r.status_code for r in responses[:3]] == [401, 401, 401]
    assert "try again in 10 s" in main_text(responses[3])
    blocked = portal(address="10.0.0.66").login("101", course.codes["101"])  # a restart
    assert blocked.status_code == 429 and "too many failed attempts" in main_text(blocked)
    owner = portal(address="10.0.0.7")  # the real student, from their own machine
    assert owner.login("101", course.codes["101"]).url.path == "/s"
    age_failures(course, 60)  # a delay, not a lock: once it has passed, the right code works
    assert portal(address="10.0.0.66").login("101", course.codes["101"]).url.path == "/s"
    with course.gradebook.session() as s:  # ...and the success cleared that key's count
        assert not [row.key for row in s.scalars(select(LoginThrottle)) if "101" in row.key]


def test_student_failures_never_delay_the_instructor_and_the_instructor_waits_alone(portal):
    shared = portal(address="10.2.2.2")
    for attempt in range(40):
        shared.login(f"9{attempt:02d}", "WRONG-CODE-00")  # unknown rolls share one key
    assert portal(address="10.2.2.2").login_instructor().url.path == "/i"
    for _ in range(4):
        portal(address="10.2.2.2").login_instructor(password="wrong password")
    assert portal(address="10.2.2.2").login_instructor().status_code == 429
    assert portal(address="10.2.2.3").login_instructor().url.path == "/i"


def test_forwarded_for_is_believed_only_from_the_proxy_the_course_trusts(portal, course):
    spoofer = portal(address="10.3.3.3")
    for n in range(4):  # a forged header from an untrusted peer changes nothing
        spoofer.login("101", "WRONG-CODE-00", headers={"x-forwarded-for": f"192.0.2.{n}"})
    assert spoofer.login("101", course.codes["101"],
                         headers={"x-forwarded-for": "192.0.2.200"}).status_code == 429
    (course.folder / "portal.yml").write_text(
        "experiments:\n  toy: {}\nforwarded_allow_ips: [10.9.9.9]\n")
    proxy = portal(address="10.9.9.9")
    for _ in range(4):
        proxy.login("102", "WRONG-CODE-00", headers={"x-forwarded-for": "198.51.100.1"})
    assert portal(address="10.9.9.9").login(
        "102", course.codes["102"], headers={"x-forwarded-for": "198.51.100.1"}).status_code == 429
    assert portal(address="10.9.9.9").login(
        "102", course.codes["102"], headers={"x-forwarded-for": "198.51.100.2"}).url.path == "/s"


def test_per_address_delays_on_a_real_server(server, course):
    """httpx sending from 127.0.0.2 is another machine to ``dlkit serve``."""
    running = server(workers=0)
    other_machine = running.client(address="127.0.0.2")
    for _ in range(5):
        other_machine.login("101", "WRONG-CODE-00")
    assert other_machine.login("101", course.codes["101"]).status_code == 429
    assert running.client(address="127.0.0.1").login("101", course.codes["101"]).url.path == "/s"
    running.stop()
    restarted = server(workers=0)
    assert restarted.client(address="127.0.0.2").login("101", course.codes["101"]) \
        .status_code == 429


# --------------------------------------------------------------------------- uploads

HTML_RENAMED = b"\n<!DOCTYPE html><html><body>my notebook</body></html>"


def test_refused_files_do_not_count_against_the_upload_cap(portal, course):
    client = portal()
    client.login("101", course.codes["101"])
    for _ in range(10):
        refused = client.upload("toy", "work.ipynb", HTML_RENAMED)
        assert refused.status_code == 422
    text = main_text(refused)
    assert "an HTML page" in text and "you may upload a corrected file now" in text
    accepted = client.upload("toy", "work.ipynb", course.notebook())
    assert "version 1: stored and queued for grading" in main_text(accepted)
    assert [row.version for row in stored(course)] == [1]


def test_the_caps_say_when_uploads_reopen(portal, course):
    (course.folder / "course.yml").write_text("time_zone: Asia/Kolkata\n")
    (course.folder / "portal.yml").write_text(
        "experiments:\n  toy: {}\nuploads_per_hour: 2\nrefusals_per_hour: 3\n")
    client = portal()
    client.login("101", course.codes["101"])
    for version in (1, 2):
        client.upload("toy", "a.ipynb", course.notebook(edit=("# Toy", f"# Toy {version}")))
        grade(course, stored(course)[-1].id)
    third = main_text(client.upload("toy", "a.ipynb", course.notebook(edit=("# Toy", "# 3"))))
    first = stored(course)[0].collected_at + dt.timedelta(hours=1, minutes=330)  # UTC+5:30
    assert "at most 2 new versions an hour" in third
    assert f"you may upload again at {first:%Y-%m-%d %H:%M} IST (in " in third
    other = portal()
    other.login("102", course.codes["102"])
    answers = [main_text(other.upload("toy", "w.ipynb", HTML_RENAMED)) for _ in range(4)]
    assert "you may upload a corrected file now" in answers[1]
    assert "you may upload again at" in answers[2] and "IST" in answers[2]
    assert "3 files were refused in the last hour (at most 3)" in answers[3]
    with course.gradebook.session() as s:  # the fourth was refused before it was read
        assert len(s.scalars(select(Submission).where(Submission.student_roll == "102")).all()) \
            == 3


# --------------------------------------------------------------------------- sessions

def cookie_of(client) -> str:
    return client.http.cookies["dlkit_session"]


def test_a_cookie_copied_before_logout_is_refused_after_it(portal, course):
    first = portal()
    first.login("101", course.codes["101"])
    copied = cookie_of(first)
    first.post("/logout", form_page="/s")
    replay = portal()
    replay.http.cookies.set("dlkit_session", copied)
    assert replay.get("/s").url.path == "/login"
    with course.gradebook.session() as s:
        (row,) = s.scalars(select(PortalSession)).all()
        assert (row.roll, row.revoked_why) == ("101", "logged out")
        assert copied not in row.id  # only the token's hash is kept


def test_reissue_and_the_instructors_sign_out_end_sessions_at_once(portal, course):
    student = portal()
    student.login("102", course.codes["102"])
    instructor = portal()
    instructor.login_instructor()
    page = main_text(instructor.get("/i/students/102"))
    assert "Rohan Deshmukh (102)" in page and "1 open session(s)" in page
    done = instructor.post("/i/students/102/signout", form_page="/i/students/102")
    assert "102 signed out (1 session(s) ended)" in main_text(done)
    assert student.get("/s").url.path == "/login"
    assert instructor.get("/i/students/999").status_code == 404
    again = portal()
    again.login("102", course.codes["102"])
    from click.testing import CliRunner

    from dlkit.cli import main

    result = CliRunner().invoke(main, ["roster", "codes", "--student", "102", "--reissue",
                                       "--course", str(course.folder), "--no-pdf"])
    assert result.exit_code == 0, result.output
    assert again.get("/s").url.path == "/login"


def test_an_idle_session_expires_after_an_hour(portal, course):
    client = portal()
    client.login("101", course.codes["101"])
    assert client.get("/s").url.path == "/s"
    with course.gradebook.session() as s:
        for row in s.scalars(select(PortalSession)):
            row.last_seen -= dt.timedelta(minutes=61)
    assert client.get("/s").url.path == "/login"
    with course.gradebook.session() as s:
        assert s.scalars(select(PortalSession.revoked_why)).one() == "expired"


# --------------------------------------------------------------------------- one clock

def test_every_time_is_in_the_course_zone_and_labelled(portal, course):
    (course.folder / "course.yml").write_text("time_zone: Asia/Kolkata\n")
    (course.folder / "portal.yml").write_text(
        'experiments:\n  toy: {due: "2030-01-18 17:00"}\n')
    client = portal()
    client.login("101", course.codes["101"])
    client.upload("toy", "a.ipynb", course.notebook())
    (row,) = stored(course)
    grade(course, row.id)
    arrived = f"{row.arrived_at + dt.timedelta(hours=5, minutes=30):%Y-%m-%d %H:%M} IST"
    home = main_text(client.get("/s"))
    assert "2030-01-18 17:00 IST" in home and "times in Asia/Kolkata (IST)" in home
    assert "UTC" not in home
    assert arrived in main_text(client.get("/s/toy"))
    feedback = main_text(client.get(f"/s/submissions/{row.id}"))
    assert arrived in feedback and "UTC" not in feedback
    assert row.due_at == dt.datetime(2030, 1, 18, 11, 30)  # the gradebook keeps UTC
    instructor = portal()
    instructor.login_instructor()
    run = main_text(instructor.get(f"/i/toy/runs/{row.id}"))
    assert arrived in run and "UTC" not in run
    assert "2030-01-18 17:00 IST" in main_text(instructor.get("/i/toy"))
    sheet = instructor.get("/i/export.csv").text.splitlines()
    assert "toy arrived (Asia/Kolkata)" in sheet[0]
    assert any(line.startswith("101,") and arrived in line for line in sheet)


# --------------------------------------------------------------------------- deadlines

def test_an_extension_lets_an_upload_in_and_the_late_policy_is_the_same_everywhere(
        portal, course, tmp_path):
    """The course file plans the toy ten days ago (due at the end of that day); uploads close
    3 days after a student's deadline; a day late costs half the timely mark and 1 mark."""
    from click.testing import CliRunner
    from pypdf import PdfReader

    from dlkit.cli import main
    from dlkit.reports.course import load_course, student_records
    from dlkit.reports.termwork import write_term_work

    zone = dt.timezone(dt.timedelta(hours=5, minutes=30))
    today = dt.datetime.now(zone).date()
    (course.folder / "course.yml").write_text(
        "time_zone: Asia/Kolkata\n"
        f"experiments:\n  - {{id: toy, number: 0, title: Toy experiment, "
        f"planned: {today - dt.timedelta(days=10)}}}\n"
        "late_policy: {grace_days: 0, half_credit_days: 30, closes_after_days: 3, "
        "marks_off_per_day: 1}\n")
    asha, rohan = portal(), portal()
    asha.login("101", course.codes["101"])
    closed = asha.upload("toy", "a.ipynb", course.notebook())
    assert closed.status_code == 422 and "uploads closed at" in main_text(closed)
    assert "ask your instructor for an extension" in main_text(closed) and stored(course) == []

    until = dt.datetime.combine(today + dt.timedelta(days=2), dt.time(17, 0))
    result = CliRunner().invoke(main, ["roster", "extend", "101", "toy", "--until",
                                       f"{until:%Y-%m-%d %H:%M}", "--course", str(course.folder),
                                       "--by", "Prof. Rao", "--note", "medical certificate"])
    assert result.exit_code == 0, result.output
    assert f"{until:%Y-%m-%d %H:%M} IST (your extension" in main_text(asha.get("/s/toy"))
    assert "version 1: stored" in main_text(asha.upload("toy", "a.ipynb", course.notebook()))

    instructor = portal()  # 102's extension, through the instructor's page: it passed an hour ago
    instructor.login_instructor()
    passed = dt.datetime.now(zone).replace(tzinfo=None) - dt.timedelta(hours=1)
    granted = instructor.post("/i/students/102/extend", form_page="/i/students/102", data={
        "experiment": "toy", "until": f"{passed:%Y-%m-%dT%H:%M}", "note": "sports meet"})
    assert f"102 has until {passed:%Y-%m-%d %H:%M} IST for toy" in main_text(granted)
    rohan.login("102", course.codes["102"])
    late = main_text(rohan.upload("toy", "b.ipynb", course.notebook(edit=("# Toy", "# Toy 2"))))
    assert "version 1, late by 1 h" in late
    for submission in stored(course):
        grade(course, submission.id)

    # the tests give 3/5 -> 3 of 5 performance marks, methodology 2 (no manual rubric), no
    # write-up yet; 101 on time (+1 timely); 102 a day late (+0.5 timely, 1 mark off)
    expected = {"101": "6", "102": "4.5"}
    for roll, client in (("101", asha), ("102", rohan)):
        assert f"{expected[roll]} / 10" in main_text(client.get("/s"))
    sheet = {line.split(",")[0]: line for line in instructor.get("/i/export.csv").text.splitlines()}
    header = sheet["roll"].split(",")
    for roll, marks in expected.items():
        assert sheet[roll].split(",")[header.index("toy marks /10")] == marks
    records = student_records(course.gradebook, load_course(folder=course.folder),
                              course_folder=course.folder, batch="B1")
    pdfs = [p for p in write_term_work(records, load_course(folder=course.folder), tmp_path,
                                       progress=False) if p.suffix == ".pdf"]
    text = {p.stem: " ".join(page.extract_text() for page in PdfReader(p).pages).split()
            for p in pdfs}
    assert "6.00" in text["101"] and "4.50" in text["102"]
    rohan_text = " ".join(text["102"])
    assert "late by 1 day(s) after the extension" in rohan_text and "1 mark(s) off" in rohan_text
    assert "on time (extended to" in " ".join(text["101"])


# --------------------------------------------------------------------------- regrade requests

def test_regrade_requests_are_the_students_own_and_round_trip_in_the_gradebook(portal, course):
    from dlkit.gradebook import ManualMark, RegradeRequest

    asha = portal()
    asha.login("101", course.codes["101"])
    asha.upload("toy", "a.ipynb", course.notebook())
    (row,) = stored(course)
    grade(course, row.id)
    page = f"/s/submissions/{row.id}"
    feedback = main_text(asha.get(page))
    assert "Ask your instructor to look again" in feedback
    assert "Say in one sentence why we centre data. (q3_words)" in feedback  # by its title
    empty = asha.post(f"{page}/regrade", form_page=page, data={"question": "q3_words",
                                                               "text": "  "})
    assert empty.status_code == 422 and "say what you would like checked" in main_text(empty)
    sent = asha.post(f"{page}/regrade", form_page=page, data={
        "question": "q3_words", "text": "I wrote <b>why</b> in the second cell."})
    assert "your request about q3_words was sent" in main_text(sent)
    assert "I wrote <b>why</b> in the second cell." in main_text(sent)  # shown as text
    assert "<b>why</b>" not in sent.text
    made_up = asha.post(f"{page}/regrade", form_page=page, data={"question": "q9_<script>",
                                                                 "text": "please"})
    assert made_up.status_code == 422 and "choose one of the questions" in main_text(made_up)
    again = asha.post(f"{page}/regrade", form_page=page, data={"question": "q3_words",
                                                               "text": "please"})
    assert again.status_code == 422 and "already asked about q3_words" in main_text(again)
    other = portal()
    other.login("102", course.codes["102"])
    assert other.post(f"{page}/regrade", form_page="/s", data={
        "question": "q3_words", "text": "mine now"}).status_code == 404

    instructor = portal()
    instructor.login_instructor(name="Prof. Rao")
    assert "1 regrade request(s)" in main_text(instructor.get("/i"))
    with course.gradebook.session() as s:
        request_id = s.scalars(select(RegradeRequest.id)).one()
    marking = main_text(instructor.get("/i/toy/mark/q3_words/101"))
    assert "Regrade request from 101" in marking and "second cell" in marking
    too_much = instructor.post(f"/i/requests/{request_id}", data={"answer": "", "points": "3"})
    assert too_much.status_code == 422 and "3 is not between 0 and 1" in main_text(too_much)
    done = instructor.post(f"/i/requests/{request_id}", data={
        "answer": "You are right: full mark.", "points": "1"})
    assert "answered 101's request about q3_words" in main_text(done)
    with course.gradebook.session() as s:
        mark = s.scalars(select(ManualMark)).one()
        assert (mark.item, mark.points, mark.by) == ("q3_words", 1.0, "Prof. Rao")
    answered = main_text(asha.get(page))
    assert "Answer from Prof. Rao" in answered and "You are right: full mark." in answered
    assert "new mark 1" in answered

    asha.post(f"{page}/regrade", form_page=page, data={"question": "q1_mean",
                                                       "text": "the hidden test?"})
    with course.gradebook.session() as s:
        auto_id = max(s.scalars(select(RegradeRequest.id)))
    refused = instructor.post(f"/i/requests/{auto_id}", data={"answer": "", "points": "1"})
    assert refused.status_code == 422 and "marked by the tests" in main_text(refused)
    noted = instructor.post(f"/i/requests/{auto_id}", data={"answer": "The test is right."})
    assert "answered" in main_text(noted)


# --------------------------------------------------------------------------- which version counts

def test_a_new_upload_is_announced_and_the_instructor_can_pin_a_version(portal, course):
    asha = portal()
    asha.login("101", course.codes["101"])
    assert 'id="counts"' not in asha.get("/s/toy").text  # nothing graded: nothing to warn of
    asha.upload("toy", "a.ipynb", course.notebook())
    first = stored(course)[0]
    grade(course, first.id)
    warning = main_text(asha.get("/s/toy"))
    assert "Version 1 counts now: test points 3 / 5, marks 6 / 10" in warning
    assert "even if it scores less" in warning
    asha.upload("toy", "b.ipynb", course.notebook(edit=("# Toy", "# Toy 2")))
    second = stored(course)[-1]
    grade(course, second.id, [{**r, "points": 0.0, "passed": False} for r in TOY_RESULTS])
    assert "Version 2 counts now: test points 0 / 5" in main_text(asha.get("/s/toy"))

    instructor = portal()
    instructor.login_instructor()
    pinned = instructor.post(f"/i/pin/{first.id}", form_page=f"/i/toy/runs/{first.id}",
                             data={"action": "pin"})
    assert "version 1 of 101 counts now" in main_text(pinned)
    assert "This version counts (pinned)" in main_text(pinned)
    assert "Your instructor chose version 1 to count" in main_text(asha.get("/s/toy"))
    assert "101 Asha Kulkarni v1 graded" in main_text(instructor.get("/i/toy"))
    sheet = instructor.get("/i/export.csv").text.splitlines()
    assert any(line.startswith("101,") and ",3,,3," in line for line in sheet)  # version 1's
    instructor.post(f"/i/pin/{first.id}", form_page=f"/i/toy/runs/{first.id}",
                    data={"action": "unpin"})
    assert "Version 2 counts now" in main_text(asha.get("/s/toy"))
    assert course.gradebook.latest_submissions("toy")[0].id == second.id  # what grading sees


def test_anonymous_marking_shows_a_code_instead_of_roll_and_name(portal, course):
    from dlkit.gradebook import ManualMark

    for roll in ("101", "102"):
        student = portal()
        student.login(roll, course.codes[roll])
        student.upload("toy", f"{roll}.ipynb", course.notebook(edit=("# Toy", f"# Toy {roll}")))
    (course.folder / "portal.yml").write_text("experiments:\n  toy: {}\nanonymous_marking: true\n")
    instructor = portal()
    instructor.login_instructor()
    first = instructor.get("/i/toy/mark/q3_words")
    key = first.url.path.rsplit("/", 1)[-1]
    assert key.startswith("A") and len(key) == 8
    text = main_text(first).split("Log out", 1)[1]
    for secret in ("101", "102", "Asha", "Rohan"):
        assert secret not in text and secret not in first.url.path
    assert f"student {key}" in text
    assert instructor.get("/i/toy/mark/q3_words/101").status_code == 404  # rolls do not work
    saved = instructor.post(f"/i/toy/mark/q3_words/{key}", data={"points": "1"})
    assert f"saved 1/1 for {key} (q3_words)" in main_text(saved)
    with course.gradebook.session() as s:
        mark = s.scalars(select(ManualMark)).one()  # recorded for the real student
        assert mark.student_roll in ("101", "102")
    assert main_text(portal().get("/login"))  # the same code in a fresh app (a restart)
    again = portal()
    again.login_instructor()
    assert again.get("/i/toy/mark/q3_words").url.path.endswith(key)
