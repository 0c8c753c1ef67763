"""An offline object-detection set built from real MNIST digits, and the images Experiment 6 uses.

Penn-Fudan, VOC and COCO are not reachable offline, so :func:`digit_canvases` places 1-3 real
MNIST digits at random, non-overlapping positions on larger black canvases. Every box is the
digit's ink extent, so the ground truth is exact; the label is the digit. The same seed gives the
same canvases, and the training and held-out canvases draw on disjoint MNIST splits.

    canvases = digit_canvases(500, seed=0, split="train")
    canvases.images[0]          # (128, 128) uint8
    canvases.boxes[0]           # (k, 4) float32, x1 y1 x2 y2 in pixels
    canvases.labels[0]          # (k,) int64 digits 0-9
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from dlkit.errors import DataError

DIGIT = 28  # side of an MNIST digit, in pixels
SPLITS = ("train", "test")


@dataclass(frozen=True)
class Canvases:
    """Detection images with their ground truth: one entry per canvas in each list."""

    images: np.ndarray          # (n, size, size) uint8
    boxes: list[np.ndarray]     # (k, 4) float32 x1, y1, x2, y2 (x2, y2 exclusive)
    labels: list[np.ndarray]    # (k,) int64 digits 0-9
    seed: int
    split: str

    def __len__(self) -> int:
        return len(self.images)


@lru_cache(maxsize=2)
def _mnist_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    from dlkit.data.loaders import load_mnist

    train, test = load_mnist()
    return train if split == "train" else test


def ink_box(digit: np.ndarray) -> tuple[int, int, int, int]:
    """The ink extent (x1, y1, x2, y2; x2 and y2 exclusive) of one digit image."""
    rows = np.flatnonzero(digit.any(axis=1))
    cols = np.flatnonzero(digit.any(axis=0))
    if len(rows) == 0:
        raise DataError("an MNIST image without ink", where="digit_canvases")
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _free_spot(rng: np.random.Generator, taken: list[tuple[int, int]], size: int) -> tuple[int, int]:
    """A top-left corner whose 28x28 patch overlaps none already placed."""
    for _ in range(1000):
        x, y = (int(v) for v in rng.integers(0, size - DIGIT + 1, size=2))
        if all(abs(x - tx) >= DIGIT or abs(y - ty) >= DIGIT for tx, ty in taken):
            return x, y
    raise DataError(f"no free spot for another digit on a {size}x{size} canvas",
                    where="digit_canvases")


def digit_canvases(n: int, seed: int = 0, split: str = "train", size: int = 128,
                   max_digits: int = 3) -> Canvases:
    """``n`` canvases of ``size`` x ``size`` pixels, each with 1 to ``max_digits`` real MNIST
    digits of ``split`` ("train" or "test"); deterministic in ``seed``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if n < 1 or max_digits < 1 or size < DIGIT:
        raise ValueError(f"need n >= 1, max_digits >= 1 and size >= {DIGIT}; "
                         f"got n={n}, max_digits={max_digits}, size={size}")
    if (size // DIGIT) ** 2 < max_digits:
        raise ValueError(f"{max_digits} digits do not fit on a {size}x{size} canvas")
    digits, digit_labels = _mnist_split(split)
    rng = np.random.default_rng(seed)
    images = np.zeros((n, size, size), dtype=np.uint8)
    boxes, labels = [], []
    for i in range(n):
        count = int(rng.integers(1, max_digits + 1))
        chosen = rng.choice(len(digits), size=count, replace=False)
        taken: list[tuple[int, int]] = []
        canvas_boxes = []
        for index in chosen:
            x, y = _free_spot(rng, taken, size)
            taken.append((x, y))
            patch = images[i, y:y + DIGIT, x:x + DIGIT]
            np.maximum(patch, digits[index], out=patch)
            x1, y1, x2, y2 = ink_box(digits[index])
            canvas_boxes.append((x + x1, y + y1, x + x2, y + y2))
        boxes.append(np.asarray(canvas_boxes, dtype=np.float32).reshape(-1, 4))
        labels.append(digit_labels[chosen].astype(np.int64))
    return Canvases(images, boxes, labels, seed, split)


def to_rgb_tensor(images: np.ndarray, size: int | None = None):
    """Grey uint8 images (n, h, w) -> float32 torch tensor (n, 3, size, size) scaled to [-1, 1],
    the input EfficientNet-Lite0 was trained on (TF-style scaling); bilinear resize if ``size``."""
    import torch
    import torch.nn.functional as F

    array = np.asarray(images)
    if array.ndim != 3:
        raise ValueError(f"expected grey images shaped (n, height, width), got {array.shape}")
    x = torch.from_numpy(array.astype(np.float32) / 127.5 - 1.0).unsqueeze(1)
    if size is not None and tuple(x.shape[-2:]) != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x.expand(-1, 3, -1, -1).contiguous()
