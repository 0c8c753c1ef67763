"""Checks that keep verdicts fair: subclassed Keras models, inputs named in failures, the
held-out images, embeddings copied from a library, hints that say what the grader saw."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit import checks


def _digit_mlp(call_twice: bool = False, train: bool = True):
    import keras

    class DigitMLP(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(16, activation="relu")
            self.dropout = keras.layers.Dropout(0.2)
            self.out = keras.layers.Dense(10, activation="softmax")

        def call(self, x, training=False):
            h = self.hidden(x)
            h = h * 2.0 if call_twice else h
            return self.out(self.dropout(h, training=training))

    model = DigitMLP()
    x = np.random.default_rng(0).random((64, 784)).astype("float32")
    if not train:  # Keras marks the subclass built without building the layers it holds
        model.build((None, 784))
        return model, x
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, np.arange(64) % 10, epochs=1, verbose=0)
    return model, x


def test_a_subclassed_keras_model_is_exported_as_its_layers(tmp_path):
    model, x = _digit_mlp()
    checks.export({"model": model}, tmp_path)
    loaded = checks.load(tmp_path)["model"]  # safe_mode: no class of the notebook is needed
    assert type(loaded).__name__ == "Functional"
    assert tuple(loaded.input_shape) == (None, 784) and tuple(loaded.output_shape) == (None, 10)
    assert [type(layer).__name__ for layer in loaded.layers] == ["InputLayer", "Dense", "Dropout", "Dense"]
    assert np.allclose(loaded(x[:8]), model(x[:8]), atol=1e-5)
    config = loaded.get_compile_config()
    assert config["optimizer"]["class_name"] == "SGD" and config["loss"] == "sparse_categorical_crossentropy"


def test_a_subclass_built_but_never_called_is_exported_too(tmp_path):
    model, x = _digit_mlp(train=False)
    checks.export({"model": model}, tmp_path)
    loaded = checks.load(tmp_path)["model"]
    assert tuple(loaded.output_shape) == (None, 10) and np.allclose(loaded(x[:4]), model(x[:4]), atol=1e-5)


def test_a_subclass_whose_call_is_not_its_layers_in_order_is_told_so(tmp_path):
    model, _ = _digit_mlp(call_twice=True)
    with pytest.raises(checks.MissingObject, match=r"`model` \(a DigitMLP, your subclass of keras.Model\): "
                       r"the grader rebuilds it as its layers one after the other \(Dense -> Dropout -> "
                       r"Dense\), but that computes other outputs than DigitMLP.call"):
        checks.export({"model": model}, tmp_path)


def test_a_failing_student_function_is_reported_with_the_input_the_grader_gave():
    def load_and_preprocess(images, val_fraction=0.1, seed=0):
        raise ValueError("The least populated class in y has only 1 member\nsecond line")

    with pytest.raises(AssertionError) as caught:
        checks.call(load_and_preprocess, "40 random images, 4 of each label", None, val_fraction=0.25)
    assert str(caught.value) == ("load_and_preprocess(40 random images, 4 of each label) raised "
                                 "ValueError: The least populated class in y has only 1 member")


def test_the_grader_extract_step_reports_an_assertion_without_its_type(tmp_path):
    def extract(ns):
        checks.call(ns["f"], "7", 7)

    checks.export_outcome(extract, {"f": lambda x: 1 / 0}, str(tmp_path))
    outcome = (tmp_path / "outcome.json").read_text()
    assert '"message": "<lambda>(7) raised ZeroDivisionError: division by zero"' in outcome


def test_an_extract_program_runs_in_its_own_scope_and_leaves_the_students_names(tmp_path):
    student: dict = {"threshold": 0.25}
    exec("def flag(errors):\n    return [e > threshold for e in errors]", student)  # noqa: S102
    first = ("from dlkit.experiments import threshold\n"
             "def extract(ns):\n    return {'bar': threshold('exp2-feedforward', 'test_accuracy')}")
    checks.export_extract(first, student, str(tmp_path / "q1"))
    second = ("import numpy as np\n"
              "def extract(ns):\n    return {'flags': np.array(ns['flag']([0.1, 0.3])),"
              " 'threshold': np.array(ns['threshold'])}")
    checks.export_extract(second, student, str(tmp_path / "q2"))
    assert student["threshold"] == 0.25 and "extract" not in student and "np" not in student
    assert checks.load(tmp_path / "q1")["bar"] == pytest.approx(0.97)
    q2 = checks.load(tmp_path / "q2")
    assert q2["flags"].tolist() == [False, True] and float(q2["threshold"]) == 0.25


def test_an_extract_program_that_cannot_start_is_reported(tmp_path):
    checks.export_extract("import no_such_module_here\ndef extract(ns):\n    return {}", {},
                          str(tmp_path))
    outcome = (tmp_path / "outcome.json").read_text()
    assert "the test could not start: ModuleNotFoundError" in outcome and '"ok": false' in outcome


def test_keep_back_leaves_the_held_out_images_to_the_grader():
    from dlkit.data import HELD_OUT, held_out, keep_back, load_mnist

    (x_train, y_train), (x_test, _) = keep_back(load_mnist())
    kept_x, kept_y = held_out("mnist")
    assert len(x_train) == 60_000 - HELD_OUT and len(x_test) == 10_000 and len(kept_x) == HELD_OUT
    seen = {image.tobytes() for image in x_train}
    assert not any(image.tobytes() in seen for image in kept_x[:500])
    x, y = checks.mnist_held_out_inputs((None, 784))
    assert x.shape == (HELD_OUT, 784) and x.max() <= 1.0 and (y == kept_y).all()


def test_a_test_score_far_above_the_held_out_one_is_a_model_that_saw_the_test_set():
    checks.assert_not_fitted_to_test(0.979, 0.982, 0.01)  # the exp2 reference: no complaint
    with pytest.raises(AssertionError, match=r"accuracy measured by the grader: 0.9814 on the test set "
                       r"but 0.9582 on 5,000 training images the notebook keeps back \(0.0232 higher.*"
                       r"the model has seen the test set"):
        checks.assert_not_fitted_to_test(0.9814, 0.9582, 0.01)


def test_similarity_agreement_sees_a_copy_through_rotation_and_scale():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(400, 20))
    rotation = np.linalg.qr(rng.normal(size=(20, 20)))[0]
    assert checks.similarity_agreement(vectors @ rotation * 3.0, vectors) > 0.999
    assert abs(checks.similarity_agreement(rng.normal(size=(400, 20)), vectors)) < 0.2
    assert checks.similarity_agreement(vectors[:10], vectors) == 0.0  # other vocabularies


def test_library_vectors_are_found_by_type_whatever_their_name():
    gensim = pytest.importorskip("gensim.models")
    documents = [["king", "queen", "crown", "throne"], ["queen", "king", "palace"]] * 20
    model = gensim.Word2Vec(documents, vector_size=8, min_count=1, sg=0, workers=1, seed=0, epochs=2)
    vocab = ["<pad>", "king", "queen", "unknown"]
    found = checks.library_vectors({"anything": model, "other": 3}, vocab, 8)
    assert found.shape == (1, 4, 8)
    assert np.allclose(found[0, 1], model.wv["king"]) and not found[0, 3].any()
    assert checks.library_vectors({"anything": model}, vocab, 16).shape == (0, 4, 16)


def test_the_training_hint_says_what_the_losses_show():
    assert "not trained" in checks.training_hint([])
    assert "did not fall (2.7700 -> 2.7690): are the weights updated after every batch" in \
        checks.training_hint([2.77, 2.771, 2.769])
    assert "fell (2.7400 -> 1.8600), but not far enough" in checks.training_hint([2.74, 2.12, 1.86])


def test_weight_matrices_of_a_torch_model():
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Embedding(50, 4), torch.nn.Linear(4, 3))
    found = checks.weight_matrices(model, (50, 4))
    assert found.shape == (1, 50, 4) and np.allclose(found[0], model[0].weight.detach().numpy())
    with pytest.raises(checks.MissingObject, match="should be your CBOW model"):
        checks.weight_matrices(np.zeros(3), (50, 4))
