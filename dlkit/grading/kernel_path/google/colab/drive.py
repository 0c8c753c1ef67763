"""``google.colab.drive`` in the grader: there is no Google Drive to mount."""

from __future__ import annotations

NOTE = ("[grader] drive.mount({mountpoint!r}) does nothing here: there is no Google Drive in the "
        "grader. Instead the grader mounts the course's dataset map (datasets.yml), read-only, "
        "at the paths your notebook reads (e.g. /content/drive/MyDrive/ecg.csv).")


def mount(mountpoint: str = "/content/drive", force_remount: bool = False,
          timeout_ms: int = 120000, readonly: bool = False) -> None:
    """Does nothing; prints that the grader mounts the course's dataset map instead."""
    print(NOTE.format(mountpoint=mountpoint))


def flush_and_unmount(timeout_ms: int = 24 * 60 * 60 * 1000) -> None:
    """Does nothing (nothing was mounted)."""
