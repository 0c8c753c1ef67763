"""dlkit: auto-graded assignments, grading and exam papers for the SPPU 414447 Deep Learning lab."""

from __future__ import annotations

__version__ = "0.1.0"
