"""Experiment 5 reference on this machine: CBOW training time and neighbour quality, beside gensim.

    .venv/bin/python benchmarks/exp5_reference.py [--corpus bbc-news|kjv] [--seeds 0 1] [--threads 1]

Both train on the same token lists (the notebook's preparation: ``[a-z]+`` tokens, stop words and
one-letter tokens dropped, minimum count 5) in the same process, one after the other, so their
times are comparable; the score is the grader's ``checks.neighbour_quality``. gensim runs CBOW
(``sg=0``, negative sampling) with its defaults for the rest (10 epochs, frequent-word subsampling)
on as many worker threads as the reference's torch threads. Goal (issue #5): the reference within
3x gensim's time with a comparable neighbour score.
"""

from __future__ import annotations

import argparse
import re
import time
from collections import Counter

import numpy as np

WINDOW, MIN_COUNT, DIM = 5, 5, 100
EPOCHS, BATCH_SIZE, NEGATIVES, LEARNING_RATE = 3, 4096, 5, 0.02


def documents(corpus: str) -> list[list[str]]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from dlkit.data import load_bbc_news, load_kjv

    texts = load_bbc_news()[0] if corpus == "bbc-news" else re.split(r"(?<=[.?!])\s+", load_kjv())
    return [[w for w in re.findall(r"[a-z]+", t.lower()) if len(w) > 1 and w not in ENGLISH_STOP_WORDS]
            for t in texts]


def training_pairs(docs: list[list[str]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    counts = Counter(w for d in docs for w in d)
    vocab = ["<pad>"] + sorted((w for w, c in counts.items() if c >= MIN_COUNT), key=lambda w: (-counts[w], w))
    index = {w: i for i, w in enumerate(vocab)}
    contexts, targets = [], []
    for doc in docs:
        ids = np.array([index[w] for w in doc if w in index], dtype=np.int64)
        padded = np.concatenate([np.zeros(WINDOW, np.int64), ids, np.zeros(WINDOW, np.int64)])
        offsets = [o for o in range(-WINDOW, WINDOW + 1) if o != 0]
        contexts.append(np.stack([padded[WINDOW + o:WINDOW + o + len(ids)] for o in offsets], axis=1))
        targets.append(ids)
    return vocab, np.concatenate(contexts), np.concatenate(targets)


def train_reference(torch, vocab: list[str], contexts: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The notebook's CBOW: mean of the context embeddings, negative sampling, Adam, batch 4096."""
    context_vectors = torch.nn.Embedding(len(vocab), DIM, padding_idx=0)
    output_vectors = torch.nn.Embedding(len(vocab), DIM)
    torch.nn.init.uniform_(context_vectors.weight, -0.5 / DIM, 0.5 / DIM)
    torch.nn.init.zeros_(output_vectors.weight)
    with torch.no_grad():
        context_vectors.weight[0] = 0
    counts = np.bincount(targets, minlength=len(vocab)).astype("float64")
    noise = torch.tensor(counts ** 0.75)
    params = list(context_vectors.parameters()) + list(output_vectors.parameters())
    optimizer = torch.optim.Adam(params, lr=LEARNING_RATE)
    total = max(1, EPOCHS * -(-len(targets) // BATCH_SIZE))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / total)
    x, y = torch.from_numpy(contexts), torch.from_numpy(targets)
    logsigmoid = torch.nn.functional.logsigmoid
    for _ in range(EPOCHS):
        order = torch.randperm(len(y))
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start:start + BATCH_SIZE]
            negatives = torch.multinomial(noise, len(batch) * NEGATIVES, replacement=True).view(len(batch), -1)
            words = torch.cat([y[batch, None], negatives], dim=1)
            ctx = x[batch]
            real = (ctx != 0).unsqueeze(-1).float()
            mean = (context_vectors(ctx) * real).sum(1) / real.sum(1).clamp(min=1)
            scores = torch.bmm(output_vectors(words), mean.unsqueeze(-1)).squeeze(-1)
            loss = -(logsigmoid(scores[:, 0]) + logsigmoid(-scores[:, 1:]).sum(1)).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    return context_vectors.weight.detach().numpy().copy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=("bbc-news", "kjv"), default="bbc-news")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads = gensim workers")
    args = parser.parse_args()
    import torch
    from gensim.models import Word2Vec

    from dlkit.checks import NEIGHBOUR_GROUPS, neighbour_quality

    torch.set_num_threads(args.threads)
    docs = documents(args.corpus)
    vocab, contexts, targets = training_pairs(docs)
    groups = NEIGHBOUR_GROUPS[args.corpus]
    print(f"{args.corpus}: {len(targets)} pairs, vocabulary {len(vocab)}, {args.threads} thread(s)")
    print(f"{'model':<10} {'seed':>4} {'train s':>8} {'quality':>8}  per group")
    rows: dict[str, list[tuple[float, float]]] = {}
    for name in ("reference", "gensim"):
        for seed in args.seeds:
            torch.manual_seed(seed)
            started = time.perf_counter()
            if name == "reference":
                matrix, words = train_reference(torch, vocab, contexts, targets), vocab
            else:
                model = Word2Vec(docs, vector_size=DIM, window=WINDOW, min_count=MIN_COUNT, sg=0, negative=5,
                                 epochs=10, workers=args.threads, seed=seed)
                words = ["<pad>"] + list(model.wv.index_to_key)
                matrix = np.vstack([np.zeros(DIM), model.wv.vectors])
            seconds = time.perf_counter() - started
            quality = neighbour_quality(matrix, words, groups)
            score = float(np.mean(list(quality.values())))
            rows.setdefault(name, []).append((seconds, score))
            shown = ", ".join(f"{g} {v:.2f}" for g, v in quality.items())
            print(f"{name:<10} {seed:>4} {seconds:8.1f} {score:8.3f}  {shown}", flush=True)
    ref_s = np.mean([s for s, _ in rows["reference"]])
    gen_s = np.mean([s for s, _ in rows["gensim"]])
    print(f"training time reference / gensim: {ref_s / gen_s:.2f} (goal <= 3); mean neighbour quality "
          f"reference {np.mean([q for _, q in rows['reference']]):.3f}, "
          f"gensim {np.mean([q for _, q in rows['gensim']]):.3f}")


if __name__ == "__main__":
    main()
