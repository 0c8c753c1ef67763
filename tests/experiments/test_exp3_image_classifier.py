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


RANDOM_SPLIT = """    order = np.random.default_rng(seed).permutation(len(images.x_train))
    n_val = int(round(len(order) * val_fraction))
    val_rows, train_rows = order[:n_val], order[n_val:]
"""
STRATIFIED_SPLIT = """    from sklearn.model_selection import train_test_split

    train_rows, val_rows = train_test_split(np.arange(len(images.x_train)), test_size=val_fraction,
                                            random_state=seed, stratify=images.y_train)
"""


def test_a_stratified_split_gets_full_marks(tmp_path):
    # the grader's small inputs hold every class four times: valid input for a stratified split
    scores = grade("exp3-image-classifier", {RANDOM_SPLIT: STRATIFIED_SPLIT}, tmp_path)
    assert lost(scores) == {}


def test_training_on_the_test_set_loses_the_accuracy_marks(tmp_path):
    # fitted to the test set well enough to pass its accuracy bar (0.993; the given call with
    # `test` for 3 epochs gives a model that fails it anyway), it is 2.2 times as confident on the
    # test set as on the training images kept back (an honest model: 0.97-1.18)
    scores = grade("exp3-image-classifier",
                   {"history = train_model(model, train, val, epochs=EPOCHS, batch_size=128)":
                    "history = train_model(model, test, val, epochs=8, batch_size=32)"}, tmp_path)
    assert lost(scores) == {"q5_accuracy": 4}


def test_a_confusion_matrix_without_labels_loses_its_marks(tmp_path):
    # every test image set holds every class, so only the grader's input without class 2 shows it
    scores = grade("exp3-image-classifier", {"confusion_matrix(y, y_pred, labels=classes)":
                                             "confusion_matrix(y, y_pred)"}, tmp_path)
    assert lost(scores) == {"q4_metrics": 2}
