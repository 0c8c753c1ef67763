"""The registry of experiments: one entry each; adding an experiment is adding one entry.

Thresholds live here, with the measured reference figures they were set from, and hidden tests
read them with :func:`threshold`, so a threshold is written down exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from dlkit.errors import DlkitError, UnknownName

#: Where an installed kit keeps its files: ``dlkit/_kit`` in the wheel, copied there at build
#: time from the repository's top-level folders (``setup.py``), which stay the one place they
#: are edited.
KIT_FOLDER = "_kit"
#: The kit's folders a student must never see: masters (solutions and hidden tests), the
#: hidden tests and their zips, executed solutions, the free-form criteria, the viva answers.
#: ``solutions/`` is in no wheel; a student's wheel (``DLKIT_WHEEL=student``) has none of them.
PRIVATE_KIT_FOLDERS = ("source", "autograder", "solutions", "rubrics/free-form", "reports/questions")


def kit_root() -> Path:
    """The folder holding the kit's own ``source/``, ``release/``, ``autograder/``,
    ``rubrics/`` and ``reports/``: the installed package's ``_kit`` (found through
    :mod:`importlib.resources`), else the checkout around the package."""
    from importlib.resources import files

    installed = files("dlkit") / KIT_FOLDER
    if installed.is_dir():
        return Path(str(installed)).resolve()
    return Path(__file__).resolve().parent.parent


def kit_is_installed() -> bool:
    """True when the kit's files come from an installed wheel, not a checkout."""
    return kit_root().name == KIT_FOLDER


#: The kit's folders: a checkout's root, or an installed wheel's ``dlkit/_kit``.
ROOT = kit_root()


@dataclass(frozen=True)
class Threshold:
    value: float
    measured: str  # the reference runs it was set from, with the margin


@dataclass(frozen=True)
class Parameter:
    """Something an examiner may vary between students at the practical exam (a *variant*):
    the values it may take, the one the term-work release uses, and what it changes. The master
    writes ``{{ parameters.NAME }}`` in its text and ``parameter("<experiment>", "NAME")`` in its
    code and tests; a release fills both with one variant's values (:mod:`dlkit.variants`), so
    the brief and the grader cannot drift apart."""

    choices: tuple
    default: object
    brief: str  # what it changes in the student's brief
    judging: str  # what it changes in the judging
    #: the starter's variable that holds it (``NORMAL_DIGIT = 7``): how a notebook that
    #: answers another student's variant is recognised
    given: str = ""
    #: how it reads in the brief ("256, 128 and 64"); default ``str``
    words: object = None

    def __post_init__(self) -> None:
        if self.default not in self.choices:
            raise ValueError(f"default {self.default!r} is not one of {self.choices!r}")

    def format(self, value: object) -> str:
        if self.words is not None:
            return self.words(value)  # type: ignore[operator]
        return f"{value:g}" if isinstance(value, float) else str(value)


def _units(value: tuple) -> str:
    return ", ".join(map(str, value[:-1])) + f" and {value[-1]}" if len(value) > 1 else str(value[0])


@dataclass(frozen=True)
class Cost:
    """What grading the reference notebook costs, measured side by side on one machine
    (``benchmarks/grading_scaling.py``): ``cpu_seconds`` of one run given one thread;
    ``threads``, the cores one run keeps busy when given all of them (those CPU seconds over its
    wall seconds alone); ``contention``, how much longer a one-thread run takes than its CPU
    seconds when every core grades (wall over CPU seconds). ``dlkit grade`` picks its workers
    from these (:mod:`dlkit.grading.capacity`)."""

    cpu_seconds: float
    threads: float = 1.0
    contention: float = 1.0


@dataclass(frozen=True)
class Experiment:
    id: str
    number: int
    title: str
    datasets: tuple[str, ...]
    #: CPU seconds a submission may use when graded, all its processes together (the sandbox
    #: measures them; a wall-clock backstop 3x longer ends what does not compute). Each is about
    #: 8x the reference's CPU time graded in the sandbox (benchmarks/cpu_limits.py: one thread
    #: per run, as with one worker per core), rounded up to whole minutes: room for more epochs
    #: and slower code, not for a loop. Runs with many threads each (--workers 1 on a big
    #: machine) use more CPU time for the same work.
    time_limit: int
    thresholds: dict[str, Threshold] = field(default_factory=dict)
    #: the measured cost of grading one notebook; unmeasured: an eighth of the limit, one core
    cost: Cost | None = None
    #: the course folder holding source/, release/, autograder/, solutions/
    root: Path = ROOT
    #: what an examiner may vary between students at the practical exam (:class:`Parameter`)
    parameters: dict[str, Parameter] = field(default_factory=dict)
    #: what the experiment is, without the starter's data or model: the title of a run graded
    #: free-form, which names the data and model the grader found instead (:meth:`title_for`)
    subject: str = ""

    def __post_init__(self) -> None:
        if self.cost is None:
            object.__setattr__(self, "cost", Cost(self.time_limit / 8))

    def title_for(self, data: Sequence[str] = (), model: str = "", free_form: bool = False) -> str:
        """The title of one run: the experiment's own for the starter; for a notebook graded
        free-form its :attr:`subject` and what the grader found it was built on (``model``, a
        backbone) and measured it on (``data``), e.g. "Autoencoder anomaly detection: ECG5000";
        never the starter's data when the grader found other data or none."""
        if not free_form:
            return self.title
        found = [f"{model} backbone"] if model else []
        found += list(dict.fromkeys(d for d in data if d))
        subject = self.subject or self.title
        return f"{subject}: {', '.join(found)}" if found else subject

    @property
    def master(self) -> Path:
        """The master notebook: ``source/<id>/<id>.ipynb``."""
        return self.root / "source" / self.id / f"{self.id}.ipynb"

    @property
    def rubric(self) -> Path:
        return self.root / "rubrics" / f"{self.id}.yml"


EXPERIMENTS: dict[str, Experiment] = {e.id: e for e in [
    Experiment(
        id="exp1-frameworks",
        number=1,
        title="Study of TensorFlow, Keras, Theano (PyTensor) and PyTorch",
        subject="Study of TensorFlow, Keras, Theano (PyTensor) and PyTorch",
        datasets=("mnist",),
        time_limit=480,  # measured: 55 and 49 CPU s (20/20; 140 and 128 s wall at load 6-9 on 2 cores)
        # benchmarks/grading_scaling.py (4 notebooks a pass), idle 2-core CPU, 2026-12-02: one
        # at a time 249 s, two at once 187 s (68 CPU s a run with one thread, 1.27x in company)
        cost=Cost(cpu_seconds=68, threads=1.14, contention=1.27),
        thresholds={
            # 2-core CPU under contention, reference (784-128-64-10, Adam 1e-3, batch 64, 2 epochs,
            # benchmarks/exp1_frameworks.py), grader's NumPy accuracy, seeds 0/1: TensorFlow
            # 0.9673/0.9669, Keras 0.9691/0.9704, PyTorch 0.9653/0.9637, PyTensor 0.9711/0.9702.
            # Plain SGD (lr 0.01), seed 0: 0.9075, 0.9076, 0.8791, 0.9087 — below the bar.
            "test_accuracy": Threshold(0.95, "the issue's bar; reference 0.9637-0.9711 (4 frameworks, "
                                             "2 seeds), plain SGD lr 0.01: 0.879-0.909"),
            # |table accuracy - grader's accuracy|: 0.0000 for all 4 frameworks and both seeds.
            "table_accuracy_tolerance": Threshold(0.002, "reference table vs grader: 0.0000 (4 frameworks, "
                                                         "2 seeds); 20 test images"),
        },
    ),
    Experiment(
        id="exp2-feedforward",
        number=2,
        title="Feed-forward neural network with Keras on MNIST",
        subject="Feed-forward neural network",
        datasets=("mnist",),
        time_limit=300,  # measured: 33 and 28 CPU s (120 and 65 s wall at load 9)
        # benchmarks/grading_scaling.py (4 notebooks a pass), idle 2-core CPU, 2026-12-02: one
        # at a time 197 s, two at once 153 s (51 CPU s a run with one thread, 1.38x in company)
        cost=Cost(cpu_seconds=51, threads=1.09, contention=1.38),
        thresholds={
            # 2-core CPU, reference (784-256-128-64-10, SGD nesterov + cosine decay, 6 epochs,
            # batch 256): test accuracy 0.9803/0.9796/0.9801 over seeds 0/1/2, fit 3.3-6.9 s.
            # The same model trained 1 epoch: 0.9567/0.9533 — below the bar, as it should be.
            "test_accuracy": Threshold(0.97, "the issue's bar; reference 0.9796-0.9803 (3 seeds), "
                                             "1-epoch model 0.953-0.957"),
            "min_epochs": Threshold(3, "'several epochs' (manual step 6); the reference trains 6"),
            # Test accuracy minus accuracy on the 5,000 training digits the starter keeps back
            # (benchmarks/held_out_gap.py), 2-core CPU: reference -0.0027/-0.0029 (seeds 0/1);
            # trained on x_test only +0.0232; on x_train and x_test +0.0066 (undetectable).
            "held_out_gap": Threshold(0.01, "reference -0.003 (2 seeds); trained on the test set "
                                            "+0.023"),
        },
        parameters={
            "hidden_units": Parameter(
                ((256, 128, 64), (512, 128), (256, 128), (384, 192, 96), (300, 100)), (256, 128, 64),
                brief="the sizes of the hidden Dense layers, in order",
                judging="the hidden Dense layers' units must be these, in this order (and so "
                        "the first layer's parameter count the viva asks about)",
                given="HIDDEN_UNITS", words=_units),
            "epochs": Parameter(
                (5, 6, 7), 6, brief="the number of epochs to train",
                judging="the recorded training must have exactly this many epochs",
                given="EPOCHS"),
            # CIFAR-10 is not offered: it has no offline source here (shared DATA.md) and this
            # master reads MNIST only; add it as a third parameter where it is cached.
        },
    ),
    Experiment(
        id="exp3-image-classifier",
        number=3,
        title="Image classifier in four stages (CNN; CIFAR-10, or MNIST offline)",
        subject="Image classifier (CNN)",
        datasets=("cifar10", "mnist"),
        time_limit=1800,  # measured on MNIST: 203 CPU s (20/20; 762 s wall at load 9, over the
        # old 600-s wall limit); CIFAR-10 (not cached here) derived: ~830 CPU s (10 epochs on
        # 50k 32x32x3 against 3 on 60k 28x28), so 1800 leaves it ~2x
        # benchmarks/grading_scaling.py (4 notebooks a pass, MNIST), idle 2-core CPU, 2026-12-02:
        # one at a time 885 s, two at once 691 s (258 CPU s a run with one thread, 1.18x in
        # company)
        cost=Cost(cpu_seconds=258, threads=1.23, contention=1.18),
        thresholds={
            # The notebook runs on CIFAR-10 when it is cached, else on MNIST; the hidden test
            # measures the exported model on the real test set of the dataset the run used.
            # 2-core CPU under contention, reference CNN (16-32-64 conv blocks, BN, dropout,
            # Adam + cosine decay, early stopping, 3 epochs, batch 128): see `measured`.
            "test_accuracy_mnist": Threshold(0.985, (
                "reference CNN after 3 epochs 0.9900/0.9903 (seeds 0/1, benchmark), 0.9890-0.9893 "
                "(notebook, seed 0, 3 runs); the dense-only wrong variant 0.9791/0.9794: a CNN-level bar")),
            "test_accuracy_cifar10": Threshold(0.70, (
                "not yet measured on our reference (CIFAR-10 has no offline source and no GPU "
                "was lent); set from the lab manual's reference, 0.72 after 10 epochs, less "
                "seed noise; airbench reaches 0.94. Measure with benchmarks/exp3_reference.py "
                "where CIFAR-10 is cached and revise")),
            "min_epochs": Threshold(2, "'several epochs'; the reference trains 3 on MNIST, 10 on CIFAR-10"),
            # report["y_pred"] against the grader's own predictions of the exported model: the
            # reference agrees on every test image; the margin allows a few numerical ties.
            "prediction_agreement": Threshold(0.999, "reference 1.0000; 10 of 10,000 images for ties"),
            # On the 5,000 training images the starter keeps back (benchmarks/held_out_gap.py
            # exp3), MNIST, 2-core CPU under contention, accuracy and mean cross-entropy against
            # the test set's: reference 0.9894 vs 0.9895 (+0.0001 on the test set), loss ratio
            # 1.18 (seed 0); 0.9906 vs 0.9894 (-0.0012), 0.97 (seed 1). Trained on the test set
            # with the given call (3 epochs, batch 128): 0.143 vs 0.141 (BatchNorm statistics
            # from 79 steps; it fails the accuracy bar); 8 epochs, batch 32: 0.9872 vs 0.9930
            # (+0.0058, below the accuracy gap, which binomial noise of about 0.002 (1 SD) keeps
            # at 0.01) but a loss ratio of 2.21: the cross-entropy ratio tells it.
            "held_out_gap": Threshold(0.01, "reference +0.0001/-0.0012 (seeds 0/1); fitted to "
                                            "the test set +0.0058"),
            "held_out_loss_ratio": Threshold(1.6, "reference 1.18/0.97 (seeds 0/1); fitted to "
                                                  "the test set 2.21"),
        },
    ),
    Experiment(
        id="exp4-autoencoder-anomaly",
        number=4,
        title="Autoencoder anomaly detection on MNIST (one digit normal)",
        subject="Autoencoder anomaly detection",
        datasets=("mnist",),
        time_limit=360,  # measured: 38 CPU s (18/18; 159 s wall at load 10)
        # benchmarks/grading_scaling.py (4 notebooks a pass), idle 2-core CPU, 2026-12-02: one
        # at a time 209 s, two at once 137 s (46 CPU s a run with one thread, 1.39x in company)
        cost=Cost(cpu_seconds=46, threads=1.0, contention=1.39),
        thresholds={
            # 2-core CPU, reference (784-128-64-32 encoder, mirrored decoder, Adam, MSE, batch 64,
            # trained on zeros only): ROC-AUC 0.9948/0.9934/0.9940 over seeds 0/1/2 (30 epochs),
            # 0.9897 after 3 epochs; the same model trained on all digits: 0.4534/0.4518.
            "roc_auc": Threshold(0.95, "reference 0.9934-0.9948 (3 seeds); all-digits 0.45"),
            # mean test error of anomalies / of normal digits: reference 3.84-4.12,
            # all digits 0.95, 1 epoch 1.86.
            "error_ratio": Threshold(2.0, "reference 3.84-4.12; all-digits 0.95; 1 epoch 1.86"),
            "min_epochs": Threshold(3, "'several epochs'; the reference trains 20"),
            # Test ROC-AUC minus ROC-AUC on the 5,000 training digits the starter keeps back
            # (benchmarks/held_out_gap.py), 2-core CPU: reference -0.0013/-0.0025 (seeds 0/1);
            # trained on the test set's normal digits too +0.0008, on them only +0.0022. The AUC
            # is near its ceiling, so only a gross fit to the test set shows here.
            "held_out_gap": Threshold(0.01, "reference -0.001/-0.003 (2 seeds); trained on test "
                                            "digits +0.001/+0.002"),
        },
        parameters={
            "normal_digit": Parameter(
                tuple(range(10)), 0, brief="the digit that is normal (every other is an anomaly)",
                judging="training and validation images must all be this digit; y_test, the "
                        "AUC and the reconstruction loss are measured with it as the normal class",
                given="NORMAL_DIGIT"),
            "k": Parameter(
                (2, 2.5, 3, 3.5), 3, brief="the threshold rule: mean + k standard deviations",
                judging="anomaly_threshold is checked against mean + k std on the grader's inputs",
                given="THRESHOLD_K"),
        },
    ),
    Experiment(
        id="exp5-cbow",
        number=5,
        title="Continuous Bag of Words word embeddings (BBC News or the King James Bible)",
        subject="Continuous Bag of Words word embeddings",
        datasets=("bbc-news", "kjv"),
        time_limit=480,  # measured: 56 and 49 CPU s (221 and 100 s wall at load 11 and 7)
        # benchmarks/grading_scaling.py (4 notebooks a pass), idle 2-core CPU, 2026-12-02: one
        # at a time 242 s, two at once 136 s (59 CPU s a run with one thread, 1.05x in company)
        cost=Cost(cpu_seconds=59, threads=1.04, contention=1.05),
        thresholds={
            # checks.neighbour_quality averaged over the corpus's word groups (the share of a
            # member's 10 nearest neighbours that are members too), 2-core CPU under contention.
            # BBC News (months, weekdays, nations): reference (CBOW, negative sampling, Adam,
            # 3 epochs) 0.402/0.435/0.373 over seeds 0/1/2; gensim CBOW 10 epochs 0.426;
            # untrained (0 epochs) 0.006; window off by one (C-1 per side) 0.426.
            "neighbour_quality_bbc_news": Threshold(0.2, "reference 0.373-0.435 (3 seeds), gensim "
                                                         "0.426, untrained 0.006"),
            # KJV (tribes, animals, metals, kin): reference 0.547/0.507 (seeds 0/1); gensim 0.44;
            # untrained 0.000.
            "neighbour_quality_kjv": Threshold(0.25, "reference 0.507-0.547 (2 seeds), gensim 0.44, "
                                                     "untrained 0.000"),
            # checks.similarity_agreement of the handed-in embeddings with a gensim model found
            # in the notebook (correlation of the cosine similarities among 300 frequent words;
            # benchmarks/held_out_gap.py exp5), BBC News, 2-core CPU: the reference CBOW against
            # gensim's (the side-by-side cell's settings, seeds 0/1) 0.817/0.819; gensim seed 0
            # against seed 1 0.988; a copy 1.000 (rotated too); a random matrix 0.006.
            "library_agreement": Threshold(0.97, "reference vs gensim 0.817-0.819; gensim vs "
                                                 "gensim (other seed) 0.988; a copy 1.000"),
        },
    ),
    Experiment(
        id="exp6-transfer-learning",
        number=6,
        title="Object detection by transfer learning (EfficientNet-Lite0: MNIST classifier, "
              "Faster R-CNN on digit canvases)",
        subject="Transfer learning from a pretrained CNN",
        datasets=("efficientnet-lite0", "mnist"),
        time_limit=1800,  # measured: 216 CPU s (36/36; 975 s wall at load 11, over the old
        # 900-s wall limit)
        # benchmarks/grading_scaling.py (4 notebooks a pass), idle 2-core CPU, 2026-12-02: one at
        # a time 864 s (runs of 176-198 s wall using 252-280 CPU s with 2 threads: a second
        # thread helps little), two at once 597 s (236 CPU s a run with one thread, 1.06x in
        # company). Issue #18 had measured two at once 2.7x slower before idle OpenMP threads
        # slept in the sandbox (#11) and the judge: no longer so
        cost=Cost(cpu_seconds=236, threads=1.29, contention=1.06),
        thresholds={
            # 2-core CPU under contention, reference (FREEZE_BLOCKS 5, 2-layer head, 2 epochs head
            # + 1 epoch fine-tuning on 2,000 digits at 64 px): accuracy on the first 2,000 MNIST
            # test digits 0.9380/0.9405 (seeds 0/1; 0.9395 for seed 0 with the tests run inline, which
            # draw on torch's random state). Detector (stem + blocks[0..2], 2 frozen, 3 epochs on
            # 400 canvases): mAP@0.5 on the grader's 150 held-out canvases 0.873/0.826 (seeds 0/1).
            # Whole notebook 50 s on an idle 2-core CPU (515-616 s while three other experiments
            # trained beside it). The wrong variants (nothing frozen, one-layer head, one
            # learning rate) stay above both bars: they lose the structural marks only.
            "test_accuracy": Threshold(0.90, "reference 0.9380-0.9405 (seeds 0/1)"),
            "map50": Threshold(0.65, "reference 0.826-0.873 on the held-out canvases (seeds 0/1)"),
            # Test accuracy minus accuracy on 2,000 of the training digits the starter keeps back
            # (benchmarks/held_out_gap.py exp6), 2-core CPU under contention: reference 0.9360
            # against 0.9515, -0.0155 (seed 0; the kept-back digits are the easier ones here);
            # head and fine-tuning trained on the 2,000 test digits instead: 0.9905 against
            # 0.9435, +0.0470. Binomial noise of the difference about 0.008 (1 SD).
            "held_out_gap": Threshold(0.03, "reference -0.016 (seed 0); trained on the test "
                                            "digits +0.047"),
        },
    ),
]}


def get(experiment_id: str) -> Experiment:
    try:
        return EXPERIMENTS[experiment_id]
    except KeyError:
        raise UnknownName("experiment", experiment_id, EXPERIMENTS) from None


def threshold(experiment_id: str, name: str) -> float:
    """The grading threshold ``name`` of an experiment (what hidden tests compare against)."""
    return get(experiment_id).thresholds[name].value


def parameter(experiment_id: str, name: str) -> object:
    """The term-work value of an exam parameter (what the master runs with in Jupyter). Releases
    and the grader never call it: they replace each ``parameter("<id>", "<name>")`` call by the
    variant's value (:func:`dlkit.variants.bind`)."""
    experiment = get(experiment_id)
    if name not in experiment.parameters:
        raise UnknownName(f"parameter of {experiment_id}", name, experiment.parameters)
    return experiment.parameters[name].default


# --------------------------------------------------------------------------- experiments elsewhere

#: Course folders outside this repository whose experiments join the registry (``os.pathsep``
#: separated): every ``<folder>/source/<id>/<id>.ipynb`` becomes experiment ``<id>``. Processes
#: started by another (the portal's grading workers, ``dlkit worker`` on a lab PC) inherit the
#: variable, so they know the same experiments as the process that queued the work.
EXTRA_EXPERIMENTS_ENV = "DLKIT_EXTRA_EXPERIMENTS"


def extra_experiments(folders: str) -> list[Experiment]:
    """The experiments found in ``folders`` (a ``DLKIT_EXTRA_EXPERIMENTS`` value): number 0, the
    master's first heading as title, no registered datasets, a 600 s limit. A folder without
    masters, or an id that is already registered, is skipped with a warning."""
    import logging
    import os

    log = logging.getLogger(__name__)
    found = []
    for folder in filter(None, folders.split(os.pathsep)):
        root = Path(folder).expanduser().resolve()
        masters = course_masters(root)
        if not masters:
            log.warning("%s: no source/<id>/<id>.ipynb under %s", EXTRA_EXPERIMENTS_ENV, root)
        for master in masters:
            if master.stem in EXPERIMENTS or any(e.id == master.stem for e in found):
                log.warning("%s: %s is already registered; %s skipped", EXTRA_EXPERIMENTS_ENV,
                            master.stem, master)
                continue
            try:
                found.append(_unregistered(master, root))
            except (OSError, ValueError) as exc:
                log.warning("%s: %s skipped: %s", EXTRA_EXPERIMENTS_ENV, master, exc)
    return found


def _unregistered(master: Path, root: Path) -> Experiment:
    """An experiment the registry does not know, from its master alone (see above)."""
    import json

    cells = json.loads(master.read_text(encoding="utf-8")).get("cells", [])
    title = next((line.lstrip("#").strip() for cell in cells
                  if cell.get("cell_type") == "markdown"
                  for line in "".join(cell.get("source", "")).splitlines()
                  if line.startswith("#")), master.stem)
    return Experiment(id=master.stem, number=0, title=title, datasets=(), time_limit=600,
                      root=root)


def _register_extra() -> None:
    import os

    for experiment in extra_experiments(os.environ.get(EXTRA_EXPERIMENTS_ENV, "")):
        EXPERIMENTS[experiment.id] = experiment
    if os.environ.get(COURSE_MASTERS_ENV):
        use_course(Path(os.environ[COURSE_MASTERS_ENV]))


# --------------------------------------------------------------------------- a course's own masters

#: The course folder whose own masters replace the kit's (set by :func:`use_course`, so the
#: processes it starts, the portal's grading workers among them, use the same masters).
COURSE_MASTERS_ENV = "DLKIT_COURSE_MASTERS"


def course_masters(course: Path) -> list[Path]:
    """The masters a course folder holds: ``<course>/source/<id>/<id>.ipynb``."""
    return sorted(p for p in Path(course).glob("source/*/*.ipynb") if p.stem == p.parent.name)


def use_course(course: Path) -> list[str]:
    """Read the course's own copies first: every experiment with a master in ``course``
    (``dlkit init --with-masters``, then edited) takes its master, release, autograder and
    rubric from the course folder; the others stay the kit's. A master whose id is not
    registered joins as :func:`extra_experiments` does. Returns the ids now the course's."""
    import os

    course = Path(course).expanduser().resolve()
    taken = []
    for master in course_masters(course) if course != ROOT else []:  # the kit's checkout itself
        known = EXPERIMENTS.get(master.stem)
        try:
            EXPERIMENTS[master.stem] = replace(known, root=course) if known is not None \
                else _unregistered(master, course)
        except (OSError, ValueError) as exc:
            raise DlkitError(f"unreadable master: {exc}", where=str(master),
                             fix="repair the notebook or remove its folder") from None
        taken.append(master.stem)
    if taken:
        os.environ[COURSE_MASTERS_ENV] = str(course)
    return taken


def private_kit_folders() -> list[Path]:
    """The folders grading hides from student code (``default_sandbox``'s ``private``): the
    kit's own (an installed ``dlkit/_kit`` lies inside the package folder the sandbox shows, so
    it must be masked) and every other folder an experiment's master, hidden tests and
    solutions come from (a course's own masters, extra experiments)."""
    return [ROOT, *sorted({e.root for e in EXPERIMENTS.values()} - {ROOT})]


def release_targets(ids: tuple[str, ...] | list[str], course: Path | None = None) -> list[str]:
    """The experiments ``dlkit release`` builds: ``ids`` (default: all) of the kit's checkout,
    or with ``course`` the course's own masters, released into the course. The masters of an
    installed kit came released with it: writing into site-packages is refused."""
    if course is None:
        if kit_is_installed():
            raise DlkitError("the installed kit's masters are released already", where=str(ROOT),
                             fix="to change an experiment: dlkit init COURSE --with-masters, "
                                 "edit COURSE/source/, then dlkit release --course COURSE")
        return [get(e).id for e in ids] or list(EXPERIMENTS)
    course = Path(course).expanduser().resolve()
    taken = use_course(course)
    chosen = [get(e).id for e in ids] or taken
    if not chosen:
        raise DlkitError("no masters in the course", where=str(course / "source"),
                         fix=f"copy the kit's: dlkit init {course} --with-masters")
    for experiment_id in chosen:
        if get(experiment_id).root != course:
            raise DlkitError(f"{experiment_id} has no master in the course",
                             where=str(course / "source" / experiment_id),
                             fix=f"copy the kit's masters first: dlkit init {course} --with-masters")
    return chosen


_register_extra()
