"""Image classification sets: one NHWC uint8 shape for MNIST and CIFAR-10, the cache-only pick,
and the CIFAR-10 path on a small archive written in the publisher's real format."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit import data
from dlkit.data import REGISTRY
from dlkit.errors import DataError, UnknownName


def _images(rng, n, shape):
    return rng.integers(0, 256, (n, *shape), dtype=np.uint8), rng.integers(0, 10, n)


def test_mnist_image_set_is_nhwc_with_digit_classes():
    images = data.load_image_set("mnist")
    assert images.name == "mnist" and images.title == "MNIST"
    assert images.x_train.shape == (60000, 28, 28, 1) and images.x_test.shape == (10000, 28, 28, 1)
    assert images.x_train.dtype == np.uint8 and images.y_train.dtype == np.int64
    assert images.image_shape == (28, 28, 1)
    assert images.classes == tuple("0123456789")
    (x_train, y_train), _ = data.load_mnist()
    assert (images.x_train[..., 0] == x_train).all() and (images.y_train == y_train).all()


def test_cifar10_archive_round_trip_in_the_publishers_format(tmp_path):
    rng = np.random.default_rng(0)
    train, test = _images(rng, 23, (32, 32, 3)), _images(rng, 7, (32, 32, 3))
    archive = data.write_cifar10_archive(tmp_path / "cifar-10-python.tar.gz", train, test)
    parsed = data.parse_cifar10(archive)  # the real parser: five data batches, a test batch
    images = data.image_set("cifar10", *parsed)
    assert images.title == "CIFAR-10" and images.classes == data.CIFAR10_CLASSES
    assert images.image_shape == (32, 32, 3)
    assert (images.x_train == train[0]).all() and (images.y_train == train[1]).all()
    assert (images.x_test == test[0]).all() and (images.y_test == test[1]).all()


def test_write_cifar10_archive_refuses_other_shapes(tmp_path):
    rng = np.random.default_rng(0)
    with pytest.raises(DataError, match=r"\(N, 32, 32, 3\)"):
        data.write_cifar10_archive(tmp_path / "a.tar.gz", _images(rng, 3, (28, 28, 1)),
                                   _images(rng, 2, (32, 32, 3)))


def test_image_set_rejects_unknown_names_bad_labels_and_dtypes():
    rng = np.random.default_rng(0)
    grey = _images(rng, 4, (28, 28))
    with pytest.raises(UnknownName, match="image set"):
        data.image_set("fashion", grey, grey)
    with pytest.raises(UnknownName, match="image set"):
        data.load_image_set("fashion")
    with pytest.raises(DataError, match="labels must lie in 0-9"):
        data.image_set("mnist", (grey[0], grey[1] + 10), grey)
    with pytest.raises(DataError, match="expected uint8 images"):
        data.image_set("mnist", (grey[0].astype("float32"), grey[1]), grey)


def test_pick_image_set_reads_the_cache_only(tmp_path):
    rng = np.random.default_rng(0)
    name, why = data.pick_image_set(root=tmp_path)  # empty cache: MNIST, and it says why
    assert name == "mnist"
    assert "CIFAR-10 is not in the cache" in why and "dlkit data fetch cifar10" in why
    # a file that fails the publisher's checksum is not CIFAR-10: still MNIST
    folder = REGISTRY["cifar10"].folder(tmp_path)
    folder.mkdir(parents=True)
    data.write_cifar10_archive(folder / "cifar-10-python.tar.gz", _images(rng, 5, (32, 32, 3)),
                               _images(rng, 2, (32, 32, 3)))
    assert data.pick_image_set(root=tmp_path)[0] == "mnist"
