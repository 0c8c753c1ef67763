"""The portal end to end in a real browser: Playwright driving Debian's chromium (never
``playwright install``; ``make setup`` installs the package as root).

A student uploads the demo's complete Experiment 2 notebook, watches it queued and graded 14/14
by the server's worker, and reads the feedback; a second student uploads a damaged file and
reads the reason; the instructor marks q7_fitting and the student's page then shows the mark; a
notebook carrying <script>, onerror= and javascript: opens in the marking view with nothing
executed. The screenshots are saved to $DLKIT_SCREENSHOTS when set (docs/ in the repository).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from dlkit.collect import collect_upload
from dlkit.experiments import ROOT
from dlkit.gradebook import Gradebook
from dlkit.portal.auth import issue_code, set_password
from dlkit.portal.config import State
from dlkit.roster import read_roster, sync_roster
from tests.conftest import launched_chromium

from .conftest import PASSWORD, Server

pytestmark = pytest.mark.sandbox  # every test here starts sandboxed runs

DEMO = ROOT / "demo" / "submissions" / "exp2-feedforward"
GRADING_TIMEOUT_MS = 12 * 60 * 1000  # ~1 min on an idle 2-core machine; far more when busy

HOSTILE = """**My reading of the curves.** <script>window.pwned = "script"</script>
<img src="x" onerror="window.pwned = 'onerror'"> [see this](javascript:window.pwned='link')
<a href="javascript:window.pwned='anchor'">and this</a>
<svg onload="window.pwned = 'svg'"></svg> <iframe src="javascript:window.pwned='frame'"></iframe>"""


@pytest.fixture
def browser():
    with launched_chromium() as browser:
        yield browser


def hostile_exp2() -> bytes:
    """The released Experiment 2 notebook whose q7_fitting answer and an output are hostile."""
    nb = nbformat.read(ROOT / "release" / "exp2-feedforward" / "exp2-feedforward.ipynb",
                       as_version=4)
    answer = next(i for i, c in enumerate(nb.cells) if "Type your answer here" in c.source)
    nb.cells[answer].source = HOSTILE
    code = nbformat.v4.new_code_cell("from IPython.display import HTML\nHTML(evil)")
    code.pop("id")  # the released notebook is nbformat 4.4
    code.outputs = [nbformat.v4.new_output("display_data", data={
        "text/html": '<b onmouseover="window.pwned=\'output\'">hover me</b>'
                     '<script>window.pwned = "output script"</script>'
                     '<img src=x onerror="window.pwned=\'output img\'">',
        "application/javascript": "window.pwned = 'js output'", "text/plain": "<HTML>"})]
    nb.cells.insert(answer + 1, code)
    return nbformat.writes(nb).encode()


@pytest.fixture
def exp2_course(tmp_path):
    """A course with the demo roster, Experiment 2 open until tomorrow, three access codes, an
    instructor password, and 41003's hostile notebook collected (not queued)."""
    folder = tmp_path / "course"
    folder.mkdir()
    due = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    (folder / "portal.yml").write_text(f'experiments:\n  exp2-feedforward: {{due: "{due} 17:00"}}\n')
    gradebook = Gradebook.open(folder)
    sync_roster(gradebook, read_roster(ROOT / "demo" / "roster.csv"))
    set_password(State.of(folder), PASSWORD)
    codes = {roll: issue_code(gradebook, roll) for roll in ("41001", "41002", "41003")}
    upload = collect_upload("exp2-feedforward", "41003", "41003_exp2.ipynb", hostile_exp2(),
                            course=folder, gradebook=gradebook)
    assert upload.status == "stored"
    return folder, codes


def log_in(page, url: str, roll: str, code: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#roll", roll)
    page.fill("#code", code)
    page.click("button[type=submit]")


def test_students_and_the_instructor_in_a_browser(exp2_course, browser, tmp_path):
    folder, codes = exp2_course
    server = Server(folder, workers=1).start()
    shots = tmp_path / "screenshots"
    try:
        _flow(server.url, codes, browser, shots)
    finally:
        server.stop()
    if os.environ.get("DLKIT_SCREENSHOTS"):
        target = Path(os.environ["DLKIT_SCREENSHOTS"])
        target.mkdir(parents=True, exist_ok=True)
        for png in shots.glob("*.png"):
            shutil.copy(png, target / png.name)


def _flow(url: str, codes: dict[str, str], browser, shots: Path) -> None:
    from playwright.sync_api import expect

    shots.mkdir()
    # -- a student uploads the complete notebook and sees it queued
    asha = browser.new_page(viewport={"width": 1200, "height": 900})
    dialogs = []
    asha.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(asha, url, "41001", codes["41001"])
    expect(asha.locator("nav")).to_contain_text("Asha Kulkarni (41001)")
    asha.click("text=Feed-forward neural network")
    asha.set_input_files("#notebook", str(DEMO / "41001_exp2-feedforward.ipynb"))
    asha.click("text=Upload and grade")
    expect(asha.locator(".flash")).to_contain_text("version 1: stored and queued for grading")
    assert asha.locator("#v1 [data-state]").inner_text() in ("queued", "running")

    # -- a second student uploads a damaged file and reads why
    rohan = browser.new_page()
    log_in(rohan, url, "41002", codes["41002"])
    rohan.goto(f"{url}/s/exp2-feedforward")
    rohan.set_input_files("#notebook", str(DEMO / "41003_exp2-feedforward.ipynb"))
    rohan.click("text=Upload and grade")
    expect(rohan.locator("#upload-error")).to_contain_text("damaged notebook: not valid JSON")
    expect(rohan.locator("main")).to_contain_text("Nothing uploaded yet")

    # -- the instructor marks q7_fitting for the first student
    rao = browser.new_page(viewport={"width": 1400, "height": 1000})
    rao.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    rao.goto(f"{url}/instructor/login")
    rao.fill("#name", "Prof. Rao")
    rao.fill("#password", PASSWORD)
    rao.click("button[type=submit]")
    rao.click("text=Feed-forward neural network")
    expect(rao.locator(".counts")).to_contain_text("2submitted")
    rao.click("a[href$='/mark/q7_fitting']")
    expect(rao).to_have_url(f"{url}/i/exp2-feedforward/mark/q7_fitting/41001")
    expect(rao.locator(".marking")).to_contain_text("over-fitting, under-fitting or neither")
    rao.fill("#points", "2")
    rao.fill("#note", "Clear reading of the two curves.")
    rao.evaluate("window.scrollTo(0, 0)")
    rao.screenshot(path=str(shots / "portal-marking.png"), full_page=False)
    rao.press("#points", "Enter")  # saves and moves on to the next student
    expect(rao.locator(".flash")).to_contain_text("saved 2/2 for 41001 (q7_fitting)")
    expect(rao).to_have_url(f"{url}/i/exp2-feedforward/mark/q7_fitting/41003")

    # -- the hostile notebook: rendered, nothing executed
    expect(rao.locator(".marking")).to_contain_text("My reading of the curves.")
    expect(rao.locator(".marking")).to_contain_text("hover me")
    rao.hover("text=hover me")
    rao.click("text=and this")
    rao.click("text=see this")
    assert rao.evaluate("window.pwned") is None
    assert rao.locator("main script, main iframe, main [onerror], main [onload]").count() == 0
    rao.keyboard.press("k")  # keyboard: back to the previous student
    expect(rao).to_have_url(f"{url}/i/exp2-feedforward/mark/q7_fitting/41001")
    expect(rao.locator("#points")).to_have_value("2")

    # -- the first student's upload is graded without a reload by hand: 14/14 and the feedback
    expect(asha.locator("#v1 [data-state]")).to_have_text("graded", timeout=GRADING_TIMEOUT_MS)
    expect(asha.locator("#v1 [data-score]")).to_have_text("14 / 14")
    asha.click("#v1 >> text=feedback")
    main = asha.locator("main")
    expect(asha.locator("header")).to_contain_text("14 / 14")
    expect(main).to_contain_text("All ")
    expect(main).to_contain_text("tests passed.")
    expect(main).to_contain_text("q7_fitting")
    expect(main).to_contain_text("Clear reading of the two curves.")
    expect(main.locator("text=Your plots")).to_be_visible()
    asha.screenshot(path=str(shots / "portal-feedback.png"), full_page=True)
    assert dialogs == []
