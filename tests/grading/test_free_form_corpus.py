"""The free-form corpus graded through the real path (sandbox, extract, judge): each notebook of
tests/fixtures/free_form gets the status and the criteria verdicts tests/fixtures/free_form/
expected.yml gives it. The ECG, credit-card and Caltech-101 notebooks read the college's files,
generated in their layout, imported with `dlkit data import` and mounted by the dataset map; Experiment 5's
Bible is the data registry's, mounted where the notebook reads it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from dlkit.experiments import get
from dlkit.grading.run import run_task
from dlkit.grading.tasks import GradingTask
from dlkit.sandbox import Limits
from tests.fixtures.free_form.make_corpus import write_pack

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

CORPUS = Path(__file__).parents[1] / "fixtures" / "free_form"
EXPECTED = yaml.safe_load((CORPUS / "expected.yml").read_text())


@pytest.fixture(scope="module")
def pack_cache(tmp_path_factory):
    """A data cache holding the generated ECG and credit-card files and Caltech-101-style image
    folder, imported."""
    from dlkit.data.pack import import_pack

    root = tmp_path_factory.mktemp("cache") / "dlkit"  # pytest's own folders are 0700: the
    root.mkdir()  # sandboxed runner (nobody) must read the cache, as it reads a course's
    report = import_pack(write_pack(tmp_path_factory.mktemp("pack")), root=root)
    assert not report.refused and len(report.imported) == 3, report.lines()
    return root


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_free_form_notebook_gets_its_expected_verdicts(name, tmp_path, monkeypatch, request):
    expected = EXPECTED[name]
    experiment = get(name.split("/")[0])
    if expected.get("pack"):
        monkeypatch.setenv("DLKIT_DATA", str(request.getfixturevalue("pack_cache")))
    mode = expected.get("free_form", True)  # false: the starter's tests; auto: the notebook decides
    task = GradingTask(0, experiment.id, (CORPUS / name).read_bytes(),
                       Limits(seconds=experiment.time_limit, memory_bytes=6 * 2**30, wall_factor=6),
                       datasets=tuple({**(expected.get("pack") or {}),
                                       **(expected.get("datasets") or {})}.items()),
                       free_form=None if mode == "auto" else mode)
    started = time.monotonic()
    outcome = run_task(task, tmp_path / "work", slot="cpu")
    got = question_verdicts(outcome.results)
    labels = {k: v for r in outcome.results for k, v in (r.get("labels") or {}).items()}
    measured = {k: v for r in outcome.results for k, v in (r.get("measured") or {}).items()}
    messages = {r["question"]: r["message"] for r in outcome.results if not r["passed"]}
    record = {"notebook": name, "status": outcome.status, "mode": outcome.mode, "criteria": got,
              "expected": {"status": expected["status"], "criteria": expected["criteria"]},
              "seconds": round(time.monotonic() - started, 1), "cpu": round(outcome.cpu_seconds, 1),
              "reason": outcome.reason[:300], "messages": {q: m[:300] for q, m in messages.items()},
              "measured": measured, "labels": labels}
    print("CORPUS " + json.dumps(record))
    assert (outcome.status, got) == (expected["status"], expected["criteria"]), (outcome.reason, record)
    if "mode" in expected:
        assert outcome.mode == expected["mode"], outcome.mode_reason
    for where, words in (expected.get("says") or {}).items():
        said = outcome.reason if where == "reason" else messages.get(where, "")
        assert words in said, (where, said)
    for key, value in (expected.get("labels") or {}).items():
        assert labels.get(key) == value, (key, labels)
    for key, value in (expected.get("measured") or {}).items():
        assert measured.get(key) == value, (key, measured)


def question_verdicts(results: list[dict]) -> dict[str, object]:
    """Per question (a free-form criterion, or a starter question with several tests): "instructor"
    when left to the instructor, "not judged" when none of its tests was, else whether all passed."""
    by_question: dict[str, list[dict]] = {}
    for result in results:
        by_question.setdefault(result["question"], []).append(result)
    verdicts: dict[str, object] = {}
    for question, tests in by_question.items():
        states = {t.get("state", "judged") for t in tests}
        verdicts[question] = "instructor" if "instructor" in states else \
            "not judged" if states == {"not judged"} else all(t["passed"] for t in tests)
    return verdicts
