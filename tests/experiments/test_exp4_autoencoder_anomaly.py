"""Wrong Experiment 4 submissions lose exactly the marks they should (slow: real training)."""

from __future__ import annotations

import pytest

from tests.experiments.helpers import grade, lost

pytestmark = pytest.mark.slow


def test_trained_on_all_digits_loses_data_and_detection_marks(tmp_path):
    scores = grade("exp4-autoencoder-anomaly",
                   {"normal = x_all[y_all == NORMAL_DIGIT]": "normal = x_all"}, tmp_path)
    assert lost(scores) == {"q1_data": 2, "q5_auc": 4}
