"""The college's dataset pack: recognised by content, checked, stored with sha256, listed."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from click.testing import CliRunner

from dlkit.cli import main
from dlkit.data.catalog import REGISTRY
from dlkit.data.imported import imported_entries
from dlkit.data.loaders import read_image_csv
from dlkit.data.pack import import_pack, recognise
from tests.data.pack_samples import digits_like, make_pack, write_image_csv

EXPECTED = {"mnist-csv": "mnist-train", "fashion-mnist-csv": "fashion-mnist-train",
            "ecg-csv": "data1", "creditcard-csv": "creditcard", "csv": "housing", "text": "cbow",
            "npz": "mnist-small", "image-folders": "caltech-101",
            "keras-h5": "vgg16-weights-tf-dim-ordering-tf-kernels-notop",
            "torch-checkpoint": "tiny"}


def test_import_recognises_each_format_by_content_and_stores_sha256(cache, tmp_path):
    made = make_pack(tmp_path / "pack")
    report = import_pack(tmp_path / "pack", progress=False)
    kinds = {found.name: found.kind for found in report.imported}
    assert {kind: name for name, kind in kinds.items() if name in EXPECTED.values()} == \
        {kind: EXPECTED[kind] for kind in EXPECTED}
    assert kinds["fashion-mnist-test"] == "fashion-mnist-csv"
    assert [path.name for path, _ in report.skipped] == ["notes.bin"]
    assert not report.refused
    for kind, name in EXPECTED.items():
        record = json.loads((cache / name / "ENTRY.json").read_text())
        source = made[kind]
        files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
        assert sorted(record["files"].values()) == sorted(
            f"sha256:{hashlib.sha256(p.read_bytes()).hexdigest()}" for p in files), kind
    # the registry lists them, checks them like any entry, and a second import changes nothing
    assert {e.name for e in REGISTRY} >= set(EXPECTED.values())
    assert REGISTRY.cached(REGISTRY["data1"])
    again = import_pack(tmp_path / "pack", progress=False)
    assert not again.imported and len(again.unchanged) == len(report.imported)
    status = CliRunner().invoke(main, ["data", "status", "--no-probe"])
    assert status.exit_code == 0
    line = next(ln for ln in status.output.splitlines() if ln.startswith("data1 "))
    assert "yes" in line and "imported from" in line and str(made["ecg-csv"]) in line


def test_a_file_that_fails_its_check_is_refused_and_the_rest_imported(cache, tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "pack"
    folder.mkdir()
    pixels = digits_like(rng, 5, 0.1)
    pixels[2, 100] = 300
    write_image_csv(folder / "mnist_test.csv", np.arange(5), pixels, header=None)
    (folder / "corpus.txt").write_text("words " * 50)
    result = CliRunner().invoke(main, ["data", "import", str(folder)])
    assert result.exit_code == 1
    assert "REFUSED" in result.output and "pixel values must be whole numbers 0-255" in result.output
    assert "imported   corpus" in result.output
    assert [e.entry.name for e in imported_entries()] == ["corpus"]


def test_a_different_file_under_a_taken_name_needs_replace(cache, tmp_path):
    path = tmp_path / "CBOW.txt"
    path.write_text("first corpus " * 20)
    import_pack(path, progress=False)
    path.write_text("second corpus " * 20)
    report = import_pack(path, progress=False)
    assert report.refused and "--replace" in report.refused[0].problems[0]
    assert import_pack(path, replace=True, progress=False).imported
    assert (cache / "cbow" / "CBOW.txt").read_text().startswith("second")


def test_a_lost_cache_copy_comes_back_from_the_pack(cache, tmp_path):
    path = tmp_path / "ecg.csv"
    path.write_text("\n".join(",".join(["0.5"] * 140 + ["1"]) for _ in range(4)) + "\n")
    import_pack(path, progress=False)
    (cache / "ecg" / "ecg.csv").unlink()
    assert not REGISTRY.cached(REGISTRY["ecg"])
    REGISTRY.fetch("ecg", progress=False)
    assert (cache / "ecg" / "ecg.csv").read_bytes() == path.read_bytes()
    path.unlink()  # the pack is gone too: status says so, and how to mend it
    (cache / "ecg" / "ecg.csv").unlink()
    status = REGISTRY.status(REGISTRY["ecg"], probe=True)
    assert not status.available and f"{path} is gone" in status.reason
    assert "dlkit data import FOLDER" in status.reason and "no offline source" not in status.reason


def test_mnist_is_told_from_fashion_by_mnist_s_own_images(tmp_path):
    """With the registry's MNIST at hand, a CSV of MNIST rows is MNIST whatever its name."""
    if not REGISTRY.cached(REGISTRY["mnist"]):
        pytest.skip("needs the registry's MNIST (`dlkit data fetch mnist`)")
    from dlkit.data import load_mnist

    (x_train, y_train), _ = load_mnist()
    path = write_image_csv(tmp_path / "fashion_looking_name.csv", y_train[:30],
                           x_train[:30].reshape(30, 784), header=None, label_last=True)
    found = recognise(path)
    assert found.kind == "mnist-csv" and "30 of the first 30 rows are MNIST's own images" in found.summary
    images, labels = read_image_csv(path)
    assert np.array_equal(images, x_train[:30]) and np.array_equal(labels, y_train[:30])


def test_imported_entries_are_readable_by_the_unprivileged_judge(cache, tmp_path):
    # the judge runs as nobody and lists the cache: a private (0700) entry folder would leave
    # every imported file unmeasured ("the grader has no data")
    import stat

    make_pack(tmp_path / "pack")
    assert not import_pack(tmp_path / "pack", progress=False).refused
    folders = [p for p in cache.rglob("*") if p.is_dir()]
    assert folders and all(stat.S_IMODE(p.stat().st_mode) & 0o005 == 0o005 for p in folders), \
        [(p, oct(p.stat().st_mode)) for p in folders if stat.S_IMODE(p.stat().st_mode) & 0o005 != 0o005]
    assert all(stat.S_IMODE(p.stat().st_mode) & 0o004 for p in cache.rglob("*") if p.is_file())
    (cache / "data1").chmod(0o700)  # as an older dlkit left it: importing again opens it
    assert import_pack(tmp_path / "pack", progress=False).imported == []
    assert stat.S_IMODE((cache / "data1").stat().st_mode) & 0o005 == 0o005
