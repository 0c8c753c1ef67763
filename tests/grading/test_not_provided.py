"""Data the course does not provide: "data not provided", naming the path, never the student's fault.

The fast tests read error records and notebooks' code; the sandboxed ones grade the toy
experiment's notebook with cells that read a college file nobody imported, a URL, and a URL the
course's map provides.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from click.testing import CliRunner

from dlkit.cli import main
from dlkit.data.datamap import MappedPath, parse_dataset_map
from dlkit.feedback import write_feedback
from dlkit.grading.grade import grade_experiment
from dlkit.grading.not_provided import missing_read, provided, reads_of, unprovided_reads
from tests.data.pack_samples import make_pack
from tests.grading.test_real_notebooks import _course, _reference, _work, needs_bwrap


def _error(name, message, code=""):
    return {"cell": 3, "error": name, "message": message,
            "frames": [{"cell": 3, "line": 1, "code": code}] if code else []}


def test_a_failed_read_of_a_file_a_url_or_weights_is_named():
    assert missing_read(_error("FileNotFoundError",
                               "[Errno 2] No such file or directory: 'ecg_autoencoder_dataset.csv'",
                               "df = pd.read_csv('ecg_autoencoder_dataset.csv')")) \
        == "ecg_autoencoder_dataset.csv"
    assert missing_read(_error("FileNotFoundError",
                               "[Errno 2] No such file or directory: 'data/caltech-101-img'",
                               "train = gen.flow_from_directory('data/caltech-101-img')")) \
        == "data/caltech-101-img"
    url = "http://storage.googleapis.com/download.tensorflow.org/data/ecg.csv"
    assert missing_read(_error("URLError", "<urlopen error [Errno -3] Temporary failure>",
                               f"df = pd.read_csv('{url}', header=None)")) == url
    assert missing_read(_error("DataNotProvided", f"{url} — the grader runs without ...")) == url
    weights = ("The `weights` argument should be either `None` (random initialization), "
               "'imagenet' (pre-training on ImageNet), or the path to the weights file to be "
               "loaded.  Received: weights=vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    assert missing_read(_error("ValueError", weights)) == \
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"


def test_a_write_into_a_missing_folder_or_a_bug_is_the_student_s():
    assert missing_read(_error("FileNotFoundError",
                               "[Errno 2] No such file or directory: 'models/ae.keras'",
                               "model.save('models/ae.keras')")) is None
    assert missing_read(_error("FileNotFoundError", "[Errno 2] No such file or directory: 'o/x'",
                               "open('o/x', 'w')")) is None
    assert missing_read(_error("KeyError", "'acc'")) is None
    assert missing_read(_error("ValueError", "Received: weights=imagenet")) is None


def test_a_path_the_map_provides_is_the_student_s_to_read_right():
    mapped = parse_dataset_map("/content/drive/MyDrive/caltech: 101-objectcategories\n"
                               "'D:\\\\LP-IV\\\\creditcard.csv': creditcard\n"
                               "https://example.org/ecg.csv: ecg\n")
    assert provided("/content/drive/MyDrive/caltech/airplanes/x.jpg", mapped)
    assert provided("creditcard.csv", mapped) and provided("./creditcard.csv", mapped)
    assert provided("https://example.org/ecg.csv", mapped)
    assert not provided("https://example.org/other.csv", mapped)
    assert not provided("/content/drive/MyDrive/caltech-101", mapped)
    assert not provided("ecg.csv", mapped)


def test_a_mapped_url_mounts_in_a_folder_of_its_own_and_is_no_windows_path(tmp_path):
    (mapped,) = parse_dataset_map("https://storage.googleapis.com/x/ecg.csv?raw=1: ecg\n")
    assert mapped.url and not mapped.windows
    (place,) = mapped.destinations(tmp_path)
    assert place.parent.parent == tmp_path / ".dlkit-urls" and place.name == "ecg.csv"


def test_the_literal_reads_of_a_notebook_less_what_it_writes_itself():
    cells = ["!pip install tensorflow\nimport pandas as pd\n"
             "df = pd.read_csv('http://x.org/ecg.csv', header=None)",
             "base = VGG16(weights='vgg16_notop.h5', include_top=False)\n"
             "base2 = VGG16(weights='imagenet')\n"
             "df.to_csv('clean.csv')\nagain = pd.read_csv('clean.csv')\n"
             "x = np.load('arrays.npz')\nimport json\nj = json.load(f)\n"
             "with open('log.txt', 'w') as f: pass\nopen('log.txt').read()",
             "def broken(:\n  pass"]
    assert [(r.path, r.cell, r.line) for r in reads_of(cells)] == [
        ("http://x.org/ecg.csv", 1, 3), ("vgg16_notop.h5", 2, 1), ("arrays.npz", 2, 5)]
    mapped = [MappedPath("arrays.npz", "some-entry")]
    assert unprovided_reads({"41001": cells, "41002": cells[:1]}, mapped) == {
        "http://x.org/ecg.csv": ["41001", "41002"], "vgg16_notop.h5": ["41001"]}


UNPROVIDED = """import pandas as pd
cards = pd.read_csv("/content/drive/MyDrive/creditcard.csv")  # on the student's own drive
"""

URLS = """import json, pandas as pd
ecg = pd.read_csv("https://storage.googleapis.com/download.tensorflow.org/data/ecg.csv", header=None)
print("ecg.json", json.dumps(list(ecg.shape)))
other = pd.read_csv("https://example.org/not-provided.csv")
"""


@needs_bwrap
@pytest.mark.sandbox
def test_an_unprovided_file_is_data_not_provided_naming_the_path_without_blame(
        toy_course, tmp_path, monkeypatch):
    nb = _reference(toy_course)
    nb.cells.insert(5, nbformat.v4.new_code_cell(UNPROVIDED))  # cell 6, after q1's cell
    course, gradebook = _course(toy_course, tmp_path, monkeypatch, nb)
    checked = CliRunner().invoke(main, ["data", "map", "--course", str(course), "--check", "toy"])
    assert checked.exit_code == 1
    assert "/content/drive/MyDrive/creditcard.csv  1" in checked.output, checked.output
    grade_experiment("toy", course=course, gradebook=gradebook, gpus="none", workers=1,
                     progress=False)
    work, run = _work(course, gradebook)
    assert run.status == "data not provided", run.reason
    assert run.reason.startswith("cell 6 reads /content/drive/MyDrive/creditcard.csv, a file the "
                                 "course has not provided to the grader: not your doing")
    assert "map `/content/drive/MyDrive/creditcard.csv` to its entry in datasets.yml" in run.reason
    assert json.loads(run.error)["not_provided"] == "/content/drive/MyDrive/creditcard.csv"
    with gradebook.session() as session:
        results = {r.question: r for r in session.merge(run).results}
    assert results["q1_mean"].passed  # defined before the stop: judged
    assert results["q2_scale"].message == ("not judged: the notebook stopped at cell 6, which "
                                          "reads /content/drive/MyDrive/creditcard.csv (not provided)")
    (page,) = write_feedback("toy", course=course, gradebook=gradebook)
    html = page.read_text()
    assert "The grader does not have the data your notebook reads" in html
    assert "This is not your doing" in html and "you need not submit again" in html
    assert "Fix the error" not in html


@needs_bwrap
@pytest.mark.sandbox
def test_a_url_the_map_provides_is_read_and_another_is_named(toy_course, tmp_path, monkeypatch,
                                                             cache):
    make_pack(tmp_path / "pack")
    assert CliRunner().invoke(main, ["data", "import", str(tmp_path / "pack")]).exit_code == 0
    nb = _reference(toy_course)
    nb.cells.insert(5, nbformat.v4.new_code_cell(URLS))  # cell 6
    mapping = "https://storage.googleapis.com/download.tensorflow.org/data/ecg.csv: data1\n"
    course, gradebook = _course(toy_course, tmp_path, monkeypatch, nb, datasets=mapping)
    checked = CliRunner().invoke(main, ["data", "map", "--course", str(course), "--check", "toy"])
    assert "https://example.org/not-provided.csv" in checked.output
    assert "googleapis" not in checked.output, checked.output
    grade_experiment("toy", course=course, gradebook=gradebook, gpus="none", workers=1,
                     progress=False)
    work, run = _work(course, gradebook)
    executed = nbformat.read(work / "executed.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for o in executed.cells[5].outputs)
    assert 'ecg.json [30, 141]' in printed  # the mapped URL: the pack's file
    assert run.status == "data not provided", run.reason
    assert run.reason.startswith("cell 6 reads https://example.org/not-provided.csv, a URL")
    assert json.loads(run.error)["error"] == "DataNotProvided"


def test_a_run_stopped_at_unprovided_data_is_graded_again_once_the_map_provides_it(tmp_path):
    import datetime as dt

    from dlkit.gradebook import Gradebook, Run, Student, Submission

    gradebook = Gradebook.open(tmp_path)
    with gradebook.session() as s:
        s.flush()
        for i, (status, error) in enumerate([
                ("data not provided", {"cell": 6, "not_provided": "/content/creditcard.csv"}),
                ("data not provided", {"cell": 2, "not_provided": "https://x.org/ecg.csv"}),
                ("error", {"cell": 6, "error": "FileNotFoundError"}),
                ("data not provided", "not json {")]):
            roll = f"4100{i + 1}"
            s.merge(Student(roll=roll, name=roll, batch="B1"))
            submission = Submission(experiment="toy", student_roll=roll, version=1, sha256="0" * 64,
                                    path=f"s/{roll}.ipynb", original_name="toy.ipynb",
                                    status="stored", arrived_at=dt.datetime(2026, 1, 1))
            s.add(Run(submission=submission, started_at=dt.datetime(2026, 1, 2), seconds=1.0,
                      device="cpu", sandbox="bubblewrap", status=status,
                      error=error if isinstance(error, str) else json.dumps(error)))
    assert gradebook.to_grade("toy") == []  # nothing provided yet: nothing to redo
    mapped = [MappedPath("/content/creditcard.csv", "creditcard")]
    again = gradebook.to_grade("toy", provided=lambda path: provided(path, mapped))
    assert [s.student_roll for s in again] == ["41001"]  # not the URL, not a student's error
    gradebook.engine.dispose()


@needs_bwrap
@pytest.mark.sandbox
def test_dlkit_grade_regrades_a_data_not_provided_run_once_datasets_yml_maps_its_path(
        toy_course, tmp_path, monkeypatch, cache):
    nb = _reference(toy_course)
    nb.cells.insert(5, nbformat.v4.new_code_cell(UNPROVIDED))  # cell 6, after q1's cell
    course, gradebook = _course(toy_course, tmp_path, monkeypatch, nb)
    first = grade_experiment("toy", course=course, gradebook=gradebook, gpus="none", workers=1,
                             progress=False)
    assert first.statuses == {"data not provided": 1}
    again = grade_experiment("toy", course=course, gradebook=gradebook, gpus="none", workers=1,
                             progress=False)
    assert again.graded == 0 and again.skipped == 1  # the map still lacks it: nothing to redo
    make_pack(tmp_path / "pack")
    assert CliRunner().invoke(main, ["data", "import", str(tmp_path / "pack")]).exit_code == 0
    (course / "datasets.yml").write_text("/content/drive/MyDrive/creditcard.csv: creditcard\n")
    mapped = grade_experiment("toy", course=course, gradebook=gradebook, gpus="none", workers=1,
                              progress=False)
    assert mapped.graded == 1, mapped
    _, run = _work(course, gradebook)
    assert run.status == "graded", run.reason
