"""The similarity report over a generated batch of Experiment 2, built on the real released
starter: three students copy one notebook (names changed, cells reordered, comments added), one
copies the lab manual's code, four write their own in different styles, and hostile notebooks
(a huge cell, shell and magic cells, an unanswered starter, a damaged file) come along."""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from dlkit.cli import main
from dlkit.experiments import ROOT
from dlkit.gradebook import Gradebook
from dlkit.reports.similarity import code_lines, line_range, write_similarity_report
from dlkit.similarity import (
    CLEANING_STEPS,
    Match,
    SimilarityError,
    clean_cell,
    clusters,
    code_cells,
    drop_cell_magic,
    drop_given_lines,
    drop_otter_lines,
    drop_shell_and_magic_lines,
    normalise_literals,
    own_code,
    similarity_report,
    similarity_report_path,
)

EXP = "exp2-feedforward"
STARTER = ROOT / "release" / EXP / f"{EXP}.ipynb"
MANUAL = Path(__file__).parent / "fixtures" / "similarity"

# --------------------------------------------------------------------------- the batch

ORIGINAL = {  # 41001 wrote it; 41002-41004 copied it
    "q1": """
        x_train = x_train.reshape(-1, 784).astype("float32") / 255.0
        x_test = x_test.reshape(-1, 784).astype("float32") / 255.0
        """,
    "q2": """
        model = keras.Sequential([
            keras.layers.Input(shape=(784,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ])
        """,
    "q3": """
        sgd = keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True)
        model.compile(optimizer=sgd, loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        """,
    "q4": """
        early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2,
                                              restore_best_weights=True)
        history = model.fit(x_train, y_train, epochs=10, batch_size=64,
                            validation_split=0.1, callbacks=[early], verbose=2)
        """,
    "q5": "model.evaluate(x_test, y_test, verbose=0)",
    "q6": """
        fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
        epochs = range(1, len(history.history["loss"]) + 1)
        ax_loss.plot(epochs, history.history["loss"], "o-", label="train")
        ax_loss.plot(epochs, history.history["val_loss"], "s--", label="validation")
        ax_loss.set_xlabel("epoch")
        ax_loss.set_ylabel("loss")
        ax_loss.legend()
        ax_acc.plot(epochs, history.history["accuracy"], "o-", label="train")
        ax_acc.plot(epochs, history.history["val_accuracy"], "s--", label="validation")
        ax_acc.set_xlabel("epoch")
        ax_acc.set_ylabel("accuracy")
        ax_acc.legend()
        fig.tight_layout()
        return fig
        """,
}

MANUAL_COPY = {  # 41005 took the lab manual's code and renamed a little
    "q1": """
        # Normalize and reshape
        x_train = x_train.reshape(-1, 28*28).astype('float32') / 255.0
        x_test = x_test.reshape(-1, 28*28).astype('float32') / 255.0
        """,
    "q2": """
        from keras import layers, models, optimizers
        model = models.Sequential([
            layers.Input(shape=(x_train.shape[1],)),
            layers.Dense(512, activation='relu'),
            layers.Dense(128, activation='relu'),
            layers.Dense(10, activation='softmax')
        ])
        """,
    "q3": """
        model.compile(
            optimizer=optimizers.SGD(learning_rate=0.1),
            loss='sparse_categorical_crossentropy',
            metrics=['accuracy']
        )
        """,
    "q4": """
        history = model.fit(
            x_train, y_train,
            validation_split=0.1,
            epochs=15,
            batch_size=128
        )
        """,
    "q5": "model.evaluate(x_test, y_test, verbose=2)",
    "q6": """
        plt.figure(figsize=(12, 5))
        plt.subplot(1, 2, 1)
        plt.plot(history.history['loss'], label='Train Loss')
        plt.plot(history.history['val_loss'], label='Val Loss')
        plt.title('Loss vs. Epoch')
        plt.xlabel('Epoch')
        plt.ylabel('Loss')
        plt.legend()
        plt.subplot(1, 2, 2)
        plt.plot(history.history['accuracy'], label='Train Acc')
        plt.plot(history.history['val_accuracy'], label='Val Acc')
        plt.title('Accuracy vs. Epoch')
        plt.xlabel('Epoch')
        plt.ylabel('Accuracy')
        plt.legend()
        plt.tight_layout()
        return plt.gcf()
        """,
}

INDEPENDENT = {
    "41006": {  # functional API, a loop over the two panels
        "q1": """
            def prepare(images):
                flat = images.reshape(len(images), 28 * 28)
                return flat.astype(np.float32) / np.float32(255)

            x_train, x_test = prepare(x_train), prepare(x_test)
            """,
        "q2": """
            inputs = keras.Input(shape=(784,), name="pixels")
            hidden = keras.layers.Dense(300, activation="relu", name="hidden_1")(inputs)
            hidden = keras.layers.Dense(100, activation="relu", name="hidden_2")(hidden)
            outputs = keras.layers.Dense(10, activation="softmax", name="digits")(hidden)
            model = keras.Model(inputs=inputs, outputs=outputs, name="mlp")
            """,
        "q3": """
            model.compile(
                optimizer=keras.optimizers.SGD(learning_rate=0.1),
                loss=keras.losses.SparseCategoricalCrossentropy(),
                metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            )
            """,
        "q4": """
            EPOCHS = 8
            history = model.fit(x=x_train, y=y_train, epochs=EPOCHS, batch_size=32,
                                validation_split=0.2, shuffle=True)
            """,
        "q5": "model.evaluate(x_test, y_test, batch_size=512)",
        "q6": """
            fig, axes = plt.subplots(ncols=2, figsize=(10, 4), sharex=True)
            for ax, metric in zip(axes, ("loss", "accuracy")):
                for prefix, style in (("", "-"), ("val_", "--")):
                    key = prefix + metric
                    ax.plot(history.history[key], style, label=key)
                ax.set(xlabel="epoch", ylabel=metric, title=metric.title())
                ax.legend(loc="best")
            return fig
            """,
    },
    "41007": {  # Sequential built with add() in a loop; a dictionary of curves
        "q1": """
            scale = 1.0 / 255
            x_train = (x_train * scale).reshape((-1, 784)).astype("float32")
            x_test = (x_test * scale).reshape((-1, 784)).astype("float32")
            assert x_train.max() <= 1.0
            """,
        "q2": """
            model = keras.Sequential(name="feedforward")
            model.add(keras.Input(shape=(784,)))
            for units in (512, 256, 64):
                model.add(keras.layers.Dense(units))
                model.add(keras.layers.Activation("relu"))
            model.add(keras.layers.Dense(10))
            model.add(keras.layers.Softmax())
            """,
        "q3": """
            schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1000,
                                                                   decay_rate=0.9)
            optimizer = keras.optimizers.SGD(schedule, momentum=0.8)
            model.compile(optimizer, "sparse_categorical_crossentropy", ["accuracy"])
            """,
        "q4": "history = model.fit(x_train, y_train, batch_size=128, epochs=6, "
              "validation_split=0.15, verbose=1)",
        "q5": "model.evaluate(x_test, y_test)",
        "q6": """
            curves = history.history
            fig = plt.figure(figsize=(12, 4))
            left = fig.add_subplot(121)
            right = fig.add_subplot(122)
            left.plot(curves["loss"], color="tab:blue", label="training loss")
            left.plot(curves["val_loss"], color="tab:orange", label="validation loss")
            right.plot(curves["accuracy"], color="tab:blue", label="training accuracy")
            right.plot(curves["val_accuracy"], color="tab:orange", label="validation accuracy")
            for panel, name in ((left, "loss"), (right, "accuracy")):
                panel.set_xlabel("epoch number")
                panel.set_ylabel(name)
                panel.grid(alpha=0.3)
                panel.legend()
            return fig
            """,
    },
    "41008": {  # a builder function with keyword arguments, training in a helper
        "q1": """
            x_train = np.reshape(x_train, (x_train.shape[0], -1)) / 255.0
            x_test = np.reshape(x_test, (x_test.shape[0], -1)) / 255.0
            x_train = x_train.astype(np.float32)
            x_test = x_test.astype(np.float32)
            """,
        "q2": """
            def build_mlp(sizes=(400, 200), rate=0.1):
                stack = [keras.layers.Input((784,))]
                for size in sizes:
                    stack += [keras.layers.Dense(size, activation="relu"),
                              keras.layers.Dropout(rate)]
                stack.append(keras.layers.Dense(10, activation="softmax"))
                return keras.Sequential(stack)

            model = build_mlp()
            """,
        "q3": """
            model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                          optimizer=keras.optimizers.SGD(learning_rate=0.08, momentum=0.95))
            """,
        "q4": """
            def train(net, epochs):
                stop = keras.callbacks.EarlyStopping(patience=3)
                return net.fit(x_train, y_train, validation_split=0.1, epochs=epochs,
                               batch_size=100, callbacks=[stop], verbose=0)

            history = train(model, 12)
            """,
        "q5": "model.evaluate(x_test, y_test, verbose=1)",
        "q6": """
            h = history.history
            n = len(h["loss"])
            fig, (a, b) = plt.subplots(2, 1, figsize=(6, 8))
            a.plot(range(n), h["loss"], label="fit")
            a.plot(range(n), h["val_loss"], label="held out")
            a.set_ylabel("cross-entropy")
            b.plot(range(n), h["accuracy"], label="fit")
            b.plot(range(n), h["val_accuracy"], label="held out")
            b.set_ylabel("accuracy")
            for axis in (a, b):
                axis.set_xlabel("epoch")
                axis.legend()
            return fig
            """,
    },
    "41009": {  # one-hot labels would break q1, so integer labels; a while-loop of epochs
        "q1": """
            pixels = 28 * 28
            x_train = x_train.reshape(x_train.shape[0], pixels).astype("float32")
            x_test = x_test.reshape(x_test.shape[0], pixels).astype("float32")
            x_train /= 255
            x_test /= 255
            """,
        "q2": """
            relu = dict(activation="relu", kernel_initializer="he_normal")
            model = keras.Sequential(
                [keras.layers.Dense(n, **relu) for n in [1024, 128]]
                + [keras.layers.Dense(10, activation="softmax")]
            )
            model.build(input_shape=(None, 784))
            """,
        "q3": """
            opt = keras.optimizers.SGD(0.03)
            model.compile(optimizer=opt, loss=keras.losses.sparse_categorical_crossentropy,
                          metrics=["accuracy"])
            """,
        "q4": """
            history = model.fit(x_train[:54000], y_train[:54000], epochs=5,
                                validation_data=(x_train[54000:], y_train[54000:]),
                                validation_split=0.0)
            """,
        "q5": "model.evaluate(x=x_test, y=y_test, return_dict=False, verbose=0)",
        "q6": """
            import pandas as pd
            frame = pd.DataFrame(history.history)
            fig, axs = plt.subplots(1, 2)
            frame[["loss", "val_loss"]].plot(ax=axs[0], xlabel="epoch", ylabel="loss")
            frame[["accuracy", "val_accuracy"]].plot(ax=axs[1], xlabel="epoch",
                                                     ylabel="accuracy")
            return fig
            """,
    },
}

SHELL_USER = {  # 41011 answered two questions, between shell and magic cells
    "q1": "x_train, x_test = [a.reshape(a.shape[0], -1).astype('float32') / 255 "
          "for a in (x_train, x_test)]",
    "q2": """
        layer_sizes = [784, 200, 10]
        model = keras.Sequential()
        for width in layer_sizes[1:-1]:
            model.add(keras.layers.Dense(width, input_dim=784,
                                         activation=keras.activations.relu))
        model.add(keras.layers.Dense(layer_sizes[-1], activation=keras.activations.softmax))
        """,
    **{q: "..." for q in ("q3", "q4", "q5", "q6")},
}

ROSTER = {"41001": "Aarav Kulkarni", "41002": "Priya Deshmukh", "41003": "Rohan Joshi",
          "41004": "Sneha Patil", "41005": "Vikram Shinde", "41006": "Anjali Jadhav",
          "41007": "Kunal Pawar", "41008": "Pooja Gokhale", "41009": "Tejas <Gokhale> & Co",
          "41010": "Huge Cell", "41011": "Shell Magic", "41012": "Empty Answer",
          "41013": "Broken File"}
COPIES = {"41001", "41002", "41003", "41004"}


def starter() -> dict:
    return json.loads(STARTER.read_text(encoding="utf-8"))


def answer_indexes(notebook: dict) -> list[int]:
    return [i for i, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code"
            and "otter_answer_cell" in cell.get("metadata", {}).get("tags", [])]


def fill(answers: dict[str, str]) -> dict:
    """The released starter with the ``...`` of answer cell q1..q6 replaced by the answers."""
    notebook = starter()
    for question, index in zip(sorted(answers), answer_indexes(notebook), strict=True):
        cell = notebook["cells"][index]
        source = "".join(cell["source"])
        answer = textwrap.dedent(answers[question]).strip("\n")
        line = re.search(r"^([ \t]*)\.\.\.$", source, re.MULTILINE)
        if line:
            body = textwrap.indent(answer, line.group(1))
            source = source[:line.start()] + body + source[line.end():]
        else:
            source = source.replace("...", answer, 1)
        cell["source"] = source
    return notebook


def renamed(answers: dict[str, str], names: dict[str, str]) -> dict[str, str]:
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    return {q: pattern.sub(lambda m: names[m.group(1)], code) for q, code in answers.items()}


def commented(answers: dict[str, str]) -> dict[str, str]:
    """A comment above and beside every line, and blank lines between them."""
    out = dict(answers)  # q5 is inline: `test_loss, test_acc = ...`
    for question, code in answers.items():
        if question == "q5":
            continue
        lines = textwrap.dedent(code).strip("\n").splitlines()
        out[question] = "\n".join(
            f"{line}  # step {n}\n" if line.strip().endswith((",", "(", "[")) else
            f"# what this does: step {n}\n{line}  # done\n" for n, line in enumerate(lines))
    return out


def reordered(notebook: dict) -> dict:
    """The answer cells moved around: the plot first, the model last."""
    notebook = copy.deepcopy(notebook)
    cells = notebook["cells"]
    answers = [cells[i] for i in answer_indexes(notebook)]
    rest = [c for c in cells if c not in answers]
    notebook["cells"] = [answers[5], *rest[:3], answers[4], answers[0], *rest[3:],
                         answers[2], answers[3], answers[1]]
    return notebook


def batch_files() -> dict[str, bytes]:
    """File name -> bytes of every submission of the generated batch."""
    copy_a = renamed(ORIGINAL, {"sgd": "optimiser", "early": "stopper", "ax_loss": "left",
                                "ax_acc": "right", "epochs": "xs", "fig": "figure"})
    copy_b = renamed(commented(ORIGINAL), {"sgd": "opt", "early": "cb", "fig": "f"})
    copy_c = {**ORIGINAL, "q2": ORIGINAL["q2"].replace("256", "300").replace("0.2", "0.25"),
              "q4": ORIGINAL["q4"].replace("epochs=10", "epochs=12")}
    notebooks = {"41001": fill(ORIGINAL), "41002": fill(copy_a),
                 "41003": reordered(fill(copy_b)), "41004": reordered(fill(copy_c)),
                 "41005": fill(MANUAL_COPY),
                 **{roll: fill(answers) for roll, answers in INDEPENDENT.items()}}

    # 41010: a 360 kB generated cell, then only q1, answered with the batch's commonest lines
    huge = fill({"q1": ORIGINAL["q1"], **{q: "..." for q in ("q2", "q3", "q4", "q5", "q6")}})
    huge["cells"].insert(2, {"cell_type": "code", "metadata": {}, "outputs": [],
                             "execution_count": None, "source": "".join(
                                 f"w{i} = [{i}, {i * 7 % 13}, {i * 3 % 11}] * {i % 5}\n"
                                 for i in range(12_000))})

    shell = fill(SHELL_USER)  # 41011: shell lines, cell magics, raw and R cells
    extra = ["%%bash\npip install tensorflow\nnvidia-smi\n", "%%R\nlibrary(keras)\nx <- 1:10\n",
             "!pip install -q keras\n%matplotlib inline\nfiles = !ls\n",
             "%%time\n_ = model.predict(x_test[:10])\n", "%%html\n<b>done</b>\n"]
    shell["cells"][3:3] = [{"cell_type": "code", "metadata": {}, "outputs": [],
                            "execution_count": None, "source": s} for s in extra]
    shell["cells"].append({"cell_type": "raw", "metadata": {}, "source": "def raw(): pass"})

    files = {f"{roll}.ipynb": json.dumps(nb).encode() for roll, nb in notebooks.items()}
    files["41010.ipynb"] = json.dumps(huge).encode()
    files["41011.ipynb"] = json.dumps(shell).encode()
    files["41012.ipynb"] = STARTER.read_bytes()  # nothing answered
    files["41013.ipynb"] = json.dumps(fill(SHELL_USER)).encode()  # damaged once collected
    return files


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    return make_batch(tmp_path_factory.mktemp("similarity"))


def make_batch(root: Path) -> Path:
    """A course folder made by ``dlkit collect`` from the generated batch, with a roster;
    41013's stored file is then damaged on disk (a collected file that no longer reads)."""
    inbox, course = root / "inbox", root / "course"
    inbox.mkdir()
    for name, data in batch_files().items():
        (inbox / name).write_bytes(data)
    roster = root / "roster.csv"
    roster.write_text("roll,name,batch,email\n" + "".join(
        f'{roll},"{name}",B1,{roll}@example.org\n' for roll, name in ROSTER.items()),
        encoding="utf-8")
    result = CliRunner().invoke(main, ["collect", EXP, str(inbox), "--roster", str(roster),
                                       "--course", str(course)])
    assert result.exit_code == 0, result.output
    gradebook = Gradebook.open(course)
    damaged = next(s for s in gradebook.latest_submissions(EXP) if s.student_roll == "41013")
    (course / damaged.path).write_text('{"cells": [', encoding="utf-8")
    return course


@pytest.fixture(scope="module")
def report(batch):
    return similarity_report(EXP, course=batch, gradebook=Gradebook.open(batch),
                             against=MANUAL)


# --------------------------------------------------------------------------- the batch's report

def test_the_copies_form_one_cluster(report):
    assert [c.members for c in report.clusters] == [tuple(sorted(COPIES))]
    flagged = {frozenset((p.a, p.b)) for p in report.flagged}
    assert flagged == {frozenset((a, b)) for a in COPIES for b in COPIES if a < b}
    for pair in report.flagged:
        assert pair.share_a >= 0.8 and pair.share_b >= 0.8, pair
        assert pair.fragments and pair.longest == pair.fragments[0].length >= 100
        assert pair.reasons and "spreads above the median pair" in pair.reasons[0]


def test_repeated_lines_are_matched_each_time(report):
    """Lines alike once normalised (two ``ax.plot(...)``) are all matched, not the last alone."""
    pair = next(p for p in report.pairs if {p.a, p.b} == {"41001", "41002"})
    code = next(n.code for n in report.students if n.key == pair.a)
    for line in ('ax_loss.plot(epochs, history.history["loss"], "o-", label="train")',
                 'ax_loss.plot(epochs, history.history["val_loss"], "s--", label="validation")',
                 'ax_acc.plot(epochs, history.history["accuracy"], "o-", label="train")'):
        start = code.index(line)
        assert any(f.a[0] <= start and start + len(line) <= f.a[1] for f in pair.fragments), line


def test_no_pair_of_independent_solutions_is_flagged(report):
    independent = set(INDEPENDENT) | {"41005", "41011"}
    for pair in report.pairs:
        if not {pair.a, pair.b} <= COPIES:
            assert not pair.listed and not pair.reasons, pair
    assert max(p.similarity for p in report.pairs if {p.a, p.b} <= independent) < 0.3
    copies = [p for p in report.pairs if {p.a, p.b} <= COPIES]
    assert report.pairs[:len(copies)] == copies  # ranked first


def test_the_manual_copy_is_named(report):
    source = report.source_of("41005")
    assert source is not None and source.b == "lab-manual-exp2.md"
    assert source.share_a >= 0.8
    assert {m.a for m in report.sources} == {"41005"}


def test_starter_code_does_not_count(report):
    empty = next(n for n in report.empty if n.key == "41012")
    assert empty.tokens == 0 and "load_mnist" not in empty.code
    for notebook in report.students:
        assert "grader.check" not in notebook.code and "import otter" not in notebook.code
        assert "seed_everything(0)" not in notebook.code
        assert "(x_train, y_train), (x_test, y_test) = keep_back(load_mnist())" not in notebook.code


def test_starter_code_retyped_does_not_count(batch, report):
    """Two students paste the whole starter again with other names (so no line is given
    verbatim): copydetect's boilerplate (the starter's fingerprint) still leaves it out."""
    retyped = re.sub(r"\b(x|y)_(train|test)\b", r"\2_\1", "\n".join(code_cells(STARTER)))
    folder = batch.parent / "retyped"
    folder.mkdir()
    for roll in ("41006", "41009"):
        notebook = fill(INDEPENDENT[roll])
        notebook["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [],
                                  "execution_count": None, "source": retyped})
        (folder / f"{roll}.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    course = batch.parent / "retyped-course"
    assert CliRunner().invoke(main, ["collect", EXP, str(folder), "--course",
                                     str(course)]).exit_code == 0
    result = similarity_report(EXP, course=course, gradebook=Gradebook.open(course))
    assert "(train_x, train_y), (test_x, test_y) = keep_back(load_mnist())" in result.students[0].code
    [pair] = result.pairs  # what is left is where two retyped lines meet (k-grams over a seam)
    assert pair.share_a < 0.15 and pair.share_b < 0.15 and not pair.listed


def test_hostile_notebooks_do_not_break_it(report):
    keys = {n.key for n in report.students}
    assert {"41010", "41011"} <= keys
    huge = next(n for n in report.students if n.key == "41010")
    assert len(huge.code) < 21_000 and "# [cut: " in huge.code
    assert 'x_test = x_test.reshape(-1, 784).astype("float32") / 255.0' in huge.code
    # its q1 is 41001's, but two common lines are no evidence (too few tokens to list)
    q1_only = next(p for p in report.pairs if {p.a, p.b} == {"41001", "41010"})
    assert q1_only.tokens < 80 and not q1_only.listed
    shell = next(n for n in report.students if n.key == "41011").code
    assert "pip install" not in shell and "library(keras)" not in shell
    assert "%" not in shell and "<b>" not in shell and "def raw" not in shell
    assert "_ = model.predict(x_test[:10])" in shell  # %%time's body is Python
    [broken] = report.skipped
    assert broken.key == "41013" and broken.reason.startswith("not valid JSON (line 1")
    assert "41013" not in keys and "41012" not in keys


def test_written_report(report, batch):
    paths = write_similarity_report(report, batch)
    folder = batch / "reports" / "similarity" / EXP
    assert paths == [folder / "index.html", folder / "heatmap.png", folder / "pairs.csv",
                     folder / "report.json"]
    assert similarity_report_path(batch, EXP) == folder / "index.html"
    html = paths[0].read_text(encoding="utf-8")
    assert "Tejas &lt;Gokhale&gt; &amp; Co" in html and "<Gokhale>" not in html  # autoescaped
    assert html.count('<section class="pair"') == 6 + 1  # the 6 pairs of 4 copies + manual
    assert "41005 (Vikram Shinde)" not in html  # 41005 is in no cluster
    assert "lab-manual-exp2.md" in html and "not a penalty" in html
    assert '<mark class="f1" id="pair-1-a-f1"><sup>1</sup>' in html
    assert '<a href="#pair-1-a-f1">lines ' in html and '<img src="heatmap.png"' in html
    assert 'tabindex="0" role="region" aria-label="code of 41001, Pair 1: 41001 and 41002"' \
        in html
    assert "spreads above the median pair" in html  # why each pair is listed
    assert "not valid JSON" in html and "no code of its own" in html
    assert paths[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = list(csv.DictReader(io.StringIO(paths[2].read_text(encoding="utf-8"))))
    n = len(report.students)
    assert len(rows) == n * (n - 1) // 2 + 1
    assert sum(r["listed"] == "yes" for r in rows) == 7
    assert rows[0]["kind"] == "students" and rows[0]["listed"] == "yes" and rows[0]["why"]
    assert float(rows[0]["similarity"]) >= float(rows[1]["similarity"])
    assert int(rows[0]["longest_fragment"]) > 0 and int(rows[0]["fragments"]) >= 1
    assert write_similarity_report(report, batch) and paths[0].read_text(encoding="utf-8") == html


def test_scores_do_not_depend_on_the_process(batch, report):
    """Winnowing with window 1 keeps every k-gram: the same batch gives the same scores."""
    import subprocess
    import sys

    code = ("from pathlib import Path; from dlkit.gradebook import Gradebook; "
            "from dlkit.similarity import similarity_report as r; "
            f"c = Path({str(batch)!r}); m = Path({str(MANUAL)!r}); "
            f"print([(p.a, p.b, p.similarity, p.longest) for p in r({EXP!r}, course=c, "
            "gradebook=Gradebook.open(c), against=m).pairs if p.similarity > 0])")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": "12345", "PATH": ""}).stdout
    expected = [(p.a, p.b, p.similarity, p.longest) for p in report.pairs if p.similarity > 0]
    assert len(expected) > 6 and other == f"{expected}\n"


# --------------------------------------------------------------------------- the command

def test_cli_writes_the_report(batch):
    result = CliRunner().invoke(main, ["similarity", EXP, "--course", str(batch),
                                       "--against", str(MANUAL)])
    assert result.exit_code == 0, result.output
    assert "11 notebook(s) compared, 6 pair(s) listed of 55, 1 cluster(s)" in result.output
    assert "listed  41001 41002  similarity 1.00" in result.output
    assert "not compared  41013: not valid JSON" in result.output
    assert "1 student(s) matching 1 source(s)" in result.output
    assert similarity_report_path(batch, EXP).exists()


def test_nothing_to_compare_still_writes_a_report(tmp_path):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "41012.ipynb").write_bytes(STARTER.read_bytes())
    course = tmp_path / "course"
    runner = CliRunner()
    assert runner.invoke(main, ["collect", EXP, str(tmp_path / "inbox"), "--course",
                                str(course)]).exit_code == 0
    result = runner.invoke(main, ["similarity", EXP, "--course", str(course)])
    assert result.exit_code == 0, result.output
    assert "0 notebook(s) compared, 0 pair(s) listed" in result.output
    assert "no own code   41012" in result.output
    html = similarity_report_path(course, EXP).read_text(encoding="utf-8")
    assert "No pair of notebooks stands out from the class" in html


def test_cli_threshold_and_errors(batch, tmp_path):
    runner = CliRunner()
    low = runner.invoke(main, ["similarity", EXP, "--course", str(batch), "--threshold", "0.05",
                               "--outlier", "1000"])
    assert low.exit_code == 0 and "reaches the bar of 5% asked for (--threshold)" in low.output
    assert "spreads above" not in low.output
    missing = runner.invoke(main, ["similarity", EXP, "--course", str(batch), "--template",
                                   str(tmp_path / "none.py")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    empty = runner.invoke(main, ["similarity", EXP, "--course", str(tmp_path / "none")])
    assert empty.exit_code == 1 and "Error: no submissions of exp2-feedforward collected" \
        in empty.output and "dlkit collect" in empty.output and "Traceback" not in empty.output
    unknown = runner.invoke(main, ["similarity", "exp9", "--course", str(batch)])
    assert unknown.exit_code == 1 and "unknown experiment 'exp9'" in unknown.output
    (tmp_path / "nothing").mkdir()
    none = runner.invoke(main, ["similarity", EXP, "--course", str(batch),
                                "--against", str(tmp_path / "nothing")])
    assert none.exit_code == 1 and "no notebooks, .py, .md or .txt files" in none.output
    for option in ("--threshold", "--common-share", "--outlier"):
        zero = runner.invoke(main, ["similarity", EXP, "--course", str(batch), option, "0"])
        assert zero.exit_code == 2, option


def test_batch_summary_links_to_the_report(batch, report, tmp_path):
    from dlkit.reports.course import load_course
    from dlkit.reports.termwork import write_batch_summary

    write_similarity_report(report, batch)
    [page] = write_batch_summary([], load_course(), batch / "reports", pdf=False,
                                 course_folder=batch)
    assert '<a href="../similarity/exp2-feedforward/index.html">E2</a>' in \
        page.read_text(encoding="utf-8")
    [elsewhere] = write_batch_summary([], load_course(), tmp_path, pdf=False)
    assert "Similarity reports" not in elsewhere.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the small steps

def test_cleaning_steps():
    assert drop_cell_magic("%%bash\nls -l\n") == ""
    assert drop_cell_magic("%%time\nx = 1") == "x = 1"
    assert drop_cell_magic("x = 1\n%%bash") == "x = 1\n%%bash"
    assert drop_shell_and_magic_lines("!pip install x\n%matplotlib inline\nout = !ls\ny = 2") \
        == "y = 2"
    assert drop_otter_lines('import otter\ngrader = otter.Notebook("e.ipynb")\n'
                            'grader.check("q1")\ngrader.check_all()\nz = 3') == "z = 3"
    assert drop_given_lines(frozenset({"m.fit(x,y)"}))("  m.fit( x, y )\nm = 1") == "m = 1"
    # a non-Python cell goes whole before its lines are looked at one by one
    assert CLEANING_STEPS.index(drop_cell_magic) < CLEANING_STEPS.index(
        drop_shell_and_magic_lines)
    assert clean_cell("%%bash\n%env X=1\necho hi") == ""


def test_own_code_marks_each_cell_and_drops_given_lines():
    code = own_code(["import numpy as np\n...", "", "x = np.ones(3)  # mine"],
                    frozenset({"importnumpyasnp", "..."}))
    assert code == "# [code cell 3]\nx = np.ones(3)  # mine\n"


def test_normalise_literals_keeps_length():
    code = "lr = 1e-3; units = [128, 0x1F, 2.5j, .5, 1_000]; x2 = a.b1[0] + 3.  # 64"
    out = normalise_literals(code)
    assert len(out) == len(code)
    assert out == "lr = nnnn; units = [nnn, nnnn, nnnn, nn, nnnnn]; x2 = a.b1[n] + nn  # nn"


def test_code_cells_of_each_kind(tmp_path):
    notebook = tmp_path / "a.ipynb"
    notebook.write_text(json.dumps({"cells": [
        {"cell_type": "code", "source": ["a = 1\n", 2, "b = 2"]},
        {"cell_type": "markdown", "source": "text"}, "junk",
        {"cell_type": "code", "source": None}]}), encoding="utf-8")
    assert code_cells(notebook) == ["a = 1\nb = 2", ""]
    (tmp_path / "b.py").write_text("c = 3\n", encoding="utf-8")
    assert code_cells(tmp_path / "b.py") == ["c = 3\n"]
    (tmp_path / "c.md").write_text("prose\n```python\nd = 4\n```\nmore\n~~~\ne = 5\n~~~\n",
                                   encoding="utf-8")
    assert code_cells(tmp_path / "c.md") == ["d = 4\n", "e = 5\n"]
    for text, reason in (("[1, 2]", "not a Jupyter notebook"), ("{", "not valid JSON"),
                         ("[" * 100_000, "JSON nested too deeply")):
        (tmp_path / "d.ipynb").write_text(text, encoding="utf-8")
        with pytest.raises(ValueError, match=reason):
            code_cells(tmp_path / "d.ipynb")
    with pytest.raises(ValueError, match="file missing"):
        code_cells(tmp_path / "missing.ipynb")


def test_clusters_are_connected_components():
    def match(a: str, b: str, similarity: float) -> Match:
        return Match(a, b, similarity, similarity, similarity, 10, 10, 10)

    pairs = [match("a", "b", 0.9), match("b", "c", 0.7), match("d", "e", 0.9),
             match("f", "g", 0.9), match("g", "h", 0.9), match("h", "i", 0.65)]
    found = clusters(pairs)
    assert [c.members for c in found] == [("f", "g", "h", "i"), ("a", "b", "c")]
    assert found[1].pairs == 2 and found[1].top == 0.9


def test_code_lines_number_lines_and_anchor_each_fragment_once():
    lines = code_lines("ab\ncd\nef", [(1, 4, 1), (3, 5, 2)], "p")
    assert lines == [(1, [("a", None, None), ("b", 1, "p-f1")]),
                     (2, [("c", 1, None), ("d", 2, "p-f2")]), (3, [("ef", None, None)])]
    assert code_lines("", [], "p") == [(1, [])]
    assert line_range("ab\ncd\nef", 1, 4) == (1, 2) and line_range("ab\ncd", 3, 5) == (2, 2)


def test_no_release_is_an_error(tmp_path, monkeypatch):
    from dlkit import experiments

    moved = experiments.Experiment(id=EXP, number=2, title="t", datasets=(), time_limit=1,
                                   root=tmp_path)
    monkeypatch.setitem(experiments.EXPERIMENTS, EXP, moved)
    with pytest.raises(SimilarityError, match="dlkit release exp2-feedforward"):
        similarity_report(EXP, course=tmp_path, gradebook=Gradebook.open(tmp_path))


def test_identical_notebooks_are_listed_first_as_identical(tmp_path):
    """The grader runs identical notebooks once; the report lists them first, as identical,
    above a renamed copy whose tokens match just as well."""
    from dlkit.similarity import compare_notebooks
    from dlkit.similarity.analysis import IDENTICAL
    from dlkit.similarity.batch import Entry

    mine = fill(ORIGINAL)
    again = copy.deepcopy(mine)
    again["metadata"]["widgets"] = {"saved": "on a second laptop"}
    for cell in again["cells"]:
        if cell["cell_type"] == "code":
            cell["execution_count"] = 9
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "ran\n"}]
    books = {"41001": mine, "41002": again,
             "41003": fill(renamed(ORIGINAL, {"sgd": "opt", "early": "cb", "fig": "f"})),
             **{roll: fill(answers) for roll, answers in list(INDEPENDENT.items())[:3]}}
    entries = []
    for roll, notebook in books.items():
        path = tmp_path / f"{roll}.ipynb"
        path.write_text(json.dumps(notebook))
        entries.append(Entry(roll, "", path))
    report = compare_notebooks(entries, experiment=EXP, starter=code_cells(STARTER))
    first = report.pairs[0]
    assert {first.a, first.b} == {"41001", "41002"} and first.identical and first.listed
    assert first.reasons[0] == IDENTICAL
    assert [p for p in report.pairs if p.identical] == [first]
    renamed_copy = next(p for p in report.pairs if {p.a, p.b} == {"41001", "41003"})
    assert not renamed_copy.identical and IDENTICAL not in renamed_copy.reasons
