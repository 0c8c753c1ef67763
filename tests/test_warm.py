"""The warm PyTensor compile cache: kept once in the data cache, copied for each run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dlkit.warm import (
    RUN_FOLDER,
    STAMP,
    _stamp,
    is_warm,
    pytensor_cache,
    pytensor_run_cache,
    warm_pytensor,
)


@pytest.fixture
def kept(cache):
    """A kept cache folder with a few compiled files and a stamp of these package versions."""
    folder = pytensor_cache()
    (folder / "numba").mkdir(parents=True)
    (folder / "numba" / "string.add-1.nbi").write_bytes(b"index")
    (folder / "numba" / "string.add-1.1.nbc").write_bytes(b"code")
    (folder / STAMP).write_text(json.dumps(_stamp()))
    return folder


def test_each_run_gets_a_writable_copy_and_the_kept_cache_stays(kept, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    env = pytensor_run_cache(work)
    copy = work / RUN_FOLDER
    assert env == {"PYTENSOR_FLAGS": f"base_compiledir={copy}"}
    assert sorted(p.name for p in copy.rglob("*") if p.is_file()) == [
        "string.add-1.1.nbc", "string.add-1.nbi"]
    (copy / "numba" / "string.add-1.nbi").write_bytes(b"a student's")
    assert (kept / "numba" / "string.add-1.nbi").read_bytes() == b"index"


def test_without_a_kept_cache_a_run_still_gets_its_own_folder(cache, tmp_path):
    env = pytensor_run_cache(tmp_path)
    assert (tmp_path / RUN_FOLDER).is_dir() and str(tmp_path / RUN_FOLDER) in env["PYTENSOR_FLAGS"]


def test_a_warm_cache_is_not_compiled_again_and_a_stale_one_is(kept):
    assert is_warm(kept)
    report = warm_pytensor(kept)
    assert not report.warmed and report.files == 3
    (kept / STAMP).write_text(json.dumps({**_stamp(), "pytensor": "0.0.1"}))
    assert not is_warm(kept)


@pytest.mark.slow
def test_warming_covers_experiment_1s_reference_graph(tmp_path):
    folder = tmp_path / "pytensor"
    report = warm_pytensor(folder)
    assert report.warmed and is_warm(folder) and report.files > 50
    probe = ("import os, time\nfrom dlkit.warm import _mlp_graphs\n"
             f"before = sum(len(f) for _, _, f in os.walk({str(folder)!r}))\n"
             "started = time.perf_counter()\n"
             "_mlp_graphs('float32', 'relu', 'log_softmax', 'adam')\n"
             f"print(time.perf_counter() - started, sum(len(f) for _, _, f in os.walk({str(folder)!r})) - before)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env={**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={folder}"},
                          check=True)
    seconds, new_files = done.stdout.split()
    assert int(new_files) == 0 and float(seconds) < 30
