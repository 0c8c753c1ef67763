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

pytestmark = pytest.mark.slow

CORPUS = Path(__file__).parents[1] / "fixtures" / "free_form"
EXPECTED = yaml.safe_load((CORPUS / "expected.yml").read_text())


@pytest.fixture(scope="module")
def pack_cache(tmp_path_factory):
    """A data cache holding the generated ECG and credit-card files and Caltech-101-style image
    folder, imported."""
    from dlkit.data.pack import import_pack

    root = tmp_path_factory.mktemp("cache")
    report = import_pack(write_pack(tmp_path_factory.mktemp("pack")), root=root)
    assert not report.refused and len(report.imported) == 3, report.lines()
    return root


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_free_form_notebook_gets_its_expected_verdicts(name, tmp_path, monkeypatch, request):
    expected = EXPECTED[name]
    experiment = get(name.split("/")[0])
    if expected.get("pack"):
        monkeypatch.setenv("DLKIT_DATA", str(request.getfixturevalue("pack_cache")))
    task = GradingTask(0, experiment.id, (CORPUS / name).read_bytes(),
                       Limits(seconds=experiment.time_limit, memory_bytes=6 * 2**30, wall_factor=6),
                       datasets=tuple({**(expected.get("pack") or {}),
                                       **(expected.get("datasets") or {})}.items()), free_form=True)
    started = time.monotonic()
    outcome = run_task(task, tmp_path / "work", slot="cpu")
    got = {r["question"]: "instructor" if r.get("state") == "instructor" else r["passed"]
           for r in outcome.results}
    record = {"notebook": name, "status": outcome.status, "criteria": got,
              "seconds": round(time.monotonic() - started, 1), "cpu": round(outcome.cpu_seconds, 1),
              "messages": {r["question"]: r["message"][:300] for r in outcome.results if not r["passed"]},
              "measured": {k: v for r in outcome.results for k, v in r["measured"].items()}}
    print(json.dumps(record))
    assert (outcome.status, got) == (expected["status"], expected["criteria"]), (outcome.reason, record)
