"""Real grading of exam variants (``slow``: trains Experiments 2 and 4 four times, minutes on a
CPU): the reference solution filled with a non-default variant gets full marks when graded
against that variant and loses marks when graded against another, through the grader every
exam upload goes through (``run_task``: the sandbox, the exports, the judge, the variant bound)."""

from __future__ import annotations

import pytest

from dlkit.experiments import get
from dlkit.grading.run import run_task
from dlkit.grading.tasks import GradingTask
from dlkit.release import assign, fill_build
from dlkit.sandbox import Limits
from dlkit.variants import default_variant, variant_of

pytestmark = pytest.mark.sandbox  # every test here starts sandboxed runs

#: (experiment, a variant that is not the term work's, another student's variant)
CASES = [
    ("exp2-feedforward", {"hidden_units": [512, 128], "epochs": 6},
     {"hidden_units": [300, 100], "epochs": 5}),
    ("exp4-autoencoder-anomaly", {"normal_digit": 2, "k": 2.5}, {"normal_digit": 5, "k": 3.5}),
]


@pytest.mark.slow
@pytest.mark.parametrize(("experiment_id", "own", "other"), CASES, ids=[c[0] for c in CASES])
def test_the_reference_of_a_variant_gets_full_marks_on_it_and_loses_on_another(
        tmp_path, experiment_id, own, other):
    experiment = get(experiment_id)
    own, other = variant_of(experiment, own), variant_of(experiment, other)
    assert own != default_variant(experiment) and own != other
    assign(experiment, tmp_path / "dist")
    fill_build(experiment, tmp_path / "dist", tmp_path / "built", own)
    reference = (tmp_path / "built" / "autograder" / experiment_id
                 / experiment.master.name).read_bytes()
    scores = {}
    for name, variant in (("own", own), ("other", other)):
        task = GradingTask(0, experiment_id, reference, Limits(seconds=experiment.time_limit),
                           variant=variant.to_json())
        outcome = run_task(task, tmp_path / "work" / name)
        assert outcome.status == "graded", (name, outcome.status, outcome.reason)
        scores[name] = (outcome.score, sum(r["max_points"] for r in outcome.results),
                        outcome.reason)
    got, top, _ = scores["own"]
    assert got == top > 0, scores
    lost, top_other, reason = scores["other"]
    assert top_other == top and lost < top, scores
    assert "answers another variant" in reason, reason  # and the run says so
