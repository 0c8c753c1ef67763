"""The free-form object finder on small synthetic namespaces (no notebook, no sandbox): several
models, untrained decoys, Keras and torch, a Flatten(28x28) input beside a flat 784 one; and the
free-form rubrics, which must agree with their marks and split into extract and judge halves."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit import checks, rubrics
from dlkit.checks import MissingObject
from dlkit.data.loaders import image_folder_sample, image_folders
from dlkit.experiments import EXPERIMENTS
from dlkit.grading import free_form
from dlkit.grading.free_form import DIGITS, find_model, find_number, finder

RNG = np.random.default_rng(0)
X = RNG.random((64, 784)).astype("float32")
Y = RNG.integers(0, 10, 64)


def _keras_mlp(first):
    import keras

    return keras.Sequential([first, keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(10, activation="softmax")])


def _fit(model, x, epochs=1, optimizer="sgd"):
    model.compile(optimizer, "sparse_categorical_crossentropy")
    return model.fit(x, Y, epochs=epochs, batch_size=32, verbose=0)


def test_the_trained_keras_model_wins_over_untrained_decoys_and_parts():
    import keras

    keras.utils.set_random_seed(0)
    model = _keras_mlp(keras.Input((784,)))
    history = _fit(model, X, epochs=2)
    baseline = keras.models.clone_model(model)  # same shape, never trained
    baseline.compile("sgd", "sparse_categorical_crossentropy")
    features = keras.Model(model.inputs, model.layers[-2].output)  # 16 outputs: not a classifier
    ns = {"baseline": baseline, "model": model, "features": features, "history": history,
          "x_train": X}
    found = find_model(ns, DIGITS, 10, "classifier")
    assert found.name == "model" and found.model is model
    assert (found.framework, found.input_shape, found.output_shape) == ("keras", (784,), (10,))
    assert (found.steps, found.epochs, found.optimizer) == (4, 2, "SGD")
    assert found.others == ["baseline"]
    # trained twice as long, the baseline would win
    _fit(baseline, X, epochs=3)
    assert find_model(ns, DIGITS, 10, "classifier").name == "baseline"


@pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`")
def test_flatten_of_28x28_and_flat_784_are_both_digits():
    import keras

    flat = _keras_mlp(keras.Input((784,)))
    images = _keras_mlp(keras.layers.Flatten(input_shape=(28, 28)))
    images.build((None, 28, 28))
    _fit(images, X.reshape(-1, 28, 28))
    found = find_model({"flat": flat, "net": images}, DIGITS, 10, "classifier")
    assert (found.name, found.input_shape, found.steps) == ("net", (28, 28), 2)
    assert find_model({"flat": flat}, DIGITS, 10, "classifier").steps == 0  # untrained, still found


def test_nothing_that_fits_is_a_missing_object_that_says_what_was_found():
    import keras

    small = keras.Sequential([keras.Input((32,)), keras.layers.Dense(2)])
    with pytest.raises(MissingObject, match=r"no trained classifier .*found `small` \(32 -> 2\)"):
        find_model({"small": small, "n": 3}, DIGITS, 10, "classifier")
    with pytest.raises(MissingObject, match="found no model at all"):
        find_model({"x": X}, DIGITS, 10, "classifier")


class Net:  # built lazily: torch is imported inside the tests
    @staticmethod
    def make():
        import torch.nn.functional as F  # noqa: N812 - as students write it
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1, self.fc2 = nn.Linear(784, 32), nn.Linear(32, 10)

            def forward(self, x):
                x = x.view(-1, 784)
                return self.fc2(F.relu(self.fc1(x)))

        return Net()


def _train_torch(net, optimizer, steps=3):
    import torch

    x, y = torch.from_numpy(X).reshape(-1, 1, 28, 28), torch.from_numpy(Y)
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        optimizer.step()


def test_a_trained_torch_module_of_the_notebook_s_class_is_found_and_rebuilt():
    import torch

    torch.manual_seed(0)
    net, decoy = Net.make(), Net.make()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    _train_torch(net, optimizer)
    ns = {"decoy": decoy, "net": net, "optimizer": optimizer, "fc": net.fc1}
    found = find_model(ns, DIGITS, 10, "classifier")
    assert (found.name, found.steps, found.optimizer, found.others) == ("net", 3, "Adam", ["decoy"])
    assert found.input_shape == (784,)
    # rebuilt as layers the judge can load, computing what forward computes
    assert type(found.model).__name__ == "Sequential"
    probe = torch.rand(5, 784)
    assert torch.allclose(found.model(probe), net(probe))
    folder = __import__("tempfile").mkdtemp()
    checks.export({"model": found.model}, __import__("pathlib").Path(folder))
    loaded = checks.load(__import__("pathlib").Path(folder))["model"]
    assert np.allclose(free_form.outputs(loaded, probe.numpy()), net(probe).detach().numpy(),
                       atol=1e-5)


def test_torch_sgd_without_momentum_counts_as_trained_by_its_gradients():
    import torch

    net, decoy = Net.make(), Net.make()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    _train_torch(net, optimizer, steps=1)
    found = find_model({"net": net, "decoy": decoy, "opt": optimizer}, DIGITS, 10, "classifier")
    assert (found.name, found.steps, found.optimizer) == ("net", 1, "SGD")


def test_a_forward_the_grader_cannot_rebuild_is_said_so():
    from torch import nn

    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(784, 10)

        def forward(self, x):
            return self.fc(x.view(-1, 784)) * 2

    with pytest.raises(AssertionError, match=r"`odd` \(Odd\): the grader rebuilds .*Linear"):
        find_model({"odd": Odd()}, DIGITS, 10, "classifier")


def test_an_autoencoder_is_told_from_its_encoder_and_a_threshold_by_its_name():
    import keras

    inputs = keras.Input((140,))
    code = keras.layers.Dense(8, activation="relu")(inputs)
    autoencoder = keras.Model(inputs, keras.layers.Dense(140)(code))
    encoder = keras.Model(inputs, code)
    autoencoder.compile("adam", "mse")
    autoencoder.fit(X[:, :140], X[:, :140], epochs=1, verbose=0)
    ns = {"encoder": encoder, "autoencoder": autoencoder, "threshold": np.float32(0.25),
          "epochs": 20}
    found = find_model(ns, [(140,)], "same", "autoencoder")
    assert (found.name, found.input_shape, found.output_shape) == ("autoencoder", (140,), (140,))
    assert find_number(ns) == ("threshold", 0.25)
    assert find_number({"thresh": "high"}) is None


def test_layers_describe_a_frozen_backbone_and_its_head():
    import keras

    backbone = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3),
                                 keras.layers.Conv2D(4, 3)], name="vgg16")
    backbone.trainable = False
    model = keras.Sequential([backbone, keras.layers.Flatten(), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(5, activation="softmax")])
    found = find_model({"model": model, "base": backbone}, None, None, "image classifier")
    assert (found.name, found.input_shape, found.output_shape) == ("model", (32, 32, 3), (5,))
    described = free_form.layers(model)
    assert [(d["kind"], d["trainable"], d.get("backbone")) for d in described] == [
        ("Conv2D", False, "vgg16"), ("Conv2D", False, "vgg16"), ("Flatten", True, None),
        ("Dense", True, None), ("Dense", True, None)]


# --------------------------------------------------------------------------- Experiment 6's images

#: Three classes told apart by their colour (sorted names, as notebooks number them): red,
#: blue, green; the channel each class's colour is strongest in.
COLOURS = {"accordion": 0, "airplanes": 2, "anchor": 1}


def _image_pack(folder, images=4, side=12):
    """A Caltech-101-style folder of generated PNGs, one folder per class."""
    from PIL import Image

    rng = np.random.default_rng(0)
    top = folder / "101_ObjectCategories"
    for name, channel in COLOURS.items():
        (top / name).mkdir(parents=True)
        for i in range(images):
            pixels = rng.integers(0, 90, (side, side, 3))
            pixels[..., channel] += 150
            Image.fromarray(pixels.astype("uint8")).save(top / name / f"image_{i + 1:04d}.png")
    return folder


def _run_criterion(experiment_id, criterion, ns):
    """A free-form criterion's extract half on ``ns``, then its judge half on what it returned
    (no sandbox, no export)."""
    from dlkit.grading.plans import free_form_plan

    test = next(t for t in free_form_plan(EXPERIMENTS[experiment_id]) if t.question == criterion)
    scope = dict(ns)
    exec(test.extract, scope)  # noqa: S102 - the rubric's own code
    data = scope["extract"](scope)
    judging: dict = {}
    exec(test.judge, judging)  # noqa: S102
    return judging["judge"](data)


def _colour_weights(order):
    """A 3x3 kernel that maps the mean of each colour channel to the class ``order`` gives it."""
    kernel = np.zeros((3, 3), "float32")
    for name, channel in COLOURS.items():
        kernel[channel, order.index(name)] = 10.0
    return kernel


def _keras_colour_classifier(order):
    import keras

    backbone = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(3, 1, use_bias=False)],
                                name="backbone")
    backbone.layers[0].set_weights([np.eye(3, dtype="float32").reshape(1, 1, 3, 3)])
    backbone.trainable = False
    model = keras.Sequential([backbone, keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(3, activation="softmax")])
    model.layers[-1].set_weights([_colour_weights(order), np.zeros(3, "float32")])
    return model


def test_an_imported_image_folder_gives_the_classes_and_a_fixed_sample_at_the_model_s_size(cache, tmp_path):
    from dlkit.data.pack import import_pack

    assert free_form.image_folder_classes() == []
    assert not import_pack(_image_pack(tmp_path / "pack", images=12), progress=False).refused
    (folder,) = image_folders()
    assert folder.labellings == (tuple(COLOURS),) and free_form.image_folder_classes() == [3]
    x, y = image_folder_sample(folder.path, folder.labellings[0], (20, 24))
    assert x.shape == (30, 20, 24, 3) and x.dtype == np.float32 and list(np.bincount(y)) == [10, 10, 10]
    again, _ = image_folder_sample(folder.path, folder.labellings[0], (20, 24))
    assert np.array_equal(x, again)  # the same images at every regrade
    assert [int(x[y == label].mean(axis=(0, 1, 2)).argmax()) for label in range(3)] == list(COLOURS.values())


def test_caltech_s_background_class_is_counted_with_and_without_it(cache, tmp_path):
    from dlkit.data.pack import import_pack

    pack = _image_pack(tmp_path / "pack")
    background = pack / "101_ObjectCategories" / "BACKGROUND_Google"
    background.mkdir()
    for name in ("image_0001.png", "image_0002.png"):
        (background / name).write_bytes((pack / "101_ObjectCategories" / "anchor" / name).read_bytes())
    import_pack(pack, progress=False)
    (folder,) = image_folders()
    assert folder.labellings == (("BACKGROUND_Google", *COLOURS), tuple(COLOURS))
    assert free_form.image_folder_classes() == [3, 4]
    # a notebook that deleted the background folder numbers the others from 0
    measured = _run_criterion("exp6-transfer-learning", "test_accuracy",
                              {"model": _keras_colour_classifier(list(COLOURS))})
    assert measured == {"test accuracy (grader)": 1.0, "images (grader)": 12,
                        "data": "101-objectcategories", "inputs": "x / 255"}


def test_a_keras_or_torch_classifier_is_judged_on_the_grader_s_sample_of_the_imported_folder(cache, tmp_path):
    import torch
    from torch import nn

    from dlkit.data.pack import import_pack

    import_pack(_image_pack(tmp_path / "pack"), progress=False)
    right = _keras_colour_classifier(list(COLOURS))
    measured = _run_criterion("exp6-transfer-learning", "test_accuracy", {"model": right})
    assert measured == {"test accuracy (grader)": 1.0, "images (grader)": 12,
                        "data": "101-objectcategories", "inputs": "x / 255"}
    # a 4-class toy beside it does not hide the 3-class classifier of the college's images
    import keras

    toy = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(4)])
    assert _run_criterion("exp6-transfer-learning", "test_accuracy", {"toy": toy, "model": right})[
        "test accuracy (grader)"] == 1.0
    wrong = _keras_colour_classifier(["anchor", "accordion", "airplanes"])  # classes mixed up
    with pytest.raises(AssertionError, match=r"accuracy of `model` measured by the grader on 12 "
                                             r"images of 101-objectcategories .*resized to 16x16.*: "
                                             r"0\.[0-3]\d+; it must reach 0\.7"):
        _run_criterion("exp6-transfer-learning", "test_accuracy", {"model": wrong})
    # torch, channels first (224x224, the size it takes first), a frozen backbone
    net = nn.Sequential(nn.Conv2d(3, 3, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 3))
    with torch.no_grad():
        net[0].weight.copy_(torch.eye(3).reshape(3, 3, 1, 1))
        net[0].bias.zero_()
        net[3].weight.copy_(torch.from_numpy(_colour_weights(list(COLOURS)).T))
        net[3].bias.zero_()
    net[0].requires_grad_(False)
    assert _run_criterion("exp6-transfer-learning", "test_accuracy", {"net": net}) == {
        "test accuracy (grader)": 1.0, "images (grader)": 12, "data": "101-objectcategories",
        "inputs": "x / 255"}


def test_without_an_imported_image_folder_the_accuracy_is_left_to_the_instructor(cache, tmp_path):
    import keras

    from dlkit.data.pack import import_pack

    model = _keras_colour_classifier(list(COLOURS))
    with pytest.raises(AssertionError, match="no image folder of the college .* your instructor judges it"):
        _run_criterion("exp6-transfer-learning", "test_accuracy", {"model": model})
    import_pack(_image_pack(tmp_path / "pack"), progress=False)
    five = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(5)])  # a subset of the classes, say
    with pytest.raises(AssertionError, match=r"`five` gives 5 classes but the imported image folders "
                                             r"have other numbers of classes \(101-objectcategories "
                                             r"\(3 classes\)\).*your instructor judges it"):
        _run_criterion("exp6-transfer-learning", "test_accuracy", {"five": five})


# --------------------------------------------------------------------------- the rubrics

FREE_FORM = sorted(e for e in EXPERIMENTS if rubrics.free_form_rubric(EXPERIMENTS[e]))


def test_some_experiments_have_free_form_rubrics():
    assert "exp2-feedforward" in FREE_FORM


@pytest.mark.parametrize("experiment_id", FREE_FORM)
def test_each_free_form_criterion_has_its_marks_and_splits_into_halves(experiment_id):
    from dlkit.grading.plans import free_form_plan
    from dlkit.rubrics import load_rubric

    experiment = EXPERIMENTS[experiment_id]
    plan = free_form_plan(experiment)
    rubric = load_rubric(experiment_id)
    assert {t.question: t.points for t in plan} == rubric["free_form_rubric"]["auto"]
    assert all("def extract" in t.extract and "def judge" in t.judge for t in plan)
    assert all("checks.run" not in t.extract + t.judge for t in plan)
    # extract halves run in the student's namespace: what they bind must not hide the
    # student's objects (a `from dlkit.experiments import threshold` replaced their threshold)
    bound = {name for t in plan for name in _top_level_names(t.extract)}
    assert bound <= {"checks", "free_form", "dlkit_experiments", "extract", "WHAT"}, bound
    # free-form criteria are not starter questions (feedback tells the two kinds of run apart)
    assert not {t.question for t in plan} & set(rubric.get("auto") or {})
    assert rubrics.graded_free_form(experiment) is False


def _top_level_names(source: str) -> set[str]:
    import ast

    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def test_a_criterion_without_marks_is_refused_by_name(tmp_path):
    import dataclasses

    experiment = dataclasses.replace(EXPERIMENTS["exp2-feedforward"], root=tmp_path)
    (tmp_path / "rubrics" / "free-form").mkdir(parents=True)
    (tmp_path / "rubrics" / "exp2-feedforward.yml").write_text(
        "free_form: true\nfree_form_rubric:\n  auto: {architecture: 3}\n")
    rubrics.criteria_path(tmp_path, "exp2-feedforward").write_text(
        "# %% architecture\nx = 1\n# %% accuracy\ny = 2\n")
    with pytest.raises(ValueError, match=r"criteria \['accuracy', 'architecture'\]"):
        rubrics.free_form_rubric(experiment)
    assert rubrics.graded_free_form(experiment) is True


# --------------------------------------------------------------------------- the user's side

def test_the_feedback_page_says_what_was_judged_and_what_is_left_to_the_instructor(tmp_path):
    from dlkit.feedback import write_feedback
    from dlkit.gradebook import Gradebook, ManualMark, Student
    from tests.test_feedback import DUE, EXP, _result, _run, _submission

    gradebook = Gradebook.open(tmp_path)
    with gradebook.session() as s:
        s.add(Student(roll="41006", name="Sneha Pawar", batch="B1"))
        s.flush()
        sneha = _submission("41006", 1)
        _run(sneha, [_result("architecture", 0, False, True, 3.0),
                     _result("optimizer", 0, False, True, 2.0),
                     _result("training", 0, False, True, 2.0),
                     _result("test_accuracy", 0, False, False, 4.0,
                             "test accuracy of `model` measured by the grader: 0.9676")])
        s.add_all([sneha, ManualMark(student_roll="41006", experiment=EXP, item="learning_curves",
                                     points=1.5, max_points=2, by="prof", at=DUE)])
    (page,) = write_feedback(EXP, course=tmp_path, gradebook=gradebook)
    html = " ".join(page.read_text(encoding="utf-8").split())
    assert "graded free-form" in html
    assert ("Judged automatically: <strong>architecture</strong>, <strong>optimizer</strong>, "
            "<strong>training</strong>, <strong>test_accuracy</strong>.") in html
    assert ("Left to your instructor: <strong>data_preparation</strong> (1), "
            "<strong>learning_curves</strong> (2), <strong>q7_fitting</strong> (2).") in html
    assert "measured by the grader: 0.9676" in html and "7 / 11" in html
    assert "1.5 / 2" in html  # the instructor's mark of a free-form item
    gradebook.engine.dispose()


def test_dlkit_grade_offers_free_form_grading():
    from click.testing import CliRunner

    from dlkit.cli import main

    result = CliRunner().invoke(main, ["grade", "--help"])
    assert result.exit_code == 0 and "--free-form / --starter" in result.output


def test_a_torch_loop_of_50_plain_sgd_steps_reports_50():
    import importlib

    import torch

    from dlkit.grading.kernel_env import count_optimizer_steps

    counting = count_optimizer_steps(importlib.import_module("torch.optim.optimizer"))  # as the grader's kernel does
    try:
        net = Net.make()
        optimizer = torch.optim.SGD(net.parameters(), lr=0.01)  # no momentum: no state at all
        _train_torch(net, optimizer, steps=50)
        assert not optimizer.state
        found = find_model({"net": net, "optimizer": optimizer}, DIGITS, 10, "classifier")
        assert (found.steps, found.optimizer) == (50, "SGD")
    finally:
        counting.remove()


def test_a_subclass_of_keras_model_is_found_by_the_shape_it_was_built_with():
    import keras

    class AnomalyDetector(keras.Model):
        def __init__(self):
            super().__init__()
            self.encoder = keras.Sequential([keras.layers.Dense(8, activation="relu")])
            self.decoder = keras.Sequential([keras.layers.Dense(140, activation="sigmoid")])

        def call(self, x):
            return self.decoder(self.encoder(x))

    autoencoder, unbuilt = AnomalyDetector(), AnomalyDetector()
    autoencoder.compile("adam", "mae")
    autoencoder.fit(X[:, :140], X[:, :140], epochs=1, verbose=0)
    found = find_model({"unbuilt": unbuilt, "autoencoder": autoencoder}, [(140,)], "same", "autoencoder")
    assert (found.name, found.input_shape, found.output_shape, found.steps) == (
        "autoencoder", (140,), (140,), 2)
    rebuilt = checks.rebuilt_keras_model(found.model, "autoencoder")  # what the export saves
    assert np.allclose(rebuilt(X[:4, :140]), autoencoder(X[:4, :140]), atol=1e-6)


# --------------------------------------------------------------------------- embeddings (Exp 5)

WORDS = [f"w{i}" for i in range(1, 40)]


def _structured(rows, dim=8, seed=0):
    """Rows that share directions, as trained embeddings do (a random draw does not)."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(rows, 2)) @ rng.normal(size=(2, dim))
    return (shared + 0.1 * rng.normal(size=(rows, dim))).astype("float32")


class Tokenizer:  # what the finder reads of a Keras Tokenizer
    def __init__(self, words):
        self.word_index = {w: i for i, w in enumerate(words, start=1)}


def test_a_keras_embedding_is_found_with_its_tokenizer_and_the_trained_one_wins():
    import keras

    keras.utils.set_random_seed(0)
    vocab_size = len(WORDS) + 1  # Tokenizer indices start at 1; row 0 is the padding

    def cbow():
        return keras.Sequential([keras.Input((4,)), keras.layers.Embedding(vocab_size, 8),
                                 keras.layers.GlobalAveragePooling1D(),
                                 keras.layers.Dense(vocab_size, activation="softmax")])

    model, decoy = cbow(), cbow()
    model.compile("adam", "sparse_categorical_crossentropy")
    contexts = np.random.default_rng(0).integers(1, vocab_size, (64, 4))
    model.fit(contexts, contexts[:, 0], epochs=2, batch_size=32, verbose=0)
    embeddings = model.layers[0].get_weights()[0]  # a copy: the same matrix
    ns = {"decoy": decoy, "tokenizer": Tokenizer(WORDS), "model": model, "embeddings": embeddings,
          "contexts": contexts, "flat": np.zeros((vocab_size, 3))}
    found = free_form.find_embedding(ns)
    assert found.name.startswith("`model` (layer `embedding")
    assert found.vocabulary == "tokenizer.word_index" and found.framework == "keras"
    assert found.words[:3] == ["", "w1", "w2"] and found.steps == 4 and found.optimizer == "Adam"
    assert np.array_equal(found.matrix, embeddings)
    assert [o.split(" ")[0] for o in found.others] == ["`decoy`", "`flat`"]


def test_a_tokenizer_s_word_index_fits_a_matrix_of_num_words_rows():
    rows = finder._row_words(Tokenizer(WORDS).word_index, 10, tokenizer=True)
    assert rows == ["", *WORDS[:9]]
    assert finder._row_words({w: i for i, w in enumerate(WORDS)}, 10) is None  # not a tokenizer


def test_a_torch_cbow_s_input_embeddings_are_found_by_its_index_to_word_dict():
    import torch
    from torch import nn

    class CBOW(nn.Module):
        def __init__(self):
            super().__init__()
            self.embeddings, self.out = nn.Embedding(len(WORDS), 8), nn.Embedding(len(WORDS), 8)

        def forward(self, context, words):
            return (self.out(words) * self.embeddings(context).mean(1, keepdim=True)).sum(2)

    net = CBOW()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    loss = net(torch.randint(0, len(WORDS), (16, 4)), torch.randint(0, len(WORDS), (16, 1))).sum()
    loss.backward()
    optimizer.step()
    ns = {"idx2word": dict(enumerate(WORDS)), "net": net, "optimizer": optimizer,
          "layer": net.embeddings}
    found = free_form.find_embedding(ns)
    assert (found.name, found.vocabulary, found.steps, found.optimizer) == (
        "`net` (`embeddings`)", "idx2word", 1, "Adam")
    assert found.words == WORDS and found.others == ["`net` (`out`)"]


def test_a_numpy_matrix_that_is_no_random_draw_wins_over_its_initial_state():
    initial = np.random.default_rng(1).uniform(-0.5, 0.5, (len(WORDS), 8)).astype("float32")
    trained = _structured(len(WORDS))
    assert free_form.looks_trained(trained) and not free_form.looks_trained(initial)
    assert free_form.row_structure(initial)[0] < 1.3 < free_form.row_structure(trained)[0]
    found = free_form.find_embedding({"vocab": WORDS, "W1": trained, "W_init": initial})
    assert (found.name, found.framework, found.others) == ("`W1`", "numpy", ["`W_init`"])
    # random draws of any scale and shape stay near 1.0
    for rows, dim in ((10, 50), (87, 10), (2000, 100)):
        draw = np.random.default_rng(rows).normal(0, 3, (rows, dim))
        assert not free_form.looks_trained(draw), (rows, dim, free_form.row_structure(draw))


def test_no_matrix_with_a_vocabulary_is_a_missing_object_that_says_what_was_found():
    with pytest.raises(MissingObject, match=r"matrices `W` \(50x8\); vocabularies `vocab` \(39 words\)"):
        free_form.find_embedding({"W": np.ones((50, 8)), "vocab": WORDS, "ids": np.ones((39, 2), int),
                                  "tokens": WORDS + WORDS})  # a text's tokens are no vocabulary
    with pytest.raises(MissingObject, match="no embedding matrix; no vocabulary"):
        free_form.find_embedding({"x": 1})


def test_neighbour_quality_is_measured_where_the_vocabulary_is_a_registry_corpus():
    groups = checks.NEIGHBOUR_GROUPS["kjv"]
    words = [w for members in groups.values() for w in members] + \
        ["lord", "israel", "king", "people", "house", "god", "day", "came", "land", "children"]
    rng = np.random.default_rng(0)
    directions = {name: rng.normal(size=16) for name in groups}
    matrix = np.stack([directions[g] + 0.3 * rng.normal(size=16) if (g := next(
        (n for n, m in groups.items() if w in m), None)) else rng.normal(size=16) for w in words])
    scores = free_form.neighbour_scores(matrix, words)
    assert scores["corpus"] == "kjv" and scores["score"] > 0.9 and scores["threshold"] == 0.25
    toy = free_form.neighbour_scores(matrix[:12], ["deep", "learning", "neural", "network", "word",
                                                   "vector", "model", "layer", "softmax", "data",
                                                   "training", "context"])
    assert toy["corpus"] == "" and "quality" not in toy and toy["coverage"]["bbc-news"] > 0.5


class FailingExecutor:
    """An executor whose every run fails (a worker lost, a broken pool): the coordinator records
    zeros for it."""

    sandbox_kind, isolated, gpus = "fake", True, 0

    def __init__(self):
        self.tasks = []

    def submit(self, task):
        from concurrent.futures import Future

        self.tasks.append(task)
        future = Future()
        future.set_exception(RuntimeError("worker lost"))
        return future

    def close(self):
        pass


def test_a_failed_free_form_run_gets_zeros_under_the_free_form_criteria(tmp_path):
    from pathlib import Path

    from dlkit.collect import collect
    from dlkit.gradebook import ExperimentRow, Gradebook
    from dlkit.grading.grade import grade_experiment

    inbox, course = tmp_path / "inbox", tmp_path / "course"
    inbox.mkdir()
    corpus = Path(__file__).parents[1] / "fixtures" / "free_form" / "exp2-feedforward"
    (inbox / "41001_lab2.ipynb").write_bytes((corpus / "sklearn_mlp.ipynb").read_bytes())
    gradebook = Gradebook.open(course)
    collect("exp2-feedforward", inbox, course=course, gradebook=gradebook)
    executor = FailingExecutor()
    summary = grade_experiment("exp2-feedforward", course=course, gradebook=gradebook,
                               executor=executor, free_form=True, progress=False)
    assert summary.statuses == {"sandbox error": 1} and executor.tasks[0].free_form
    (run,) = gradebook.current_runs("exp2-feedforward")
    with gradebook.session() as s:
        run = s.merge(run)
        assert {r.question: r.max_points for r in run.results} == {
            "architecture": 3, "optimizer": 2, "training": 2, "test_accuracy": 4}
        assert run.score == 0 and run.max_score == 11 and "worker lost" in run.reason
        assert s.get(ExperimentRow, "exp2-feedforward").auto_points == 11
    gradebook.engine.dispose()


def test_a_free_form_notebook_is_not_told_of_images_it_keeps_back():
    with pytest.raises(AssertionError) as starter:
        checks.assert_not_fitted_to_test(1.0, 0.96, 0.01)
    assert "the notebook keeps back" in str(starter.value)
    with pytest.raises(AssertionError) as free:
        checks.assert_not_fitted_to_test(1.0, 0.96, 0.01, kept_back=False, data="MNIST")
    words = str(free.value)
    assert "keeps back" not in words
    assert ("1.0000 on the MNIST test set but 0.9600 on 5,000 images of the MNIST training set, the "
            "last ones, which a notebook that trains on the training set has trained on") in words
    # every free-form criterion that compares with those images says so
    for experiment_id in FREE_FORM:
        text = rubrics.criteria_path(EXPERIMENTS[experiment_id].root, experiment_id).read_text()
        calls = [line for line in text.splitlines() if "assert_not_fitted_to_test(" in line]
        assert all("kept_back=False" in line for line in calls), experiment_id


@pytest.mark.sandbox
def test_dlkit_grade_free_form_end_to_end_through_the_cli(tmp_path):
    """collect, grade --free-form, feedback: a free-form Experiment 2 notebook of the corpus
    that builds and compiles its model but never trains it (about 30 s: one sandboxed run)."""
    import sqlite3
    from pathlib import Path

    from click.testing import CliRunner

    from dlkit.cli import main

    inbox, course = tmp_path / "inbox", tmp_path / "course"
    inbox.mkdir()
    corpus = Path(__file__).parents[1] / "fixtures" / "free_form" / "exp2-feedforward"
    (inbox / "41001_assignment2.ipynb").write_bytes((corpus / "never_trains.ipynb").read_bytes())
    runner = CliRunner()

    def dlkit(*args):
        result = runner.invoke(main, [*args, "--course", str(course)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    dlkit("collect", "exp2-feedforward", str(inbox))
    graded = dlkit("grade", "exp2-feedforward", "--free-form", "--gpus", "none", "--workers", "1")
    assert "graded 1 submission(s) of exp2-feedforward" in graded and "1 graded" in graded
    with sqlite3.connect(course / "gradebook.db") as db:
        run = db.execute("SELECT id, status, score, max_score FROM runs WHERE current").fetchone()
        results = dict(db.execute("SELECT question, passed FROM results WHERE run_id = ?",
                                  (run[0],)).fetchall())
    assert run[1:] == ("graded", 5.0, 11.0)
    assert results == {"architecture": 1, "optimizer": 1, "training": 0, "test_accuracy": 0}
    assert "wrote 1 feedback page(s)" in dlkit("feedback", "exp2-feedforward")
    html = " ".join((course / "feedback" / "exp2-feedforward" / "41001.html")
                    .read_text(encoding="utf-8").split())
    assert "graded free-form" in html and "5 / 11" in html
    assert ("Judged automatically: <strong>architecture</strong>, <strong>optimizer</strong>, "
            "<strong>training</strong>, <strong>test_accuracy</strong>.") in html
    assert ("Left to your instructor: <strong>data_preparation</strong> (1), "
            "<strong>learning_curves</strong> (2), <strong>q7_fitting</strong> (2).") in html
    assert "`model` was never trained (its optimizer took no step)" in html


# --------------------------------------------------------------------------- the notebook's scaling

@pytest.mark.parametrize("make", [
    lambda p: p.StandardScaler(), lambda p: p.StandardScaler(with_mean=False),
    lambda p: p.MinMaxScaler(), lambda p: p.MinMaxScaler((-1, 1), clip=True),
    lambda p: p.MaxAbsScaler(), lambda p: p.RobustScaler(), lambda p: p.RobustScaler(with_centering=False)])
def test_a_fitted_scaler_crosses_as_its_parameters_and_transforms_as_its_own(make, tmp_path):
    from sklearn import preprocessing

    from dlkit.grading.free_form.measures import notebook_scaling

    rng = np.random.default_rng(0)
    x = rng.normal(5, 3, (200, 6)) * np.arange(1, 7)
    scaler = make(preprocessing).fit(x[:150])
    found = free_form.find_scaler({"other": preprocessing.StandardScaler().fit(x[:, :2]),
                                   "scaler": scaler}, 6)
    assert found["scaler"]["name"] == "scaler" and found["scaler"]["kind"] == type(scaler).__name__
    checks.export(found, tmp_path / "out")  # arrays and JSON only: no pickle crosses
    words, scale = notebook_scaling(checks.load(tmp_path / "out"), 6)
    assert words == f"after your {type(scaler).__name__} (`scaler`)"
    np.testing.assert_allclose(scale(x[150:]), scaler.transform(x[150:]), rtol=1e-9, atol=1e-12)


def test_only_scikit_learn_s_own_fitted_scalers_of_the_model_s_width_are_read():
    from sklearn.preprocessing import StandardScaler

    class Mine(StandardScaler):  # the notebook's class: its transform could do anything
        pass

    x = np.random.default_rng(0).normal(size=(50, 4))
    assert free_form.find_scaler({"s": Mine().fit(x), "unfitted": StandardScaler()}, 4) is None
    assert free_form.find_scaler({"amount": StandardScaler().fit(x[:, :1])}, 4) is None
    broken = StandardScaler().fit(x)
    broken.scale_ = np.array([1.0, 0.0, 1.0, 1.0])  # set by hand: not finite once inverted
    assert free_form.find_scaler({"broken": broken}, 4) is None


def test_exported_scaler_parameters_of_the_wrong_shape_or_kind_are_not_applied():
    from dlkit.grading.free_form.measures import notebook_scaling

    good = {"scaler": {"name": "sc", "kind": "StandardScaler", "features": 3, "clip": None},
            "scaler_multiply": np.ones(3), "scaler_add": np.zeros(3)}
    assert notebook_scaling(good, 3)[0] == "after your StandardScaler (`sc`)"
    assert notebook_scaling(good, 4) is None
    assert notebook_scaling({**good, "scaler_add": np.array([0.0, np.inf, 0.0])}, 3) is None
    assert notebook_scaling({**good, "scaler": {**good["scaler"], "kind": "os.system"}}, 3) is None
    assert notebook_scaling({**good, "scaler": {**good["scaler"], "name": "<b>x</b>"}}, 3)[0] \
        == "after your StandardScaler (`?`)"


def _standardised_pca_autoencoder(normal, components=5):
    """A linear Keras autoencoder of standardised inputs (their first principal components), set
    from the data rather than trained: it reconstructs transactions like ``normal`` well."""
    import keras

    _, _, vt = np.linalg.svd(normal - normal.mean(axis=0), full_matrices=False)
    w = vt[:components].T.astype("float32")
    model = keras.Sequential([keras.Input((normal.shape[1],)), keras.layers.Dense(components),
                              keras.layers.Dense(normal.shape[1])])
    model.layers[0].set_weights([w, np.zeros(components, "float32")])
    model.layers[1].set_weights([w.T, np.zeros(normal.shape[1], "float32")])
    return model


def test_a_threshold_is_measured_after_the_notebook_s_own_standard_scaler(cache, tmp_path):
    from sklearn.preprocessing import StandardScaler

    from dlkit.data.imported import imported_entries
    from dlkit.data.loaders import read_creditcard
    from dlkit.data.pack import import_pack
    from tests.fixtures.free_form.make_corpus import write_creditcard

    (tmp_path / "pack").mkdir()
    write_creditcard(tmp_path / "pack" / "creditcard.csv")
    assert not import_pack(tmp_path / "pack", progress=False).refused
    (entry,) = [e for e in imported_entries() if e.kind == "creditcard-csv"]
    frame, fraud = read_creditcard(entry.data, with_time=False)
    x = frame.to_numpy("float64")
    normal = x[:3000][fraud[:3000] == 0]
    scaler = StandardScaler().fit(normal)  # fitted on the notebook's normal training rows
    model = _standardised_pca_autoencoder(scaler.transform(normal))
    errors = ((model.predict(scaler.transform(normal), verbose=0) - scaler.transform(normal)) ** 2).mean(axis=1)
    ns = {"autoencoder": model, "scaler": scaler, "threshold": float(np.percentile(errors, 97))}
    _fit_once(model, scaler.transform(normal))
    got = _run_criterion("exp4-autoencoder-anomaly", "threshold", ns)
    assert got["inputs"] == "after your StandardScaler (`scaler`)"
    assert got["data"] == "credit-card transactions"
    assert got["balanced accuracy at the threshold (grader)"] >= 0.8
    auc = _run_criterion("exp4-autoencoder-anomaly", "roc_auc", ns)
    assert auc["data"] == "credit-card transactions" and auc["ROC-AUC (grader)"] >= 0.95


def _fit_once(model, x):
    """One optimizer step at a rate of nothing: the model counts as trained, its weights stay."""
    import keras

    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    model.fit(x[:32], x[:32], epochs=1, batch_size=32, verbose=0)


# --------------------------------------------------------------------------- what a title says

def test_a_frozen_vgg16_is_named_by_its_weights_not_by_its_layers_names():
    import keras

    base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3),
                                    name="efficientnet")
    base.trainable = False
    model = keras.Sequential([base, keras.layers.Flatten(), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(4, activation="softmax")])
    assert free_form.backbone_of(model) == "VGG16"
    assert free_form.backbone_of(_keras_colour_classifier(sorted(COLOURS))) == ""


def test_a_free_form_title_names_the_data_and_backbone_found_never_the_starter_s():
    exp4, exp6 = EXPERIMENTS["exp4-autoencoder-anomaly"], EXPERIMENTS["exp6-transfer-learning"]
    assert "MNIST" in exp4.title_for(["ECG5000"])  # a starter run keeps the experiment's title
    assert exp4.title_for(["ECG5000", "ECG5000"], free_form=True) == "Autoencoder anomaly detection: ECG5000"
    assert exp6.title_for([], "VGG16", free_form=True) == \
        "Transfer learning from a pretrained CNN: VGG16 backbone"
    for experiment in EXPERIMENTS.values():  # found nothing: no data named at all
        untold = experiment.title_for(free_form=True)
        assert not any(word in untold for word in ("MNIST", "EfficientNet", "CIFAR", "BBC")), untold
    assert free_form.data_of_inputs((140,)) == "ECG5000" and free_form.data_of_inputs((28, 28)) == "MNIST"
