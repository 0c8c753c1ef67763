"""The portal over HTTP, in process and without grading workers: every route and every refusal.

Runs that a grader would write are recorded here with the coordinator's own ``record_run`` (the
grading itself is tested in test_queue.py and the browser test).
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile

import nbformat
import pytest
from sqlalchemy import func, select

from dlkit.gradebook import ManualMark, Submission
from dlkit.grading.tasks import Outcome
from dlkit.portal.auth import issue_code

from .conftest import PASSWORD, main_text

TOY_RESULTS = [
    {"question": "q1_mean", "test": 0, "hidden": False, "points": 1.0, "max_points": 1.0,
     "passed": True, "message": ""},
    {"question": "q1_mean", "test": 1, "hidden": True, "points": 0.0, "max_points": 2.0,
     "passed": False, "message": "subtract the mean of the data\nTraceback (most recent call "
                                 "last):\n  File \"secret_test.py\", line 3"},
    {"question": "q2_scale", "test": 0, "hidden": True, "points": 2.0, "max_points": 2.0,
     "passed": True, "message": ""},
]


def grade(course, submission_id: int, results=TOY_RESULTS, status: str = "graded",
          reason: str = "") -> None:
    """Record a run as the grading coordinator writes it (claim cleared, one transaction)."""
    course.gradebook.record_run(submission_id, Outcome(status, reason, 3.0, "cpu", "bubblewrap",
                                                         [dict(r) for r in results], host="test"))


def stored(course, roll: str | None = None) -> list[Submission]:
    with course.gradebook.session() as s:
        query = select(Submission).where(Submission.status == "stored")
        if roll:
            query = query.where(Submission.student_roll == roll)
        return list(s.scalars(query.order_by(Submission.id)))


def submitted_files(course) -> list[str]:
    folder = course.folder / "submissions"
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# --------------------------------------------------------------------------- sessions and login

def test_pages_carry_csp_and_a_signed_httponly_samesite_session(portal):
    client = portal()
    response = client.get("/login")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy.split("style-src")[0]
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'<style nonce="{nonce}">' in response.text and "<script>" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    cookie = response.headers["set-cookie"].lower()
    assert "dlkit_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert portal(behind_https=True).get("/login").headers["set-cookie"].lower().count("secure")


def test_student_logs_in_with_roll_and_code(portal, course):
    client = portal()
    assert client.get("/s").url.path == "/login"
    sloppy = " " + course.codes["101"].lower().replace("-", " ") + " "
    response = client.login("101", sloppy)
    assert response.url.path == "/s" and "Asha Kulkarni (101)" in response.text
    assert "Toy experiment" in main_text(response)


@pytest.mark.parametrize("roll, code", [("101", "AAAA-BBBB-CC"), ("999", "AAAA-BBBB-CC"),
                                        ("", ""), ("102", None)])
def test_wrong_codes_are_refused_alike(portal, course, roll, code):
    response = portal().login(roll, code if code is not None else course.codes["101"])
    assert response.status_code == 401
    assert "wrong roll number or access code" in main_text(response)


def test_forms_without_the_csrf_token_are_refused(portal, course):
    client = portal()
    client.get("/login")
    response = client.http.post("/login", data={"roll": "101", "code": course.codes["101"]})
    assert response.status_code == 403 and "form expired" in main_text(response)
    client.login("101", course.codes["101"])
    token_less = client.http.post("/s/toy/upload", files={"notebook": ("a.ipynb", b"{}")})
    assert token_less.status_code == 403 and stored(course) == []
    other_site = client.post("/logout", form_page="/s", headers={"origin": "http://evil.example"})
    assert other_site.status_code == 403


def test_every_unsafe_request_from_another_site_is_refused_before_its_route(portal, course):
    """The origin check is middleware: it holds for every route whatever its form, for a
    logged-in instructor too; without an Origin, the browser's Sec-Fetch-Site is read."""
    client = portal()
    client.login_instructor()
    for headers in ({"origin": "http://evil.example"}, {"origin": "null"},
                    {"sec-fetch-site": "cross-site"}):
        for path in ("/logout", "/i/toy/regrade", "/s/toy/upload", "/login"):
            refused = client.post(path, form_page="/i", headers=headers)
            assert refused.status_code == 403 and refused.text == "cross-site request refused", path
    allowed = client.post("/i/toy/regrade", form_page="/i", headers={"sec-fetch-site": "same-origin"})
    assert allowed.status_code == 200 and "queued for grading again" in allowed.text


def test_every_page_but_the_logins_names_its_role():
    """Each route under /s is the student's, each under /i the instructor's: a route added
    without ``@requires`` fails here."""
    from starlette.routing import Route

    from dlkit.portal.app import ROUTES

    for route in (r for r in ROUTES if isinstance(r, Route)):
        endpoint = getattr(route.endpoint, "func", route.endpoint)  # functools.partial
        area = re.match(r"^/(s|i)(/|$)", route.path)
        role = {"s": "student", "i": "instructor"}[area.group(1)] if area else None
        assert getattr(endpoint, "role", None) == role, route.path


def test_a_reissued_code_revokes_the_old_one_and_its_sessions(portal, course):
    client = portal()
    assert client.login("101", course.codes["101"]).url.path == "/s"
    new = issue_code(course.gradebook, "101")
    assert client.get("/s").url.path == "/login"  # the old code's session ended
    assert portal().login("101", course.codes["101"]).status_code == 401
    assert portal().login("101", new).url.path == "/s"


def test_logout_needs_a_post_with_the_token(portal, course):
    client = portal()
    client.login("101", course.codes["101"])
    assert client.get("/logout").status_code == 405
    assert client.post("/logout", form_page="/s").url.path == "/login"
    assert client.get("/s").url.path == "/login"


# --------------------------------------------------------------------------- students

def test_student_downloads_the_starter(portal, course):
    client = portal()
    client.login("101", course.codes["101"])
    released = course.experiment.root / "release" / "toy" / "toy.ipynb"
    notebook = client.get("/s/toy/starter.ipynb")
    assert notebook.content == released.read_bytes()
    assert 'filename="toy.ipynb"' in notebook.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(client.get("/s/toy/starter.zip").content)) as archive:
        assert sorted(archive.namelist()) == ["toy/tests/q1_mean.py", "toy/tests/q2_scale.py",
                                              "toy/toy.ipynb"]
    assert client.get("/s/toy/starter.exe").status_code == 404
    assert client.get("/s/exp9-unknown").status_code == 404


def test_upload_is_stored_by_hash_as_a_new_version_and_queued(portal, course):
    client = portal()
    client.login("101", course.codes["101"])
    response = client.upload("toy", "../../../etc/passwd.ipynb", course.notebook())
    assert response.url.path == "/s/toy"
    assert "version 1: stored and queued for grading" in main_text(response)
    (row,) = stored(course)
    assert (row.student_roll, row.version, row.queue, row.source) == ("101", 1, "queued", "portal")
    assert row.original_name == "passwd.ipynb"  # recorded, never used as a path
    assert row.path == f"submissions/toy/{row.sha256}.ipynb"
    assert submitted_files(course) == [f"{row.sha256}.ipynb"]
    assert not (course.folder.parent / "etc").exists()
    assert "queued" in main_text(response) and f"/s/submissions/{row.id}/status" in response.text


NOT_A_NOTEBOOK = {
    "damaged JSON": ("work.ipynb", b'{"cells": [', "damaged notebook: not valid JSON"),
    "a zip": ("work.zip", b"PK\x03\x04rest", "not a notebook (.zip)"),
    "a zip renamed": ("work.ipynb", b"PK\x03\x04" + b"\x00" * 50, "a zip file, not a notebook"),
    "an HTML export": ("work.html", b"<!DOCTYPE html><html>", "not a notebook (.html)"),
    "HTML renamed": ("work.ipynb", b"\n<!DOCTYPE html><html><body>", "an HTML page"),
    "empty": ("work.ipynb", b"", "empty file (0 bytes)"),
    "JSON, no notebook": ("work.ipynb", b'{"a": 1}', "has no 'nbformat' field"),
    "format 3": ("work.ipynb", b'{"nbformat": 3, "worksheets": []}', "notebook format 3"),
}


@pytest.mark.parametrize("name", NOT_A_NOTEBOOK)
def test_a_bad_file_gets_the_reason_and_stores_nothing(portal, course, name):
    filename, data, reason = NOT_A_NOTEBOOK[name]
    client = portal()
    client.login("102", course.codes["102"])
    response = client.upload("toy", filename, data)
    assert response.status_code == 422
    assert "upload refused:" in main_text(response) and reason in main_text(response)
    assert stored(course) == [] and submitted_files(course) == []


def test_uploads_over_the_size_limit_are_refused_unread(portal, course):
    client = portal(upload_bytes=1024 * 1024)
    client.login("101", course.codes["101"])
    padded = json.loads(course.notebook())
    padded["metadata"]["padding"] = "x" * (1024 * 1024 + 10)
    response = client.upload("toy", "big.ipynb", json.dumps(padded).encode())
    assert response.status_code == 422 and "file too large" in main_text(response)
    huge = client.upload("toy", "huge.ipynb", b"x" * (3 * 1024 * 1024))
    assert huge.status_code == 413 and "larger than 1 MB" in main_text(huge)
    assert stored(course) == [] and submitted_files(course) == []
    twenty = portal()
    twenty.login("102", course.codes["102"])
    assert "at most 20 MB" in main_text(twenty.get("/s/toy"))


def test_one_version_may_wait_in_the_queue(portal, course):
    client = portal()
    client.login("101", course.codes["101"])
    client.upload("toy", "a.ipynb", course.notebook())
    again = client.upload("toy", "b.ipynb", course.notebook(edit=("# Toy", "# Toy v2")))
    assert again.status_code == 422 and "version 1 is still waiting" in main_text(again)
    (first,) = stored(course)
    assert course.gradebook.claim(first.id, "grader:1")  # now it runs: a new one may wait
    assert client.upload("toy", "b.ipynb", course.notebook(edit=("# Toy", "# Toy v2"))).url.path \
        == "/s/toy"
    grade(course, first.id)
    grade(course, stored(course)[-1].id)
    same = client.upload("toy", "a.ipynb", course.notebook())
    assert same.status_code == 422 and "identical to version 1" in main_text(same)
    assert [s.version for s in stored(course)] == [1, 2]


def test_uploads_per_hour_are_capped(portal, course):
    client = portal(uploads_per_hour=2)
    client.login("101", course.codes["101"])
    for version in (1, 2):
        client.upload("toy", "a.ipynb", course.notebook(edit=("# Toy", f"# Toy {version}")))
        grade(course, stored(course)[-1].id)
    third = client.upload("toy", "a.ipynb", course.notebook(edit=("# Toy", "# Toy 3")))
    assert third.status_code == 422 and "at most 2 uploads an hour" in main_text(third)
    assert len(stored(course)) == 2


def test_status_follows_the_queue_and_the_feedback_page_shows_hints_only(portal, course):
    client = portal()
    client.login("101", course.codes["101"])
    client.upload("toy", "a.ipynb", course.notebook())
    (row,) = stored(course)
    status = client.get(f"/s/submissions/{row.id}/status").json()
    assert (status["state"], status["final"], status["ahead"]) == ("queued", False, 0)
    page = client.get(f"/s/submissions/{row.id}")
    assert 'data-poll="/s/submissions/' in page.text and '<script src="/static/poll.js">' in page.text
    assert client.get("/static/poll.js").status_code == 200
    course.gradebook.claim(row.id, "grader:1")
    assert client.get(f"/s/submissions/{row.id}/status").json()["state"] == "running"
    grade(course, row.id)
    status = client.get(f"/s/submissions/{row.id}/status").json()
    assert status == {"id": row.id, "version": 1, "state": "graded", "words": "graded",
                      "final": True, "ahead": None, "score": "3/5"}
    feedback = main_text(client.get(f"/s/submissions/{row.id}"))
    assert "3 / 5" in feedback and "2 of 3 tests passed; 1 hidden test(s) failed." in feedback
    assert "Hint: subtract the mean of the data" in feedback
    assert "Traceback" not in feedback and "secret_test" not in feedback
    assert "q3_words" in feedback and "not marked yet" in feedback
    course.gradebook.set_manual_mark("101", "toy", "q3_words", 1, 1, "Prof. Rao", "well put")
    assert "well put" in main_text(client.get(f"/s/submissions/{row.id}"))


def test_a_student_reaches_only_their_own_pages(portal, course):
    owner, other = portal(), portal()
    owner.login("101", course.codes["101"])
    owner.upload("toy", "a.ipynb", course.notebook())
    (row,) = stored(course)
    grade(course, row.id)
    other.login("102", course.codes["102"])
    for url in (f"/s/submissions/{row.id}", f"/s/submissions/{row.id}/status",
                "/s/submissions/999", "/i", "/i/toy", f"/i/toy/runs/{row.id}",
                f"/i/toy/notebook/{row.id}", "/i/toy/mark/q3_words/101", "/i/queue",
                "/i/export.csv", "/i/toy/similarity/index.html"):
        response = other.get(url)
        assert response.status_code == 404, url
        assert "Asha" not in response.text and "3 / 5" not in response.text
    assert other.post(f"/i/regrade/{row.id}", form_page="/s").status_code == 404
    assert "3 / 5" not in main_text(other.get("/s/toy")) and "Nothing uploaded" in \
        main_text(other.get("/s/toy"))


def test_a_broken_schedule_stops_the_server_with_the_reason(course):
    from click.testing import CliRunner

    from dlkit.cli import main

    (course.folder / "portal.yml").write_text("experiments:\n  exp9-nothing: {}\n")
    result = CliRunner().invoke(main, ["serve", "--course", str(course.folder)])
    assert result.exit_code == 1
    assert "Error: unknown experiment 'exp9-nothing'" in result.output and "portal.yml" in result.output


def test_experiments_not_open_are_not_found(portal, course):
    (course.folder / "portal.yml").write_text("experiments:\n  toy: {opens: 2999-01-01}\n")
    client = portal()
    client.login("101", course.codes["101"])
    assert "No experiment is open yet" in main_text(client.get("/s"))
    assert client.get("/s/toy").status_code == 404
    assert client.get("/s/toy/starter.ipynb").status_code == 404


# --------------------------------------------------------------------------- instructors

def test_instructor_logs_in_with_the_password_and_a_name(portal):
    client = portal()
    assert client.get("/i").url.path == "/instructor/login"
    assert client.login_instructor(password="wrong password").status_code == 401
    assert client.login_instructor(name="").status_code == 401
    response = client.login_instructor()
    assert response.url.path == "/i" and "Prof. Rao · instructor" in response.text
    assert client.get("/s").status_code == 404  # no student pages for the instructor


def test_a_new_password_ends_instructor_sessions(portal, course):
    from dlkit.portal.auth import set_password
    from dlkit.portal.config import State

    client = portal()
    client.login_instructor()
    set_password(State.of(course.folder), "another long password")
    assert client.get("/i").url.path == "/instructor/login"


def _three_students(client_factory, course):
    """101 graded 3/5, 102 crashed, 103 queued."""
    ids = {}
    for roll in ("101", "102", "103"):
        client = client_factory()
        client.login(roll, course.codes[roll])
        client.upload("toy", f"{roll}.ipynb", course.notebook(edit=("# Toy", f"# Toy {roll}")))
        ids[roll] = stored(course, roll)[0].id
    grade(course, ids["101"])
    grade(course, ids["102"], [{**r, "points": 0.0, "passed": False} for r in TOY_RESULTS],
          status="crashed", reason="the kernel died while running cell 4")
    return ids


def test_dashboard_counts_distribution_and_student_table(portal, course):
    ids = _three_students(portal, course)
    client = portal()
    client.login_instructor()
    home = main_text(client.get("/i"))
    # submitted, queued, graded, needs marking, stopped with an error, not graded, not
    # submitted, students: 101 is graded but q3_words is not marked yet; 102 crashed
    assert "0. Toy experiment 3 1 0 1 1 0 0 3" in home
    page = client.get("/i/toy")
    text = main_text(page)
    assert ("3 submitted 1 queued 0 graded 1 needs marking 1 stopped with an error 0 not graded "
            "0 not submitted 3 students") in text
    assert '<svg class="histogram"' in page.text and "3 points: 1 student(s)" in page.text
    # the course's marks /10 beside the test points: 5 x 3/5 for the tests, the rubric-less
    # toy's methodology 2, no write-up yet, timely 1 (no deadline)
    assert "Marks / 10" in text
    assert "101 Asha Kulkarni v1 graded needs marking 6 3 / 5" in text
    assert "102 Rohan Deshmukh v1 crashed stopped with an error 3 0 / 5" in text
    assert "Mark Say in one sentence why we centre data. (q3_words)" in text
    assert "103 Meera <Joshi> v1 queued" in text and "Meera &lt;Joshi&gt;" in page.text
    assert f"/i/toy/runs/{ids['101']}" in page.text and "/i/toy/mark/q3_words" in page.text
    run = main_text(client.get(f"/i/toy/runs/{ids['101']}"))
    assert "Traceback" in run and "secret_test.py" in run  # the instructor sees everything
    assert "3 / 5" in run and "bubblewrap" in run


def test_regrade_one_and_all(portal, course):
    ids = _three_students(portal, course)
    client = portal()
    client.login_instructor()
    one = client.post(f"/i/regrade/{ids['101']}", form_page=f"/i/toy/runs/{ids['101']}")
    assert "queued for grading again" in main_text(one)
    assert course.gradebook.submission(ids["101"]).queue == "queued"
    everything = client.post("/i/toy/regrade", form_page="/i/toy")
    assert "1 submission(s) queued for grading again; 2 were already queued" in main_text(everything)
    assert {s.queue for s in stored(course)} == {"queued"}
    queue = main_text(client.get("/i/queue"))
    assert "Waiting (3)" in queue and "no grading workers" in queue


def test_marking_saves_manual_marks_with_who_and_when(portal, course):
    ids = _three_students(portal, course)
    client = portal()
    client.login_instructor(name="Prof. Rao")
    first = client.get("/i/toy/mark/q3_words")
    assert first.url.path == "/i/toy/mark/q3_words/101"
    text = main_text(first)
    assert "Student 1 of 3" in text and "Say in one sentence why we centre data." in text
    assert "Model answer" in text and 'id="next"' in first.text and 'id="previous"' not in first.text
    assert '<script src="/static/mark.js">' in first.text
    bad = client.post("/i/toy/mark/q3_words/101", data={"points": "5"})
    assert bad.status_code == 422 and "5 is not between 0 and 1" in main_text(bad)
    saved = client.post("/i/toy/mark/q3_words/101", data={"points": "0.5", "note": "short"})
    assert saved.url.path == "/i/toy/mark/q3_words/102"
    assert "saved 0.5/1 for 101 (q3_words)" in main_text(saved)
    assert 'id="previous"' in saved.text
    with course.gradebook.session() as s:
        mark = s.scalars(select(ManualMark)).one()
        assert (mark.student_roll, mark.item, mark.points, mark.max_points, mark.by, mark.note) \
            == ("101", "q3_words", 0.5, 1.0, "Prof. Rao", "short")
        assert mark.at is not None
    assert "Now 0.5, given by Prof. Rao" in main_text(client.get("/i/toy/mark/q3_words/101"))
    assert client.get("/i/toy/mark/q1_mean/101").status_code == 404  # not a manual question
    assert client.get("/i/toy/mark/q3_words/999").status_code == 404
    assert "0.5/1" in main_text(client.get("/i/toy"))
    student = portal()
    student.login("101", course.codes["101"])
    assert "short" in main_text(student.get(f"/s/submissions/{ids['101']}"))


HOSTILE_MARKDOWN = """My answer <script>window.pwned = 1</script>
<img src="x" onerror="window.pwned = 2"> [click](javascript:window.pwned=3)
<a href="javascript:window.pwned=4">more</a> <iframe src="https://evil.example"></iframe>
<form action="https://evil.example"><input name="x"></form>"""


def hostile_notebook(course) -> bytes:
    nb = nbformat.reads(course.notebook(solution=False).decode(), as_version=4)
    answer = next(i for i, c in enumerate(nb.cells) if "Type your answer here" in c.source)
    nb.cells[answer].source = HOSTILE_MARKDOWN
    code = nbformat.v4.new_code_cell("display(HTML(...))")
    code.outputs = [nbformat.v4.new_output("display_data", data={
        "text/html": '<b onclick="window.pwned=5">bold</b><script>window.pwned=6</script>'
                     '<img src=x onerror="window.pwned=7"><a href="javascript:alert(1)">x</a>',
        "application/javascript": "window.pwned = 8", "text/plain": "<HTML object>"}),
        nbformat.v4.new_output("stream", text="<script>window.pwned=9</script>")]
    code.pop("id")  # the released notebook is nbformat 4.4: cells without ids
    nb.cells.insert(answer + 1, code)
    return nbformat.writes(nb).encode()


def test_the_marking_view_shows_a_hostile_notebook_inert(portal, course):
    student = portal()
    student.login("103", course.codes["103"])
    student.upload("toy", "evil.ipynb", hostile_notebook(course))
    client = portal()
    client.login_instructor()
    page = client.get("/i/toy/mark/q3_words/103")
    assert page.status_code == 200 and "My answer" in page.text and "bold" in page.text
    html = page.text.split("<main>")[1]
    for bad in ("<script>window", "onerror", "onclick", "javascript:", "<iframe", "<form action=\"https"):
        assert bad not in html, bad
    assert "&lt;script&gt;window.pwned=9&lt;/script&gt;" in html  # the stream, shown as text
    assert "window.pwned = 8" not in html and "output not shown" not in html  # text/plain instead
    assert "script-src 'self'" in page.headers["content-security-policy"]
    whole = client.get(f"/i/toy/notebook/{stored(course)[0].id}")
    assert "onerror" not in whole.text.split("<main>")[1] and "My answer" in whole.text


def test_export_csv_and_the_similarity_report(portal, course):
    _three_students(portal, course)
    client = portal()
    client.login_instructor()
    csv_text = client.get("/i/export.csv").text
    assert csv_text.splitlines()[0].startswith("roll,name,batch")
    assert any(line.startswith("101,Asha Kulkarni,B1") and ",3,,3," in line
               for line in csv_text.splitlines())
    assert "Similarity report" not in client.get("/i/toy").text
    report = course.folder / "reports" / "similarity" / "toy"
    report.mkdir(parents=True)
    (report / "index.html").write_text("<h1>pairs</h1>")
    (course.folder / "reports" / "secret.txt").write_text("no")
    assert "Similarity report" in client.get("/i/toy").text
    served = client.get("/i/toy/similarity/index.html")
    assert served.text == "<h1>pairs</h1>" and "script-src" not in \
        served.headers["content-security-policy"]
    assert client.get("/i/toy/similarity/../secret.txt").status_code == 404
    assert client.get("/i/toy/similarity/%2e%2e/secret.txt").status_code == 404


# --------------------------------------------------------------------------- the commands

def test_set_password_stores_an_argon2_hash_privately(tmp_path):
    from click.testing import CliRunner

    from dlkit.cli import main

    course = tmp_path / "course"
    runner = CliRunner()
    result = runner.invoke(main, ["serve", "--course", str(course), "--set-password"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    stored_hash = (course / "portal" / "instructor.argon2").read_text()
    assert stored_hash.startswith("$argon2id$") and PASSWORD not in stored_hash
    assert oct(os.stat(course / "portal" / "instructor.argon2").st_mode)[-3:] == "600"
    assert runner.invoke(main, ["serve", "--course", str(course), "--set-password",
                                "--password-stdin"], input="another long one\n").exit_code == 0
    from dlkit.portal.auth import check_password
    from dlkit.portal.config import State

    assert check_password(State.of(course), "another long one") is not None
    assert check_password(State.of(course), PASSWORD) is None
    short = runner.invoke(main, ["serve", "--course", str(course), "--set-password"],
                          input="short\nshort\n")
    assert short.exit_code == 1 and "password too short" in short.output
    inside_repo = runner.invoke(main, ["serve", "--course", "tests/portal", "--set-password"],
                                input=f"{PASSWORD}\n{PASSWORD}\n")
    assert inside_repo.exit_code == 1 and "inside a git repository" in inside_repo.output


def test_roster_codes_print_slips_and_a_csv_and_reissue_revokes(tmp_path):
    import csv

    from click.testing import CliRunner
    from pypdf import PdfReader

    from dlkit.cli import main

    course = tmp_path / "codes-course"
    roster = tmp_path / "roster.csv"
    roster.write_text("roll,name,batch,email\n41001,Asha Kulkarni,B1,a@x.edu\n"
                      "41002,अमित पाटील,B1,b@x.edu\n41003,Meera Joshi,B2,c@x.edu\n")
    runner = CliRunner()
    result = runner.invoke(main, ["roster", "codes", "--batch", "B1", "--roster", str(roster),
                                  "--course", str(course), "--url", "http://lab:8000"])
    assert result.exit_code == 0, result.output
    assert "issued 2 code(s)" in result.output
    paths = [line.split(" ", 1)[1] for line in result.output.splitlines() if line.startswith("wrote")]
    pdf, csv_path = next(p for p in paths if p.endswith(".pdf")), next(p for p in paths if p.endswith(".csv"))
    rows = list(csv.DictReader(open(csv_path, encoding="utf-8")))
    assert [(r["roll"], r["name"], r["url"]) for r in rows] == [
        ("41001", "Asha Kulkarni", "http://lab:8000"), ("41002", "अमित पाटील", "http://lab:8000")]
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert rows[0]["code"] in text and rows[1]["code"] in text and "41003" not in text
    again = runner.invoke(main, ["roster", "codes", "--batch", "B1", "--course", str(course)])
    assert "issued 0 code(s); 2 student(s) already have one" in again.output
    one = runner.invoke(main, ["roster", "codes", "--student", "41001", "--reissue",
                               "--course", str(course), "--no-pdf"])
    assert "issued 1 code(s)" in one.output
    new_csv = next(line.split(" ", 1)[1] for line in one.output.splitlines()
                   if line.endswith(".csv"))
    new_code = list(csv.DictReader(open(new_csv, encoding="utf-8")))[0]["code"]
    from dlkit.gradebook import Gradebook
    from dlkit.portal.auth import check_student

    gradebook = Gradebook.open(course)
    assert check_student(gradebook, "41001", rows[0]["code"]) is None  # revoked
    assert check_student(gradebook, "41001", new_code) is not None
    assert check_student(gradebook, "41002", rows[1]["code"]) is not None
    missing = runner.invoke(main, ["roster", "codes", "--batch", "B9", "--course", str(course)])
    assert missing.exit_code == 1 and "no students in batch 'B9'" in missing.output
    with gradebook.session() as s:
        from dlkit.gradebook import AccessCode

        assert s.scalar(select(func.count()).select_from(AccessCode)) == 3
        assert all(c.code_hash.startswith("$argon2") for c in s.scalars(select(AccessCode)))
