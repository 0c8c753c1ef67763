"""The extract/judge protocol and its safe export."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from dlkit import checks


def _tiny_model():
    import keras

    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_round_trip_keeps_model_arrays_and_json(tmp_path):
    model = _tiny_model()
    checks.export({"model": model, "errors": np.arange(5.0), "threshold": np.float32(0.5),
                   "history": {"loss": [1.0, 0.5]}}, tmp_path)
    data = checks.load(tmp_path)
    assert [type(layer).__name__ for layer in data["model"].layers] == ["Dense", "Dense"]
    assert type(data["model"].optimizer).__name__ == "SGD"
    np.testing.assert_array_equal(data["errors"], np.arange(5.0))
    assert data["threshold"] == 0.5 and data["history"] == {"loss": [1.0, 0.5]}


def test_export_refuses_pickled_objects(tmp_path):
    with pytest.raises(TypeError, match="cannot export a object"):
        checks.export({"thing": object()}, tmp_path)
    with pytest.raises(TypeError, match="expected numbers, got array"):
        checks.export({"thing": np.array([object()])}, tmp_path)


def test_get_names_the_missing_variable():
    with pytest.raises(checks.MissingObject, match="no variable `model`"):
        checks.get({}, "model")
    with pytest.raises(checks.MissingObject, match="no variable `model`"):
        checks.get({"model": ...}, "model")  # the starter's placeholder
    with pytest.raises(checks.MissingObject, match="should be a float, not str"):
        checks.get({"t": "x"}, "t", float)


def test_run_does_both_halves_and_fails_on_assertion():
    seen = {}
    checks.run(lambda ns: {"x": ns["x"]}, lambda d: seen.update(d), {"x": np.ones(3)})
    assert seen["x"].tolist() == [1, 1, 1]
    with pytest.raises(AssertionError, match="too small"):
        checks.run(lambda ns: {"x": 1}, lambda d: (_ for _ in ()).throw(AssertionError("too small")), {})


def test_judge_in_a_separate_clean_process(tmp_path):
    """The grader's split: extract here, judge in a fresh interpreter that only reads files."""
    checks.export({"model": _tiny_model(), "flags": np.array([True, False])}, tmp_path)
    judge = (
        "import sys, json; from pathlib import Path; from dlkit import checks\n"
        "d = checks.load(Path(sys.argv[1]))\n"
        "print(json.dumps([d['model'].output_shape[-1], d['flags'].tolist()]))"
    )
    out = subprocess.run([sys.executable, "-c", judge, str(tmp_path)], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert json.loads(out.splitlines()[-1]) == [10, [True, False]]


def test_describe_figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2)
    a.plot([1, 2], label="train")
    a.plot([2, 1], label="validation")
    a.legend()
    a.set_xlabel("epoch")
    a.set_ylabel("loss")
    b.hist(np.random.default_rng(0).normal(size=100), bins=10)
    b.axvline(0.5)
    info = checks.describe_figure(fig)
    assert info["axes"][0]["legend"] == ["train", "validation"]
    assert info["axes"][0]["xlabel"] == "epoch" and info["axes"][1]["patches"] == 10
    assert info["axes"][1]["vlines"] == 1
    plt.close(fig)


def test_mnist_accuracy_is_measured_on_the_real_test_set():
    model = _tiny_model()  # untrained: about chance
    assert 0.0 <= checks.mnist_accuracy(model) < 0.3
    x, y = checks.mnist_test_inputs((None, 28, 28))
    assert x.shape == (10000, 28, 28) and len(y) == 10000 and x.max() == 1.0


class _Counted:
    """A model whose calls are counted (the batches :func:`checks.predict` makes)."""

    def __init__(self, model):
        self.model, self.calls = model, 0
        self.input_shape, self.layers = model.input_shape, model.layers

    def __call__(self, x, training=False):
        self.calls += 1
        return self.model(x, training=training)


def test_the_judge_measures_a_model_once_per_data_set_and_forgets_it_with_the_run(monkeypatch):
    monkeypatch.setattr(checks, "_OUTPUTS", None)
    model = _Counted(_tiny_model())
    checks.mnist_accuracy(model)
    checks.mnist_accuracy(model)
    assert model.calls == 2  # outside the judge (a notebook may train in between): every time
    checks.measure_once()
    accuracy = checks.mnist_accuracy(model)
    assert checks.confusion_largest(model)["confusion: count"] >= 0 and checks.mnist_loss(model) > 0
    assert model.calls == 3 and checks.mnist_accuracy(model) == accuracy  # one pass for the three
    checks.mnist_accuracy(model, held_out=True)
    assert model.calls == 4  # another data set, another pass
    other = _Counted(model.model)
    checks.mnist_accuracy(other)
    assert other.calls == 1  # another model object, however alike
    checks.measure_once()  # the judge's next run
    checks.mnist_accuracy(model)
    assert model.calls == 5


def test_predict_batches_a_small_model_whole_and_a_wide_one_as_asked():
    import keras

    mlp = _Counted(_tiny_model())
    x, _ = checks.mnist_test_inputs((None, 784))
    checks.predict(mlp, x)
    assert mlp.calls == 1  # 784 values a layer: the 10,000 images in one batch
    conv = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(64, 3, padding="same"),
                             keras.layers.Flatten(), keras.layers.Dense(10)])
    wide = _Counted(conv)
    images, _ = checks.mnist_test_inputs((None, 28, 28, 1))
    outputs = checks.predict(wide, images[:3000])
    assert wide.calls == 3 and outputs.shape == (3000, 10)  # 50,176 values a layer: 1,000 a batch
