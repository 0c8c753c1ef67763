"""The similarity page in a real browser (Debian's chromium through Playwright, never
``playwright install``): axe-core finds no serious or critical violation, the fragment links
and the side-by-side code are reached with the keyboard alone, and the portal shows the same
report inside its own layout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dlkit.gradebook import Gradebook
from dlkit.reports.similarity import write_similarity_report
from dlkit.similarity import similarity_report
from tests.conftest import launched_chromium

from .test_similarity import EXP, MANUAL, make_batch

PASSWORD = "a long instructor passphrase"


@pytest.fixture(scope="module")
def written(batch):
    """The test batch's report written to its course folder (index.html, report.json, ...)."""
    report = similarity_report(EXP, course=batch, gradebook=Gradebook.open(batch),
                               against=MANUAL)
    write_similarity_report(report, batch)
    return batch / "reports" / "similarity" / EXP


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    return make_batch(tmp_path_factory.mktemp("similarity-page"))


@pytest.fixture(scope="module")
def browser():
    with launched_chromium() as browser:
        yield browser


def violations(page) -> list[tuple[str, str]]:
    """(impact, rule) of every axe-core violation on the page."""
    from axe_playwright_python.sync_playwright import Axe

    return [(v["impact"], v["id"]) for v in Axe().run(page).response["violations"]]


def serious_violations(page) -> list[tuple[str, str]]:
    return [v for v in violations(page) if v[0] in ("serious", "critical")]


def test_the_report_passes_axe_and_is_reached_by_keyboard(written, browser):
    page = browser.new_page()
    page.goto((written / "index.html").as_uri())
    assert violations(page) == []  # none at all, moderate ones included
    # Tab from the top until the first fragment link has the focus, then follow it.
    link = page.locator('a[href="#pair-1-a-f1"]')
    for _ in range(200):
        page.keyboard.press("Tab")
        if link.evaluate("e => e === document.activeElement"):
            break
    else:
        pytest.fail("the first fragment's link is never reached with Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#pair-1-a-f1"
    # the side-by-side code boxes take the focus (they scroll) and are named for a reader
    boxes = page.locator("section#pair-1 pre.code")
    assert boxes.count() == 2
    for _ in range(200):
        page.keyboard.press("Tab")
        if boxes.first.evaluate("e => e === document.activeElement"):
            break
    else:
        pytest.fail("the side-by-side code is never reached with Tab")
    assert boxes.first.get_attribute("aria-label").startswith("code of 4100")
    assert boxes.first.get_attribute("aria-label").endswith(", Pair 1: 41001 and 41002")
    page.keyboard.press("Tab")
    assert boxes.nth(1).evaluate("e => e === document.activeElement")
    # without the code boxes' tabindex, axe-core says so (the check can fail)
    page.evaluate("document.querySelectorAll('pre.code').forEach(e => "
                  "e.removeAttribute('tabindex'))")
    assert ("serious", "scrollable-region-focusable") in violations(page)
    page.close()


def portal_client(course: Path) -> TestClient:
    from dlkit.portal.app import create_app
    from dlkit.portal.auth import set_password
    from dlkit.portal.config import Settings, State

    (course / "portal.yml").write_text(f"experiments:\n  {EXP}: {{}}\n", encoding="utf-8")
    set_password(State.of(course), PASSWORD)
    client = TestClient(create_app(Settings(course=course, workers=0)), follow_redirects=True)
    form = client.get("/instructor/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    client.post("/instructor/login", data={"csrf": token, "name": "Prof. Rao",
                                           "password": PASSWORD})
    return client


def test_the_portal_shows_the_report_inside_its_layout(written, browser, tmp_path):
    client = portal_client(written.parents[2])
    with client:
        page = client.get(f"/i/{EXP}/similarity/index.html")
        assert page.status_code == 200
        html = page.text
        assert '<nav' in html and "dlkit course portal" in html  # the portal's layout
        assert "Pairs that stand out" in html and 'id="pair-1-a-f1"' in html
        assert "Tejas &lt;Gokhale&gt; &amp; Co" in html and "<Gokhale>" not in html
        assert "script-src 'self'" in page.headers["content-security-policy"]
        nonce = re.search(r"'nonce-([^']+)'", page.headers["content-security-policy"]).group(1)
        assert f'<style nonce="{nonce}">' in html and " style=" not in html
        assert client.get(f"/i/{EXP}/similarity/heatmap.png").content[:4] == b"\x89PNG"
        assert client.get(f"/i/{EXP}/similarity/pairs.csv").text.startswith("kind,a,name_a")
    saved = tmp_path / "portal.html"  # the portal's page, looked at as a browser shows it
    saved.write_text(html, encoding="utf-8")
    browser_page = browser.new_page()
    browser_page.goto(saved.as_uri())
    assert serious_violations(browser_page) == []
    browser_page.close()
