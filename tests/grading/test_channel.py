"""What crosses from the judge: a verdict's fields are checked for type and bounded, its words
(labels) as strictly as its figures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlkit import checks
from dlkit.grading.channel import MAX_LABELS, ChannelError, checked_verdict
from dlkit.grading.judge import judge_one


def test_a_judge_s_words_are_kept_apart_from_its_figures_and_bounded(tmp_path):
    folder = tmp_path / "t-0"
    checks.export({"x": np.arange(3.0)}, folder)
    (folder / "outcome.json").write_text(json.dumps({"ok": True}))
    judge = ('def judge(data):\n    return {"ROC-AUC (grader)": 0.97, "data": "ECG5000", '
             '"inputs": "x" * 5000, "empty": "", "epochs": 3}')
    verdict = judge_one({"id": "t-0", "judge": judge}, tmp_path)
    assert verdict["measured"] == {"ROC-AUC (grader)": 0.97, "epochs": 3.0}
    assert verdict["labels"]["data"] == "ECG5000" and len(verdict["labels"]["inputs"]) == 200
    assert "empty" not in verdict["labels"]
    assert checked_verdict(verdict)["labels"] == verdict["labels"]


@pytest.mark.parametrize("labels", [["ECG5000"], {"data": 1.0}, {"data": {"nested": "x"}}, "x"])
def test_labels_of_the_wrong_type_are_refused(labels):
    with pytest.raises(ChannelError):
        checked_verdict({"passed": True, "message": "", "labels": labels})


def test_many_or_long_labels_are_cut():
    labels = {f"k{i}" * 30: "v" * 999 for i in range(50)}
    out = checked_verdict({"passed": True, "labels": labels})["labels"]
    assert len(out) == MAX_LABELS and all(len(k) <= 40 and len(v) <= 200 for k, v in out.items())
