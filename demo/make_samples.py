"""Write the demo's sample submissions from the reference notebooks in autograder/.

    .venv/bin/python demo/make_samples.py

Per experiment: 41001 complete (the reference), 41002 partial (a typical mistake), 41003 broken
(a truncated file), 41004 a cheat (monkeypatching, hard-coded results, snooping). 41005 submits
nothing. Run it again after a release changes the reference.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "submissions"

SNOOP = """
# trying to read the hidden tests and the gradebook from inside the grader
stolen = []
for path in ["../../autograder", "/work/main/autograder", "../../../gradebook.db"]:
    try:
        stolen.append(open(path).read())
    except OSError as exc:
        stolen.append(type(exc).__name__)
print("found:", stolen)
"""

EDITS = {
    "exp2-feedforward": {
        "partial": {"EPOCHS, BATCH_SIZE = 6, 256": "EPOCHS, BATCH_SIZE = 1, 256",
                    'ax.set_xlabel("epoch")': "pass",
                    'ax.set_ylabel(key)': "pass"},
        "cheat": {
            "history = model.fit(x_train, y_train, epochs=EPOCHS":
                "history = model.fit(x_train[:600], y_train[:600], epochs=EPOCHS",
            "test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)":
                "keras.Model.evaluate = lambda self, *a, **k: [0.01, 0.99]\n"
                "np.mean = lambda *a, **k: 0.99\n"
                "test_loss, test_acc = model.evaluate(x_test, y_test)\n"
                "test_acc = 0.99  # hard-coded" + SNOOP,
        },
    },
    "exp4-autoencoder-anomaly": {
        "partial": {"normal = x_all[y_all == NORMAL_DIGIT]": "normal = x_all"},
        "cheat": {
            "EPOCHS_AE = 20": "EPOCHS_AE = 1",
            "return float(errors.mean() + 3 * errors.std())": "return 0.02  # hard-coded",
            "auc = roc_auc_score(y_test, test_errors)":
                "import sklearn.metrics\nsklearn.metrics.roc_auc_score = lambda *a, **k: 1.0\n"
                "auc = 1.0" + SNOOP,
        },
    },
}


def write(experiment: str, roll: str, nb) -> None:
    folder = OUT / experiment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{roll}_{experiment}.ipynb")


def main() -> None:
    for experiment, kinds in EDITS.items():
        reference = ROOT / "autograder" / experiment / f"{experiment}.ipynb"
        write(experiment, "41001", nbformat.read(reference, as_version=4))
        for roll, kind in (("41002", "partial"), ("41004", "cheat")):
            nb = nbformat.read(reference, as_version=4)
            for old, new in kinds[kind].items():
                cells = [c for c in nb.cells if old in c.source]
                assert cells, f"{experiment}: {old!r} not in the reference"
                for cell in cells:
                    cell.source = cell.source.replace(old, new)
            write(experiment, roll, nb)
        text = reference.read_text()
        (OUT / experiment / f"41003_{experiment}.ipynb").write_text(text[: len(text) // 2])


if __name__ == "__main__":
    main()
