"""The parts of the stack an install may lack, and what to install for each.

TensorFlow comes from an extra (``dlkit[cpu]`` or ``dlkit[gpu]``: the two builds install the same
``tensorflow`` package, so neither is a default dependency); the commands that run notebooks ask
for it first, so a plain ``pip install dlkit`` says what is missing instead of grading every
notebook into ``No module named 'tensorflow'``.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec

from dlkit.errors import DlkitError

TENSORFLOW_FIX = ("pip install 'dlkit[cpu]' (tensorflow-cpu), or 'dlkit[gpu]' on a GPU grader "
                  "(tensorflow[and-cuda])")


def require_tensorflow(command: str) -> None:
    """Refuse ``command`` when this Python has no TensorFlow (found without importing it)."""
    if find_spec("tensorflow") is None:
        raise DlkitError(f"TensorFlow is not installed; {command} needs it",
                         where=sys.executable, fix=TENSORFLOW_FIX)


def import_root() -> str:
    """The folder this ``dlkit`` is imported from. The processes grading starts with an
    environment of their own (the sandboxed runner, the judge) get it as ``PYTHONPATH``, so they
    import this very kit wherever it is installed (a venv, ``pip install --target DIR``, a
    checkout); inside the sandbox only the package folder under it is visible."""
    from pathlib import Path

    import dlkit

    return str(Path(dlkit.__file__).resolve().parent.parent)
