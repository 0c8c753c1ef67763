"""The devices a run may use: this machine's GPUs, its grading slots, and each slot's environment."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def detect_gpus() -> list[str]:
    """The ids of the GPUs ``nvidia-smi`` lists (none without it)."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()] \
        if out.returncode == 0 else []


def device_slots(gpus: str, workers: int | None) -> list[str]:
    """``gpu:N`` per GPU (one worker each), else ``cpu`` per worker."""
    chosen = detect_gpus() if gpus == "auto" else [] if gpus == "none" else \
        [g.strip() for g in gpus.split(",") if g.strip()]
    if chosen:
        return [f"gpu:{g}" for g in chosen]
    return ["cpu"] * max(1, workers or os.cpu_count() or 1)


def device_env(slot: str, slots: int) -> dict[str, str]:
    """The environment of a run on ``slot`` when ``slots`` runs share this machine."""
    # idle OpenMP threads sleep instead of spinning: CPU time measures the work, and a run does
    # not burn the cores another run (or its own judge) is waiting for
    if slot.startswith("gpu:"):
        return {"CUDA_VISIBLE_DEVICES": slot[4:], "TF_FORCE_GPU_ALLOW_GROWTH": "true",
                "OMP_WAIT_POLICY": "PASSIVE"}
    threads = str(max(1, (os.cpu_count() or 1) // slots))
    return {"CUDA_VISIBLE_DEVICES": "", "OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": threads,
            "TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": "1",
            "MKL_NUM_THREADS": threads}


def gpu_device_files() -> list[str]:
    """The NVIDIA device files a GPU run's sandbox must show."""
    return sorted(str(p) for p in Path("/dev").glob("nvidia*"))
