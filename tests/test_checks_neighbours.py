"""checks.neighbour_quality: the grader's measure of word embeddings (Experiment 5)."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit import checks

VOCAB = ["<pad>", "jan", "feb", "mar", "red", "blue", "green", "dog"]


def clustered(rng: np.random.Generator) -> np.ndarray:
    """Months near one direction, colours near another, the rest elsewhere."""
    centres = {"jan": 0, "feb": 0, "mar": 0, "red": 1, "blue": 1, "green": 1, "dog": 2, "<pad>": 3}
    axes = np.eye(4) * 10
    return np.array([axes[centres[w]] + rng.normal(scale=0.1, size=4) for w in VOCAB])


GROUPS = {"months": ("jan", "feb", "mar"), "colours": ("red", "blue", "green")}


def test_groups_that_are_each_others_neighbours_score_one():
    quality = checks.neighbour_quality(clustered(np.random.default_rng(0)), VOCAB, GROUPS, k=2)
    assert quality == {"months": 1.0, "colours": 1.0}


def test_mixed_up_groups_score_what_is_shared():
    # jan points away from the months: it finds none; feb and mar find each other (1 of 2 possible)
    matrix = clustered(np.random.default_rng(1))
    matrix[1] = -matrix[2]
    quality = checks.neighbour_quality(matrix, VOCAB, GROUPS, k=2)
    assert quality["months"] == pytest.approx((0 + 0.5 + 0.5) / 3)


def test_padding_row_and_the_word_itself_never_count():
    matrix = clustered(np.random.default_rng(2))
    matrix[0] = matrix[1]  # the padding row copies jan
    assert checks.neighbour_quality(matrix, VOCAB, {"months": GROUPS["months"]}, k=2)["months"] == 1.0


def test_missing_members_and_wrong_shapes():
    quality = checks.neighbour_quality(np.ones((3, 2)), ["<pad>", "jan", "x"], GROUPS)
    assert quality == {"months": 0.0, "colours": 0.0}
    with pytest.raises(ValueError, match="one row per word"):
        checks.neighbour_quality(np.ones((3, 2)), VOCAB, GROUPS)


def test_unit_rows_keeps_zero_rows():
    rows = checks.unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert rows.tolist() == [[0.6, 0.8], [0.0, 0.0]]


def test_every_group_member_occurs_in_its_corpus():
    # the registry's groups were chosen from words frequent in the corpora (after stop words)
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    for groups in checks.NEIGHBOUR_GROUPS.values():
        for words in groups.values():
            assert len(words) >= 4 and not set(words) & ENGLISH_STOP_WORDS


def test_as_numpy_takes_arrays_lists_and_tensors_that_require_grad():
    import torch

    weight = torch.nn.Embedding(3, 2).weight  # requires grad: np.asarray alone would fail
    assert checks.as_numpy(weight, "embeddings").shape == (3, 2)
    assert checks.as_numpy([[1, 2]], "embeddings").tolist() == [[1, 2]]
    with pytest.raises(checks.MissingObject, match="`embeddings` should be a NumPy array"):
        checks.as_numpy([[1, 2], [3]], "embeddings")
