"""The practical exam's session in Chromium (Playwright on Debian's /usr/bin/chromium): the
examiner opens a slot, two students download their own starters and upload, the portal's real
grading worker grades both at once (the toy experiment, in the sandbox), the examiner's live view
follows by itself, the slot closes, a late upload is refused, and the live view shows both
graded; axe-core checks every page of it."""

from __future__ import annotations

import re

import pytest

from tests.conftest import launched_chromium

from .conftest import PASSWORD
from .test_browser_semester import LAPTOP, PHONE, Checked
from .test_exam import release_exam_for

pytestmark = pytest.mark.sandbox  # every test here starts sandboxed runs


@pytest.fixture
def chromium():
    with launched_chromium() as browser:
        yield browser


def test_exam_slot_two_uploads_graded_slot_closed_late_upload_refused(
        course, server, chromium, tmp_path):
    from playwright.sync_api import expect

    name = release_exam_for(course, {"101": ("toy", {}), "102": ("toy", {})})
    running = server(workers=1)
    notebook = tmp_path / "exam.ipynb"
    notebook.write_bytes(course.notebook())

    # -- the examiner opens the slot (the form's default times: from now, for three hours)
    laptop = Checked(chromium, running.url, LAPTOP)
    rao = laptop.page
    laptop.visit("/instructor/login")
    rao.fill("#name", "Prof. Rao")
    rao.fill("#password", PASSWORD)
    rao.click("button[type=submit]")
    laptop.visit("/i/exam")
    rao.select_option("#exam", name)
    rao.fill("#room", "Lab 3")
    rao.click("text=Open the slot")
    expect(rao.locator(".flash")).to_contain_text("slot opened for batch B1: 2 student(s)")
    live = rao.url
    expect(rao.locator("#slot-state")).to_have_text("open")
    laptop.check("the live view, open")

    # -- two students, each on a phone: their own starter, then an upload
    phones = {}
    for roll in ("101", "102"):
        phone = Checked(chromium, running.url, PHONE)
        page = phone.page
        phone.visit("/login")
        page.fill("#roll", roll)
        page.fill("#code", course.codes[roll])
        page.click("button[type=submit]")
        expect(page.locator("#exam-notice")).to_contain_text("uploads open")
        page.click("text=Go to your exam page")
        phone.check(f"/s/exam of {roll}")
        with page.expect_download() as download:
            page.click("text=the notebook alone")
        assert open(download.value.path(), "rb").read() == \
            (course.folder / "release/exams" / name / roll / "toy.ipynb").read_bytes()
        page.set_input_files("#notebook", str(notebook))
        page.click("text=Upload for grading")
        expect(page.locator(".flash")).to_contain_text("stored and queued for grading ahead")
        phone.check(f"/s/exam of {roll} after the upload")
        phones[roll] = phone

    # -- the live view follows the grading by itself (it reloads every 5 s while open)
    for roll in ("101", "102"):
        expect(rao.locator(f"#seat-{roll}")).to_contain_text("graded", timeout=300_000)
    for roll in ("101", "102"):  # the students' pages follow too (poll.js)
        expect(phones[roll].page.locator("main")).to_contain_text("graded", timeout=60_000)

    # -- the slot closes; a student whose page still shows the open form uploads late
    asha = phones["101"].page
    expect(asha.locator("#notebook")).to_be_visible()  # loaded while the slot was open
    rao.goto(live)
    rao.click("text=Close uploads now")
    expect(rao.locator(".flash")).to_contain_text("uploads closed at")
    asha.set_input_files("#notebook", str(notebook))
    asha.click("text=Upload for grading")
    expect(asha.locator("#upload-error")).to_contain_text(
        "upload refused: the exam slot (batch B1, Lab 3) closed at")
    expect(asha.locator("#closed")).to_contain_text("uploads are closed")
    phones["101"].check("/s/exam, a late upload refused")
    assert [s.student_roll for s in course.gradebook.exam_uploads(1)] == ["101", "102"]

    # -- the examiner's live view: closed, both graded with full marks, nothing pending
    rao.goto(live)
    expect(rao.locator("#slot-state")).to_have_text("closed")
    for roll in ("101", "102"):
        row = rao.locator(f"#seat-{roll}").inner_text()
        assert "graded" in row and "1\t" in row  # one upload each
        full = re.search(r"(\d+(?:\.\d+)?) / (\d+(?:\.\d+)?)", row)
        assert full and full.group(1) == full.group(2), row
    assert rao.locator("[data-refresh]").count() == 0
    laptop.check("the live view, closed")
    problems = laptop.problems + [p for phone in phones.values() for p in phone.problems]
    assert problems == [], "\n".join(problems)
