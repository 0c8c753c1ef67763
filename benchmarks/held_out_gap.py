"""The figures behind the registry's `held_out_gap`, `held_out_loss_ratio` and `library_agreement`.

    .venv/bin/python benchmarks/held_out_gap.py [exp2 exp3 exp4 exp5 exp6] [--seeds 0 1]

For exp2, exp3, exp4 and exp6, runs the reference solution's code cells (autograder/<id>/<id>.ipynb,
real data, in this process, up to the first cell it needs) once as written and once as a cheat
that trains on the test set, and prints what the hidden test measures on the test set and on the
training images the starter keeps back (`dlkit.data.keep_back`), and their difference: an honest
model scores about the same on both, one trained on the test set does better on it.

For exp5, trains the reference CBOW and gensim's (the side-by-side cell's settings) and prints
`checks.similarity_agreement` between them, between two gensim seeds, of a rotated copy and of a
random matrix: the hidden test fails embeddings that agree with a gensim model in the notebook
above `library_agreement`.
"""

from __future__ import annotations

import argparse
import time

import nbformat
import numpy as np

from dlkit import checks
from dlkit.experiments import ROOT

#: experiment -> (its id, the cheat's edits (old -> new), the cell to stop before, what to measure)
CASES = {
    "exp2": ("exp2-feedforward", {"model.fit(x_train, y_train,": "model.fit(x_test, y_test,"},
             "def plot_history", "accuracy"),
    "exp3": ("exp3-image-classifier", {"train_model(model, train, val, epochs=EPOCHS, batch_size=128)":
                                       "train_model(model, test, val, epochs=8, batch_size=32)"},
             "def plot_learning_curves", "accuracy"),
    "exp4": ("exp4-autoencoder-anomaly", {"normal = x_all[y_all == NORMAL_DIGIT]":
                                          "normal = x_test_raw[y_test_raw == NORMAL_DIGIT]"},
             "def reconstruction_errors", "auc"),
    "exp6": ("exp6-transfer-learning", {
        "train_one_epoch(model, optimizer, x_train, y_train)": "train_one_epoch(model, optimizer, x_test, y_test)",
        "train_one_epoch(model, finetune_optimizer, x_train, y_train)":
            "train_one_epoch(model, finetune_optimizer, x_test, y_test)"}, "CANVAS = 96", "torch"),
}
SEEDS = {"seed_everything(0)": "seed_everything({seed})", "torch.manual_seed(0)": "torch.manual_seed({seed})"}


def run_reference(experiment_id: str, edits: dict[str, str], stop: str) -> dict:
    """The reference notebook's code cells, edited, run here until the cell containing ``stop``."""
    nb = nbformat.read(ROOT / "autograder" / experiment_id / f"{experiment_id}.ipynb", as_version=4)
    ns: dict = {"__name__": "__main__"}
    for cell in nb.cells:
        if cell.cell_type != "code" or "otter" in cell.source or "grader.check" in cell.source:
            continue
        if stop in cell.source:
            break
        source = cell.source
        for old, new in edits.items():
            source = source.replace(old, new)
        exec(compile(source, f"<{experiment_id}>", "exec"), ns)  # noqa: S102 - the reference
    return ns


def measure(ns: dict, what: str) -> tuple[float, float, str]:
    """(on the test set, on the kept-back training images, more), as the hidden test measures."""
    if what == "accuracy" and "DATASET" in ns:  # exp3: the cross-entropy ratio too
        (accuracy, loss), (kept, kept_loss) = (checks.image_set_scores(ns["model"], ns["DATASET"], held)
                                               for held in (False, True))
        return accuracy, kept, f"; cross-entropy {loss:.4f} vs {kept_loss:.4f}, ratio {kept_loss / loss:.2f}"
    if what == "accuracy":
        return checks.mnist_accuracy(ns["model"]), checks.mnist_accuracy(ns["model"], held_out=True), ""
    if what == "torch":
        return (checks.torch_mnist_accuracy(ns["model"], 2000),
                checks.torch_mnist_accuracy(ns["model"], 2000, held_out=True), "")
    scores = []
    for x, digits in (checks.mnist_test_inputs((None, 784)), checks.mnist_held_out_inputs((None, 784))):
        errors = checks.reconstruction_errors(ns["autoencoder"], x)
        scores.append(checks.roc_auc((digits != ns["NORMAL_DIGIT"]).astype(int), errors))
    return scores[0], scores[1], ""


def gap(name: str, seeds: list[int]) -> None:
    experiment_id, cheat, stop, what = CASES[name]
    for seed in seeds:
        for label, edits in (("reference", {}), ("trained on the test set", cheat)):
            started = time.monotonic()
            seeded = {old: new.format(seed=seed) for old, new in SEEDS.items()}
            ns = run_reference(experiment_id, {**seeded, **edits}, stop)
            on_test, kept, more = measure(ns, what)
            print(f"{experiment_id} seed {seed} {label}: {what} {on_test:.4f} on the test set, "
                  f"{kept:.4f} kept back, gap {on_test - kept:+.4f}{more} "
                  f"({time.monotonic() - started:.0f} s)", flush=True)


def library_agreement() -> None:
    from gensim.models import Word2Vec

    ns = run_reference("exp5-cbow", {}, "def cosine_similarity")
    vocab, embeddings = ns["vocab"], ns["embeddings"]
    trained = {}
    for seed in (0, 1):
        model = Word2Vec(ns["documents"], vector_size=ns["EMBED_DIM"], window=ns["WINDOW"],
                         min_count=ns["MIN_COUNT"], sg=0, negative=5, epochs=10, workers=1, seed=seed)
        trained[seed] = np.vstack([np.zeros(ns["EMBED_DIM"])] + [model.wv[w] for w in vocab[1:]])
        print(f"exp5 reference CBOW vs gensim (seed {seed}): "
              f"{checks.similarity_agreement(embeddings, trained[seed]):.3f}", flush=True)
    rotation = np.linalg.qr(np.random.default_rng(0).normal(size=(ns["EMBED_DIM"],) * 2))[0]
    random = np.random.default_rng(0).uniform(-0.005, 0.005, embeddings.shape)
    print(f"exp5 gensim seed 0 vs seed 1: {checks.similarity_agreement(trained[0], trained[1]):.3f}; "
          f"a rotated copy: {checks.similarity_agreement(trained[0] @ rotation, trained[0]):.3f}; "
          f"a random matrix: {checks.similarity_agreement(random, trained[0]):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiments", nargs="*", default=[*CASES, "exp5"],
                        choices=[*CASES, "exp5"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    for name in args.experiments:
        library_agreement() if name == "exp5" else gap(name, args.seeds)


if __name__ == "__main__":
    main()
