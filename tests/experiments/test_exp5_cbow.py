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


NEAREST = """    similarity[[PAD, index]] = -np.inf
    order = [i for i in np.argsort(-similarity, kind="stable") if similarity[i] > -np.inf]
    return [vocab[i] for i in order[:k]]"""
NEAREST_OTHER_STYLE = """    scores = cosine_similarity(embeddings, embeddings[index])
    ranked = sorted(range(len(vocab)), key=lambda i: -scores[i])
    return [vocab[i] for i in ranked if i not in (PAD, index)][:k]"""


def test_neighbours_that_follow_the_brief_get_full_marks(tmp_path):
    # another style that never returns the word or "<pad>", so fewer than k words for a tiny
    # vocabulary, as the brief says
    scores = grade("exp5-cbow", {NEAREST: NEAREST_OTHER_STYLE}, tmp_path)
    assert lost(scores) == {}


GENSIM_AS_OWN = """embeddings = model.context_vectors.weight.detach().numpy().copy()
from gensim.models import Word2Vec

w2v = Word2Vec(documents, vector_size=EMBED_DIM, window=WINDOW, min_count=MIN_COUNT, sg=0,
               negative=5, epochs=10, workers=1, seed=0)
with torch.no_grad():  # gensim's vectors, put into the student's own model
    model.context_vectors.weight[1:] = torch.from_numpy(np.stack([w2v.wv[w] for w in vocab[1:]]))
embeddings = model.context_vectors.weight.detach().numpy().copy()"""


def test_gensim_vectors_handed_in_lose_the_training_marks(tmp_path):
    # even copied into the model's own embedding layer (so the public check passes), the word
    # similarities agree with the gensim model in the notebook as only a copy does
    scores = grade("exp5-cbow", {"embeddings = model.context_vectors.weight.detach().numpy().copy()":
                                 GENSIM_AS_OWN}, tmp_path)
    assert lost(scores) == {"q3_training": 4}
