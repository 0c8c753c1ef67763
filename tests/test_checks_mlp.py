"""Reading an MLP's dense layers from any framework and measuring it the same way (Experiment 1)."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit import checks

SIZES = (784, 16, 8, 10)


def _keras_mlp():
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((784,)), keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(8, activation="relu"), keras.layers.Dense(10)])


def _torch_mlp():
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 10))


def test_keras_layers_and_accuracy_agree_with_the_model_itself():
    model = _keras_mlp()
    layers = checks.dense_layers(model)
    assert [w.shape for w, _ in layers] == [(784, 16), (16, 8), (8, 10)]
    checks.check_mlp(layers, "model")
    assert checks.count_parameters(layers) == model.count_params()
    assert abs(checks.mlp_accuracy(layers) - checks.mnist_accuracy(model)) <= 5e-4


def test_torch_layers_are_transposed_to_inputs_by_outputs():
    import torch

    model = _torch_mlp()
    layers = checks.dense_layers(model)
    assert [w.shape for w, _ in layers] == [(784, 16), (16, 8), (8, 10)]
    assert checks.count_parameters(layers) == sum(p.numel() for p in model.parameters())
    x, y = checks.mnist_test_inputs((None, 784))
    with torch.no_grad():
        own = float((model(torch.from_numpy(x)).argmax(dim=1).numpy() == y).mean())
    assert abs(checks.mlp_accuracy(layers) - own) <= 5e-4


def test_flat_lists_of_tensorflow_and_pytensor_variables():
    import pytensor
    import tensorflow as tf

    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=shape).astype("float32") for n_in, n_out in zip(SIZES[:-1], SIZES[1:])
              for shape in ((n_in, n_out), (n_out,))]
    for wrap in (tf.Variable, pytensor.shared, np.asarray):
        layers = checks.dense_layers([wrap(a) for a in arrays])
        assert len(layers) == 3
        for (w, b), expected_w, expected_b in zip(layers, arrays[0::2], arrays[1::2]):
            np.testing.assert_array_equal(w, expected_w)
            np.testing.assert_array_equal(b, expected_b)


def test_export_round_trip_keeps_every_layer(tmp_path):
    layers = checks.dense_layers(_torch_mlp())
    checks.export(checks.export_layers(layers, "torch"), tmp_path)
    back = checks.layers_from(checks.load(tmp_path), "torch")
    assert len(back) == 3
    for (w, b), (w2, b2) in zip(layers, back):
        np.testing.assert_array_equal(w, w2)
        np.testing.assert_array_equal(b, b2)


def test_bad_layers_are_named_in_the_message():
    w1, b1 = np.zeros((784, 16), "float32"), np.zeros(16, "float32")
    w2, b2 = np.zeros((8, 10), "float32"), np.zeros(10, "float32")
    with pytest.raises(AssertionError, match="tf_params: layer 1 gives 16 features but layer 2 takes 8"):
        checks.check_mlp(checks.dense_layers([w1, b1, w2, b2]), "tf_params")
    with pytest.raises(AssertionError, match="expected 784 to 10"):
        checks.check_mlp(checks.dense_layers([w2, b2]), "pt_params")
    with pytest.raises(AssertionError, match="a bias is missing"):
        checks.dense_layers([w1, b1, w2])
    with pytest.raises(AssertionError, match="floating-point"):
        checks.dense_layers([np.zeros((784, 10), int), np.zeros(10, int)])
    with pytest.raises(AssertionError, match="cannot read dense layers from a str"):
        checks.dense_layers("model")
