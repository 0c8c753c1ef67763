"""Students' access codes for the portal: issued, printed one slip a student, mailed by CSV.

A code exists in plain text only on the slips and in the mail-merge CSV written when it is
issued; the gradebook keeps its argon2 hash. Issuing a student a new code revokes the old one
(and ends the sessions logged in with it).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

from dlkit import queries
from dlkit.errors import DlkitError
from dlkit.gradebook import Gradebook
from dlkit.portal.auth import issue_code


@dataclass(frozen=True)
class Slip:
    roll: str
    name: str
    batch: str
    email: str
    code: str


@dataclass
class CodeIssue:
    """The codes one run issued (``slips``) and the students skipped as already having one."""

    label: str  # the batch, or "students" for a list of rolls
    slips: list[Slip] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    issued_at: dt.datetime = field(default_factory=dt.datetime.now)


def issue_codes(gradebook: Gradebook, *, batch: str | None = None, rolls: list[str] | None = None,
                reissue: bool = False) -> CodeIssue:
    """Codes for the students of ``batch`` or the ``rolls`` given: those without an active code
    get one; with ``reissue`` every one gets a new one and the old ones stop working."""
    if not batch and not rolls:
        raise DlkitError("no students chosen", fix="give --batch B1 or --student ROLL")
    with gradebook.session() as s:
        students = [(st.roll, st.name, st.batch, st.email)
                    for st in queries.students(s, batch=batch, rolls=rolls)]
        batches = queries.batches(s)
    if rolls:
        unknown = sorted(set(rolls) - {roll for roll, *_ in students})
        if unknown:
            raise DlkitError(f"unknown student(s) {', '.join(unknown)}"
                             + (f" in batch {batch}" if batch else ""),
                             fix="load the roster first (--roster roster.csv)")
    if not students:
        raise DlkitError(f"no students in batch {batch!r}",
                         fix=f"batches in the gradebook: {', '.join(batches) or 'none'}; load "
                             "the roster with --roster roster.csv")
    issue = CodeIssue(batch if batch and not rolls else "students")
    for roll, name, student_batch, email in students:
        if not reissue and gradebook.active_access_code(roll) is not None:
            issue.kept.append(roll)
            continue
        issue.slips.append(Slip(roll, name, student_batch, email, issue_code(gradebook, roll)))
    return issue


def write_slips(issue: CodeIssue, out: Path, *, url: str, pdf: bool = True) -> list[Path]:
    """``<out>/access-codes/codes-<label>-<time>``: the slips (.html, .pdf) and a mail-merge
    .csv (roll, name, batch, email, code, url). They hold the codes: keep them private."""
    from dlkit.reports.course import load_course
    from dlkit.reports.render import render, write_atomic
    from dlkit.reports.viva import batch_slug

    stem = Path(out) / "access-codes" / (f"codes-{batch_slug(issue.label)}-"
                                          f"{issue.issued_at.strftime('%Y%m%d-%H%M%S')}")
    context = {"slips": issue.slips, "course": load_course(), "url": url, "label": issue.label,
               "issued": issue.issued_at.strftime("%Y-%m-%d")}
    paths = render("access_slips.html", context, stem, pdf=pdf)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["roll", "name", "batch", "email", "code", "url"])
    writer.writerows([s.roll, s.name, s.batch, s.email, s.code, url] for s in issue.slips)
    paths.append(write_atomic(stem.with_suffix(".csv"), buffer.getvalue()))
    for path in paths:
        path.chmod(0o600)
    return paths
