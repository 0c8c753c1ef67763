"""Full training runs (marker `slow`, `make test-slow`): every registered experiment's committed
autograder zip gives its reference solution full marks and its released notebook zero."""

from __future__ import annotations

import pytest

from dlkit.experiments import EXPERIMENTS
from dlkit.release import otter_run
from tests.experiments.helpers import grade, paths

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("experiment_id", sorted(EXPERIMENTS))
def test_gradescope_zip_gives_reference_full_and_released_zero(experiment_id, tmp_path):
    zip_path, _, released = paths(experiment_id)
    full = grade(experiment_id, {}, tmp_path)
    assert full and all(score == top for score, top in full.values()), full
    zero = otter_run(zip_path, released, timeout=EXPERIMENTS[experiment_id].time_limit * 2)
    assert set(zero) == set(full) and all(score == 0 for score, _ in zero.values()), zero
