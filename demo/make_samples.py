"""Write the demo's sample submissions from the reference notebooks in autograder/.

    .venv/bin/python demo/make_samples.py

Per experiment: 41001 complete (the reference), 41002 partial (a typical mistake), 41003 broken
(a truncated file), 41004 a cheat (monkeypatching, hard-coded results, snooping). 41005 submits
nothing. 41006 wrote Experiment 2 free-form, as students publish them (``free-form/``): Colab's
``drive.mount``, the usual ``keras.datasets.mnist.load_data()``, seaborn, no seed, and a Keras 2
habit that raises in a late cell. Run it again after a release changes the reference.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "submissions"

SNOOP = """
# trying to read the hidden tests and the gradebook from inside the grader: the course folder
# (three levels above the work folder graded/<experiment>/<id>) and the kit's checkout (the
# folder around the dlkit package), wherever they are installed
import os
import dlkit
course = os.path.join("..", "..", "..")
kit = os.path.dirname(os.path.dirname(os.path.abspath(dlkit.__file__)))
stolen = []
for path in [os.path.join(course, "gradebook.db"), os.path.join(course, "submissions"),
             os.path.join(kit, "autograder"), os.path.join(kit, "solutions")]:
    try:
        stolen.append(os.listdir(path) if os.path.isdir(path) else open(path, "rb").read(100))
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


#: 41006's Experiment 2, written without the starter notebook (cells as a student writes them)
FREE_FORM = [
    ("markdown", "# LP-IV Assignment 2: Feed-forward neural network on MNIST\n"
                 "Sneha Pawar, roll 41006, batch B1"),
    ("code", "from google.colab import drive\ndrive.mount('/content/drive')"),
    ("code", "import numpy as np\nimport matplotlib.pyplot as plt\nimport seaborn as sns\n"
             "import tensorflow as tf\nfrom tensorflow import keras"),
    ("markdown", "## Load and normalise the data"),
    ("code", "(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()\n"
             "x_train = x_train.reshape(60000, 784).astype('float32') / 255\n"
             "x_test = x_test.reshape(10000, 784).astype('float32') / 255\n"
             "print(x_train.shape, x_test.shape)"),
    ("code", "sns.countplot(x=y_train)\nplt.title('digits in the training set')\nplt.show()"),
    ("markdown", "## The network"),
    ("code", "model = keras.Sequential([\n"
             "    keras.Input(shape=(784,)),\n"
             "    keras.layers.Dense(128, activation='relu'),\n"
             "    keras.layers.Dense(64, activation='relu'),\n"
             "    keras.layers.Dense(10, activation='softmax'),\n"
             "])\nmodel.summary()"),
    ("code", "model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),\n"
             "              loss='sparse_categorical_crossentropy', metrics=['accuracy'])"),
    ("code", "history = model.fit(x_train, y_train, epochs=3, batch_size=128, validation_split=0.1)"),
    ("code", "test_loss, test_acc = model.evaluate(x_test, y_test)\nprint('test accuracy:', test_acc)"),
    ("markdown", "## Learning curves"),
    # Keras 2's key: Keras 3 says "accuracy", so this raises KeyError: 'acc'
    ("code", "plt.plot(history.history['acc'], label='train')\n"
             "plt.plot(history.history['val_acc'], label='validation')\n"
             "plt.xlabel('epoch')\nplt.legend()\nplt.show()"),
    ("code", "def plot_history(history):\n"
             "    fig, axes = plt.subplots(1, 2, figsize=(10, 4))\n"
             "    for ax, key in zip(axes, ['loss', 'accuracy']):\n"
             "        ax.plot(history.history[key], label='train')\n"
             "        ax.plot(history.history['val_' + key], label='validation')\n"
             "        ax.set_xlabel('epoch'); ax.set_ylabel(key); ax.legend()\n"
             "    return fig\n\nfig = plot_history(history)"),
]


def free_form() -> None:
    """41006's own notebook for Experiment 2, in ``free-form/`` (collected by its own demo step)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(src) if kind == "markdown" else
                nbformat.v4.new_code_cell(src) for kind, src in FREE_FORM]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder = OUT / "free-form" / "exp2-feedforward"
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "41006_LP-IV_Assignment_2.ipynb")


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
    free_form()


if __name__ == "__main__":
    main()
