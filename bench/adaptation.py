"""What does annotating buy, and from how many labels? A learning curve on short movie sentences.

    python -m bench.adaptation [--labels 50 100 200 500] [--seeds 0 1 2] [--model exported]

For each seed the 1,000 labelled sentences of ``../shared/data/imdb_sentences_labelled.txt`` are split
at random into a pool of 500 that an annotator labels and 500 that measure the result. For each
budget, labels are taken from the pool either in the Annotate queue's "most uncertain first" order
(the model's |p - 0.5| smallest; each peer by its own probabilities) or at random, and the model is
learns from them (``serve.learn.learner.learn``: the app's "Learn from these labels" and ``python -m
trainer --init``, no TensorFlow) while each peer is refitted on its training reviews plus them (each
label counted ``--peer-weights`` times). The table gives the mean accuracy on the 500 held-out
sentences over the seeds, its spread (min-max), and the accuracy on the 25,000 IMDB test reviews after
(forgetting). At 500 labels both orders take the whole pool. ``--peers`` with no names times this model alone.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import DATA, ROOT, labelled_sentences, table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--model", default=str(ROOT / "exported"))
    p.add_argument("--labels", type=int, nargs="+", default=[50, 100, 200, 500])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--peers", nargs="*", default=["word_pairs", "nb_word_pairs"])
    p.add_argument("--peer-weights", type=float, nargs="*", default=[1.0, 10.0],
                   help="how many training reviews a label counts as when a peer is refitted")
    args = p.parse_args()

    from serve.runtime import SentimentModel
    from trainer.baseline import PEERS, fit_peer
    from trainer.data import Split, load_files

    corpus = load_files(args.data)
    sentences = labelled_sentences()
    model = SentimentModel(args.model)

    def accuracy(scores: np.ndarray, split: Split) -> float:
        return float(((scores >= 0.5) == (split.labels == 1)).mean())

    results: dict[tuple, list[tuple[float, float]]] = {}  # (who, labels, order) -> [(sentences, imdb)] per seed
    started = time.perf_counter()
    peers = {name: fit_peer(name, corpus.train.texts, corpus.train.labels) for name in args.peers}
    before = {("this model", None): (model.predict, accuracy(model.predict(corpus.test.texts), corpus.test))}
    for name, peer in peers.items():
        imdb = accuracy(peer.predict(corpus.test.texts), corpus.test)
        before |= {(name, w): (peer.predict, imdb) for w in args.peer_weights}
    for seed in args.seeds:
        order = np.random.default_rng(seed).permutation(len(sentences))
        pool, held = sentences.take(order[:500]), sentences.take(order[500:1000])
        for who, (predict, imdb) in before.items():
            results.setdefault((who, 0, "-"), []).append((accuracy(predict(held.texts), held), imdb))
            orders = {"uncertain first": np.argsort(np.abs(predict(pool.texts) - 0.5), kind="stable"),
                      "random": np.random.default_rng(1000 + seed).permutation(len(pool))}
            for n in args.labels:
                for name, ranked in orders.items():
                    if n >= len(pool) and name != "random":
                        continue  # the whole pool: the order does not matter
                    labels = pool.take(ranked[:n])
                    results.setdefault((who, n, name if n < len(pool) else "(whole pool)"), []).append(
                        adapt(who, labels, held, corpus, args.model, fit_peer, seed))
        print(f"seed {seed} done after {time.perf_counter() - started:.0f} s", flush=True)
        print_table(results, PEERS)


def adapt(who, labels, held, corpus, model_dir, fit_peer, seed) -> tuple[float, float]:
    """(held-out sentence accuracy, IMDB test accuracy) after learning ``labels``; ``who`` is
    ("this model", None) (the fine-tune chooses its weight) or (peer, weight)."""
    from serve.runtime import SentimentModel

    def accuracy(scores, split):
        return float(((scores >= 0.5) == (split.labels == 1)).mean())

    from serve.learn.learner import learn

    name, weight = who
    if name == "this model":
        with tempfile.TemporaryDirectory() as tmp:
            learn(SentimentModel(model_dir), labels.texts, labels.labels, Path(tmp) / "tuned", seed=seed)
            tuned = SentimentModel(Path(tmp) / "tuned")
            return accuracy(tuned.predict(held.texts), held), accuracy(tuned.predict(corpus.test.texts), corpus.test)
    both = corpus.train + labels
    peer = fit_peer(name, both.texts, both.labels, np.r_[np.ones(len(corpus.train)), np.full(len(labels), weight)])
    return accuracy(peer.predict(held.texts), held), accuracy(peer.predict(corpus.test.texts), corpus.test)


def print_table(results: dict, peers: dict) -> None:
    rows = [("model", "labels", "order", "held-out sentences: mean", "min-max", "IMDB test after: mean", "seeds")]
    for ((name, weight), n, order), runs in results.items():
        s = np.array([r[0] for r in runs])
        imdb = np.array([r[1] for r in runs])
        who = name if weight is None else f"{peers[name]}, weight {weight:g}"
        rows.append((who, n, order, f"{s.mean():.4f}", f"{s.min():.4f}-{s.max():.4f}",
                     f"{imdb.mean():.4f}", len(runs)))
    print(table(rows), flush=True)


if __name__ == "__main__":
    main()
