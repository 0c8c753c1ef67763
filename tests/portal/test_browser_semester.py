"""The semester's pages in Chromium (Playwright on Debian's /usr/bin/chromium, never
``playwright install``): a regrade request round trip between a student on a 390 px phone and
the instructor on a laptop, j/k in the marking view from the moment it loads, and axe-core
(the ``axe-playwright-python`` package's bundled copy, nothing downloaded) on every page: no
serious or critical violation, and no page wider than the phone.

The server runs without grading workers; the test records the runs as the coordinator would
(``record_run``), so nothing here trains a model.
"""

from __future__ import annotations

import pytest

from dlkit.collect import collect_upload
from tests.conftest import launched_chromium

from .test_http import grade, stored

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}


@pytest.fixture
def chromium():
    with launched_chromium() as browser:
        yield browser


class Checked:
    """A page whose every visit is checked: axe-core finds no serious or critical violation,
    and (on the phone) nothing is wider than the screen."""

    def __init__(self, browser, url: str, viewport: dict) -> None:
        from axe_playwright_python.sync_playwright import Axe

        # axe is injected as a script: the portal's CSP rightly forbids that, so bypass it here
        self.context = browser.new_context(viewport=viewport, bypass_csp=True)
        self.page = self.context.new_page()
        self.url, self.width, self.axe = url, viewport["width"], Axe()
        self.problems: list[str] = []

    def visit(self, path: str) -> None:
        self.page.goto(self.url + path)
        self.check(path)

    def check(self, what: str) -> None:
        results = self.axe.run(self.page).response
        for violation in results["violations"]:
            if violation["impact"] in ("serious", "critical"):
                nodes = [n["target"] for n in violation["nodes"]][:3]
                self.problems.append(f"{what}: {violation['id']} ({violation['impact']}) {nodes}")
        wide = self.page.evaluate("document.documentElement.scrollWidth")
        if self.width <= 400 and wide > self.width + 1:
            culprits = self.page.evaluate(
                "[...document.querySelectorAll('body *')].filter(e => "
                f"e.getBoundingClientRect().right > {self.width + 1} && "
                "!(e.parentElement && e.parentElement.closest('.scroll')))"
                ".slice(0, 4).map(e => e.tagName + '.' + e.className)")
            self.problems.append(f"{what}: {wide} px wide on a {self.width} px screen "
                                 f"({', '.join(culprits)})")


def test_regrade_request_round_trip_keyboard_marking_and_axe_on_every_page(
        course, server, chromium, tmp_path):
    from playwright.sync_api import expect

    running = server(workers=0)
    notebook = tmp_path / "toy.ipynb"
    notebook.write_bytes(course.notebook())
    upload = collect_upload("toy", "102", "102.ipynb", course.notebook(edit=("# Toy", "# 102")),
                            course=course.folder, gradebook=course.gradebook)
    grade(course, upload.submission_id)

    # -- the student, on a phone
    phone = Checked(chromium, running.url, PHONE)
    asha = phone.page
    phone.visit("/login")
    asha.fill("#roll", "101")
    asha.fill("#code", course.codes["101"])
    asha.click("button[type=submit]")
    expect(asha).to_have_url(f"{running.url}/s")
    phone.check("/s")
    phone.visit("/s/toy")
    asha.set_input_files("#notebook", str(notebook))
    asha.click("text=Upload and grade")
    expect(asha.locator(".flash")).to_contain_text("version 1: stored and queued for grading")
    phone.check("/s/toy after the upload")
    (mine,) = stored(course, "101")
    phone.visit(f"/s/submissions/{mine.id}")  # queued: the page that follows the grader
    grade(course, mine.id)
    phone.visit(f"/s/submissions/{mine.id}")
    expect(asha.locator("main")).to_contain_text("Ask your instructor to look again")
    asha.select_option("#question", "q3_words")
    asha.fill("#text", "My sentence on centring is in the cell after the question.")
    asha.click("text=Send the request")
    expect(asha.locator(".flash")).to_contain_text("your request about q3_words was sent")
    phone.check("the feedback page with a request")

    # -- the instructor, on a laptop: the request, the answer, the pages around them
    laptop = Checked(chromium, running.url, LAPTOP)
    rao = laptop.page
    laptop.visit("/instructor/login")
    rao.fill("#name", "Prof. Rao")
    rao.fill("#password", "correct horse battery staple")
    rao.click("button[type=submit]")
    expect(rao.locator("main")).to_contain_text("1 regrade request(s)")
    laptop.check("/i")
    laptop.visit("/i/requests")
    rao.click("text=answer")
    expect(rao.locator("main")).to_contain_text("My sentence on centring")
    laptop.check("the request page")
    rao.fill("#answer", "Found it: full mark.")
    rao.fill("#points", "1")
    rao.click("text=Send the answer")
    expect(rao.locator(".flash")).to_contain_text("answered 101's request about q3_words")
    for path in ("/i/toy", f"/i/toy/runs/{mine.id}", f"/i/toy/notebook/{mine.id}", "/i/queue",
                 "/i/students/101", "/i/requests", "/i/no-such-experiment"):
        laptop.visit(path)

    # -- marking: j and k act at once (the empty mark box has the focus)
    laptop.visit("/i/toy/mark/q3_words/102")
    assert rao.evaluate("document.activeElement.id") == "points"
    rao.keyboard.press("k")
    expect(rao).to_have_url(f"{running.url}/i/toy/mark/q3_words/101")
    expect(rao.locator("#points")).to_have_value("1")  # the answer's mark: j is typing here
    rao.keyboard.press("j")
    expect(rao).to_have_url(f"{running.url}/i/toy/mark/q3_words/101")
    rao.keyboard.press("Escape")
    rao.keyboard.press("j")
    expect(rao).to_have_url(f"{running.url}/i/toy/mark/q3_words/102")
    laptop.check("the marking view")

    # -- the student reads the answer; the marking view and the others fit the phone too
    phone.visit(f"/s/submissions/{mine.id}")
    expect(asha.locator("#requests")).to_contain_text("Found it: full mark.")
    expect(asha.locator("#requests")).to_contain_text("new mark 1")
    phone.visit("/s")
    expect(asha.locator("main")).to_contain_text("/ 10")
    small = Checked(chromium, running.url, PHONE)
    small.page.context.add_cookies(laptop.context.cookies())
    for path in ("/i", "/i/toy", "/i/toy/mark/q3_words/101", f"/i/toy/runs/{mine.id}",
                 "/i/students/101"):
        small.visit(path)
    problems = phone.problems + laptop.problems + small.problems
    assert problems == [], "\n".join(problems)
    small.page.set_content('<html><body><img src="data:,"><div style="width:600px">x</div>'
                           '</body></html>')  # the checks themselves can fail
    small.check("a bad page")
    assert any("image-alt (critical)" in p for p in small.problems)
    assert any("a bad page" in p and "px wide on a 390 px screen" in p for p in small.problems)
