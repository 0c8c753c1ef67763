"""The grading sandbox's view of the data cache: the training sets without the kept-back images."""

from __future__ import annotations

import shutil

import numpy as np

from dlkit.data import HELD_OUT, REGISTRY, cache_root, held_out, load_mnist
from dlkit.data.views import sandbox_views


def test_the_view_of_mnist_hides_the_kept_back_images_and_keeps_everything_else(tmp_path):
    shutil.copytree(REGISTRY["mnist"].folder(cache_root()), tmp_path / "mnist")
    [(view, entry)] = sandbox_views(tmp_path)
    assert entry == tmp_path / "mnist" and view.parent.name == ".views"
    (x, y), (x_test, y_test) = load_mnist(tmp_path)
    # what the sandbox reads: the registry takes the view for the entry, without hashing it
    seen = tmp_path / "seen"
    shutil.copytree(tmp_path, seen, ignore=shutil.ignore_patterns(".views"))
    shutil.rmtree(seen / "mnist")
    shutil.copytree(view, seen / "mnist")
    (vx, vy), (vx_test, vy_test) = load_mnist(seen)
    assert vx.shape == x.shape and vy.shape == y.shape  # a notebook sees the same sizes
    assert np.array_equal(vx[:-HELD_OUT], x[:-HELD_OUT]) and np.array_equal(vy[:-HELD_OUT], y[:-HELD_OUT])
    assert np.array_equal(vx[-HELD_OUT:], x[:HELD_OUT]) and np.array_equal(vy[-HELD_OUT:], y[:HELD_OUT])
    assert np.array_equal(vx_test, x_test) and np.array_equal(vy_test, y_test)
    kept_back, _ = held_out("mnist", tmp_path)
    assert not any(np.array_equal(kept_back[i], vx[-HELD_OUT + i]) for i in range(0, HELD_OUT, 500))
    # made once: asked again, the same view (its files unchanged)
    stamp = (view / "train-images-idx3-ubyte.gz").stat().st_mtime_ns
    assert sandbox_views(tmp_path)[0][0] == view
    assert (view / "train-images-idx3-ubyte.gz").stat().st_mtime_ns == stamp


def test_an_entry_that_is_not_cached_has_no_view(tmp_path):
    assert sandbox_views(tmp_path) == []
