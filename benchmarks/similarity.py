"""Similarity report over a batch of Experiment 2 notebooks: time and peak memory, all pairs.

    .venv/bin/python benchmarks/similarity.py [--students 200] [--seed 0]

The batch is built like the tests' (tests/test_similarity.py) on the real released starter,
scaled up: each student answers every question with one of the tests' seven styles, mutated
(lines dropped, own lines added, names and numbers changed), and one student in ten copies a
classmate's notebook (renamed, comments added). With seven styles per question many students
share most answers, so far more pairs are listed (and drawn side by side) than in a real batch.
Collecting is not timed; the report is, from the gradebook to the written HTML, PNG and CSV.
Goal (issue #16): under 30 s and 1 GB on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.test_similarity import (  # noqa: E402 (the repository root first)
    EXP,
    INDEPENDENT,
    MANUAL,
    MANUAL_COPY,
    ORIGINAL,
    commented,
    fill,
    renamed,
)

STYLES = [ORIGINAL, MANUAL_COPY, *INDEPENDENT.values()]
QUESTIONS = ("q1", "q2", "q3", "q4", "q5", "q6")
OWN_LINES = (
    "print({v}.shape)", "assert {v} is not None", "{v} = np.asarray({w}, dtype=np.float32)",
    "plt.close('all')", "{v} = len({w}) // {n}", "print(f'{{{v}}} after {n} steps')",
    "{v} = {{'name': '{w}', 'size': {n}}}", "for {v} in range({n}):\n    pass",
    "{v} = [{w}[i] for i in range({n}) if i % 2]", "np.random.seed({n})",
)
WORDS = ("data", "net", "clf", "hist", "xs", "ys", "scale", "probe", "tmp", "res", "batch")


def mutate(code: str, rng: random.Random) -> str:
    """Drop a line now and then, add a student's own lines, change the numbers."""
    lines = textwrap.dedent(code).strip("\n").splitlines()
    indent = re.match(r"\s*", lines[-1]).group()
    kept = [line for line in lines if rng.random() > 0.1 or line.rstrip().endswith((":", ","))]
    for _ in range(rng.randint(0, 3)):
        extra = rng.choice(OWN_LINES).format(v=rng.choice(WORDS) + str(rng.randint(0, 99)),
                                             w=rng.choice(WORDS), n=rng.randint(2, 500))
        kept.insert(rng.randint(0, len(kept)), textwrap.indent(extra, indent))
    text = "\n".join(kept or lines)
    return re.sub(r"\b\d+\b", lambda m: str(rng.randint(1, 999)), text) if rng.random() < .5 \
        else text


def batch(students: int, seed: int) -> dict[str, bytes]:
    import json

    rng = random.Random(seed)
    notebooks: dict[str, dict[str, str]] = {}
    for number in range(students):
        roll = f"4{number:04d}"
        if number and rng.random() < 0.1:  # a copier: a classmate's answers, renamed, commented
            answers = commented(renamed(notebooks[rng.choice(sorted(notebooks))],
                                        {"model": "net", "history": "log", "fig": "figure"}))
        else:
            answers = {}
            for question in QUESTIONS:
                code = rng.choice(STYLES)[question]
                answers[question] = code if question == "q5" else mutate(code, rng)
        notebooks[roll] = answers
    return {f"{roll}.ipynb": json.dumps(fill(answers)).encode()
            for roll, answers in notebooks.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from dlkit.collect import collect
    from dlkit.gradebook import Gradebook
    from dlkit.reports.similarity import write_similarity_report
    from dlkit.similarity import similarity_report

    with tempfile.TemporaryDirectory() as tmp:
        inbox, course = Path(tmp) / "inbox", Path(tmp) / "course"
        inbox.mkdir()
        files = batch(args.students, args.seed)
        for name, data in files.items():
            (inbox / name).write_bytes(data)
        gradebook = Gradebook.open(course)
        collect(EXP, inbox, course=course, gradebook=gradebook)
        size = sum(map(len, files.values())) / len(files)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        started = time.perf_counter()
        report = similarity_report(EXP, course=course, gradebook=gradebook, against=MANUAL)
        scored = time.perf_counter()
        paths = write_similarity_report(report, course)
        written = time.perf_counter()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        tokens = sorted(n.tokens for n in report.students)
        print(f"{len(report.students)} notebooks of {size / 1024:.1f} kB on average "
              f"(median {tokens[len(tokens) // 2]} tokens of own code), "
              f"{len(report.pairs)} pairs + {len(report.students)} x {len(report.references)} "
              "against the manual")
        print(f"listed: {len(report.flagged)} pairs, {len(report.clusters)} clusters, "
              f"{len(report.sources)} manual matches; page {paths[0].stat().st_size / 1e6:.1f} MB")
        print(f"time: {scored - started:.1f} s to read and score, {written - scored:.1f} s to "
              f"write, {written - started:.1f} s in all (goal < 30 s)")
        print(f"peak memory (max RSS): {peak:.0f} MB, {before:.0f} MB before the report "
              "(goal < 1024 MB)")


if __name__ == "__main__":
    main()
