"""The one exception tree of dlkit.

Every failure a user can cause or meet is one of these; the CLI prints them as
``Error: <what> (<where>) — <how to fix>`` with a non-zero exit, never as a traceback.

    DlkitError
    ├── UnknownName            a dataset or experiment id that is not registered
    ├── DataError
    │   ├── ChecksumMismatch   a file whose bytes are not the registered ones
    │   └── DataUnavailable    no source could provide an entry (lists every attempt)
    ├── NotebookFormatError    a master notebook that cannot be released (file, cell, question)
    ├── FileProblems           a CSV with problems (lists every one, with its line)
    │   ├── RosterError        roster.csv
    │   └── reports.termwork.PracticalMarksError   a PR marks CSV
    ├── CollectError           a submissions source that cannot be collected at all
    └── (defined beside their modules, same base)
        ├── settings.SettingsError          a settings file that is not valid YAML or TOML
        ├── release.ReleaseCheckFailed      a release check failed; nothing was replaced
        ├── variants.VariantError           an exam variant that does not fit its experiment's parameters
        ├── sandbox.SandboxUnavailable      --require-sandbox without bubblewrap
        ├── data.datamap.DatasetMapError    datasets.yml cannot be used as it is
        ├── grading.workers.ClusterError    a Dask scheduler or cluster that cannot be used
        ├── grading.workers.WorkerRefused   no worker has the kit, autograder or data a run needs
        ├── grading.workers.WorkersLost     every worker that took a run died while grading it
        ├── portal.config.PortalConfigError portal.yml or the portal's state folder is wrong
        ├── reports.course.CourseConfigError   course.yml is missing or wrong
        ├── reports.viva.VivaError          a question bank or a viva request that cannot work
        ├── reports.exam.ExamPlanError      an exam plan that cannot be balanced
        └── similarity.SimilarityError      a similarity report that cannot be made

Not user errors, and not of this tree: what a *grading run* meets is judged, not reported.
A hidden test's halves raise ``AssertionError`` (a failed test) or its kinds
``checks.MissingObject`` (the notebook lacks what a test needs); ``checks.TooLarge`` (an export
over its caps), ``grading.channel.ChannelError`` (a runner's frame that breaks the protocol),
``grading.split.NotSplittable`` and ``grading.kernel_env.OfflineDataUnavailable`` (a loader
stand-in in the student's kernel) each become a test's verdict or a run's status and reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class DlkitError(Exception):
    """Base of every error dlkit reports to a user."""

    def __init__(self, what: str, *, where: str = "", fix: str = "") -> None:
        self.what, self.where, self.fix = what, where, fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = self.what
        if self.where:
            text += f" ({self.where})"
        if self.fix:
            text += f" — {self.fix}"
        return text


class UnknownName(DlkitError):
    """A name that no registry knows; the message lists the names it does know."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        self.name = name
        super().__init__(
            f"unknown {kind} {name!r}", fix=f"known {kind}s: {', '.join(sorted(known))}"
        )


class DataError(DlkitError):
    """A dataset or weight file could not be provided as registered."""


class ChecksumMismatch(DataError):
    def __init__(self, path: str, expected: str, actual: str) -> None:
        self.expected, self.actual = expected, actual
        super().__init__(
            "checksum mismatch", where=path, fix=f"expected {expected}, got {actual}"
        )


class DataUnavailable(DataError):
    """No source worked; ``attempts`` holds (source, reason) for each one tried."""

    def __init__(self, name: str, attempts: Sequence[tuple[str, str]], fix: str) -> None:
        self.name, self.attempts = name, list(attempts)
        tried = "; ".join(f"{source}: {reason}" for source, reason in attempts) or "no sources"
        super().__init__(f"{name} unavailable; tried: {tried}", fix=f"to fix: {fix}")

    @property
    def message(self) -> str:  # "Error: <name> unavailable; tried: ...; to fix: ..."
        return f"{self.what}; {self.fix}"


class NotebookFormatError(DlkitError):
    """A master notebook breaks the assign format; names the file, cell and question."""

    def __init__(self, what: str, *, path: str, cell: int | None = None,
                 question: str | None = None, fix: str = "") -> None:
        self.path, self.cell, self.question = path, cell, question
        where = path
        if cell is not None:
            where += f", cell {cell}"
        if question:
            where += f", question {question}"
        super().__init__(what, where=where, fix=fix)


class FileProblems(DlkitError):
    """A file with problems; ``problems`` holds each as ``<file> line N: <problem>``."""

    #: what the file is, for the one-line summary ("the roster", "the practical marks")
    subject = "the file"

    def __init__(self, path: str, problems: Sequence[str]) -> None:
        self.path, self.problems = path, list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in {self.subject}", where=path,
                         fix="correct these lines and run again")

    @property
    def message(self) -> str:  # every problem on its own line, after the usual one-line summary
        return super().message + "".join(f"\n  {problem}" for problem in self.problems)


class RosterError(FileProblems):
    subject = "the roster"


class CollectError(DlkitError):
    """A submissions source that cannot be collected at all (missing, unreadable, too large)."""
