"""What the grader puts in the student's kernel (seeds, loaders, stand-ins) and how the runner
reads the student's cells. The sandboxed end-to-end runs are in test_real_notebooks.py."""

from __future__ import annotations

import hashlib
import importlib
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from dlkit.data.catalog import REGISTRY
from dlkit.data.pack import import_pack
from dlkit.grading import kernel_env
from dlkit.grading.runner import first_line, is_grader_check

MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz"


# --------------------------------------------------------------------------- runner helpers

@pytest.mark.parametrize(("source", "check"), [
    ('grader.check("q1_mean")', True),
    ('grader.check("q1")\ngrader.check("q2")', True),
    ("grader.check_all()", True),
    ('x = 1\ngrader.check("q1")', False),
    ('print(grader.check("q1"))', False),
    ("other.check('q1')", False),
    ("def f(:", False),
    ("", False),
])
def test_otter_check_cells_are_recognised(source, check):
    assert is_grader_check(source) is check


def test_first_line_is_the_first_one_written():
    assert first_line("\n\n   df = pd.read_csv('ecg.csv')  \nx = 1") == "df = pd.read_csv('ecg.csv')"
    assert first_line("x" * 200).endswith("…") and len(first_line("x" * 200)) == 120


# --------------------------------------------------------------------------- post-import hooks

def test_a_hook_runs_right_after_the_module_s_own_code(tmp_path, monkeypatch):
    (tmp_path / "dlkit_fake_framework.py").write_text("SEEDED = False\nVALUE = 41\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []

    def hook(module):
        seen.append(module.VALUE)
        module.SEEDED = True

    finder = kernel_env._AfterImport({"dlkit_fake_framework": hook})
    sys.meta_path.insert(0, finder)
    try:
        module = importlib.import_module("dlkit_fake_framework")
    finally:
        sys.meta_path.remove(finder)
        sys.modules.pop("dlkit_fake_framework", None)
    assert seen == [41] and module.SEEDED


def test_a_failing_hook_never_breaks_the_student_s_import(tmp_path, monkeypatch):
    (tmp_path / "dlkit_fake_framework2.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    finder = kernel_env._AfterImport({"dlkit_fake_framework2": lambda module: 1 / 0})
    sys.meta_path.insert(0, finder)
    try:
        assert importlib.import_module("dlkit_fake_framework2").VALUE == 1
    finally:
        sys.meta_path.remove(finder)
        sys.modules.pop("dlkit_fake_framework2", None)
    assert any("ZeroDivisionError" in note for note in kernel_env.notes())


# --------------------------------------------------------------------------- the registry's answers

def test_downloads_are_answered_by_url_mirror_or_pack_file_name(cache, tmp_path):
    from tests.data.pack_samples import write_keras_h5

    weights = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    import numpy as np

    write_keras_h5(weights, np.random.default_rng(0))
    import_pack(weights, progress=False)
    found = kernel_env.registry_file(
        "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    assert found.read_bytes() == weights.read_bytes()
    # MNIST is the registry's `mnist`, which this empty cache lacks: the message says how to get it
    with pytest.raises(kernel_env.OfflineDataUnavailable, match="dlkit data fetch mnist"):
        kernel_env.registry_file(MNIST_URL)
    with pytest.raises(kernel_env.OfflineDataUnavailable, match="dlkit data fetch mnist"):
        kernel_env.registry_file("http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz")
    # an idx name alone could be Fashion-MNIST's: never answered by name
    assert kernel_env.registry_file(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz") is None
    assert kernel_env.registry_file("https://example.org/unknown.zip") is None


def test_keras_get_file_gets_a_local_copy_or_a_clear_error(cache, tmp_path):
    corpus = tmp_path / "CBOW.txt"
    corpus.write_text("words and more words " * 10)
    import_pack(corpus, progress=False)
    calls = []

    def original(fname=None, origin=None, *args, **kwargs):
        calls.append((fname, origin))
        if not origin.startswith("file://"):
            raise Exception(f"URL fetch failure on {origin}: None -- [Errno 101] Network is unreachable")
        return "/kept"

    file_utils = SimpleNamespace(get_file=original)
    kernel_env._answer_keras_get_file(file_utils)
    assert file_utils.get_file("CBOW.txt", "https://lab.example/CBOW.txt") == "/kept"
    assert calls[-1] == ("CBOW.txt", (cache / "cbow" / "CBOW.txt").as_uri())
    with pytest.raises(kernel_env.OfflineDataUnavailable) as caught:
        file_utils.get_file("imdb.npz", "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz")
    message = str(caught.value)
    assert "imdb.npz" in message and "without network access" in message
    assert "dlkit data import FOLDER" in message


def test_torchvision_gets_the_registry_s_mnist_files_where_it_looks(tmp_path):
    if not REGISTRY.cached(REGISTRY["mnist"]):
        pytest.skip("needs the registry's MNIST (`dlkit data fetch mnist`)")

    def check_integrity(path, md5=None):
        if not Path(path).is_file():
            return False
        return md5 is None or hashlib.md5(Path(path).read_bytes()).hexdigest() == md5

    utils = SimpleNamespace(check_integrity=check_integrity, download_url=lambda *a, **k: None)
    kernel_env._answer_torchvision(utils)
    raw = tmp_path / "data" / "MNIST" / "raw"
    # torchvision's own md5 for this file: the registry's copy is the published one
    utils.download_url(MNIST_URL, raw, "train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873")
    assert (raw / "train-images-idx3-ubyte.gz").read_bytes() == \
        REGISTRY["mnist"].path("train-images-idx3-ubyte.gz").read_bytes()
    with pytest.raises(kernel_env.OfflineDataUnavailable, match="KMNIST|kmnist"):
        utils.download_url("http://codh.rois.ac.jp/kmnist/dataset/kmnist/train-images-idx3-ubyte.gz",
                           tmp_path / "data" / "KMNIST" / "raw")


def test_keras_fashion_mnist_comes_from_the_pack_s_csv_files(cache, tmp_path):
    import numpy as np

    from tests.data.pack_samples import digits_like, write_image_csv

    rng = np.random.default_rng(3)
    header = ["label", *[f"pixel{i}" for i in range(1, 785)]]
    module = SimpleNamespace(load_data=lambda: (_ for _ in ()).throw(Exception("URL fetch failure")))
    kernel_env._keras_fashion_mnist(module)
    with pytest.raises(kernel_env.OfflineDataUnavailable, match="fashion-mnist_train.csv"):
        module.load_data()
    for part, n in (("train", 12), ("test", 6)):
        write_image_csv(tmp_path / f"fashion-mnist_{part}.csv", np.arange(n) % 10,
                        digits_like(rng, n, 0.4), header)
    import_pack(tmp_path, progress=False)
    (x_train, y_train), (x_test, y_test) = module.load_data()
    assert x_train.shape == (12, 28, 28) and x_test.shape == (6, 28, 28)
    assert x_train.dtype == np.uint8 and list(y_test) == [0, 1, 2, 3, 4, 5]
    # torchvision's FashionMNIST gets idx files made from the same CSVs
    import gzip

    from dlkit.data import parse_idx

    host = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
    for name, expected in (("train-images-idx3-ubyte.gz", x_train), ("t10k-labels-idx1-ubyte.gz", y_test)):
        assert kernel_env._pack_idx(host + name, str(tmp_path / name))
        assert np.array_equal(parse_idx(gzip.decompress((tmp_path / name).read_bytes())), expected)


# --------------------------------------------------------------------------- google.colab

def test_google_colab_stand_in_says_what_the_grader_does(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(kernel_env.KERNEL_PATH))
    for name in [n for n in sys.modules if n.startswith("google.colab")]:
        monkeypatch.delitem(sys.modules, name)
    try:
        from google.colab import drive, files

        drive.mount("/content/drive")
        assert files.upload() == {}
    finally:
        for name in [n for n in sys.modules if n.startswith("google.colab")]:
            del sys.modules[name]
    out = capsys.readouterr().out
    assert "drive.mount('/content/drive') does nothing here" in out and "datasets.yml" in out
    assert (kernel_env.KERNEL_PATH / "google" / "__init__.py").exists() is False  # a namespace
