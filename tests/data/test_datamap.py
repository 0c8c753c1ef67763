"""A course's dataset map (datasets.yml): the paths students write, normalised, checked, mounted."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlkit.data.datamap import (
    DatasetMapError,
    as_pairs,
    check_available,
    dataset_mounts,
    parse_dataset_map,
    read_dataset_map,
)
from dlkit.data.pack import import_pack

WORK = Path("/srv/graded/exp4/17")

MAP = r"""
mnist_train.csv: mnist-train
data/ecg.csv: ecg
/content/drive/MyDrive/ecg.csv: ecg
'D:\LP-IV\creditcard.csv': creditcard
C:/Users/lab/creditcard.csv: creditcard
D:\LP-IV\CBOW.txt: cbow
train-images-idx3-ubyte.gz: mnist/train-images-idx3-ubyte.gz
"""


def test_paths_students_write_land_where_their_notebook_reads_them():
    paths = {p.written: p for p in parse_dataset_map(MAP)}
    assert paths["mnist_train.csv"].destinations(WORK) == [WORK / "mnist_train.csv"]
    assert paths["data/ecg.csv"].destinations(WORK) == [WORK / "data" / "ecg.csv"]
    assert paths["/content/drive/MyDrive/ecg.csv"].destinations(WORK) == \
        [Path("/content/drive/MyDrive/ecg.csv")]
    # Windows paths: by file name in the notebook's folder, and under the name Linux sees
    assert paths["D:\\LP-IV\\creditcard.csv"].destinations(WORK) == \
        [WORK / "creditcard.csv", WORK / "D:\\LP-IV\\creditcard.csv"]
    assert paths["C:/Users/lab/creditcard.csv"].destinations(WORK) == \
        [WORK / "creditcard.csv", WORK / "C:" / "Users" / "lab" / "creditcard.csv"]
    assert paths["D:\\LP-IV\\CBOW.txt"].entry == "cbow"  # unquoted works too
    idx = paths["train-images-idx3-ubyte.gz"]
    assert (idx.entry, idx.file) == ("mnist", "train-images-idx3-ubyte.gz")


@pytest.mark.parametrize(("text", "problem"), [
    ("../../gradebook.db: ecg", "'..' is not allowed"),
    ("/etc/passwd: ecg", "would hide a system folder"),
    ("/usr/lib/x.csv: ecg", "would hide a system folder"),
    ("ecg.csv:", "needs a registry entry"),
    ("ecg.csv: [a, b", "not valid YAML"),
    ("- ecg.csv", "expected `path: entry` lines"),
    ("'D:\\data\\x.csv': a\nx.csv: b", "both land at x.csv with different entries"),
])
def test_a_map_that_cannot_work_is_refused_with_the_reason(text, problem):
    with pytest.raises(DatasetMapError, match=problem.replace("(", r"\(")):
        parse_dataset_map(text)


def test_entries_must_be_in_the_cache(cache, tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    (course / "datasets.yml").write_text("ecg.csv: ecg\nbooks.txt: cifar10\n")
    paths = read_dataset_map(course)
    problems = check_available(paths)
    assert problems[0].startswith("ecg.csv: no registry entry `ecg` — import the dataset pack "
                                  "with `dlkit data import FOLDER`")
    assert "books.txt: `cifar10` is not in the data cache" in problems[1]
    pack = tmp_path / "ecg.csv"
    pack.write_text("\n".join(",".join(["0.25"] * 140 + ["0"]) for _ in range(3)) + "\n")
    import_pack(pack, progress=False)
    assert check_available(paths[:1]) == []
    ((source, destination),) = dataset_mounts(as_pairs(paths[:1]), tmp_path / "work")
    assert source == cache / "ecg" / "ecg.csv" and destination == tmp_path / "work" / "ecg.csv"
    assert read_dataset_map(tmp_path) == []  # no datasets.yml: nothing to mount
