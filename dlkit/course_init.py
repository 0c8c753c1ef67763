"""``dlkit init COURSE``: a course folder ready for a semester.

What is the instructor's lives in the course folder; the kit's own files (installed with the
package, or a checkout's) are read for everything the course does not have::

    course.yml      institute, batches, planned dates, marks scheme, time zone (it replaces the
                    kit's rubrics/course.yml key by key: dlkit.reports.course.load_course)
    roster.csv      the header `dlkit collect --roster` expects; one student a line
    portal.yml      what `dlkit serve` opens to students, and its limits
    datasets.yml    where students' own loaders read the college's dataset pack (examples)
    source/<id>/    with ``with_masters``: the kit's masters (and their rubrics, release and
                    autograder), for an instructor who changes an experiment, then releases it
                    into the course with `dlkit release --course COURSE`

A file that exists is kept as it is: running init again adds what is missing and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from dlkit.errors import DlkitError

#: the parts of the kit copied for each experiment by ``with_masters`` (course-relative paths)
MASTER_PARTS = ("source/{id}", "release/{id}", "autograder/{id}", "rubrics/{id}.yml",
                "rubrics/free-form/{id}.py")


@dataclass
class InitReport:
    course: Path
    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def init_course(course: Path, *, with_masters: bool = False) -> InitReport:
    """Write the course folder's files (see the module); existing files are kept."""
    from dlkit.experiments import EXPERIMENTS, ROOT

    course = Path(course).expanduser()
    if course.exists() and not course.is_dir():
        raise DlkitError("not a folder", where=str(course), fix="name a new or existing folder")
    course.mkdir(parents=True, exist_ok=True)
    report = InitReport(course.resolve())
    files = {"course.yml": _course_file(ROOT), "roster.csv": ROSTER,
             "portal.yml": _portal_file(), "datasets.yml": DATASETS}
    for name, text in files.items():
        _write(course / name, text, report)
    if with_masters:
        for experiment in EXPERIMENTS.values():
            if experiment.root != ROOT:  # an experiment from elsewhere is not the kit's to copy
                continue
            for part in MASTER_PARTS:
                relative = part.format(id=experiment.id)
                _copy(ROOT / relative, course / relative, report)
    return report


def _write(path: Path, text: str, report: InitReport) -> None:
    if path.exists():
        report.kept.append(path)
        return
    path.write_text(text, encoding="utf-8")
    report.written.append(path)


def _copy(source: Path, target: Path, report: InitReport) -> None:
    if not source.exists():
        return
    if target.exists():
        report.kept.append(target)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    else:
        shutil.copy2(source, target)
    report.written.append(target)


def _course_file(kit: Path) -> str:
    """The kit's course file, every line of it, to change in place."""
    text = (kit / "rubrics" / "course.yml").read_text(encoding="utf-8")
    lines = ["# This course's own course file: dlkit reads it first and the kit's for any key left",
             "# out (delete what you do not change). Planned dates are the conduction dates;",
             "# time_zone is an IANA name (Asia/Kolkata), every time a page or paper shows is in it."]
    zone = server_time_zone()
    if re.search(r'^time_zone: *(""|\'\')? *$', text, re.M):
        text = re.sub(r'^time_zone: *(""|\'\')? *$', f"time_zone: {zone}  # this server's zone",
                      text, count=1, flags=re.M)
    elif "time_zone:" not in text:
        lines.append(f"time_zone: {zone}  # this server's zone")
    return "\n".join(lines) + "\n\n" + text


def server_time_zone() -> str:
    """This server's time zone as an IANA name (``TZ``, ``/etc/timezone``, the target of
    ``/etc/localtime``), or UTC when none can be told."""
    import os
    from zoneinfo import ZoneInfo

    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        candidates.append(Path("/etc/timezone").read_text().strip())
    except OSError:
        pass
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    for name in candidates:
        try:
            if name and "/" in name or name == "UTC":
                ZoneInfo(name)
                return name
        except (ValueError, OSError, KeyError):
            continue
    return "UTC"


def _portal_file() -> str:
    """What the portal opens: every experiment of the kit, due at the end of its planned date
    plus the grace days (what the portal does without this file), written out to change."""
    from dlkit.experiments import EXPERIMENTS
    from dlkit.reports.course import CourseConfigError, load_course

    try:
        course = load_course()
        grace = dt.timedelta(days=int(course.late_policy.get("grace_days", 0)))
        due = {e.id: f"{e.planned + grace} 23:59" for e in course.experiments}
    except CourseConfigError:
        due = {}
    lines = ["# The course portal (`dlkit serve --course .`): the experiments students see, in this",
             "# order, with when each opens and is due (in the course's time zone). Remove an",
             "# experiment to close it; without this file every released experiment is open.",
             "experiments:"]
    for experiment_id in EXPERIMENTS:
        when = f'{{due: "{due[experiment_id]}"}}' if experiment_id in due else "{}"
        lines.append(f"  {experiment_id}: {when}")
    lines += ["# e.g.  exp4-autoencoder-anomaly: {opens: 2027-02-08, due: \"2027-02-15 17:00\"}",
              "uploads_per_hour: 10      # stored versions a student may add in an hour",
              "refusals_per_hour: 30     # refused files (not a notebook, a duplicate, ...)",
              "# forwarded_allow_ips: [127.0.0.1]   # the HTTPS proxy in front, whose "
              "X-Forwarded-For is believed"]
    return "\n".join(lines) + "\n"


ROSTER = "roll,name,batch,email,prn,division\n"

DATASETS = """\
# Where students' own loaders read the college's dataset pack (see `dlkit data map --help`).
# Import the pack first (`dlkit data import FOLDER`), then map each path a notebook reads to a
# registry entry (`dlkit data status`), `/file` picking one file of it. Examples:
#
# mnist_train.csv: mnist-train
# /content/drive/MyDrive/ecg.csv: ecg
# 'D:\\\\LP-IV\\\\creditcard.csv': creditcard
# train-images-idx3-ubyte.gz: mnist/train-images-idx3-ubyte.gz
"""
