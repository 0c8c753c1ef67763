"""Experiment 2 reference on this machine: fit time and test accuracy, beside the lab manual's code.

    .venv/bin/python benchmarks/exp2_reference.py [--seeds 0 1 2]

Both models train on the real MNIST (through dlkit.data) in the same process, one after the
other, so their times are comparable. Goal (issue #3): >= 0.97 test accuracy with fit <= 15 s.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def reference(keras, np, x, y):
    epochs, batch = 6, 256
    steps = int(np.ceil(len(x) * 0.9 / batch)) * epochs
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(256, activation="relu"),
                              keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(
        keras.optimizers.schedules.CosineDecay(0.1, decay_steps=steps), momentum=0.9,
        nesterov=True), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, dict(epochs=epochs, batch_size=batch)


def lab_manual(keras, np, x, y):
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(256, activation="relu"),
                              keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, dict(epochs=10, batch_size=128)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    import keras
    import numpy as np

    from dlkit.data import load_mnist

    (x, y), (xt, yt) = load_mnist()
    x = x.reshape(-1, 784).astype("float32") / 255.0
    xt = xt.reshape(-1, 784).astype("float32") / 255.0
    print(f"{'model':<12} {'seed':>4} {'fit s':>7} {'test acc':>9}")
    rows = {}
    for name, make in (("reference", reference), ("lab manual", lab_manual)):
        for seed in args.seeds:
            keras.utils.set_random_seed(seed)
            model, fit_args = make(keras, np, x, y)
            started = time.perf_counter()
            model.fit(x, y, validation_split=0.1, verbose=0, **fit_args)
            seconds = time.perf_counter() - started
            accuracy = float((model.predict(xt, batch_size=1000, verbose=0).argmax(1) == yt).mean())
            rows.setdefault(name, []).append((seconds, accuracy))
            print(f"{name:<12} {seed:>4} {seconds:7.1f} {accuracy:9.4f}", flush=True)
    ref = sum(s for s, _ in rows["reference"]) / len(rows["reference"])
    lab = sum(s for s, _ in rows["lab manual"]) / len(rows["lab manual"])
    print(f"fit time reference / lab manual: {ref / lab:.2f}  "
          f"(goal: >= 0.97 with fit <= 15 s; reference min accuracy "
          f"{min(a for _, a in rows['reference']):.4f}, mean fit {ref:.1f} s)")


if __name__ == "__main__":
    main()
