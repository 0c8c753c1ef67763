"""The offline detection set: real MNIST digits on canvases, with exact boxes."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit.data import load_mnist
from dlkit.data.detection import digit_canvases, ink_box, to_rgb_tensor
from dlkit.errors import DataError


@pytest.fixture(scope="module")
def canvases():
    return digit_canvases(60, seed=3, split="test", size=96)


def test_same_seed_same_canvases_other_seed_other_canvases(canvases):
    again = digit_canvases(60, seed=3, split="test", size=96)
    assert np.array_equal(again.images, canvases.images)
    assert all(np.array_equal(a, b) for a, b in zip(again.boxes, canvases.boxes))
    other = digit_canvases(60, seed=4, split="test", size=96)
    assert not np.array_equal(other.images, canvases.images)


def test_each_box_holds_one_real_test_digit_with_its_label(canvases):
    (train_x, _), (test_x, test_y) = load_mnist()
    by_image = {image.tobytes(): int(label) for image, label in zip(test_x, test_y)}
    train_images = {image.tobytes() for image in train_x[:5000]}
    counts = []
    for image, boxes, labels in zip(canvases.images, canvases.boxes, canvases.labels):
        assert boxes.shape == (len(labels), 4) and boxes.dtype == np.float32
        counts.append(len(labels))
        for (x1, y1, x2, y2), label in zip(boxes.astype(int), labels):
            assert 0 <= x1 < x2 <= 96 and 0 <= y1 < y2 <= 96
            crop = image[y1:y2, x1:x2]
            assert crop[0].any() and crop[-1].any() and crop[:, 0].any() and crop[:, -1].any()
            # the digit's 28x28 patch is somewhere around its ink box: find it exactly
            found = [by_image.get(image[y:y + 28, x:x + 28].tobytes())
                     for y in range(max(0, y2 - 28), min(y1, 68) + 1)
                     for x in range(max(0, x2 - 28), min(x1, 68) + 1)]
            assert int(label) in found
            assert not any(image[y:y + 28, x:x + 28].tobytes() in train_images
                           for y in range(max(0, y2 - 28), min(y1, 68) + 1)
                           for x in range(max(0, x2 - 28), min(x1, 68) + 1))
    assert set(counts) == {1, 2, 3}


def test_boxes_do_not_overlap_and_nothing_is_drawn_outside_them(canvases):
    for image, boxes in zip(canvases.images, canvases.boxes):
        mask = np.zeros(image.shape, dtype=bool)
        for x1, y1, x2, y2 in boxes.astype(int):
            assert not mask[y1:y2, x1:x2].any()
            mask[y1:y2, x1:x2] = True
        assert not image[~mask].any()


def test_ink_box_is_the_tight_extent():
    digit = np.zeros((28, 28), dtype=np.uint8)
    digit[5:9, 10:20] = 200
    assert ink_box(digit) == (10, 5, 20, 9)
    with pytest.raises(DataError, match="without ink"):
        ink_box(np.zeros((28, 28), dtype=np.uint8))


def test_bad_arguments_are_refused_clearly():
    with pytest.raises(ValueError, match="split must be one of"):
        digit_canvases(2, split="validation")
    with pytest.raises(ValueError, match="do not fit"):
        digit_canvases(2, size=40, max_digits=3)


def test_rgb_tensor_is_scaled_to_minus_one_one_and_resized():
    images = np.array([[[0, 255], [255, 0]]], dtype=np.uint8)
    x = to_rgb_tensor(images)
    assert tuple(x.shape) == (1, 3, 2, 2) and float(x.min()) == -1.0 and float(x.max()) == 1.0
    assert tuple(to_rgb_tensor(images, size=8).shape) == (1, 3, 8, 8)
    with pytest.raises(ValueError, match="grey images"):
        to_rgb_tensor(images[0])
