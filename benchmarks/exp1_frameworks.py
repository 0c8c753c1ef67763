"""Experiment 1 reference on this machine: the four frameworks side by side, per seed.

    .venv/bin/python benchmarks/exp1_frameworks.py [--seeds 0 1] [--plain-sgd] [--grader]

Runs the reference solution notebook (autograder/exp1-frameworks/, real MNIST) in a fresh kernel
once per seed, with every seed in it changed, and prints its comparison table beside the grader's
own accuracy of each model (NumPy forward pass, as the hidden tests measure it) and the notebook's
wall time. ``--plain-sgd`` also runs a typical weak submission (plain SGD, learning rate 0.01, in
all four frameworks) to show what the 0.95 accuracy bar separates. ``--grader`` runs it through
the grader instead (sandbox, CPU-time limit, the warm PyTensor cache of ``dlkit warm``) and also
prints each framework's first and second epoch: with the warm cache PyTensor's first epoch
trains, it does not compile.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from dlkit.experiments import ROOT, get

NOTEBOOK = ROOT / "autograder" / "exp1-frameworks" / "exp1-frameworks.ipynb"
#: The reference's Adam lines and their plain-SGD replacements (the weak variant).
PLAIN_SGD = {
    "tf_optimizer = keras.optimizers.Adam(LEARNING_RATE)": "tf_optimizer = keras.optimizers.SGD(0.01)",
    "optimizer=keras.optimizers.Adam(LEARNING_RATE)": "optimizer=keras.optimizers.SGD(0.01)",
    "torch.optim.Adam(torch_model.parameters(), lr=LEARNING_RATE)":
        "torch.optim.SGD(torch_model.parameters(), lr=0.01)",
    "updates=adam_updates(loss, pt_params, LEARNING_RATE)":
        "updates=[(p, p - np.float32(0.01) * g) for p, g in zip(pt_params, pytensor.grad(loss, pt_params))]",
}
REPORT = """
import json
from dlkit import checks
_grader = {f: checks.mlp_accuracy(checks.dense_layers(m)) for f, m in
           {"TensorFlow": tf_params, "Keras": keras_model, "PyTorch": torch_model, "PyTensor": pt_params}.items()}
print("REPORT" + json.dumps({"table": comparison.to_dict(orient="records"), "grader": _grader,
                             "epochs": {f: list(s) for f, (_, s, _) in runs.items()}}))
"""


def seeded(seed: int) -> dict[str, str]:
    """Source edits that move every seed of the reference notebook to ``seed``."""
    return {"seed_everything(0)": f"seed_everything({seed})", "torch.manual_seed(0)": f"torch.manual_seed({seed})",
            "build_tf_params(SIZES)": f"build_tf_params(SIZES, seed={100 * seed})",
            "build_pt_params(SIZES)": f"build_pt_params(SIZES, seed={seed})",
            "default_rng(epoch)": f"default_rng(epoch + {1000 * seed})"}


def run(edits: dict[str, str], grader: bool = False) -> tuple[dict, float]:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        for old, new in edits.items():
            cell.source = cell.source.replace(old, new)
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    if grader:
        return through_grader(nb)
    with tempfile.TemporaryDirectory(prefix="dlkit-bench-exp1-") as work:  # otter's init cell writes a log
        shutil.copytree(NOTEBOOK.parent, work, dirs_exist_ok=True)
        started = time.perf_counter()
        NotebookClient(nb, timeout=1200, kernel_name="python3",
                       resources={"metadata": {"path": str(Path(work))}}).execute()
        seconds = time.perf_counter() - started
    return _report(nb), seconds


def through_grader(nb) -> tuple[dict, float]:
    """Grade the notebook as ``dlkit grade`` would (one worker per core) and read its report
    from the executed notebook."""
    from dlkit.grading.plans import plan_for, starter_for
    from dlkit.grading.run import grade_submission
    from dlkit.sandbox import Limits, default_sandbox

    experiment = get("exp1-frameworks")
    with tempfile.TemporaryDirectory(prefix="dlkit-bench-exp1-") as folder:
        submission = Path(folder) / NOTEBOOK.name
        nbformat.write(nb, submission)
        work = Path(folder) / "work"
        outcome = grade_submission(submission, work, plan_for(experiment),
                                   default_sandbox([Path(folder), experiment.root]),
                                   Limits(seconds=experiment.time_limit), slots=os.cpu_count() or 1,
                                   starter=starter_for(experiment), name=NOTEBOOK.name)
        executed = nbformat.read(work / "executed.ipynb", as_version=4)
    print(f"grader: {outcome.status} {outcome.score:g}/{sum(r['max_points'] for r in outcome.results):g}"
          f", {outcome.cpu_seconds:.0f} s of CPU time in {outcome.seconds:.0f} s {outcome.reason}")
    return _report(executed), outcome.seconds


def _report(nb) -> dict:
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    return json.loads(text.split("REPORT", 1)[1])


def show(label: str, report: dict, seconds: float) -> None:
    print(f"\n{label}: notebook {seconds:.0f} s")
    print(f"{'framework':<11} {'lines':>5} {'params':>7} {'s/epoch':>8} {'table acc':>9} {'grader acc':>10}"
          f" {'epoch 1':>8} {'epoch 2':>8} {'1st/2nd':>7}")
    for row in report["table"]:
        grader = report["grader"][row["framework"]]
        first, second = (report.get("epochs", {}).get(row["framework"]) or [0, 0])[:2]
        print(f"{row['framework']:<11} {row['lines_of_code']:>5} {row['parameters']:>7} "
              f"{row['seconds_per_epoch']:>8.2f} {row['test_accuracy']:>9.4f} {grader:>10.4f}"
              f" {first:>8.2f} {second:>8.2f} {first / second if second else 0:>7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--plain-sgd", action="store_true")
    parser.add_argument("--grader", action="store_true",
                        help="Run through the grader (sandbox, CPU-time limit, warm PyTensor cache).")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for seed in args.seeds:
        show(f"reference, seed {seed}", *run(seeded(seed), args.grader))
    if args.plain_sgd:
        show("plain SGD (lr 0.01), seed 0", *run(PLAIN_SGD, args.grader))


if __name__ == "__main__":
    main()
