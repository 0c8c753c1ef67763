"""The judge process's own start (dlkit.grading.judge)."""

from __future__ import annotations

import subprocess
import sys


def test_keras_is_imported_without_scikit_learn_which_a_judge_half_still_gets():
    code = """
import sys
from dlkit.grading.judge import import_keras
import_keras()
assert "keras" in sys.modules and "sklearn" not in sys.modules, sorted(sys.modules)[:5]
from sklearn.metrics import roc_auc_score
print(roc_auc_score([0, 1, 1], [0.1, 0.8, 0.9]))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "1.0"
