"""What the portal serves and how: settings, the schedule of open experiments, its state folder.

The portal keeps its own state in ``<course>/portal/`` (never in the repository): the session
signing key, the instructor's password hash, the workers' heartbeats and logs. Which experiments
students see comes from ``<course>/portal.yml`` when it exists::

    experiments:                       # only these, in this order
      exp2-feedforward: {due: "2027-01-18 17:00"}
      exp4-autoencoder-anomaly: {opens: 2027-02-08, due: "2027-02-15 17:00"}
    uploads_per_hour: 10               # stored versions a student may add in an hour
    refusals_per_hour: 30              # refused files (not a notebook, a duplicate, ...)
    forwarded_allow_ips: [127.0.0.1]   # the HTTPS proxy in front: its X-Forwarded-For is
                                       # believed (else the connecting address counts)
    anonymous_marking: true            # marking shows a code instead of roll and name

and otherwise every released experiment is open (``release/<id>/<id>.ipynb`` exists), due at
the end of its planned date plus the grace days of ``rubrics/course.yml``. Times written here
are in the course's time zone (``time_zone`` of the course file), as every page shows them.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml

from dlkit import experiments
from dlkit.errors import DlkitError
from dlkit.experiments import Experiment
from dlkit.settings import MEMORY_GB, PORTAL_FILE, read_yaml

MB = 1024 * 1024
SCHEDULE_FILE = PORTAL_FILE


class PortalConfigError(DlkitError):
    """``portal.yml`` or the portal's state folder is wrong."""


@dataclass(frozen=True)
class Settings:
    """How one portal runs; the CLI's defaults are these."""

    course: Path
    uploads_per_hour: int | None = None  # None: portal.yml's, else 10
    upload_bytes: int = 20 * MB
    workers: int | None = None  # grading workers; None: one per GPU, else from the costs; 0: none
    gpus: str = "auto"
    memory_gb: float = MEMORY_GB
    behind_https: bool = False  # cookies marked Secure (set when a TLS proxy fronts the portal)
    session_hours: float = 12.0  # the longest a log-in lasts
    idle_minutes: float = 60.0  # a session unused this long ends


@dataclass(frozen=True)
class Clock:
    """The course's one clock: the gradebook keeps naive UTC, every page shows this zone,
    labelled (``2027-01-18 17:00 IST``)."""

    zone: dt.tzinfo
    name: str  # the IANA name, or the server's zone's abbreviation

    @classmethod
    def of(cls, course_folder: Path | None = None) -> Clock:
        return cls.of_course(course_file(course_folder))

    @classmethod
    def of_course(cls, course) -> Clock:
        """The clock of a course file (None: the server's)."""
        if course is None:
            return cls.server()
        zone = course.zone
        return cls(zone, course.time_zone or dt.datetime.now(zone).strftime("%Z"))

    @classmethod
    def server(cls) -> Clock:
        zone = dt.datetime.now().astimezone().tzinfo or dt.UTC
        return cls(zone, dt.datetime.now(zone).strftime("%Z"))

    def local(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` in the course's zone; a naive one is UTC (as the gradebook keeps it)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(self.zone)

    def show(self, moment: dt.datetime | None, empty: str = "unknown") -> str:
        from dlkit.reports.course import show_time

        return show_time(moment, self.zone, empty)

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.zone)

    @property
    def label(self) -> str:
        """What the footers say: "times in Asia/Kolkata (IST)"."""
        abbreviation = self.now().strftime("%Z")
        return self.name if abbreviation == self.name else f"{self.name} ({abbreviation})"

    def in_zone(self, naive: dt.datetime) -> dt.datetime:
        """A time written without a zone (portal.yml, the CLI) read in the course's zone."""
        return naive.replace(tzinfo=self.zone) if naive.tzinfo is None else naive


@dataclass(frozen=True)
class Assignment:
    """An experiment students can see: opens (None: open now), due (None: no deadline)."""

    experiment: Experiment
    opens: dt.datetime | None
    due: dt.datetime | None  # aware, in the course's zone

    @property
    def id(self) -> str:
        return self.experiment.id

    def is_open(self, now: dt.datetime | None = None) -> bool:
        return self.opens is None or (now or dt.datetime.now(dt.UTC)) >= self.opens

    @property
    def due_utc(self) -> dt.datetime | None:
        """The due time as naive UTC, as the gradebook records times."""
        return self.due.astimezone(dt.UTC).replace(tzinfo=None) if self.due else None

    @property
    def starter(self) -> Path:
        """The released student notebook."""
        return self.experiment.root / "release" / self.id / self.experiment.master.name


@dataclass(frozen=True)
class Schedule:
    assignments: tuple[Assignment, ...]
    uploads_per_hour: int = 10
    refusals_per_hour: int = 30
    forwarded_allow_ips: frozenset[str] = frozenset()
    clock: Clock | None = None
    course: object | None = None  # the course file (reports.course.Course); None: none found
    anonymous_marking: bool = False  # the marking view shows a code, not roll and name

    def get(self, experiment_id: str) -> Assignment | None:
        return next((a for a in self.assignments if a.id == experiment_id), None)

    def open(self, now: dt.datetime | None = None) -> list[Assignment]:
        return [a for a in self.assignments if a.is_open(now)]


def load_schedule(course: Path) -> Schedule:
    """The experiments of ``<course>/portal.yml``, else every released one (see the module)."""
    config = course_file(course)
    clock = Clock.of_course(config)
    path = course / SCHEDULE_FILE
    if not path.exists():
        return Schedule(tuple(_released(course, clock)), clock=clock, course=config)
    try:
        data = read_yaml(path) or {}
        listed = data.get("experiments") or {}
        if not isinstance(listed, dict):
            raise TypeError("'experiments' must map experiment ids to {opens, due}")
        assignments = []
        planned = _course_due_dates(course, clock)
        for experiment_id, when in listed.items():
            when = when or {}
            opens, due = _moment(when.get("opens")), _moment(when.get("due"))
            experiment = experiments.get(str(experiment_id))
            assignments.append(Assignment(experiment, clock.in_zone(opens) if opens else None,
                                          clock.in_zone(due) if due else
                                          planned.get(experiment.id)))
        trusted = data.get("forwarded_allow_ips") or []
        if isinstance(trusted, str):
            trusted = [part.strip() for part in trusted.split(",")]
        return Schedule(tuple(assignments), int(data.get("uploads_per_hour", 10)),
                        int(data.get("refusals_per_hour", 30)),
                        frozenset(str(ip) for ip in trusted), clock, config,
                        bool(data.get("anonymous_marking", False)))
    except DlkitError as exc:
        raise PortalConfigError(exc.what, where=str(path), fix=exc.fix) from None
    except (TypeError, ValueError, AttributeError, yaml.YAMLError) as exc:
        raise PortalConfigError(f"invalid portal schedule: {exc}", where=str(path),
                                fix="see `dlkit serve --help` for the format") from None


def _released(course: Path, clock: Clock) -> list[Assignment]:
    """Every registered experiment whose starter notebook is released, due by the course file."""
    due = _course_due_dates(course, clock)
    found = []
    for experiment in experiments.EXPERIMENTS.values():
        if (experiment.root / "release" / experiment.id / experiment.master.name).exists():
            found.append(Assignment(experiment, None, due.get(experiment.id)))
    return sorted(found, key=lambda a: (a.experiment.number, a.id))


def _course_due_dates(folder: Path, clock: Clock) -> dict[str, dt.datetime]:
    """End of each planned date plus the grace days (what the timely mark allows)."""
    from dlkit.reports.course import CourseConfigError, load_course

    try:
        course = load_course(folder=folder)
    except CourseConfigError:
        return {}
    grace = dt.timedelta(days=int(course.late_policy.get("grace_days", 0)))
    return {e.id: clock.in_zone(dt.datetime.combine(e.planned + grace, dt.time(23, 59)))
            for e in course.experiments}


def course_file(folder: Path | None):
    from dlkit.reports.course import find_course

    return find_course(folder)


def _moment(value) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(23, 59))
    text = str(value).strip()
    moment = dt.datetime.fromisoformat(text)
    return dt.datetime.combine(moment.date(), dt.time(23, 59)) if len(text) == 10 else moment


# --------------------------------------------------------------------------- the state folder

@dataclass(frozen=True)
class State:
    """``<course>/portal/``: secrets (mode 0600) and the workers' heartbeats and logs."""

    folder: Path

    @classmethod
    def of(cls, course: Path) -> State:
        return cls(course.resolve() / "portal")

    @property
    def password_file(self) -> Path:
        return self.folder / "instructor.argon2"

    @property
    def workers(self) -> Path:
        return self.folder / "workers"

    @property
    def logs(self) -> Path:
        return self.folder / "logs"

    def secret_key(self) -> str:
        """The key that signs session cookies, made on first use; delete it to log everyone out."""
        path = self.folder / "session.key"
        if not path.exists():
            write_private(path, secrets.token_urlsafe(48))
        return path.read_text().strip()


def write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by this user only (a secret), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")
    os.replace(temp, path)
