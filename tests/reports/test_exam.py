"""The practical-exam plan (balanced, no equal neighbours, seeded) and its slips and list."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from pathlib import Path

import pytest
from pypdf import PdfReader

from dlkit.reports.course import ExperimentRecord, StudentRecord, load_course
from dlkit.reports.exam import ExamCandidate, ExamPlanError, Ineligible, plan_exam, write_exam
from dlkit.reports.viva import load_bank, performed, roll_key, viva_sets

DATE = dt.date(2027, 4, 20)


@pytest.fixture(scope="module")
def course():
    return load_course()


@pytest.fixture(scope="module")
def experiments(course):
    return [e.id for e in course.experiments]


def candidates(n: int, ineligible: dict[int, str] | None = None) -> list[ExamCandidate]:
    ineligible = ineligible or {}
    return [ExamCandidate(f"41{i:03d}", f"Student {i}", i not in ineligible,
                          ineligible.get(i, "")) for i in range(1, n + 1)]


def assert_balanced_without_equal_neighbours(plan, experiments):
    allotted = list(plan.allotments.values())
    counts = Counter(allotted)
    per_experiment = [counts[e] for e in experiments]
    assert max(per_experiment) - min(per_experiment) <= 1
    assert all(a != b for a, b in itertools.pairwise(allotted))
    assert set(allotted) <= set(experiments)


@pytest.mark.parametrize("n, m, seed", [(n, m, seed) for n in (0, 1, 2, 3, 7, 13, 30, 61)
                                        for m in (2, 3, 6) for seed in (0, 5)])
def test_balanced_and_no_neighbours_share(experiments, n, m, seed):
    plan = plan_exam(candidates(n), experiments[:m], DATE, seed)
    assert list(plan.allotments) == [c.roll for c in candidates(n)]
    assert_balanced_without_equal_neighbours(plan, experiments[:m])


def test_neighbours_are_eligible_students_in_natural_roll_order(experiments):
    rolls = ["B1-10", "B1-2", "B1-9", "B1-1", "B1-11", "B1-3", "B1-12"]
    skipped = {"B1-3": "journal incomplete: experiment(s) 2"}
    people = [ExamCandidate(r, r.lower(), r not in skipped, skipped.get(r, "")) for r in rolls]
    plan = plan_exam(people, experiments[:2], DATE, 1)
    assert list(plan.allotments) == ["B1-1", "B1-2", "B1-9", "B1-10", "B1-11", "B1-12"]
    assert_balanced_without_equal_neighbours(plan, experiments[:2])
    assert plan.ineligible == (Ineligible("B1-3", "b1-3", "journal incomplete: experiment(s) 2"),)


def test_ineligible_students_are_listed_with_reasons_not_allotted(experiments):
    people = candidates(10, {3: "journal incomplete: experiment(s) 4, 5", 8: ""})
    plan = plan_exam(people, experiments, DATE, 2, batch="B2")
    assert "41003" not in plan.allotments and "41008" not in plan.allotments
    assert len(plan.allotments) == 8
    assert [(i.roll, i.reason) for i in plan.ineligible] == [
        ("41003", "journal incomplete: experiment(s) 4, 5"), ("41008", "not eligible")]
    assert sum(plan.counts().values()) == 8 and list(plan.counts()) == experiments
    assert_balanced_without_equal_neighbours(plan, experiments)


def test_deterministic_and_seeded(experiments):
    people = candidates(30)
    plan = plan_exam(people, experiments, DATE, 7)
    assert plan_exam(list(reversed(people)), experiments, DATE, 7) == plan
    assert plan_exam(people, experiments, DATE, 8).allotments != plan.allotments
    assert plan_exam(people, experiments, DATE + dt.timedelta(days=1), 7).allotments \
        != plan.allotments
    assert plan_exam(people[1:], experiments, DATE, 7).allotments != \
        {r: e for r, e in plan.allotments.items() if r != people[0].roll}


def test_allotment_is_not_a_fixed_cycle(experiments):
    """Balanced and neighbour-free could be a plain rotation; a seeded one is not predictable."""
    allotted = list(plan_exam(candidates(36), experiments, DATE, 3).allotments.values())
    assert any(allotted[i] != allotted[i + 6] for i in range(30))


def record(roll: str, name: str, submitted: list[bool], batch: str = "B3") -> StudentRecord:
    experiments = [ExperimentRecord(f"exp{i}", i, f"Title {i}", "aim", "", dt.date(2027, 1, i),
                                    submitted=dt.datetime(2027, 1, i, 12) if done else None,
                                    status="graded" if done else "not submitted")
                   for i, done in enumerate(submitted, start=1)]
    return StudentRecord(roll, name, batch, "", experiments, None, 0.0, {}, None)


def test_student_records_and_tuples_are_accepted(experiments):
    records = [record("41001", "A", [True, True]), record("41002", "B", [True, False]),
               record("41003", "C", [True, True])]
    plan = plan_exam(records, experiments, DATE)
    assert plan.batch == "B3" and list(plan.allotments) == ["41001", "41003"]
    assert plan.ineligible == (Ineligible("41002", "B", "journal incomplete: experiment(s) 2"),)
    assert performed(records[1]) == ["exp1"]
    plan = plan_exam([("41001", "A", True), ("41002", "B", False, "absent")], experiments, DATE)
    assert plan.ineligible == (Ineligible("41002", "B", "absent"),)


@pytest.mark.parametrize("people, allotted, message", [
    (candidates(2), ["exp1"], "neighbours in roll order would share it"),
    (candidates(2), [], "distinct experiments"),
    (candidates(2), ["exp1", "exp1"], "distinct experiments"),
    (candidates(2) + candidates(1), ["exp1", "exp2"], "listed twice: 41001"),
])
def test_impossible_plans(people, allotted, message):
    with pytest.raises(ExamPlanError, match=message):
        plan_exam(people, allotted, DATE)


def test_one_student_one_experiment_is_fine():
    assert plan_exam(candidates(1), ["exp1"], DATE).allotments == {"41001": "exp1"}


# --------------------------------------------------------------------------- papers

PEOPLE = [ExamCandidate("41001", "अमित पाटील"), ExamCandidate("41002", "R&D <Lab>"),
          ExamCandidate("41003", "Om Pawar", False, "journal incomplete: experiment(s) 4, 5"),
          ExamCandidate("41004", "Priya Deshmukh"), ExamCandidate("41005", "Sneha Joshi")]


@pytest.fixture(scope="module")
def papers(tmp_path_factory, course, experiments):
    bank = load_bank()
    plan = plan_exam(PEOPLE, experiments, DATE, seed=11, batch="B1")
    sets = viva_sets([(r, experiments) for r in plan.allotments], DATE, bank)
    out = tmp_path_factory.mktemp("exam")
    paths = write_exam(plan, sets, out, course=course, bank_version=bank.version)
    return out / "exam" / "2027-04-20", plan, sets, paths


def pages(path: Path) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(path).pages]


def test_files(papers):
    folder, _, _, paths = papers
    assert paths == [folder / "slips-B1.html", folder / "slips-B1.pdf",
                     folder / "examiner-B1.html", folder / "examiner-B1.pdf"]


def test_one_slip_page_per_eligible_student(papers, course):
    folder, plan, sets, _ = papers
    slips = pages(folder / "slips-B1.pdf")
    assert len(slips) == len(plan.allotments) == 4
    for text, (roll, experiment_id) in zip(slips, plan.allotments.items(), strict=True):
        experiment = course.experiment(experiment_id)
        assert plan.names[roll] in text and roll in text and "2027-04-20" in text
        assert f"Experiment {experiment.number}" in text
        assert " ".join(experiment.title.split()[:4]) in text
        assert " ".join(experiment.aim.split()[:5]) in text
        for q in sets[roll]:
            assert " ".join(q.question.split()[:5]) in text
            assert " ".join(q.answer.split()[:8]) not in text
    assert not any("Om Pawar" in text for text in slips)


def test_examiner_list(papers, course):
    folder, plan, sets, _ = papers
    text = " ".join(pages(folder / "examiner-B1.pdf"))
    for roll, experiment_id in plan.allotments.items():
        experiment = course.experiment(experiment_id)
        assert roll in text and plan.names[roll] in text
        assert f"{experiment.number}. {' '.join(experiment.title.split()[:2])}" in text
        assert sets[roll][0].id in text
    assert "Om Pawar" in text and "journal incomplete: experiment(s) 4, 5" in text
    assert "Total / 25" in text
    html = (folder / "examiner-B1.html").read_text(encoding="utf-8")
    assert html.count('class="mark"') == 3 * len(plan.allotments)


def test_names_escaped_and_devanagari_kept(papers):
    folder, _, _, _ = papers
    for name in ("slips-B1.html", "examiner-B1.html"):
        html = (folder / name).read_text(encoding="utf-8")
        assert "R&amp;D &lt;Lab&gt;" in html and "<Lab>" not in html
        assert "अमित पाटील" in html and "Lohit Devanagari" in html


def test_slips_without_viva_sets_and_without_pdf(tmp_path, course, experiments):
    plan = plan_exam(candidates(3), experiments, DATE, batch="B4")
    paths = write_exam(plan, {}, tmp_path, course=course, pdf=False)
    assert [p.suffix for p in paths] == [".html", ".html"]
    assert paths[0].read_text(encoding="utf-8").count("No viva set was dealt") == 3
    assert sorted(plan.allotments, key=roll_key) == list(plan.allotments)
