"""The two rules checks on every registered master (read from the code, no execution): each
threshold and bar a hidden test applies is in its question's text, and each public test is
repeated by a hidden test of its question. `dlkit release` refuses a master that breaks either;
this says so before anyone releases."""

from __future__ import annotations

import pytest

from dlkit.experiments import EXPERIMENTS
from dlkit.notebook.master import read_master
from dlkit.notebook.rules import problems_of


@pytest.mark.parametrize("experiment_id", sorted(EXPERIMENTS))
def test_every_master_states_its_criteria_and_keeps_one_rule(experiment_id):
    experiment = EXPERIMENTS[experiment_id]
    problems = problems_of(read_master(experiment.master), experiment)
    assert problems == {}, "\n".join(f"{check}: {p}" for check, found in problems.items() for p in found)
