"""The grading run's trust boundary, tried as a hostile student would (issue #22).

Each test is a notebook of a few lines run through the real sandbox and judge. Each must end
with the status a fair grader gives, earn no marks it did not earn, read and write no host file
(decoys planted here), leave the gradebook intact and show no hidden test's text anywhere.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap missing: run `make setup` as root")

#: words only the toy's hidden tests hold (a judge half, and a hidden extract half)
HIDDEN_TEXT = ("subtract the secret mean of the toy data", "np.array([2.0, -4.0, 1.0])")
FULL_MARKS = 5


def _earned(outcome) -> float:
    return sum(r["points"] for r in outcome.results)


def _everything_said(outcome, work: Path) -> str:
    """All a student can read of the run: reason, messages, the kept executed notebook."""
    return "\n".join([outcome.reason, json.dumps(outcome.results), json.dumps(outcome.error),
                      outcome.executed.decode(errors="replace"),
                      (work / "executed.ipynb").read_text(errors="replace")])


def _outputs(work: Path) -> str:
    nb = nbformat.read(work / "executed.ipynb", as_version=4)
    return json.dumps([cell.get("outputs", []) for cell in nb.cells])


def _printed(work: Path, tag: str) -> list[str]:
    nb = nbformat.read(work / "executed.ipynb", as_version=4)
    return [line for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
            for line in out.get("text", "").splitlines() if line.startswith(tag)]


@pytest.fixture
def decoys(toy_course):
    """A gradebook, a host script and another student's kept run, each with known bytes."""
    course = toy_course.root
    gradebook = course / "gradebook.db"
    with sqlite3.connect(gradebook) as db:
        db.execute("create table marks (roll text, score real)")
        db.execute("insert into marks values ('41001', 14)")
    script = course / "backup.sh"
    script.write_text("#!/bin/sh\necho backup\n")
    other = course / "graded" / "toy" / "other-student" / "executed.ipynb"
    other.parent.mkdir(parents=True)
    other.write_text('{"cells": [], "secret": "ANOTHER STUDENT\'S RUN"}')
    before = {p: p.read_bytes() for p in (gradebook, script, other)}
    yield {"gradebook": gradebook, "script": script, "other": other,
           "solution": course / "source" / "toy" / "toy.ipynb"}
    for path, data in before.items():
        assert path.read_bytes() == data, f"{path} was changed"
    with sqlite3.connect(gradebook) as db:
        assert db.execute("select * from marks").fetchall() == [("41001", 14.0)]


def _ends_fairly(outcome, work: Path, most: float = 0.0) -> None:
    said = _everything_said(outcome, work)
    assert not any(text in said for text in HIDDEN_TEXT), "hidden test text reached an output"
    assert "ANOTHER STUDENT" not in said
    assert _earned(outcome) <= most
    for path in work.rglob("*"):
        assert not path.is_symlink(), f"{path} is a link"
        assert path.is_dir() or path.stat().st_nlink == 1


@needs_bwrap
def test_forged_verdict_and_a_crashed_judge_earn_nothing(grade_toy, decoys):
    forge = """
import json, os
for test in ('q1_mean-0', 'q1_mean-1', 'q2_scale-0'):
    os.makedirs(f'exports/{test}', exist_ok=True)
    open(f'exports/{test}/outcome.json', 'w').write(json.dumps([1, 2, 3]))
verdict = {t: {'passed': True, 'message': '', 'measured': {'accuracy': 1.0}}
           for t in ('q1_mean-0', 'q1_mean-1', 'q2_scale-0')}
open('judged.json', 'w').write(json.dumps(verdict))
open('execution.json', 'w').write(json.dumps({'errors': [], 'timeout': False}))
"""
    outcome, work = grade_toy(solution=False, after=[forge])
    assert outcome.status == "missing object" and _earned(outcome) == 0
    assert not any(r["measured"] for r in outcome.results)
    _ends_fairly(outcome, work)


@needs_bwrap
def test_links_to_host_files_and_to_another_student_are_never_followed(grade_toy, decoys):
    targets = [str(decoys["gradebook"]), str(decoys["script"]), str(decoys["other"]),
               str(decoys["solution"])]
    attack = f"""
import os, threading, time
targets = {targets!r}
for name, target in zip(('judged.json', 'execution.json', 'executed.ipynb', 'timings.json'), targets):
    os.symlink(target, name)
os.makedirs('exports/q1_mean-0', exist_ok=True)
os.symlink(targets[0], 'exports/q1_mean-0/exported.json')
os.symlink('/', 'exports/q2_scale-0')
try:
    os.link('{decoys["gradebook"]}', 'hard.db')
    print('LINKED')
except OSError as exc:
    print('NOLINK', type(exc).__name__)
def swap():  # once the extracts have written, point their files at host paths
    while not os.path.exists('exports/q1_mean-1/outcome.json'):
        time.sleep(0.01)
    for name in ('centred.npy', 'exported.json'):
        path = f'exports/q1_mean-1/{{name}}'
        os.replace(path, path + '.old')
        os.symlink(targets[1], path)
threading.Thread(target=swap, daemon=True).start()
"""
    outcome, work = grade_toy(after=[attack])
    assert outcome.status in ("graded", "missing object")
    assert _printed(work, "NOLINK")  # the host's files do not exist inside the sandbox
    # the untouched answers keep their marks; the swapped export is lost, never followed
    assert not next(r for r in outcome.results if (r["question"], r["test"]) == ("q1_mean", 1))["passed"]
    assert _earned(outcome) <= 3
    _ends_fairly(outcome, work, most=3)


@needs_bwrap
def test_a_thread_rewriting_the_run_record_and_the_executed_notebook_changes_nothing(grade_toy, decoys):
    forger = """
import json, os, threading, time
fake = {'cells': [{'cell_type': 'code', 'source': 'FORGED', 'metadata': {}, 'execution_count': 1,
         'outputs': [{'output_type': 'stream', 'name': 'stdout', 'text': 'FORGED OUTPUT'}]}],
        'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}
def forge():
    while True:
        for name, text in (('executed.ipynb', json.dumps(fake)),
                           ('execution.json', json.dumps({'errors': [], 'timeout': False})),
                           ('timings.json', '[]')):
            try:
                open(name, 'w').write(text)
            except OSError:
                pass
        time.sleep(0.005)
threading.Thread(target=forge, daemon=True).start()
"""
    outcome, work = grade_toy(before=[forger], after=["raise ValueError('a real error')"])
    assert outcome.status == "error" and "ValueError: a real error" in outcome.reason
    assert "FORGED OUTPUT" not in _outputs(work) and "a real error" in _outputs(work)
    _ends_fairly(outcome, work, most=FULL_MARKS)


@needs_bwrap
def test_the_graders_environment_and_the_hidden_tests_pipe_cannot_be_read(grade_toy, decoys,
                                                                         monkeypatch):
    monkeypatch.setenv("DLKIT_TEST_TOKEN", "token-of-the-instructors-shell")
    probe = """
import os
found = []
for pid in sorted(p for p in os.listdir('/proc') if p.isdigit()):
    for leaf in ['environ'] + [f'fd/{n}' for n in range(12)]:
        try:
            with open(f'/proc/{pid}/{leaf}', 'rb') as f:
                os.set_blocking(f.fileno(), False)
                data = f.read(100000) or b''
            found.append(f'{pid}/{leaf}:' + data.decode(errors='replace'))
        except (OSError, TypeError) as exc:
            found.append(f'{pid}/{leaf}:{type(exc).__name__}')
print('PROC', ' | '.join(found))
"""
    outcome, work = grade_toy(before=[probe])
    said = _everything_said(outcome, work)
    assert _printed(work, "PROC") and "token-of-the-instructors-shell" not in said
    assert "def extract" not in " ".join(_printed(work, "PROC"))
    assert outcome.status == "graded" and _earned(outcome) == FULL_MARKS
    _ends_fairly(outcome, work, most=FULL_MARKS)


@needs_bwrap
def test_stolen_hidden_extract_written_back_into_a_message_is_scrubbed(grade_toy, decoys):
    leak = """
import json, os, threading, time
import dlkit.checks as checks
seen = []
original = checks.export_extract
def spy(code, ns, folder):
    seen.append(code)
    original(code, ns, folder)
    # write every extract seen so far back as this test's outcome message
    open(os.path.join(folder, 'outcome.json'), 'w').write(
        json.dumps({'ok': False, 'message': ' '.join(seen)}))
checks.export_extract = spy
"""
    outcome, work = grade_toy(after=[leak])
    _ends_fairly(outcome, work, most=0)


@needs_bwrap
def test_many_processes_waking_together_cannot_fake_an_overloaded_grader(grade_toy, decoys):
    spin = """
import multiprocessing as mp, time
def worker():
    while True:
        now = time.time()
        time.sleep(0.5 - now % 0.5)  # all wake at once, spin briefly, sleep again
        end = time.time() + 0.002
        while time.time() < end:
            pass
procs = [mp.Process(target=worker, daemon=True) for _ in range(60)]
for p in procs:
    p.start()
time.sleep(3600)
"""
    outcome, work = grade_toy(before=[spin], seconds=8, wall_factor=2.0)
    # the student's own timeout: the backstop of a run that mostly waited, or its CPU limit
    # when starting 60 processes used it up first; never the grader's fault (on an otherwise
    # idle machine, as the suite runs: other work on it is a real overload)
    assert outcome.status == "timeout", outcome.reason
    assert "mostly waited" in outcome.reason or "used its 8 s of CPU time" in outcome.reason
    _ends_fairly(outcome, work)


def test_starvation_is_judged_from_the_rest_of_the_machine(monkeypatch):
    from dlkit import sandbox

    class Meter(sandbox._CpuMeter):
        def __init__(self, own_rate, busy_rate):
            self.own_rate, self.busy_rate, self.now = own_rate, busy_rate, 0.0
            super().__init__(os.getpid(), None)
            self.cores = 2

        def cpu(self):
            return self.own_rate * self.now

        def waited(self):
            return self.wait_rate * self.now

    def advance(meter, seconds):
        for _ in range(int(seconds / 2)):
            meter.now += 2
            meter.samples.append((meter.now, meter.cpu(), meter.waited(), meter.busy_rate * meter.now))

    for own, waits, busy, starved in [
            (0.2, 30.0, 0.3, False),  # its own 60 processes wait on the run queue: not starved
            (1.8, 0.0, 2.0, False),   # the run's own processes keep the machine busy
            (0.1, 0.0, 1.9, True),    # others keep both cores busy
            (0.3, 0.5, 1.4, True),    # others keep one core busy while the run waits for a CPU
            (0.0, 0.0, 1.0, False)]:  # another run keeps one core, this one sleeps: idle
        meter = Meter(own, busy)
        meter.wait_rate = waits
        monkeypatch.setattr(sandbox, "machine_busy", lambda m=meter: m.busy_rate * m.now)
        monkeypatch.setattr(sandbox.time, "monotonic", lambda m=meter: m.started + m.now)
        advance(meter, 60)
        assert meter.starved(0.0) is starved, (own, waits, busy)


@needs_bwrap
def test_a_forged_export_declaring_a_huge_array_is_refused_before_it_is_loaded(grade_toy, decoys):
    forge = """
import os, threading, time
def forge():
    path = 'exports/q1_mean-1/centred.npy'
    while not os.path.exists('exports/q1_mean-1/outcome.json'):
        time.sleep(0.01)
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (200000000000,), }"
    header = header + ' ' * (117 - len(header)) + '\\n'
    with open(path + '.new', 'wb') as out:
        out.write(b'\\x93NUMPY\\x01\\x00' + len(header).to_bytes(2, 'little') + header.encode())
        out.write(b'\\0' * 64)
    os.replace(path + '.new', path)
threading.Thread(target=forge, daemon=True).start()
"""
    outcome, work = grade_toy(after=[forge], memory_gb=1.0)
    q1_hidden = next(r for r in outcome.results if (r["question"], r["test"]) == ("q1_mean", 1))
    assert not q1_hidden["passed"] and "do not hold" in q1_hidden["message"]
    assert outcome.status == "graded" and _earned(outcome) == FULL_MARKS - 2
    _ends_fairly(outcome, work, most=FULL_MARKS - 2)


@needs_bwrap
def test_a_disk_and_inode_flood_leaves_nothing_behind(grade_toy, decoys, tmp_path):
    flood = """
import os
os.makedirs('flood', exist_ok=True)
for i in range(20000):
    open(f'flood/{i}', 'w').close()
with open('big.bin', 'wb') as out:
    out.write(b'x' * 150 * 2**20)
os.makedirs('exports/q1_mean-0', exist_ok=True)
for i in range(200):
    open(f'exports/q1_mean-0/junk{i}.npy', 'wb').write(b'x' * 100)
print('FLOODED')
"""
    runs = set(Path("/tmp").glob("dlkit-run-*"))
    outcome, work = grade_toy(after=[flood])
    assert _printed(work, "FLOODED") and outcome.status == "graded"
    assert _earned(outcome) == FULL_MARKS
    kept = [p for p in work.rglob("*") if p.is_file()]
    assert len(kept) < 20 and sum(p.stat().st_size for p in kept) < 2_000_000
    assert set(Path("/tmp").glob("dlkit-run-*")) <= runs  # the scratch folder is gone
    _ends_fairly(outcome, work, most=FULL_MARKS)


@needs_bwrap
def test_the_kept_back_training_images_do_not_exist_inside_the_sandbox(grade_toy, decoys):
    from dlkit.data import HELD_OUT, held_out, load_mnist

    probe = """
import hashlib
from dlkit.data import load_mnist
(x, y), _ = load_mnist()
print('SHAPE', x.shape)
print('LAST', hashlib.sha256(x[-5000:].tobytes()).hexdigest())
print('FIRST', hashlib.sha256(x[:5000].tobytes()).hexdigest())
"""
    outcome, work = grade_toy(before=[probe])
    import hashlib

    (x_train, _), _ = load_mnist()
    kept_back = hashlib.sha256(held_out("mnist")[0].tobytes()).hexdigest()
    first = hashlib.sha256(x_train[:HELD_OUT].tobytes()).hexdigest()
    assert _printed(work, "SHAPE") == ["SHAPE (60000, 28, 28)"]  # the same shape as anywhere
    assert _printed(work, "LAST") == [f"LAST {first}"] and kept_back != first
    assert outcome.status == "graded"
    _ends_fairly(outcome, work, most=FULL_MARKS)


@needs_bwrap
def test_the_judge_and_the_notebook_never_run_as_root(grade_toy, decoys):
    seen: dict[str, set[int]] = {"judge": set(), "runner": set()}
    done = threading.Event()

    def watch():
        while not done.is_set():
            for entry in Path("/proc").iterdir():
                try:
                    command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
                    uid = int((entry / "status").read_text().split("Uid:")[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                for role in seen:
                    if f"dlkit.grading.{role}".encode() in command and b"bwrap" not in command \
                            and b"setpriv" not in command:
                        seen[role].add(uid)
            time.sleep(0.05)

    thread = threading.Thread(target=watch)
    thread.start()
    try:
        outcome, work = grade_toy(before=["import os\nprint('UID', os.getuid(), os.geteuid())"])
    finally:
        done.set()
        thread.join()
    assert outcome.status == "graded" and _earned(outcome) == FULL_MARKS
    assert seen["judge"] and seen["runner"], seen
    if os.geteuid() == 0:  # the host's own nobody, not root mapped into a namespace
        assert seen["judge"] == {65534} and seen["runner"] == {65534}
    assert _printed(work, "UID") == ["UID 65534 65534"]


def test_a_model_declaring_a_huge_layer_is_refused_before_keras_builds_it(tmp_path):
    import zipfile

    from dlkit import checks

    folder = tmp_path / "q1-0"
    folder.mkdir()
    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 784]}},
        {"class_name": "Dense", "config": {"units": 10**9}}]}}
    with zipfile.ZipFile(folder / "model.keras", "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("metadata.json", "{}")
    (folder / checks.MANIFEST).write_text(json.dumps({"model": {"kind": "keras"}}))
    with pytest.raises(checks.TooLarge, match="units=1,000,000,000"):
        checks.load(folder)
    config["config"]["layers"][1]["config"]["units"] = 600_000
    config["config"]["layers"].append({"class_name": "Dense", "config": {"units": 600_000}})
    with zipfile.ZipFile(folder / "model.keras", "w") as archive:
        archive.writestr("config.json", json.dumps(config))
    with pytest.raises(checks.TooLarge, match="parameters"):
        checks.load(folder)


def test_a_torch_tree_declaring_a_huge_layer_and_an_npz_of_forged_sizes_are_refused(tmp_path):
    from dlkit import checks

    folder = tmp_path / "q1-0"
    folder.mkdir()
    tree = {"layer": "Sequential", "children": [
        {"layer": "Linear", "args": {"in_features": 100_000, "out_features": 100_000, "bias": True}}]}
    (folder / checks.MANIFEST).write_text(json.dumps(
        {"net": {"kind": "torch", "spec": {"tree": tree, "keys": ["0.weight", "0.bias"]}}}))
    np.savez(folder / "net.npz", t0=np.zeros(1), t1=np.zeros(1))
    with pytest.raises(checks.TooLarge, match="parameters"):
        checks.load(folder)
    (folder / checks.MANIFEST).write_text(json.dumps({"net": {"kind": "torch", "file": "../x.npz",
                                                              "spec": {"tree": tree, "keys": []}}}))
    with pytest.raises(ValueError, match="names a file"):
        checks.load(folder)


@needs_bwrap
def test_a_typed_in_history_does_not_earn_the_training_question(tmp_path):
    """Experiment 2's training question, on a notebook that never trains: it compiles `model`
    and types in a History of falling losses."""
    from dlkit.experiments import get
    from dlkit.grading.plans import plan_tests
    from dlkit.grading.run import grade_submission
    from dlkit.sandbox import Limits, default_sandbox

    experiment = get("exp2-feedforward")
    plan = [t for t in plan_tests(experiment) if t.question == "q4_training"]
    cells = ["""
import keras
model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(64, activation="relu"),
                          keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
class Typed:
    pass
history = Typed()
history.model = model
history.history = {"loss": [1.2, 0.6, 0.3], "accuracy": [0.7, 0.85, 0.93],
                   "val_loss": [1.1, 0.5, 0.25], "val_accuracy": [0.72, 0.86, 0.94]}
"""]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    path = tmp_path / "typed.ipynb"
    nbformat.write(nb, path)
    outcome = grade_submission(path, tmp_path / "graded", plan, default_sandbox(experiment.root),
                               Limits(seconds=120, memory_bytes=3 * 2**30, wall_factor=10.0),
                               name=experiment.master.name)
    hidden = next(r for r in outcome.results if r["hidden"])
    public = next(r for r in outcome.results if not r["hidden"])
    assert public["passed"]  # the public preview only asks for val_loss
    assert not hidden["passed"] and "optimizer took 0 step(s)" in hidden["message"], hidden
    assert _earned(outcome) == public["points"]


def test_runs_that_are_not_the_students_doing_are_retried_three_times_then_final(
        toy_course, tmp_path, monkeypatch):
    """Canned outcomes through the coordinator's own recording: a sandbox error or an
    overloaded grader is graded again by later `dlkit grade` calls, at most 3 runs in all."""
    import dlkit.experiments as registry
    from dlkit.collect import collect
    from dlkit.gradebook import MAX_ATTEMPTS, Gradebook, current_run
    from dlkit.grading.tasks import Outcome

    monkeypatch.setitem(registry.EXPERIMENTS, "toy", toy_course)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    nbformat.write(nbformat.read(toy_course.root / "release" / "toy" / "toy.ipynb", as_version=4),
                   inbox / "101_toy.ipynb")
    course = tmp_path / "course"
    gradebook = Gradebook.open(course)
    collect("toy", inbox, course=course, gradebook=gradebook)
    [submission] = gradebook.latest_submissions("toy")
    for attempt, status in enumerate(["grader overloaded", "sandbox error", "grader overloaded"], 1):
        assert [s.id for s in gradebook.to_grade("toy")] == [submission.id], attempt
        gradebook.record_run(submission.id, Outcome(status, "the grader was too busy", 1.0,
                                                     "cpu", "bubblewrap"))
    assert MAX_ATTEMPTS == 3 and gradebook.to_grade("toy") == []
    with gradebook.session() as session:
        run = current_run(session, submission.id)
        assert run.status == "grader overloaded" and "so it is final" in run.reason
    # an instructor's --regrade still takes it
    assert [s.id for s in gradebook.to_grade("toy", regrade=True)] == [submission.id]


@needs_bwrap
def test_a_judge_that_dies_on_a_test_is_a_grader_failure_said_as_such(toy_course, tmp_path):
    """A judge half that kills its own process (a broken hidden test): that test is a grader
    failure, named; a fresh judge judges the tests after it; nothing is read from a file."""
    import dataclasses

    from dlkit.grading.plans import plan_tests
    from dlkit.grading.run import grade_submission
    from dlkit.sandbox import Limits, default_sandbox

    plan = plan_tests(toy_course)
    broken = "import os\n\ndef judge(data):\n    os._exit(3)\n"
    plan = [dataclasses.replace(t, judge=broken) if t.id == "q1_mean-1" else t for t in plan]
    path = tmp_path / "toy.ipynb"
    shutil.copy(toy_course.root / "autograder" / "toy" / "toy.ipynb", path)
    outcome = grade_submission(path, tmp_path / "graded", plan, default_sandbox(toy_course.root),
                               Limits(seconds=60, memory_bytes=2 * 2**30, wall_factor=10.0),
                               name="toy.ipynb")
    verdict = {(r["question"], r["test"]): r for r in outcome.results}
    assert outcome.status == "sandbox error"
    assert outcome.reason.startswith("the grader failed while judging q1_mean: the judge stopped")
    assert not verdict[("q1_mean", 1)]["passed"]
    assert verdict[("q1_mean", 0)]["passed"] and verdict[("q2_scale", 0)]["passed"]
