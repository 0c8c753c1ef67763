"""Wrong Experiment 6 submissions lose exactly the marks they should (slow: real training)."""

from __future__ import annotations

import pytest

from tests.experiments.helpers import grade, lost

pytestmark = pytest.mark.slow

ID = "exp6-transfer-learning"

TWO_LAYER_HEAD = """    return nn.Sequential(
        nn.Linear(in_features, 256),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(256, num_classes),
    )"""


def test_nothing_frozen_loses_the_freezing_marks_of_both_parts(tmp_path):
    scores = grade(ID, {"param.requires_grad = False": "param.requires_grad = True"}, tmp_path)
    # (b) counts and the public check, (e) "exactly the intended block unfrozen", and the
    # detector's frozen backbone (its stem is trained, so it is no longer the pretrained one)
    assert lost(scores) == {"q2_freeze": 4, "q5_finetune": 2, "q7_detector": 2}


def test_a_one_layer_head_loses_the_head_marks(tmp_path):
    scores = grade(ID, {TWO_LAYER_HEAD: "    return nn.Sequential(nn.Linear(in_features, num_classes))"},
                   tmp_path)
    assert lost(scores) == {"q3_head": 3}


def test_one_learning_rate_everywhere_loses_the_parameter_group_marks(tmp_path):
    scores = grade(ID, {'{"params": backbone_params, "lr": backbone_lr}':
                        '{"params": backbone_params, "lr": head_lr}'}, tmp_path)
    assert lost(scores) == {"q5_finetune": 2}
