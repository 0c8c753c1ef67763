"""Wrong Experiment 3 submissions lose exactly the marks they should (slow: real training)."""

from __future__ import annotations

import pytest

from tests.experiments.helpers import grade, lost

pytestmark = pytest.mark.slow

CONV_BLOCKS = """    for widths in blocks:
        for width in widths:
            x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
            x = keras.layers.BatchNormalization()(x)
            x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
"""
DENSE_BLOCKS = """    x = keras.layers.Flatten()(x)
    for widths in blocks:
        x = keras.layers.Dense(8 * widths[-1], use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
"""


def test_dense_only_model_loses_the_convolution_marks(tmp_path):
    scores = grade("exp3-image-classifier", {CONV_BLOCKS: DENSE_BLOCKS}, tmp_path)
    # Batch norm, dropout and the softmax head stay, so of q2 only the convolution test fails.
    # The MNIST bar is set from the CNN reference (0.990-0.990); this dense network reaches
    # 0.979 in the same 3 epochs, so it also loses the accuracy marks, as on CIFAR-10, where
    # dense networks reach 0.45-0.50 (lab manual) against a bar of 0.70.
    assert lost(scores) == {"q2_model": 2, "q5_accuracy": 4}


def test_precision_computed_as_accuracy_loses_the_metrics_marks(tmp_path):
    scores = grade("exp3-image-classifier",
                   {'"precision": precision,': '"precision": accuracy_score(y, y_pred),'}, tmp_path)
    assert lost(scores) == {"q4_metrics": 2}
