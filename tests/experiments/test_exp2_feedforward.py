"""Wrong Experiment 2 submissions lose exactly the marks they should (slow: real training)."""

from __future__ import annotations

import pytest

from tests.experiments.helpers import grade, lost

pytestmark = pytest.mark.slow


def test_sigmoid_output_loses_the_architecture_marks(tmp_path):
    scores = grade("exp2-feedforward", {'keras.layers.Dense(10, activation="softmax")':
                                        'keras.layers.Dense(10, activation="sigmoid")'}, tmp_path)
    # same accuracy as softmax (the loss sees the logits), so only the architecture test catches it
    assert lost(scores) == {"q2_architecture": 2}


def test_one_epoch_loses_training_and_accuracy_marks(tmp_path):
    scores = grade("exp2-feedforward", {"EPOCHS, BATCH_SIZE = 6, 256": "EPOCHS, BATCH_SIZE = 1, 256"},
                   tmp_path)
    assert lost(scores) == {"q4_training": 1, "q5_accuracy": 4}
