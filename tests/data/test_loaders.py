"""Loaders on the real data (through the registry) and the CIFAR-10 parser on a real-format archive."""

from __future__ import annotations

import io
import pickle
import tarfile

import numpy as np
import pytest

from dlkit import data
from dlkit.errors import DataError


def test_mnist_shapes_dtype_and_canonical_counts():
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842,
                                             5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982,
                                            892, 958, 1028, 974, 1009]


def test_mnist_anomaly_split_trains_on_the_normal_digit_only():
    split = data.mnist_anomaly_split(normal_digit=3, val_fraction=0.1, seed=1)
    assert split.x_train.shape[1] == 784 and split.x_train.dtype == np.float32
    assert len(split.x_train) + len(split.x_val) == 6131  # every training-set 3, nothing else
    assert len(split.x_val) == 613
    assert split.x_train.max() <= 1.0 and split.x_train.min() >= 0.0
    assert split.y_test.sum() == 10000 - 1010
    assert ((split.digits_test != 3) == split.y_test.astype(bool)).all()
    with pytest.raises(DataError, match="normal_digit must be 0-9"):
        data.mnist_anomaly_split(normal_digit=10)


def test_parse_idx_rejects_garbage():
    with pytest.raises(DataError, match="not an unsigned-byte idx file"):
        data.parse_idx(b"\x00\x00\x0d\x01garbage")
    header = bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big")
    with pytest.raises(DataError, match="header says"):
        data.parse_idx(header + b"abc")


def _cifar_archive(path, n=4, drop=None):
    """A cifar-10-python.tar.gz in the publisher's real format, with n images per batch."""
    rng = np.random.default_rng(0)
    with tarfile.open(path, "w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
            if name == drop:
                continue
            if name == "batches.meta":
                payload = {b"label_names": [c.encode() for c in data.CIFAR10_CLASSES]}
            else:
                payload = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                           b"labels": list(rng.integers(0, 10, n)), b"batch_label": name.encode()}
            blob = pickle.dumps(payload, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return payload


def test_cifar10_parser_on_real_format(tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    _cifar_archive(archive)
    (x_train, y_train), (x_test, y_test) = data.parse_cifar10(archive)
    assert x_train.shape == (20, 32, 32, 3) and x_test.shape == (4, 32, 32, 3)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    with tarfile.open(archive) as tar:  # channel-first rows become HWC images
        test = pickle.load(tar.extractfile("cifar-10-batches-py/test_batch"), encoding="bytes")
    assert (x_test[1, :, :, 0].ravel() == test[b"data"][1, :1024]).all()
    assert (x_test[1, :, :, 2].ravel() == test[b"data"][1, 2048:]).all()


def test_cifar10_parser_names_missing_batches(tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    _cifar_archive(archive, drop="data_batch_3")
    with pytest.raises(DataError, match="lacks data_batch_3"):
        data.parse_cifar10(archive)


def test_bbc_news_corpus():
    texts, labels, topics = data.load_bbc_news()
    assert len(texts) == 2225 and topics == data.BBC_TOPICS
    assert np.bincount(labels).tolist() == [510, 386, 417, 511, 401]
    assert sum(len(t.split()) for t in texts) > 800_000


def test_kjv_text():
    text = data.load_kjv()
    assert text.startswith("In the beginning God created the heaven and the earth.")
    assert 780_000 < len(text.split()) < 800_000
    assert "[" not in text


def test_kdd_tsad_135_series():
    series = data.load_kdd_tsad_135()
    assert series.train.shape == (1200,) and series.test.shape == (7501,)
    assert np.flatnonzero(series.test_labels).tolist() == list(range(4187, 4199))


def test_efficientnet_lite0_classifies_coffee_as_espresso():
    torch = pytest.importorskip("torch")
    from PIL import Image
    from skimage.data import coffee

    model = data.load_pretrained_cnn("efficientnet-lite0")
    image = data.imagenet_transform("efficientnet-lite0")(Image.fromarray(coffee()))[None]
    with torch.no_grad():
        probabilities = model(image).softmax(-1)[0]
    top = int(probabilities.argmax())
    assert data.imagenet_classes()[top] == "espresso"
    assert float(probabilities[top]) > 0.8
