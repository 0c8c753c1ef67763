"""Wrong Experiment 1 submissions lose exactly the marks they should (slow: real training)."""

from __future__ import annotations

import nbformat
import pytest

from tests.experiments.helpers import grade, lost, paths

pytestmark = pytest.mark.slow

ID = "exp1-frameworks"

#: Q1 done the Keras way: a compiled model trained by `fit`, with the names Q1 asks for.
TENSORFLOW_BY_FIT = '''
tf_model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(128, activation="relu"),
                             keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)])
tf_model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
                 loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
tf_params = list(tf_model.trainable_variables)


def tf_forward(x):
    return tf_model(x)


def tf_train_step(x, y):
    return tf_model.fit(x, y, batch_size=BATCH_SIZE, epochs=1, verbose=0)


def train_tensorflow():
    seconds = []
    for epoch in range(EPOCHS):
        start = time.perf_counter()
        tf_train_step(x_train, y_train)
        seconds.append(time.perf_counter() - start)
    return seconds


tf_seconds = train_tensorflow()
tf_accuracy = float(np.mean(tf.argmax(tf_forward(x_test), axis=1).numpy() == y_test))
'''


def reference_cell(marker: str) -> str:
    """The source of the reference's code cell that contains ``marker``."""
    _, solution, _ = paths(ID)
    cells = nbformat.read(solution, as_version=4).cells
    (source,) = [c.source for c in cells if c.cell_type == "code" and marker in c.source]
    return source


def test_tensorflow_by_model_fit_loses_the_gradient_tape_marks(tmp_path):
    scores = grade(ID, {reference_cell("def build_tf_params"): TENSORFLOW_BY_FIT}, tmp_path)
    # it trains, reaches the accuracy and has the same layers: only the GradientTape test catches it
    assert lost(scores) == {"q1_tensorflow": 2}


def test_other_hidden_size_in_pytorch_loses_the_same_mlp_marks(tmp_path):
    scores = grade(ID, {"nn.Linear(sizes[1], sizes[2])": "nn.Linear(sizes[1], 100)",
                        "nn.Linear(sizes[2], sizes[3])": "nn.Linear(100, sizes[3])"}, tmp_path)
    # still an accurate 784-128-100-10 MLP, and its table row counts its own 114,390 parameters
    assert lost(scores) == {"q5_same_mlp": 2}


def test_lines_of_code_typed_in_lose_the_table_marks(tmp_path):
    scores = grade(ID, {'"lines_of_code": cell_lines(train)': '"lines_of_code": 25'}, tmp_path)
    assert lost(scores) == {"q6_comparison": 3}
