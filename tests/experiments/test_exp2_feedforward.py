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


SEQUENTIAL = """model = keras.Sequential([
    keras.Input(shape=(784,)),
    keras.layers.Dense(256, activation="relu"),
    keras.layers.Dense(128, activation="relu"),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])"""
SUBCLASSED = """class DigitMLP(keras.Model):
    \"\"\"The same MLP as a subclass of keras.Model (the style Experiment 1 teaches for PyTorch).\"\"\"

    def __init__(self):
        super().__init__()
        self.hidden1 = keras.layers.Dense(256, activation="relu")
        self.hidden2 = keras.layers.Dense(128, activation="relu")
        self.hidden3 = keras.layers.Dense(64, activation="relu")
        self.out = keras.layers.Dense(10, activation="softmax")

    def call(self, x):
        return self.out(self.hidden3(self.hidden2(self.hidden1(x))))


model = DigitMLP()
model.build((None, 784))"""


def test_a_subclassed_model_gets_full_marks(tmp_path):
    # the grader rebuilds it from its Keras layers (checking the outputs are the same) and
    # measures that, since the judge never loads the student's class
    scores = grade("exp2-feedforward", {SEQUENTIAL: SUBCLASSED}, tmp_path)
    assert lost(scores) == {}


def test_training_on_the_test_set_loses_the_accuracy_marks(tmp_path):
    # 0.98 on the test set it saw, 0.96 on the 5,000 training digits kept back (it did not see)
    scores = grade("exp2-feedforward", {"history = model.fit(x_train, y_train,":
                                        "history = model.fit(x_test, y_test,"}, tmp_path)
    assert lost(scores) == {"q5_accuracy": 4}
