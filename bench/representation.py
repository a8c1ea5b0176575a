"""Which representation of what the model computes puts similar reviews together, and how fast it is.

For each representation of ``explain.representation`` (the LSTM's final state, the words that counted
weighted by their gated evidence, both, and the mean embedding as the baseline), the label agreement of
the k nearest neighbours (cosine after centring, the review itself left out): the share of a review's
k nearest that carry its label, averaged, on the 1,000 dev sentences and on a sample of IMDB test
reviews. Then the word neighbours: for the most frequent words with a clear sign, the share of their
10 nearest words whose mean effect on the logit has the same sign, by raw embedding distance and by
behaviour. Then the time to represent the whole test split (25,000 reviews) on this machine.

    python -m bench.representation [--sample 5000] [--full] [--k 10]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench.common import ROOT, labelled_sentences, table, test_reviews
from explain.representation import KINDS, nearest, represent, unit_rows, word_behaviour
from sentilens.codec import FIRST_WORD_ID
from serve.runtime import SentimentModel

__all__ = ["knn_agreement", "main", "polarity_agreement"]


def knn_agreement(vectors: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """Mean share of each row's ``k`` nearest rows (cosine after centring, itself excluded) that share its label."""
    unit = unit_rows(vectors - vectors.mean(axis=0))
    labels = np.asarray(labels)
    shares = []
    for start in range(0, len(unit), 1024):
        sims = unit[start:start + 1024] @ unit.T
        rows = np.arange(start, min(start + 1024, len(unit)))
        sims[rows - start, rows] = -np.inf
        best = np.argpartition(-sims, k, axis=1)[:, :k]
        shares.append((labels[best] == labels[rows, None]).mean(axis=1))
    return float(np.concatenate(shares).mean())


def polarity_agreement(unit: np.ndarray, effect: np.ndarray, words: np.ndarray, k: int = 10) -> float:
    """For each word id in ``words``, the share of its ``k`` nearest words (rows of ``unit``) whose mean
    logit effect has the word's sign."""
    body = unit[FIRST_WORD_ID:]
    agree = []
    for w in words:
        best, _ = nearest(body, unit[w], k, exclude=w - FIRST_WORD_ID)
        agree.append(np.mean(np.sign(effect[best + FIRST_WORD_ID]) == np.sign(effect[w])))
    return float(np.mean(agree))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "exported"))
    parser.add_argument("--sample", type=int, default=5000, help="IMDB test reviews for the agreement (default 5000)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--full", action="store_true", help="also time every representation on all 25,000 test reviews")
    args = parser.parse_args(argv)
    model = SentimentModel(args.model)
    model.weights  # read once, outside the timings
    sentences = labelled_sentences()
    texts, labels = test_reviews(limit=args.sample)
    rows = [("representation", f"dev sentences (1,000): {args.k}-NN label agreement",
             f"IMDB test ({args.sample:,}): {args.k}-NN label agreement", f"time for the {args.sample:,}")]
    sent_ids, test_ids = model.codec.encode_batch(sentences.texts), model.codec.encode_batch(texts)
    word_behaviour(model)  # built once per model (the evidence vectors read it)
    for kind in KINDS:
        t0 = time.perf_counter()
        test_vec = represent(model, test_ids, kind)
        took = time.perf_counter() - t0
        sent_vec = represent(model, sent_ids, kind)
        rows.append((kind, f"{knn_agreement(sent_vec, sentences.labels, args.k):.3f}",
                     f"{knn_agreement(test_vec, np.array(labels), args.k):.3f}", f"{took:.1f} s"))
    print(table(rows))

    t0 = time.perf_counter()
    unit, effect = word_behaviour(model)
    emb = unit_rows(model.weights["embedding"].astype(np.float32))
    frequent = np.arange(FIRST_WORD_ID, min(len(effect), FIRST_WORD_ID + 2000))
    clear = frequent[np.abs(effect[frequent]) > np.quantile(np.abs(effect[frequent]), 0.5)]
    print()
    print(table([("word neighbours (10 nearest)", "same sign of effect, the 1,000 strongest of the 2,000 most frequent words"),
                 ("raw embedding (cosine)", f"{polarity_agreement(emb, effect, clear):.3f}"),
                 ("behaviour (cosine)", f"{polarity_agreement(unit, effect, clear):.3f}")]))
    vocab = model.codec.vocab
    for word in ("superb", "awful", "boring", "plot"):
        if word in vocab.index:
            w = vocab.index[word]
            by = {}
            for name, rows_ in (("embedding", emb), ("behaviour", unit)):
                best, _ = nearest(rows_[FIRST_WORD_ID:], rows_[w], 6, exclude=w - FIRST_WORD_ID)
                by[name] = ", ".join(vocab.words[b] for b in best)
            print(f"{word}: embedding -> {by['embedding']}; behaviour -> {by['behaviour']}")
    print(f"(word behaviour built and ranked in {time.perf_counter() - t0:.1f} s)")

    if args.full:
        every, _ = test_reviews()
        ids = model.codec.encode_batch(every)
        for kind in ("both", "state"):
            t0 = time.perf_counter()
            represent(model, ids, kind)
            print(f"{kind}: {len(every):,} test reviews represented in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
