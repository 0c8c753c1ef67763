"""The sandbox is an allow-list: a notebook that walks ``/`` finds only the allowed folders,
never a decoy planted elsewhere or a second copy of the kit's hidden tests, and the frameworks
the experiments use still import and train inside."""

from __future__ import annotations

import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

import dlkit
from dlkit.data import cache_root
from dlkit.experiments import ROOT
from dlkit.sandbox import ETC_ALLOWED, ETC_WRITTEN
from dlkit.warm import is_warm, pytensor_cache
from tests.grading.conftest import printed_json

pytestmark = [pytest.mark.sandbox,
              pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap missing: run `make setup` as root")]

#: Walks "/" without descending into the allowed folders (``ALLOWED``): everything else that
#: exists is recorded, so a stray folder anywhere outside the allow-list shows up.
WALK = """
import json, os
allowed = {allowed!r}
seen, strays, tagged = [], [], []
todo = ["/"]
while todo:
    folder = todo.pop()
    for entry in os.scandir(folder):
        seen.append(entry.path)
        if "{tag}" in entry.path or entry.name in ("autograder", "gradebook.db", "solutions"):
            tagged.append(entry.path)
        if entry.path in allowed:
            continue
        if any(a.startswith(entry.path + "/") for a in allowed) and entry.is_dir(follow_symlinks=False):
            todo.append(entry.path)
        else:
            strays.append(entry.path)
probes = {{}}
for path in {probes!r}:
    probes[path] = os.path.exists(path)
readable_fds = []  # processes whose stdin this kernel can open through /proc
for pid in (p for p in os.listdir("/proc") if p.isdigit()):
    try:
        os.close(os.open(f"/proc/{{pid}}/fd/0", os.O_RDONLY | os.O_NONBLOCK))
        readable_fds.append(int(pid))
    except OSError:
        pass
print("walk.json", json.dumps({{"top": sorted(os.listdir("/")), "etc": sorted(os.listdir("/etc")),
           "tmp": os.listdir("/tmp"), "strays": strays, "tagged": tagged, "probes": probes,
           "seen": len(seen), "user": open("/etc/passwd").read(), "runner": os.getppid(),
           "kernel": os.getpid(), "readable_fds": readable_fds}}))
"""


@pytest.fixture
def decoys(toy_course):
    """A secret under /var/tmp (and /srv where writable) and a second copy of a kit with its
    autograder/ folder, outside the course, the kit and home; removed afterwards."""
    tag = f"dlkit-decoy-{uuid.uuid4().hex[:10]}"
    planted = []
    for base in (Path("/var/tmp"), Path("/srv"), Path("/tmp")):
        try:
            folder = base / tag
            (folder / "kit").mkdir(parents=True)
        except OSError:
            continue
        planted.append(folder)
        (folder / "secret.txt").write_text("last year's gradebook")
        shutil.copytree(toy_course.root / "autograder", folder / "kit" / "autograder")
    assert planted, "could not plant a decoy under /var/tmp"
    yield tag, planted
    for folder in planted:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_walk_of_root_finds_only_the_allowed_folders(grade_toy, toy_course, decoys):
    tag, planted = decoys
    allowed = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/dev",
               "/tmp", *(f"/etc/{name}" for name in (*ETC_ALLOWED, *ETC_WRITTEN)),
               str(Path(sys.prefix).resolve()), str(Path(sys.base_prefix).resolve()),
               str(Path(dlkit.__file__).parent.resolve()), str(cache_root().resolve())}
    probes = [str(p / "secret.txt") for p in planted] + [
        str(ROOT / "autograder"), str(ROOT / "source"), str(toy_course.root / "autograder"),
        str(toy_course.root / "gradebook.db"), str(Path.home() / ".bash_history"),
        str(Path.home() / ".ssh"), "/etc/shadow", "/etc/ssh", "/sys"] + [
        top for top in ("/srv", "/opt", "/var", "/home", "/root", "/mnt", "/media", "/run")
        if not any(a.startswith(top + "/") for a in allowed)]
    (toy_course.root / "gradebook.db").write_text("secret marks")
    walk = WALK.format(allowed=sorted(allowed), tag=tag, probes=probes)
    outcome, work = grade_toy(after=[walk], seconds=120)
    assert outcome.status == "graded" and outcome.score == 5, outcome.reason
    found = printed_json(work, "walk.json")
    assert found["tagged"] == [] and found["strays"] == []
    assert not any(found["probes"].values()), found["probes"]
    assert set(found["top"]) <= {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc",
                                 "proc", "dev", "tmp", *(Path(p).parts[1] for p in allowed)}
    assert set(found["etc"]) == {n for n in ETC_ALLOWED if (Path("/etc") / n).exists()} \
        | set(ETC_WRITTEN)
    assert not any(tag in name for name in found["tmp"])  # a private /tmp
    assert "nobody" in found["user"] and "/root" not in found["user"]  # not the host's users
    assert found["seen"] > 20  # it did walk
    # the grader's runner (the kernel's parent) is undumpable: its stdin (the tests' extract
    # halves) and its control pipes cannot be opened from the student's kernel
    assert found["runner"] not in found["readable_fds"]
    assert found["kernel"] in found["readable_fds"]  # its own: the probe works


FRAMEWORKS = """
import json, os, time, warnings
import numpy as np
report = {}
import torch                                 # PyTorch before TensorFlow (shared/DATA.md)
model = torch.nn.Linear(4, 1)
optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(64, 4), torch.randn(64, 1)
for _ in range(20):
    optimiser.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimiser.step()
report["torch"] = float(loss)
import tensorflow as tf
import keras
net = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)])
net.compile(optimizer="sgd", loss="mse")
history = net.fit(np.random.rand(64, 4), np.random.rand(64, 1), epochs=2, verbose=0)
report["keras"] = float(history.history["loss"][-1])
report["tensorflow"] = float(tf.reduce_sum(tf.ones((2, 2))))
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
plt.plot([1, 2, 3])
plt.savefig("plot.png")
report["matplotlib"] = os.path.getsize("plot.png")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pytensor
    import pytensor.tensor as pt
cache = str(pytensor.config.base_compiledir)
files_before = sum(len(f) for _, _, f in os.walk(cache))
from dlkit.warm import _mlp_graphs
started = time.perf_counter()
_mlp_graphs("float32", "relu", "log_softmax", "adam")   # Experiment 1's reference graph
report["pytensor_seconds"] = time.perf_counter() - started
report["pytensor_cache"] = cache
report["pytensor_new_files"] = sum(len(f) for _, _, f in os.walk(cache)) - files_before
print("frameworks.json", json.dumps(report))
"""


def test_frameworks_import_and_train_inside_with_a_warm_pytensor_cache(grade_toy):
    assert is_warm(), f"PyTensor's compile cache is not warm: run `dlkit warm` ({pytensor_cache()})"
    outcome, work = grade_toy(after=[FRAMEWORKS], seconds=600, memory_gb=6.0)
    assert outcome.status == "graded" and outcome.score == 5, outcome.reason
    report = printed_json(work, "frameworks.json")
    assert report["torch"] >= 0 and report["keras"] >= 0 and report["tensorflow"] == 4.0
    assert report["matplotlib"] > 1000
    # the run's copy of the warm cache, inside its own work folder (a tmpfs that ends with the
    # run); nothing compiled anew
    assert report["pytensor_cache"].startswith(tempfile.gettempdir() + "/dlkit-run-")
    assert report["pytensor_new_files"] == 0, report
    assert not Path(report["pytensor_cache"]).exists()  # gone with the run
