"""Faults and attacks, each a real notebook run through the real sandbox.

Every one must end with the right status, earn no marks it did not earn, and leave the host as it
was. Needs bubblewrap (installed by `make setup`); the isolation tests say so when it is missing.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.sandbox  # every test here starts sandboxed runs

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap missing: run `make setup` as root")


def _earned(outcome):
    return {(r["question"], r["test"]) for r in outcome.results if r["passed"]}


def _printed(work: Path, tag: str) -> str:
    """The line a cell of the graded run printed, starting with ``tag``."""
    import nbformat

    nb = nbformat.read(work / "executed.ipynb", as_version=4)
    lines = [line for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
             for line in out.get("text", "").splitlines() if line.startswith(tag)]
    return lines[0] if lines else ""


def test_infinite_loop_times_out_and_keeps_what_ran(grade_toy):
    outcome, _ = grade_toy(after=["while True:\n    pass"], seconds=10)
    assert outcome.status == "timeout"
    assert "was still running when the 0.166667 min limit" in outcome.reason or "limit" in outcome.reason
    assert outcome.score == 5  # every answer ran before the loop


def test_infinite_loop_before_the_answers_earns_nothing(grade_toy):
    outcome, _ = grade_toy(before=["while True:\n    pass"], seconds=8)
    assert outcome.status == "timeout" and outcome.score == 0


def test_memory_bomb_hits_the_memory_limit(grade_toy):
    outcome, _ = grade_toy(before=["import numpy as np\nblocks = []\nwhile True:\n"
                                   "    blocks.append(np.ones(2**27))"], memory_gb=1.0, seconds=60)
    assert outcome.status == "memory limit" and outcome.score == 0
    assert "more than 1 GB" in outcome.reason


def test_fork_bomb_is_contained(grade_toy):
    tag = uuid.uuid4().hex
    bomb = (f"import subprocess\nprocs = []\ntry:\n    for _ in range(3000):\n"
            f"        procs.append(subprocess.Popen(['sleep', '600', '{tag}'][:2]))\n"
            f"except OSError as exc:\n    print('stopped:', exc)")
    outcome, work = grade_toy(before=[bomb], seconds=60)
    assert outcome.score <= 5
    leftover = subprocess.run(["pgrep", "-f", "sleep 600"], capture_output=True, text=True)
    assert leftover.stdout.strip() == "", "processes outlived the sandbox"
    executed = (work / "executed.ipynb").read_text()
    assert "stopped:" in executed  # the limit on processes stopped the loop


@pytest.mark.parametrize("code, status", [
    ("import sys\nsys.exit(0)", "error"),  # IPython turns it into an error; like Run All, it stops
    ("import os\nos._exit(1)", "crashed"),
    ("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)", "crashed"),
])
def test_exits_and_kills(grade_toy, code, status):
    outcome, _ = grade_toy(before=[code])
    assert outcome.status == status
    if status == "crashed":
        assert outcome.score == 0 and outcome.reason
    if status == "error":
        assert outcome.reason == "cell 3 (`import sys`) raised SystemExit: 0" and outcome.score == 0


@needs_bwrap
def test_no_network(grade_toy):
    seen = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def accept():
        server.settimeout(20)
        try:
            seen.append(server.accept())
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    probe = (f"import socket\nresults = []\nfor host, port in [('127.0.0.1', {port}), "
             f"('pypi.org', 443)]:\n    try:\n        socket.create_connection((host, port), "
             f"timeout=3)\n        results.append('connected')\n    except OSError as exc:\n"
             f"        results.append(type(exc).__name__)\nprint('NET', results)")
    outcome, work = grade_toy(before=[probe])
    server.close()
    thread.join()
    assert seen == []
    said = _printed(work, "NET")
    assert said.startswith("NET [") and "connected" not in said
    assert outcome.status == "graded" and outcome.score == 5


@needs_bwrap
def test_hidden_tests_gradebook_and_home_are_invisible(grade_toy, toy_course):
    (toy_course.root / "gradebook.db").write_text("secret marks")
    targets = [toy_course.root / "gradebook.db", toy_course.root / "autograder" / "toy" / "tests"
               / "q1_mean.py", toy_course.root / "source" / "toy" / "toy.ipynb",
               Path.home() / ".bash_history"]
    probe = ("found = []\nfor path in %r:\n    try:\n        found.append(open(path).read()[:50])\n"
             "    except OSError as exc:\n        found.append(type(exc).__name__)\n"
             "print('STOLEN', found)") % [str(t) for t in targets]
    outcome, work = grade_toy(before=[probe])
    stolen = _printed(work, "STOLEN")
    assert "secret marks" not in stolen and "hidden" not in stolen and "BEGIN" not in stolen
    assert stolen.count("FileNotFoundError") == len(targets)
    assert outcome.status == "graded"


@needs_bwrap
def test_writes_outside_the_work_folder_do_not_reach_the_host(grade_toy, toy_course):
    tag = uuid.uuid4().hex
    targets = [toy_course.root / f"evil-{tag}", Path("/tmp") / f"evil-{tag}",
               Path.home() / f"evil-{tag}", Path("/usr") / f"evil-{tag}"]
    attack = "for path in %r:\n    try:\n        open(path, 'w').write('x')\n    except OSError:\n" \
             "        pass" % [str(t) for t in targets]
    outcome, _ = grade_toy(before=[attack])
    assert not any(t.exists() for t in targets)
    assert outcome.status == "graded"


def test_printing_100_mb_is_survived_and_truncated(grade_toy):
    outcome, work = grade_toy(before=["print('x' * 100_000_000)"], seconds=120)
    assert outcome.status == "graded" and outcome.score == 5
    assert (work / "executed.ipynb").stat().st_size < 2_000_000


def test_monkeypatching_numpy_and_the_checks_earns_nothing(grade_toy):
    cheat = """
import numpy as np
import dlkit.checks
np.allclose = lambda *a, **k: True
np.mean = lambda *a, **k: 0.0
dlkit.checks.run = lambda *a, **k: None
dlkit.checks.load = lambda folder: {'centred': np.zeros(10), 'scaled': np.array([0.5, -1.0, 0.25])}
centred = np.arange(10.0)
def scale(x):
    return x
"""
    outcome, _ = grade_toy(after=[cheat])
    # the public shape check passes on honest data; every hidden judgement fails
    assert _earned(outcome) == {("q1_mean", 0)}


def test_hard_coded_answers_and_fake_result_files_earn_nothing(grade_toy):
    fake = """
import json, os
centred = 'all good'
for test in ('q1_mean-1', 'q2_scale-0'):
    os.makedirs(f'exports/{test}', exist_ok=True)
    open(f'exports/{test}/outcome.json', 'w').write(json.dumps({'ok': True}))
    open(f'exports/{test}/exported.json', 'w').write(json.dumps({}))
open('judged.json', 'w').write(json.dumps({'q1_mean-1': {'passed': True}}))
"""
    outcome, _ = grade_toy(after=[fake, "def scale(x):\n    return 'perfect'"])
    assert outcome.score == 0


def test_memory_bomb_without_cgroups_or_bubblewrap_still_hits_the_limit(grade_toy, monkeypatch):
    from dlkit import sandbox as sandbox_module

    monkeypatch.setattr(sandbox_module._CGroups, "create", classmethod(lambda cls, limits: None))
    monkeypatch.setattr(sandbox_module.shutil, "which", lambda name: None)
    outcome, _ = grade_toy(before=["import numpy as np\nblocks = []\nwhile True:\n"
                                   "    blocks.append(np.ones(2**27))"], memory_gb=1.5, seconds=60)
    # rlimits make the allocation fail (MemoryError) instead of killing the kernel: the notebook
    # stops at the bomb's cell, as with cgroups, and the answers after it are not judged
    assert outcome.status == "memory limit" and "ran out of memory" in outcome.reason
    assert outcome.score == 0 and outcome.sandbox.startswith("FALLBACK")
    assert all(r["message"].startswith("not judged: the notebook stopped at cell 3 (MemoryError")
               for r in outcome.results)
