"""The kit's files travel in the wheel: one build step, the rest is in pyproject.toml.

The repository's top-level folders stay the one place the masters, releases, rubrics, templates
and question bank are edited. Building a wheel copies them into the package as ``dlkit/_kit/``
(``dlkit.experiments.kit_root`` finds them there through ``importlib.resources``); an editable
install and the checkout read them where they are. ``solutions/`` never ships (nothing that
grades, reports or serves reads it). ``DLKIT_WHEEL=student`` builds the wheel a student may
install: without the folders that hold solutions, hidden tests or the viva answer keys.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dlkit.experiments import PRIVATE_KIT_FOLDERS  # noqa: E402 - the one list, read from the kit

#: repository folder -> what of it ships (glob patterns, relative to the folder)
KIT = {
    "source": ["*/*.ipynb"],
    "release": ["**/*"],
    "autograder": ["**/*"],
    "rubrics": ["*.yml", "README.md", "free-form/*.py"],
    "reports": ["README.md", "templates/**/*", "questions/*.yml"],
}
SKIPPED = ("__pycache__", ".ipynb_checkpoints")


def kit_files(root: Path, student: bool = False) -> list[Path]:
    """The repository's files that ship as ``dlkit/_kit/<the same path>``."""
    found = set()
    for folder, patterns in KIT.items():
        for pattern in patterns:
            found.update(p.relative_to(root) for p in (root / folder).glob(pattern) if p.is_file())
    return sorted(p for p in found if not set(p.parts) & set(SKIPPED)
                  and not (student and any(p.is_relative_to(private) for private in PRIVATE_KIT_FOLDERS)))


class build_py_with_kit(build_py):
    """``build_py``, then the kit's files copied into ``<build>/dlkit/_kit``."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # the checkout itself is the kit
            return
        root = Path(__file__).resolve().parent
        kit = Path(self.build_lib) / "dlkit" / "_kit"
        shutil.rmtree(kit, ignore_errors=True)
        for relative in kit_files(root, student=os.environ.get("DLKIT_WHEEL") == "student"):
            (kit / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / relative, kit / relative)


setup(cmdclass={"build_py": build_py_with_kit})
