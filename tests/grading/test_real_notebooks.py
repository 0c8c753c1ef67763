"""Real student notebooks in the sandbox: the true error, seeds, the usual loaders, the dataset map.

Each test grades the toy experiment's notebook with cells a student of this course writes
(their own loaders, Colab's drive.mount, a late error) through the real path: collect, the
sandboxed run with the network cut, the gradebook, the feedback page.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import nbformat
import pytest
from click.testing import CliRunner

from dlkit.cli import main
from dlkit.collect import collect
from dlkit.feedback import write_feedback
from dlkit.gradebook import Gradebook
from dlkit.grading.grade import grade_experiment
from tests.data.pack_samples import make_pack
from tests.grading.conftest import printed_json

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap is needed to cut the network and mount files")

FAILING_CELL = """def load(table):
    return table["pixels"]

raw = load({"labels": [1, 2]})  # a key the student's own table lacks
"""


def _course(toy_course, tmp_path, monkeypatch, notebook, roll="41001", datasets=None):
    """A course with one collected toy submission (and a dataset map); returns (course, gradebook)."""
    import dlkit.experiments as registry

    monkeypatch.setitem(registry.EXPERIMENTS, "toy", toy_course)
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    for cell in notebook.cells:
        cell.pop("id", None)
    nbformat.write(notebook, inbox / f"{roll}_toy.ipynb")
    course = tmp_path / "course"
    course.mkdir(exist_ok=True)
    if datasets:
        (course / "datasets.yml").write_text(datasets)
    gradebook = Gradebook.open(course)
    collect("toy", inbox, course=course, gradebook=gradebook)
    return course, gradebook


def _reference(toy_course):
    return nbformat.read(toy_course.root / "autograder" / "toy" / "toy.ipynb", as_version=4)


def _work(course, gradebook):
    (run,) = gradebook.current_runs("toy")
    return course / "graded" / "toy" / str(run.submission_id), run


@pytest.mark.sandbox
def test_error_at_cell_4_is_told_in_the_gradebook_and_on_the_feedback_page(
        toy_course, tmp_path, monkeypatch):
    nb = _reference(toy_course)
    nb.cells[2].source = "import numpy as np\ndata = np.arange(10.0)\ncentred = data - data.mean()"
    nb.cells.insert(3, nbformat.v4.new_code_cell(FAILING_CELL))  # cell 4
    later = [c for c in nb.cells[4:] if c.cell_type == "code"][-1]
    later.outputs = [nbformat.v4.new_output("stream", name="stdout", text="from the student's run")]
    course, gradebook = _course(toy_course, tmp_path, monkeypatch, nb)
    grade_experiment("toy", course=course, gradebook=gradebook, gpus="none", workers=1,
                     progress=False)
    work, run = _work(course, gradebook)
    # the executed notebook is the student's, cell for cell: the grader's prelude and error
    # report took no cell and no In [n]; cells after the error show nothing
    executed = nbformat.read(work / "executed.ipynb", as_version=4)
    assert [c.source for c in executed.cells] == [c.source for c in nb.cells]
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code[:3]] == [1, 2, 3]
    assert code[2].outputs[0]["ename"] == "KeyError"
    assert not any(c.outputs or c.execution_count for c in code[3:])
    assert run.status == "error"
    assert run.reason == "cell 4 (`def load(table):`) raised KeyError: 'pixels'"
    error = json.loads(run.error)
    assert error["cell"] == 4 and error["error"] == "KeyError"
    # the student's own frames only: the call, then the line in their function
    assert [(f["cell"], f["line"], f["code"]) for f in error["frames"]] == [
        (4, 4, 'raw = load({"labels": [1, 2]})  # a key the student\'s own table lacks'),
        (4, 2, 'return table["pixels"]')]
    with gradebook.session() as session:
        results = {(r.question, r.test): r for r in session.merge(run).results}
    # q1's object existed before cell 4: judged (and right); q2's never came: not judged
    assert results[("q1_mean", 0)].passed and results[("q1_mean", 1)].passed
    q2 = results[("q2_scale", 0)]
    assert not q2.passed and q2.message.startswith(
        "not judged: the notebook stopped at cell 4 (KeyError: ")
    assert run.score == 3
    (page,) = write_feedback("toy", course=course, gradebook=gradebook)
    html = page.read_text()
    assert "Your notebook stopped at cell 4" in html and "KeyError" in html
    assert "&#39;pixels&#39;" in html
    assert "cell 4, line 2, in load():  return table[&#34;pixels&#34;]" in html
    assert "not judged: the notebook stopped at cell 4" in html
    assert "missing" not in html.lower() and "np.asarray(checks.get" not in html


LOADERS = [
    """import hashlib, json, socket
import keras
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train[0, 0, 0] = x_train[0, 0, 0]  # writable, as Keras returns it
record = {"keras": [hashlib.sha256(a.tobytes()).hexdigest() for a in (x_train, y_train, x_test, y_test)],
          "shapes": [list(a.shape) for a in (x_train, y_train, x_test, y_test)],
          "dtypes": [str(a.dtype) for a in (x_train, y_train)]}
try:
    socket.create_connection(("8.8.8.8", 53), timeout=3)
    record["network"] = "reachable"
except OSError as exc:
    record["network"] = type(exc).__name__
""",
    # no seed anywhere: the grader's TF_DETERMINISTIC_OPS=1 made this raise "Random ops require a seed"
    """import numpy as np
import matplotlib.pyplot as plt
x = np.random.rand(512, 8).astype("float32"); y = (x.sum(axis=1) > 4).astype("int64")
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                          keras.layers.Dropout(0.2), keras.layers.Dense(2, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, epochs=3, validation_split=0.2, verbose=0)
record["weights"] = hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest()
record["loss"] = history.history["loss"]
plt.plot(history.history["loss"]); plt.title("loss"); plt.show()
""",
    """import torch, torchvision
mnist = torchvision.datasets.MNIST("data", train=False, download=True)
record["torchvision"] = [hashlib.sha256(mnist.data.numpy().tobytes()).hexdigest(),
                         hashlib.sha256(mnist.targets.numpy().astype("uint8").tobytes()).hexdigest()]
record["torch_seeded"] = torch.rand(3).tolist()
""",
    """from google.colab import drive
drive.mount('/content/drive')
import seaborn, sklearn, cv2, pandas
print("record.json", json.dumps(record))
""",
]


@needs_bwrap
@pytest.mark.sandbox
def test_students_loaders_and_an_unseeded_fit_run_offline_and_reproducibly(
        toy_course, tmp_path, monkeypatch):
    from dlkit.data import load_mnist
    from dlkit.data.views import without_kept_back

    nb = _reference(toy_course)
    nb.cells.extend(nbformat.v4.new_code_cell(src) for src in LOADERS)
    course, gradebook = _course(toy_course, tmp_path, monkeypatch, nb)
    grade_experiment("toy", course=course, gradebook=gradebook, gpus="none", workers=1,
                     progress=False)
    work, run = _work(course, gradebook)
    assert (run.status, run.score) == ("graded", 5), run.reason
    first = printed_json(work, "record.json")
    assert first["network"] != "reachable"
    (x_train, y_train), (x_test, y_test) = load_mnist()
    # the sandbox's MNIST has copies of the first training images where the grader keeps some back
    x_train, y_train = without_kept_back(x_train, y_train)
    assert first["keras"] == [hashlib.sha256(a.tobytes()).hexdigest()
                              for a in (x_train, y_train, x_test, y_test)]
    assert first["shapes"] == [[60000, 28, 28], [60000], [10000, 28, 28], [10000]]
    assert first["dtypes"] == ["uint8", "uint8"]
    assert first["torchvision"] == [hashlib.sha256(x_test.tobytes()).hexdigest(),
                                    hashlib.sha256(y_test.tobytes()).hexdigest()]
    assert len(first["loss"]) == 3
    executed = nbformat.read(work / "executed.ipynb", as_version=4)
    assert "drive.mount('/content/drive') does nothing here" in "".join(
        o.get("text", "") for o in executed.cells[-1].outputs)
    plot = [o for o in executed.cells[-3].outputs if "image/png" in o.get("data", {})]
    # graded again: the same weights, losses and figure (seeded, not forced-deterministic)
    grade_experiment("toy", course=course, gradebook=gradebook, gpus="none", workers=1,
                     regrade=True, progress=False)
    again = printed_json(work, "record.json")
    assert again == first
    executed = nbformat.read(work / "executed.ipynb", as_version=4)
    assert [o for o in executed.cells[-3].outputs if "image/png" in o.get("data", {})] == plot


MAP = """\
# what students' notebooks read: registry entries imported from the college's pack
mnist_train.csv: mnist-train
/content/ecg.csv: data1
'D:\\LP-IV\\creditcard.csv': creditcard
"""

READS = """import json, pandas as pd
digits = pd.read_csv("mnist_train.csv", header=None)
ecg = pd.read_csv("/content/ecg.csv", header=None)
cards = pd.read_csv("D:\\\\LP-IV\\\\creditcard.csv")  # as written on the lab PC
cards_again = pd.read_csv("creditcard.csv")
try:
    open("mnist_train.csv", "a").write("0")
    written = "yes"
except OSError as exc:
    written = type(exc).__name__
print("reads.json", json.dumps({"digits": list(digits.shape), "ecg": list(ecg.shape),
      "cards": list(cards.shape), "again": len(cards_again), "label": int(digits.iloc[0, 0]),
      "written": written}))
"""


@needs_bwrap
@pytest.mark.sandbox
def test_dataset_pack_import_then_a_notebook_reads_it_through_the_map(
        toy_course, tmp_path, monkeypatch, cache):
    made = make_pack(tmp_path / "LP-IV-datasets")
    result = CliRunner().invoke(main, ["data", "import", str(tmp_path / "LP-IV-datasets")])
    assert result.exit_code == 0, result.output
    assert "11 imported, 0 unchanged, 0 refused, 1 not recognised" in result.output
    nb = _reference(toy_course)
    nb.cells.append(nbformat.v4.new_code_cell(READS))
    course, gradebook = _course(toy_course, tmp_path, monkeypatch, nb, datasets=MAP)
    result = CliRunner().invoke(main, ["data", "map", "--course", str(course)])
    assert result.exit_code == 0 and "all 3 path(s) available" in result.output, result.output
    grade_experiment("toy", course=course, gradebook=gradebook, gpus="none", workers=1,
                     progress=False)
    work, run = _work(course, gradebook)
    assert (run.status, run.score) == ("graded", 5), run.reason
    reads = printed_json(work, "reads.json")
    first_label = int(made["mnist-csv"].read_text().split(",", 1)[0])
    assert reads == {"digits": [40, 785], "ecg": [30, 141], "cards": [25, 31], "again": 25,
                     "label": first_label, "written": reads["written"]}
    assert reads["written"] in ("OSError", "PermissionError")  # mounted read-only
    assert made["mnist-csv"].stat().st_size == (cache / "mnist-train" / "mnist_train.csv").stat().st_size


def test_tests_a_stopped_notebook_could_not_reach_say_why():
    from dlkit.grading.tasks import PlannedTest
    from dlkit.grading.verdicts import error_reason, results_for

    plan = [PlannedTest(f"q{i}-0", f"q{i}", 0, False, 1.0, "", "") for i in range(3)]
    judged = {"q0-0": {"passed": True, "message": ""},
              "q1-0": {"passed": False, "missing": True,
                       "message": "no variable `model`: the starter notebook asks you to define it"},
              "q2-0": {"passed": False, "message": "the notebook did not get this far (no data exported)"}}
    error = {"cell": 12, "error": "KeyError", "message": "'acc'\nmore lines",
             "first_line": "plt.plot(history.history['acc'])"}
    results = results_for(plan, judged, {"model": 8}, error)
    assert [r["passed"] for r in results] == [True, False, False]
    assert {r["message"] for r in results[1:]} == {
        "not judged: the notebook stopped at cell 12 (KeyError: 'acc')"}
    assert not any(r["missing"] for r in results)
    assert error_reason(error) == ("cell 12 (`plt.plot(history.history['acc'])`) raised KeyError: "
                                   "'acc'\nmore lines")
    timeout = results_for(plan, judged, {}, {"cell": 7, "error": "timeout", "why": "cpu"})
    assert timeout[1]["message"] == "not judged: the notebook was stopped at cell 7 by the time limit"
    # ran to the end: a missing object is missing, with the starter's cell when it came from it
    ended = results_for(plan, judged, {"model": 8}, {})
    assert ended[1]["missing"] and "in cell 8" in ended[1]["message"]
    assert "in cell" not in results_for(plan, judged, {}, {})[1]["message"]  # a free-form notebook


def test_without_bubblewrap_the_map_s_files_are_linked_into_the_work_folder(tmp_path, caplog):
    from types import SimpleNamespace

    from dlkit.grading.run import link_mounts

    source = tmp_path / "cache" / "ecg.csv"
    source.parent.mkdir()
    source.write_text("1,2\n")
    work = tmp_path / "work"
    work.mkdir()
    fallback = SimpleNamespace(isolated=False, mounts=[(source, work / "data" / "ecg.csv"),
                                                        (source, tmp_path / "content" / "ecg.csv")])
    link_mounts(fallback, work)
    assert (work / "data" / "ecg.csv").read_text() == "1,2\n"
    assert not (tmp_path / "content").exists() and "cannot be mounted" in caplog.text
