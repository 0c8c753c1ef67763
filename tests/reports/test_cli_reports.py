"""`make reports` as an examiner types it: the four papers from one course folder (CliRunner)."""

from __future__ import annotations

from click.testing import CliRunner
from pypdf import PdfReader

from dlkit.cli import main


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_the_four_papers_for_a_batch(course_data, tmp_path):
    course, out = str(course_data.folder), str(tmp_path)
    pr = tmp_path / "pr.csv"
    b1 = [r for r in course_data.records if r.batch == "B1"]
    pr.write_text("roll,pr\n" + "".join(f"{r.roll},{20 - i % 5}\n" for i, r in enumerate(b1)))
    term = _run("report", "term-work", "--batch", "B1", "--no-pdf", "--course", course,
                "--out", out)
    assert "summary-B1.html" in term
    assert len(list((tmp_path / "term-work").glob("*.html"))) == len(b1) + 1
    viva = _run("viva", "--batch", "B1", "--date", "2027-03-20", "--course", course, "--out", out)
    assert f"{len(b1)} viva set(s) for batch B1" in viva or "viva set(s) for batch B1" in viva
    plan = _run("exam", "plan", "--batch", "B1", "--date", "2027-03-22", "--course", course,
                "--out", out)
    eligible = [r for r in b1 if r.eligible]
    assert f"{len(eligible)} eligible student(s) allotted" in plan
    assert all(f"not eligible: {r.roll}" in plan for r in b1 if not r.eligible)
    slips = PdfReader(tmp_path / "exam" / "2027-03-22" / "slips-B1.pdf")
    assert len(slips.pages) == len(eligible)
    sheet = _run("exam", "sheet", "--batch", "B1", "--pr", str(pr), "--by", "Prof. Rao",
                 "--course", course, "--out", out)
    assert f"recorded PR marks of {len(b1)} student(s)" in sheet
    text = " ".join(page.extract_text() for page in
                    PdfReader(tmp_path / "mark-sheet-B1.pdf").pages)
    first = b1[0]
    assert first.roll in text and f"{first.term_work:g}" in text


def test_unknown_batch_and_missing_pr_author_are_clear_errors(course_data, tmp_path):
    result = CliRunner().invoke(main, ["viva", "--batch", "B9", "--date", "2027-03-20",
                                       "--course", str(course_data.folder)])
    assert result.exit_code != 0 and "unknown batch 'B9'" in result.output
    result = CliRunner().invoke(main, ["exam", "sheet", "--pr", str(tmp_path / "x.csv"),
                                       "--course", str(course_data.folder)])
    assert result.exit_code != 0 and "--pr needs --by" in result.output
