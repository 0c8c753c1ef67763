"""The sandbox's monitor on small real commands: CPU time, the stop protocol, the backstop.

Each command is a few lines of Python run through :meth:`Sandbox.run` (bubblewrap where it is
installed, the fallback otherwise); no notebook, so each test takes seconds.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlkit import sandbox as sandbox_module
from dlkit.sandbox import Limits, default_sandbox

pytestmark = pytest.mark.sandbox  # every test here starts sandboxed runs

#: Burns CPU in a loop, reports "cell 1".."cell 3", obeys "stop ..." on the control pipe.
OBEDIENT = """
import os, sys, threading, time
progress = os.fdopen(int(os.environ["DLKIT_PROGRESS_FD"]), "w", buffering=1)
control = os.fdopen(int(os.environ["DLKIT_CONTROL_FD"]))
asked = []
threading.Thread(target=lambda: asked.append(control.readline().strip()), daemon=True).start()
for cell in (1, 2, 3):
    progress.write(f"cell {cell}\\n")
    start = time.process_time()
    while not asked and time.process_time() - start < {burn}:
        pass
    if asked:
        print("asked:", asked[0])
        sys.exit(0)
progress.write("collect\\n")
print("done")
"""
BURN_FOREVER = "while True:\n    pass"
SLEEP = "import time\ntime.sleep(600)"
#: the CPU burns in a grandchild process: the limit counts the whole process tree
BURN_IN_A_CHILD = ("import subprocess, sys\n"
                   "subprocess.run([sys.executable, '-c', 'while True: pass'])")


def _run(tmp_path, code: str, limits: Limits):
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return default_sandbox(tmp_path).run([sys.executable, "-c", code], work,
                                         {"HOME": str(work), "PATH": "/usr/bin:/bin"}, limits)


@pytest.mark.parametrize("bwrap", [True, False], ids=["bubblewrap", "fallback"])
def test_a_cpu_bound_command_is_asked_to_stop_at_its_cpu_limit(tmp_path, monkeypatch, bwrap):
    if not bwrap:
        monkeypatch.setattr(sandbox_module.shutil, "which", lambda name: None)
    elif shutil.which("bwrap") is None:
        pytest.skip("bubblewrap missing: run `make setup` as root")
    result = _run(tmp_path, OBEDIENT.replace("{burn}", "100"), Limits(seconds=2))
    assert result.returncode == 0 and "asked: stop cpu" in result.stdout
    assert result.kind.startswith("FALLBACK") != bwrap
    assert result.timed_out and result.stopped == "cpu" and not result.overloaded
    assert result.progress == "cell 1" and result.cell == 1
    assert 2 <= result.cpu_seconds < 5


def test_a_command_that_finishes_is_not_stopped(tmp_path):
    result = _run(tmp_path, OBEDIENT.replace("{burn}", "0.3"), Limits(seconds=30))
    assert "done" in result.stdout and result.progress == "collect"
    assert not result.timed_out and not result.stopped and not result.overloaded
    assert 0.9 <= result.cpu_seconds < 30


def test_a_command_that_ignores_the_stop_is_killed_after_the_grace(tmp_path):
    result = _run(tmp_path, BURN_FOREVER, Limits(seconds=1.5, grace_seconds=1.5))
    assert result.timed_out and result.stopped == "cpu" and result.returncode != 0
    assert 3 <= result.cpu_seconds < 6


def test_a_sleeping_command_meets_the_backstop_as_idle(tmp_path):
    started = time.monotonic()
    result = _run(tmp_path, SLEEP, Limits(seconds=2, wall_factor=3, grace_seconds=1))
    assert result.timed_out and result.stopped == "idle" and not result.overloaded
    assert result.cpu_seconds < 2
    assert 6 <= time.monotonic() - started < 60  # the backstop (6 s) and the grace (3 s)


@pytest.mark.parametrize("cgroups", [True, False], ids=["cgroups", "process-tree"])
def test_cpu_of_child_processes_counts(tmp_path, monkeypatch, cgroups):
    if not cgroups:
        monkeypatch.setattr(sandbox_module._CGroups, "create",
                            classmethod(lambda cls, limits: None))
    result = _run(tmp_path, BURN_IN_A_CHILD, Limits(seconds=2, grace_seconds=1))
    assert result.timed_out and result.stopped == "cpu"
    assert 2 <= result.cpu_seconds < 6


def test_a_starved_command_at_the_backstop_is_overloaded_not_timed_out(tmp_path):
    """Competing CPU hogs (twice as many as cores) leave the command less than the share
    the backstop allows (here 1/20 of a core for its 1-second limit): overloaded."""
    hogs = [subprocess.Popen([sys.executable, "-c", "import time\nend = time.monotonic() + 60\n"
                              "while time.monotonic() < end:\n    pass"], start_new_session=True)
            for _ in range(2 * (__import__("os").cpu_count() or 1))]
    try:
        result = _run(tmp_path, BURN_FOREVER, Limits(seconds=20, wall_factor=0.25))
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert result.overloaded and not result.timed_out and not result.stopped
    assert result.cpu_seconds < 20 and result.waited_seconds > 0


def test_output_floods_are_drained_and_cut(tmp_path):
    result = _run(tmp_path, "import sys\nfor _ in range(2000):\n    sys.stdout.write('x' * 10000)",
                  Limits(seconds=30))
    assert result.returncode == 0 and len(result.stdout) == 20_000


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap missing")
def test_a_private_folder_inside_an_allowed_one_is_masked(tmp_path):
    allowed = tmp_path / "allowed"
    (allowed / "private").mkdir(parents=True)
    (allowed / "private" / "answers.txt").write_text("secret")
    (allowed / "public.txt").write_text("fine")
    work = tmp_path / "work"
    work.mkdir()
    sandbox = sandbox_module.Sandbox(readable=[allowed, Path(sys.prefix), Path(sys.base_prefix)],
                                     hide=[allowed / "private"])
    listing = (f"import os\nprint(sorted(os.listdir({str(allowed)!r})), "
               f"os.listdir({str(allowed / 'private')!r}))")
    result = sandbox.run([sys.executable, "-c", listing], work, {"PATH": "/usr/bin"}, Limits(10))
    assert result.stdout.strip() == "['private', 'public.txt'] []", result.stderr

