"""A small dataset pack in the formats colleges hand out, generated (no college data committed).

Every file is made here from random numbers in the published layout: what ``dlkit data import``
must recognise by content alone (some get names that say nothing).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

CREDITCARD_COLUMNS = ["Time", *[f"V{i}" for i in range(1, 29)], "Amount", "Class"]


def digits_like(rng: np.random.Generator, n: int, ink: float) -> np.ndarray:
    """n images of 28×28 with a fraction ``ink`` of bright pixels (MNIST ≈ 0.13, Fashion ≈ 0.3)."""
    images = np.zeros((n, 784), dtype=np.int64)
    bright = rng.random((n, 784)) < ink
    images[bright] = rng.integers(128, 256, size=int(bright.sum()))
    return images


def write_image_csv(path: Path, labels: np.ndarray, pixels: np.ndarray, header: list[str] | None,
                    label_last: bool = False) -> Path:
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        if header:
            writer.writerow(header)
        for label, row in zip(labels, pixels):
            values = [*row.tolist(), int(label)] if label_last else [int(label), *row.tolist()]
            writer.writerow(values)
    return path


def make_pack(folder: Path, seed: int = 0) -> dict[str, Path]:
    """Write one file (or folder) of each kind into ``folder``; returns kind -> path."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}
    labels = rng.integers(0, 10, size=40)
    # MNIST as the pjreddie CSVs students download: no header, label first
    made["mnist-csv"] = write_image_csv(folder / "mnist_train.csv", labels, digits_like(rng, 40, 0.13),
                                        header=None)
    # Fashion-MNIST as on Kaggle: a header, label first
    fashion = folder / "Fashion"
    fashion.mkdir()
    header = ["label", *[f"pixel{i}" for i in range(1, 785)]]
    made["fashion-mnist-csv"] = write_image_csv(fashion / "fashion-mnist_train.csv", labels,
                                                digits_like(rng, 40, 0.35), header)
    write_image_csv(fashion / "fashion-mnist_test.csv", labels[:20], digits_like(rng, 20, 0.35), header)
    # ECG as TensorFlow's ecg.csv: 140 values, the label (0/1) last, no header; a name that
    # says nothing
    beats = np.round(rng.normal(size=(30, 140)), 6)
    ecg_labels = rng.integers(0, 2, size=30)
    made["ecg-csv"] = folder / "ECG" / "data1.csv"
    made["ecg-csv"].parent.mkdir()
    with open(made["ecg-csv"], "w", newline="") as stream:
        writer = csv.writer(stream)
        for beat, label in zip(beats, ecg_labels):
            writer.writerow([*beat.tolist(), f"{float(label):.1f}"])
    # creditcard.csv: Time, V1-V28, Amount, Class (quoted header, as published)
    made["creditcard-csv"] = folder / "creditcard.csv"
    with open(made["creditcard-csv"], "w", newline="") as stream:
        writer = csv.writer(stream, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(CREDITCARD_COLUMNS)
        for i in range(25):
            writer.writerow([float(i), *np.round(rng.normal(size=28), 4).tolist(),
                             float(round(rng.random() * 100, 2)), int(i % 10 == 0)])
    # another table: any CSV a course uses
    made["csv"] = folder / "housing.csv"
    made["csv"].write_text("rooms,area,price\n3,1200,45.5\n2,800,31.0\n4,1500,60.2\n")
    # a text corpus, as CBOW.txt
    made["text"] = folder / "CBOW.txt"
    made["text"].write_text(" ".join(["the quick brown fox jumps over the lazy dog"] * 30) + "\n")
    # Keras arrays as .npz (mnist.npz's layout)
    made["npz"] = folder / "mnist_small.npz"
    np.savez(made["npz"], x_train=np.zeros((4, 28, 28), np.uint8), y_train=np.arange(4, dtype=np.uint8))
    # an image set, one folder per class (Caltech-101's layout)
    made["image-folders"] = folder / "caltech-101"
    for name, colour in (("accordion", (200, 30, 30)), ("airplanes", (30, 30, 200)),
                         ("anchor", (30, 200, 30))):
        (made["image-folders"] / name).mkdir(parents=True)
        for i in range(2):
            write_png(made["image-folders"] / name / f"image_{i + 1:04d}.png", colour)
    # Keras weights as keras.applications stores them (layer_names, weight_names)
    made["keras-h5"] = folder / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    write_keras_h5(made["keras-h5"], rng)
    # a torch checkpoint
    import torch

    made["torch-checkpoint"] = folder / "tiny.pth"
    torch.save({"fc.weight": torch.zeros(2, 3), "fc.bias": torch.zeros(2)}, made["torch-checkpoint"])
    # not a dataset: skipped
    (folder / "notes.bin").write_bytes(bytes(range(256)) * 4)
    return made


def write_png(path: Path, colour: tuple[int, int, int]) -> None:
    from PIL import Image

    Image.new("RGB", (8, 8), colour).save(path)


def write_keras_h5(path: Path, rng: np.random.Generator) -> None:
    import h5py

    with h5py.File(path, "w") as h5:
        names = [b"block1_conv1", b"block1_conv2"]
        h5.attrs["layer_names"] = names
        for name in names:
            group = h5.create_group(name.decode())
            group.attrs["weight_names"] = [name + b"/kernel:0", name + b"/bias:0"]
            group.create_dataset(f"{name.decode()}/kernel:0", data=rng.normal(size=(3, 3, 3, 4)))
            group.create_dataset(f"{name.decode()}/bias:0", data=np.zeros(4))
