"""Viva questions from the student's own run: what the grader measured, asked back.

The figures are the ones the judge computed from the student's exported objects (recorded with
each verdict as ``measured``; :mod:`dlkit.grading.judge`): nothing here opens a student's file,
and every answer is computed from those figures for the examiner's copy. Each experiment with
questions of its own has one function below, registered in :data:`QUESTIONS`; a figure the run
did not produce (a test that failed, say) leaves its question out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from dlkit.reports.viva import Question

Figures = Mapping[str, float]


def _exp2(figures: Figures, variant: Mapping[str, object]) -> list[Question]:
    out = []
    if "first layer parameters (grader)" in figures:
        units = int(figures["first layer units"])
        count = int(figures["first layer parameters (grader)"])
        out.append(Question(
            "run-exp2-first-layer", "exp2-feedforward", "medium", ("own run",),
            f"Your first hidden layer has {units} units and takes the 784 pixel values. How "
            "many trainable parameters does it have? Show how you count them.",
            f"784 x {units} weights + {units} biases = {784 * units + units:,}; the grader "
            f"counted {count:,} in the model you handed in."))
    if "confusion: count" in figures:
        true, wrong = int(figures["confusion: true digit"]), int(figures["confusion: predicted as"])
        count, total = int(figures["confusion: count"]), int(figures["confusion: true digit total"])
        out.append(Question(
            "run-exp2-confusion", "exp2-feedforward", "hard", ("own run",),
            f"The largest off-diagonal cell of your model's confusion matrix on the MNIST test "
            f"set is row {true}, column {wrong} ({count} images). What does that cell mean, and "
            "why might a network confuse these two digits?",
            f"{count} of the {total} test images of a {true} were predicted as {wrong} "
            f"({100 * count / max(total, 1):.1f} %): the most frequent single mistake. The two "
            "digits share strokes (e.g. 4/9: a closed or open top loop; 3/5, 7/2), and a dense "
            "network sees pixels, not shapes, so nearby pixel patterns are confused."))
    epochs = variant.get("epochs")
    if epochs and "test accuracy (grader)" in figures:
        accuracy = figures["test accuracy (grader)"]
        out.append(Question(
            "run-exp2-epochs", "exp2-feedforward", "easy", ("own run",),
            f"You trained for {epochs} epochs and the grader measured a test accuracy of "
            f"{accuracy:.4f}. What is an epoch, and what would you expect from training twice "
            "as long?",
            f"One pass over the {55000 * 9 // 10:,} training images (less the validation split); "
            "twice as long lowers the training loss further but test accuracy gains little and "
            "may fall once the network over-fits: watch the validation loss."))
    return out


def _exp4(figures: Figures, variant: Mapping[str, object]) -> list[Question]:
    out = []
    if "threshold: value" in figures:
        k = variant.get("k", 3)
        digit = variant.get("normal_digit", 0)
        mean, std = figures["threshold: validation mean"], figures["threshold: validation std"]
        flagged = int(figures["threshold: flagged"])
        anomalies = int(figures["threshold: flagged anomalies"])
        normal = int(figures["threshold: flagged normal"])
        normal_total = int(figures["threshold: normal test images"])
        total = int(figures["threshold: anomalies"])
        out.append(Question(
            "run-exp4-threshold", "exp4-autoencoder-anomaly", "hard", ("own run",),
            f"Your threshold is mean + {k:g} x std of your validation errors. It flags "
            f"{flagged:,} of the 10,000 test images. Why does it flag what it flags — how many "
            f"of them are digits other than {digit}, and what would a lower k change?",
            f"Threshold = {mean:.5f} + {k:g} x {std:.5f} = {figures['threshold: value']:.5f}. "
            f"Images reconstructed worse than that are flagged: {anomalies:,} anomalies (recall "
            f"{anomalies / max(total, 1):.3f} of {total:,}) and {normal:,} of the {normal_total:,} "
            f"normal {digit}s (false alarms). A lower k flags more: recall rises, precision "
            "falls."))
        missed = int(figures["threshold: most missed digit"])
        out.append(Question(
            "run-exp4-missed", "exp4-autoencoder-anomaly", "medium", ("own run",),
            "Which anomaly digit did your detector miss most often, and why that one?",
            f"Digit {missed}: {int(figures['threshold: most missed count']):,} of its test "
            f"images fell below the threshold; it looks most like the normal digit {digit}, so "
            "the autoencoder reconstructs it nearly as well."))
    return out


#: experiment -> its own-run questions from (figures, variant)
QUESTIONS: dict[str, Callable[[Figures, Mapping[str, object]], list[Question]]] = {
    "exp2-feedforward": _exp2,
    "exp4-autoencoder-anomaly": _exp4,
}


def own_run_questions(experiment: str, figures: Figures,
                      variant: Mapping[str, object] | None = None) -> list[Question]:
    make = QUESTIONS.get(experiment)
    return make(figures, variant or {}) if make else []


def mix(own: list[Question], bank_set: list[Question], per_student: int) -> list[Question]:
    """The student's own-run questions first (at most half the set), then bank questions."""
    kept = own[:max(1, per_student // 2)] if own else []
    return kept + list(bank_set[:max(0, per_student - len(kept))])


__all__ = ["QUESTIONS", "mix", "own_run_questions"]
