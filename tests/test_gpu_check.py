"""benchmarks/gpu.py (make gpu-check) on a machine without a usable NVIDIA GPU: it says so at
once and exits non-zero, grading nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu.py"


def _run(command: list[str], path: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PATH": path})
    return done, time.monotonic() - started


def test_no_nvidia_driver_says_so_and_stops(tmp_path):
    done, seconds = _run([sys.executable, str(SCRIPT)], f"{tmp_path}:/usr/bin:/bin")
    assert done.returncode == 3, done.stderr
    assert "NO NVIDIA GPU on this machine: nvidia-smi is not installed" in done.stderr
    assert "nothing was graded" in done.stderr and seconds < 30


def test_a_driver_that_sees_no_gpu_says_why(tmp_path):
    smi = tmp_path / "nvidia-smi"  # a broken driver: the tool is there, the GPU is not
    smi.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed because it could not communicate "
                   "with the NVIDIA driver.' >&2\nexit 9\n")
    smi.chmod(0o755)
    done, _ = _run([sys.executable, str(SCRIPT), "--count", "1"], f"{tmp_path}:/usr/bin:/bin")
    assert done.returncode == 3
    assert "could not communicate with the NVIDIA driver" in done.stderr


def test_a_gpu_the_installed_stack_cannot_use_is_said_before_anything_is_graded(tmp_path):
    from importlib import metadata

    try:
        metadata.version("tensorflow-cpu")
    except metadata.PackageNotFoundError:
        pytest.skip("this venv has a GPU build of TensorFlow: the probe would import it")
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0)'\n")
    smi.chmod(0o755)
    done, seconds = _run([sys.executable, str(SCRIPT)], f"{tmp_path}:/usr/bin:/bin")
    assert done.returncode == 4, done.stderr
    assert "GPUs: GPU 0: NVIDIA H100" in done.stdout
    assert "tensorflow-cpu is installed: it never uses a GPU" in done.stderr and seconds < 30


def test_make_gpu_check_fails_clearly_without_a_gpu(tmp_path):
    done, _ = _run(["make", "--no-print-directory", "gpu-check"], f"{tmp_path}:/usr/bin:/bin")
    assert done.returncode != 0
    assert "NO NVIDIA GPU on this machine" in done.stderr
