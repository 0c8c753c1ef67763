"""dlkit's similarity ranking against Dolos on one corpus with known copies.

    .venv/bin/python benchmarks/similarity_peers.py [--seed 7] [--independents 25] [--out DIR]

The corpus is built here (``tests/fixtures/similarity_corpus.py``): independent Experiment 2
notebooks in several styles, most following one tutorial template, and 8 copies of them (2
renamed, 2 reordered with new comments, 2 with one pasted model cell, 2 half rewritten). It is
written to ``DIR/corpus/`` as notebooks and as the .py files both tools read, the ground truth
to ``DIR/truth.csv`` and the template to ``DIR/template.py``.

Dolos is ``@dodona/dolos-lib`` 3.5.1 run by ``node`` (20 or later): when it is missing from
``DIR/node_modules`` the benchmark installs it there with npm (the registry is the only network
it needs). Each tool is run on the same files, with and without the template; reported for each:
precision at k (k = the number of true pairs), the rank of each true pair, the highest score of
a pair that is not a copy, what dlkit lists, and wall time.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fixtures.similarity_corpus import (  # noqa: E402 (the repository root first)
    TEMPLATE,
    Corpus,
    corpus,
    notebook_json,
)

DOLOS = "@dodona/dolos-lib@3.5.1"
DOLOS_SCRIPT = """
import { Dolos } from "@dodona/dolos-lib";
(async () => {
  const [files, template] = JSON.parse(process.argv[2]);
  const dolos = new Dolos({ language: "python" });
  const started = Date.now();
  const report = template ? await dolos.analyzePaths(files, template)
                          : await dolos.analyzePaths(files);
  const pairs = report.allPairs().map(p => ({
    a: p.leftFile.path, b: p.rightFile.path, similarity: p.similarity, longest: p.longest }));
  console.log(JSON.stringify({ seconds: (Date.now() - started) / 1000, pairs }));
})().catch(e => { console.error(e); process.exit(1); });
"""


def write_corpus(made: Corpus, folder: Path) -> list[Path]:
    """Each notebook as .ipynb and as the .py of its code cells; truth.csv; template.py."""
    files = folder / "corpus"
    files.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, cells in sorted(made.notebooks.items()):
        (files / f"{name}.ipynb").write_text(json.dumps(notebook_json(cells)), encoding="utf-8")
        path = files / f"{name}.py"
        path.write_text("\n\n".join(cells.values()), encoding="utf-8")
        paths.append(path)
    with (folder / "truth.csv").open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["copy", "source", "kind"])
        for pair, kind in sorted(made.kinds.items(), key=lambda item: sorted(item[0])):
            copy, source = sorted(pair)  # copies are c*, sources s*
            writer.writerow([copy, source, kind])
    (folder / "template.py").write_text(TEMPLATE, encoding="utf-8")
    return paths


def run_dlkit(paths: list[Path], template: Path | None, truth: set[frozenset[str]]
              ) -> tuple[list[tuple], float, str]:
    from dlkit.similarity import Entry, compare_notebooks

    started = time.perf_counter()
    report = compare_notebooks([Entry(p.stem, "", p) for p in paths],
                               templates=[template] if template else [])
    seconds = time.perf_counter() - started
    ranked = [(p.a, p.b, p.similarity, p.longest, p.listed) for p in report.pairs]
    true = sum(frozenset((p.a, p.b)) in truth for p in report.flagged)
    return ranked, seconds, f"{len(report.flagged)} ({true})"


def ensure_dolos(folder: Path) -> None:
    if (folder / "node_modules" / "@dodona" / "dolos-lib").is_dir():
        return
    if shutil.which("npm") is None or shutil.which("node") is None:
        raise SystemExit("Dolos needs node and npm (Debian: apt-get install nodejs npm)")
    print(f"installing {DOLOS} with npm into {folder} ...", flush=True)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(folder), DOLOS],
                   check=True, stdout=subprocess.DEVNULL)


def run_dolos(paths: list[Path], template: Path | None, folder: Path
              ) -> tuple[list[tuple], float]:
    script = folder / "dolos_pairs.mjs"
    script.write_text(DOLOS_SCRIPT, encoding="utf-8")
    started = time.perf_counter()
    done = subprocess.run(["node", str(script), json.dumps(
        [[str(p) for p in paths], str(template) if template else None])],
        capture_output=True, text=True, cwd=folder, check=False)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"Dolos failed:\n{done.stderr[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    ranked = sorted(((Path(p["a"]).stem, Path(p["b"]).stem, p["similarity"], p["longest"], False)
                     for p in out["pairs"]), key=lambda r: (-r[2], -r[3], r[0], r[1]))
    return ranked, seconds


def measures(ranked: list[tuple], made: Corpus) -> dict:
    k = len(made.truth)
    truth = [frozenset((a, b)) in made.truth for a, b, *_ in ranked]
    ranks = {}
    for pair in made.truth:
        score = next(r[2] for r in ranked if frozenset(r[:2]) == pair)
        # the best rank a pair shares with the ties above it, and how many tie with it
        ranks[made.kinds[pair] + " " + "-".join(sorted(pair))] = (
            1 + sum(r[2] > score for r in ranked), sum(r[2] == score for r in ranked))
    return {"precision_at_k": sum(truth[:k]) / k, "k": k, "ranks": ranks,
            "highest_non_copy": max(r[2] for r, t in zip(ranked, truth, strict=True) if not t),
            "ties_at_top": sum(r[2] == ranked[0][2] for r in ranked)}


def run_seed(seed: int, independents: int, folder: Path) -> list[tuple]:
    """Both tools, with and without the template, on the corpus of one seed."""
    made = corpus(independents, seed)
    paths = write_corpus(made, folder / f"seed-{seed}")
    template = folder / f"seed-{seed}" / "template.py"
    rows = []
    for label, with_template in (("dlkit", None), ("dlkit, template given", template)):
        ranked, seconds, listed = run_dlkit(paths, with_template, made.truth)
        rows.append((label, measures(ranked, made), seconds, listed))
    for label, with_template in (("Dolos", None), ("Dolos, template ignored", template)):
        ranked, seconds = run_dolos(paths, with_template, folder)
        rows.append((label, measures(ranked, made), seconds, None))
    print(f"\ncorpus: {len(paths)} notebooks ({independents} independent, {len(made.truth)} "
          f"copies), seed {seed}, in {folder / f'seed-{seed}'}")
    print("| | precision at k | ranks of the true pairs (best rank, pairs tied) "
          "| highest non-copy | pairs tied at the top | listed (true) | wall s |")
    print("|---|---|---|---|---|---|---|")
    for label, m, seconds, listed in rows:
        ranks = ", ".join(f"{name}: {r}" + (f" (tie of {n})" if n > 1 else "")
                          for name, (r, n) in sorted(m["ranks"].items(), key=lambda x: x[1]))
        print(f"| {label} | {m['precision_at_k']:.2f} (k={m['k']}) | {ranks} "
              f"| {m['highest_non_copy']:.3f} | {m['ties_at_top']} "
              f"| {'-' if listed is None else listed} | {seconds:.2f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="7,11,23,42",
                        help="corpora to build, one per seed (comma-separated)")
    parser.add_argument("--independents", type=int, default=25)
    parser.add_argument("--out", type=Path, default=None,
                        help="where the corpora and Dolos go (default: a temporary folder; "
                             "give one to keep Dolos installed between runs)")
    args = parser.parse_args()
    folder = args.out or Path(tempfile.mkdtemp(prefix="similarity-peers-"))
    folder.mkdir(parents=True, exist_ok=True)
    ensure_dolos(folder)
    totals: dict[str, list[float]] = {}
    for seed in (int(s) for s in args.seeds.split(",")):
        for label, m, seconds, _ in run_seed(seed, args.independents, folder):
            totals.setdefault(label, []).extend([m["precision_at_k"], seconds])
    print("\n| over all seeds | mean precision at k | mean wall s |\n|---|---|---|")
    for label, values in totals.items():
        precision, seconds = values[0::2], values[1::2]
        print(f"| {label} | {sum(precision) / len(precision):.2f} "
              f"| {sum(seconds) / len(seconds):.2f} |")


if __name__ == "__main__":
    main()
