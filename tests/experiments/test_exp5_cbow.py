"""Wrong Experiment 5 submissions lose exactly the marks they should (slow: real training)."""

from __future__ import annotations

import pytest

from tests.experiments.helpers import grade, lost

pytestmark = pytest.mark.slow


def test_window_off_by_one_loses_the_pairs_marks(tmp_path):
    # C-1 words on each side: every context row is wrong, but the embeddings still train well
    scores = grade("exp5-cbow", {"range(-window, window + 1)": "range(-window + 1, window)"}, tmp_path)
    assert lost(scores) == {"q2_pairs": 3}


def test_untrained_embeddings_lose_the_neighbour_quality_marks(tmp_path):
    # zero epochs: the embedding matrix keeps its random start, still of the right shape, and the
    # neighbour functions still agree with it, so only the grader's quality measure catches it
    scores = grade("exp5-cbow", {"EPOCHS, BATCH_SIZE, NEGATIVES, LEARNING_RATE = 3,":
                                 "EPOCHS, BATCH_SIZE, NEGATIVES, LEARNING_RATE = 0,"}, tmp_path)
    assert lost(scores) == {"q3_training": 4}


def test_neighbours_that_keep_the_word_itself_lose_the_neighbour_marks(tmp_path):
    # the probe word comes back as its own nearest neighbour: the public check catches it too
    scores = grade("exp5-cbow", {"similarity[[PAD, index]] = -np.inf": "similarity[PAD] = -np.inf"}, tmp_path)
    assert lost(scores) == {"q4_neighbours": 4}
