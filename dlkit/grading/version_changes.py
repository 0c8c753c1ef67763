"""Known version changes: an error a notebook stopped at that is an API the kit's pinned
libraries removed or renamed (``version_changes.yml``, the one table), explained with its
replacement, so that a notebook right when it was written is not taken for a mistake."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).with_name("version_changes.yml")


@dataclass(frozen=True)
class VersionChange:
    errors: tuple[str, ...]
    message: re.Pattern
    says: str


@lru_cache(maxsize=1)
def version_changes(path: Path = TABLE) -> tuple[VersionChange, ...]:
    import yaml

    rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    out = []
    for number, row in enumerate(rows, start=1):
        errors = row.get("error")
        if not errors or not row.get("message") or not row.get("says"):
            raise ValueError(f"{path}: row {number} needs error, message and says")
        out.append(VersionChange(tuple([errors] if isinstance(errors, str) else errors),
                                 re.compile(row["message"]), str(row["says"])))
    return tuple(out)


def explain(error: Mapping) -> str | None:
    """What changed, and the replacement, when the error is a known version change."""
    name, message = str(error.get("error", "")), str(error.get("message", ""))
    for change in version_changes():
        if name in change.errors and change.message.search(message):
            return change.says
    return None
