"""The examiner's papers against ``student_records``: term-work reports, batch summaries, the mark
sheet, the PR marks file. HTML for every student, PDFs for a few (each costs about a second)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from dlkit.errors import DlkitError
from dlkit.gradebook import Gradebook, ManualMark
from dlkit.reports.course import load_course, student_records, whole_marks
from dlkit.reports.termwork import (
    PracticalMarksError,
    marks_text,
    read_practical_marks,
    record_practical_marks,
    write_batch_summary,
    write_mark_sheet,
    write_term_work,
)
from dlkit.roster import RosterEntry, sync_roster

from .conftest import DEVANAGARI, ESCAPED, PLOTTED, CourseData

#: Students whose term-work PDFs are rendered: Devanagari (with plots), to be escaped, timed out
#: in experiment 4 (with plots); the HTML of all is checked.
PDF_ROLLS = ("41301", "41302", "41306", "41308")
PAGES = 9  # cover, index, six experiments, term work


def pdf_pages(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def table_rows(text: str, rolls: list[str]) -> dict[str, str]:
    """Roll -> the text of its table row, wrapped cells joined by spaces: from the line that
    starts with the roll (after a serial number, if any) to the next row's first line."""
    starts = {}
    for roll in rolls:
        found = [m.start() for m in re.finditer(rf"^(\d+ )?{roll}\b", text, re.MULTILINE)]
        assert len(found) == 1, (roll, found)
        starts[roll] = found[0]
    order = sorted(starts, key=starts.get)
    ends = [starts[roll] for roll in order[1:]] + [len(text)]
    return {roll: " ".join(text[starts[roll]:end].split()) for roll, end in zip(order, ends)}


def images_drawn(page) -> int:
    """Image XObjects the page's content draws (the resources are shared between pages)."""
    return len(re.findall(rb"/\w+ Do\b", page.get_contents().get_data()))


@pytest.fixture(scope="session")
def papers(course_data: CourseData, tmp_path_factory) -> Path:
    """Every paper of the course: term-work HTML for all, PDFs for PDF_ROLLS, the B1 summary and
    mark sheet as PDF, the summary of all batches and the B2 mark sheet as HTML."""
    out = tmp_path_factory.mktemp("papers")
    data = course_data
    write_term_work(data.records, data.course, out, pdf=False, progress=False)
    write_term_work([data.record(r) for r in PDF_ROLLS], data.course, out, progress=False)
    write_batch_summary(data.records, data.course, out, "B1")
    write_batch_summary(data.records, data.course, out, None, pdf=False)
    write_mark_sheet(data.records, data.course, out, "B1")
    write_mark_sheet(data.records, data.course, out, "B2", pdf=False)
    return out


# --------------------------------------------------------------------------- the fixture itself

def test_the_course_has_what_the_papers_must_show(course_data):
    records = course_data.records
    assert len(records) == 60
    assert {r.batch for r in records} == {"B1", "B2", "B3", "B4"}
    assert {DEVANAGARI, ESCAPED} <= {r.name for r in records}
    ineligible = [r for r in records if not r.eligible]
    assert 5 <= len(ineligible) < 20
    assert course_data.record("41308").experiments[3].status == "timeout"
    assert course_data.record("41313").experiments[5].status == "missing object"
    assert course_data.record("41313").eligible
    late = course_data.record("41303").experiments[1]
    assert (late.submitted.date() - late.planned).days == 10
    assert any(e.plots for e in course_data.record("41301").experiments)
    assert sum(r.practical is not None for r in records) == 17
    assert course_data.record("41304").experiments[1].status == "graded"  # the regraded run
    assert course_data.record("41304").experiments[5].remarks == "write-up not marked"
    assert course_data.record("41321").attendance is None


def test_what_is_not_marked_yet_says_so(papers):
    text = (papers / "term-work" / "41304.html").read_text(encoding="utf-8")
    assert "<td>write-up not marked</td>" in text
    text = (papers / "term-work" / "41321.html").read_text(encoding="utf-8")
    assert "<td>Attendance</td><td>not entered</td>" in text


# --------------------------------------------------------------------------- term work

def test_term_work_html_for_every_student_shows_their_marks(course_data, papers):
    folder = papers / "term-work"
    assert len(list(folder.glob("4*.html"))) == 60
    for record in course_data.records:
        text = (folder / f"{record.roll}.html").read_text(encoding="utf-8")
        assert html.escape(record.name) in text and record.roll in text
        assert f"{marks_text(record.term_work)} / 25" in text
        for experiment in record.experiments:
            assert f"<strong>{experiment.marks:.2f}</strong>" in text
            assert f"Experiment {experiment.number}: " in text
            assert (experiment.submitted is None) == \
                (f"No submission: experiment {experiment.number} is missing" in text)
        verdict = "Eligible</span> for the practical" if record.eligible else \
            f"Not eligible</span> for the practical examination: {record.ineligible_reason}."
        assert verdict in text


def test_term_work_pdf_pages_match_the_records(course_data, papers):
    course = course_data.course
    for roll in PDF_ROLLS:
        record = course_data.record(roll)
        pages = pdf_pages(papers / "term-work" / f"{roll}.pdf")
        assert len(pages) == PAGES, roll
        cover, index, *experiments, total = pages
        for fact in (course.institute, course.department, "414447",
                     "Lab Practice IV — Deep Learning", f"Academic year {course.academic_year}",
                     f"Semester {course.semester}", f"Name {record.name}",
                     f"Roll number {roll}", f"Batch {record.batch}"):
            assert fact in cover, (roll, fact)
        assert (f"PRN {record.prn}" in cover) == bool(record.prn)
        average = marks_text(sum(e.marks for e in record.experiments) / 6, places=2)
        assert index.startswith("Index") and f"Average experiment mark {average}" in index
        for experiment, page in zip(record.experiments, experiments, strict=True):
            assert f"{experiment.marks:.2f}" in index
            assert page.startswith(f"Experiment {experiment.number}: ")
            assert f"Marks {marks_text(experiment.marks)} / 10" in page
            for name, value in experiment.measured.items():
                assert f"{name} {value:.4g}" in page
            if experiment.submitted is None:
                assert f"No submission: experiment {experiment.number} is missing" in page
        assert f"Term work sum, rounded to a whole mark {marks_text(record.term_work)} / 25" \
            in total
        assert f"{marks_text(record.breakdown['experiments'])} / 20" in total
        assert f"{marks_text(record.breakdown['attendance'])} / 5" in total
        assert record.term_work == whole_marks(sum(record.breakdown.values()))


def test_eligibility_is_on_the_cover_and_the_last_page(course_data, papers):
    eligible = pdf_pages(papers / "term-work" / "41301.pdf")
    assert "This is to certify that" in eligible[0]
    assert "Eligible for the practical examination." in eligible[-1]
    record = course_data.record("41308")  # timed out on experiment 4: graded, marks count
    assert record.eligible and record.ineligible_reason == ""
    assert "This is to certify that" in pdf_pages(papers / "term-work" / "41308.pdf")[0]
    missing = course_data.record("41306")
    assert missing.ineligible_reason == "journal incomplete: experiment(s) 3"
    pages = pdf_pages(papers / "term-work" / "41306.pdf")
    assert "certify" not in pages[0]
    assert f"Term work not complete: {missing.ineligible_reason}." in pages[0]
    last = " ".join(pages[-1].split())
    assert f"Not eligible for the practical examination: {missing.ineligible_reason}." in last
    assert course_data.record("41310").ineligible_reason == \
        "journal incomplete: experiment(s) 5, 6"
    timeout = pdf_pages(papers / "term-work" / "41308.pdf")[5]
    assert "Status the notebook used more than its CPU time limit" in timeout


def test_devanagari_and_escaped_names_come_back_intact(papers):
    devanagari = pdf_pages(papers / "term-work" / "41301.pdf")
    assert f"Name {DEVANAGARI}" in devanagari[0]
    assert all(f"41301 · {DEVANAGARI}" in page for page in devanagari[1:])  # running header
    escaped = pdf_pages(papers / "term-work" / "41302.pdf")
    assert f"Name {ESCAPED}" in escaped[0]
    for name in ("term-work/41302.html", "term-work/summary-B1.html", "mark-sheet-B1.html"):
        text = (papers / name).read_text(encoding="utf-8")
        assert "R&amp;D &lt;Lab&gt;" in text and ESCAPED not in text, name
        assert DEVANAGARI in text or "41301" not in text


def test_plots_are_embedded_images(course_data, papers):
    record = course_data.record("41308")
    assert [len(e.plots) for e in record.experiments] == [0, 2, 0, 2, 0, 0]  # of three, two
    text = (papers / "term-work" / "41308.html").read_text(encoding="utf-8")
    assert text.count('src="data:image/png;base64,') == 4
    reader = PdfReader(papers / "term-work" / "41308.pdf")
    assert [images_drawn(page) for page in reader.pages] == [0, 0, 0, 2, 0, 2, 0, 0, 0]
    assert "41303" not in PLOTTED
    assert "data:image" not in (papers / "term-work" / "41303.html").read_text(encoding="utf-8")


def test_late_submissions_are_remarked(papers):
    text = (papers / "term-work" / "41303.html").read_text(encoding="utf-8")
    assert "late by 10 days: half the timely mark" in text
    text = (papers / "term-work" / "41305.html").read_text(encoding="utf-8")
    assert "late by 20 days: no timely mark" in text


# --------------------------------------------------------------------------- summary and sheet

def test_batch_summary_has_one_row_per_student(course_data, papers):
    b1 = [r for r in course_data.records if r.batch == "B1"]
    text = pdf_pages(papers / "term-work" / "summary-B1.pdf")
    assert len(text) == 1
    page = text[0]
    assert "Term-work summary · batch B1" in page
    rows = table_rows(page.split(f"\n{len(b1)} student(s);")[0], [r.roll for r in b1])
    for record in b1:
        marks = " ".join("—" if e.submitted is None else f"{e.marks:.2f}"
                         for e in record.experiments)
        eligible = "yes" if record.eligible else f"no: {record.ineligible_reason}"
        assert rows[record.roll] == f"{record.roll} {record.name} {marks} " \
            f"{marks_text(record.term_work)} {eligible}"
    eligible = sum(r.eligible for r in b1)
    assert f"15 student(s); {eligible} eligible for the practical examination" in page
    everyone = (papers / "term-work" / "summary-all.html").read_text(encoding="utf-8")
    assert everyone.count("<tr>") == 61
    assert "all batches" in everyone
    for record in course_data.records:
        assert f"<td>{record.roll}</td>" in everyone


def test_mark_sheet_totals_are_tw_plus_pr(course_data, papers):
    pages = pdf_pages(papers / "mark-sheet-B1.pdf")
    assert len(pages) == 1
    page = pages[0]
    b1 = [r for r in course_data.records if r.batch == "B1"]
    rows = table_rows(page.split("Internal examiner:")[0], [r.roll for r in b1])
    for number, record in enumerate(b1, start=1):
        expected = f"{number} {record.roll} {record.name}"
        if not record.eligible:
            expected += f" not eligible for PR: {record.ineligible_reason}"
        expected += f" {marks_text(record.term_work)}"
        if record.practical is not None:
            assert record.practical == course_data.plans[record.roll].practical
            expected += f" {marks_text(record.practical)} " \
                f"{marks_text(record.term_work + record.practical)}"
        assert rows[record.roll] == expected
    for words in ("Internal examiner", "External examiner", "Total", "/ 50",
                  "Internal examiner: name and", "External examiner: name and", "Date"):
        assert words in page

    b2 = (papers / "mark-sheet-B2.html").read_text(encoding="utf-8")
    without = [r for r in course_data.records if r.batch == "B2" and r.practical is None]
    assert without and b2.count("<tr>") == 16
    for record in without:  # PR and total blank, not 0
        cells = re.search(rf"<td>{record.roll}</td>.*?</tr>", b2, re.DOTALL).group(0)
        assert re.findall(r'<td class="num">(.*?)</td>', cells)[1:] == ["", ""]


def test_papers_are_deterministic(course_data, papers, tmp_path):
    record = course_data.record("41301")
    write_term_work([record], course_data.course, tmp_path, progress=False)
    write_batch_summary(course_data.records, course_data.course, tmp_path, "B1", pdf=False)
    again = student_records(course_data.gradebook, course_data.course,
                            course_folder=course_data.folder, batch="B2")
    write_mark_sheet(again, course_data.course, tmp_path, "B2", pdf=False)
    for name in ("term-work/41301.html", "term-work/summary-B1.html", "mark-sheet-B2.html"):
        assert (tmp_path / name).read_bytes() == (papers / name).read_bytes(), name
    assert pdf_pages(tmp_path / "term-work" / "41301.pdf") == \
        pdf_pages(papers / "term-work" / "41301.pdf")


def test_progress_bar_goes_to_stderr_unless_disabled(course_data, tmp_path, capsys):
    records = course_data.records[:2]
    write_term_work(records, course_data.course, tmp_path, pdf=False, progress=False)
    assert capsys.readouterr().err == ""
    written = write_term_work(records, course_data.course, tmp_path, pdf=False)
    assert "term work" in capsys.readouterr().err
    assert written == [tmp_path / "term-work" / "41301.html", tmp_path / "term-work" / "41302.html"]


def test_whole_marks_round_halves_up():
    assert [whole_marks(v) for v in (18.5, 19.5, 14.49 + 4.01, 18.49, 0.0)] == \
        [19.0, 20.0, 19.0, 18.0, 0.0]


# --------------------------------------------------------------------------- PR marks

def test_practical_marks_are_read_with_any_header_case_and_a_bom(tmp_path):
    path = tmp_path / "pr.csv"
    path.write_text("\ufeffRoll,Name,PR\n41301,Amit,21\n\n41302, R&D ,18.5\n41303,x,0\n",
                    encoding="utf-8")
    assert read_practical_marks(path) == {"41301": 21.0, "41302": 18.5, "41303": 0.0}


def test_practical_marks_problems_are_all_listed_with_their_lines(tmp_path):
    path = tmp_path / "pr.csv"
    path.write_text("roll,pr\n41301,21\n41302,absent\n\n41303,26\n41301,20\n,12\n41304,\n"
                    "41305,-1\n41306,nan\n41307,25\n", encoding="utf-8")
    with pytest.raises(PracticalMarksError) as caught:
        read_practical_marks(path)
    assert isinstance(caught.value, DlkitError)
    assert caught.value.problems == [
        "pr.csv line 3: PR marks 'absent' of 41302 are not a number",
        "pr.csv line 5: PR marks 26 of 41303 are not between 0 and 25",
        "pr.csv line 6: duplicate roll number '41301' (also on line 2)",
        "pr.csv line 7: empty roll number",
        "pr.csv line 8: no PR marks for 41304; leave the line out until the marks are known",
        "pr.csv line 9: PR marks -1 of 41305 are not between 0 and 25",
        "pr.csv line 10: PR marks nan of 41306 are not between 0 and 25",
    ]
    assert caught.value.message.startswith("7 problem(s) in the practical marks")
    assert "\n  pr.csv line 3: " in caught.value.message


@pytest.mark.parametrize("content, problem", [
    ("41301,21\n41302,18\n", "line 1: unknown format: the header must be roll,pr (found 41301,21)"),
    ("roll,marks\n41301,21\n", "line 1: unknown format: the header must be roll,pr"),
    ("roll,pr,PR\n41301,21,3\n", "line 1: unknown format"),
    ("\n\n", "line 1: empty file; the header must be roll,pr"),
])
def test_practical_marks_need_the_header(tmp_path, content, problem):
    path = tmp_path / "pr.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PracticalMarksError, match=re.escape(f"pr.csv {problem}")):
        read_practical_marks(path)


def test_practical_marks_that_are_not_utf8_name_the_line(tmp_path):
    path = tmp_path / "pr.csv"
    path.write_bytes(b"roll,pr\n41301,21\n41302,1\xe98\n")
    with pytest.raises(PracticalMarksError, match="pr.csv line 3: not UTF-8"):
        read_practical_marks(path)


def test_practical_marks_are_recorded_for_the_papers(tmp_path):
    gradebook = Gradebook.open(tmp_path)
    try:
        sync_roster(gradebook, [RosterEntry("41301", DEVANAGARI, "B1", ""),
                                RosterEntry("41302", ESCAPED, "B1", "")])
        with pytest.raises(DlkitError, match="unknown student.* 41399"):
            record_practical_marks(gradebook, {"41301": 20, "41399": 12}, "examiner")
        with gradebook.session() as session:
            assert session.query(ManualMark).count() == 0  # all or nothing
        path = tmp_path / "pr.csv"
        path.write_text("roll,pr\n41302,17\n41301,20\n", encoding="utf-8")
        assert record_practical_marks(gradebook, read_practical_marks(path), "external") == \
            ["41301", "41302"]
        records = student_records(gradebook, load_course(), course_folder=tmp_path)
        assert [(r.roll, r.practical) for r in records] == [("41301", 20.0), ("41302", 17.0)]
        with gradebook.session() as session:
            mark = session.query(ManualMark).filter_by(student_roll="41301").one()
            assert (mark.experiment, mark.item, mark.max_points, mark.by) == \
                ("course", "PR", 25, "external")
        write_mark_sheet(records, load_course(), tmp_path, "B1", pdf=False)
        sheet = (tmp_path / "mark-sheet-B1.html").read_text(encoding="utf-8")
        assert '<td class="num"><strong>20</strong></td>' in sheet  # TW 0 + PR 20
    finally:
        gradebook.engine.dispose()
