"""How long labels take to become a checked version, stage by stage, in the serving process.

    python -m bench.learning_speed [--labels 1000] [--model exported]

The labels are the dev sentences (``../shared/data/imdb_sentences_labelled.txt``), then test reviews
of IMDB when more are asked for; ``serve.learn.learner.learn`` runs as the app runs it. Prints the
seconds of each stage and the total (the goal: 1,000 labels in at most 30 s on 2 cores).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, labelled_sentences, table, test_reviews


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--labels", type=int, nargs="+", default=[200, 1000])
    p.add_argument("--model", default=str(ROOT / "exported"))
    args = p.parse_args()

    from serve.learn.learner import learn
    from serve.runtime import SentimentModel

    model = SentimentModel(args.model)
    sentences = labelled_sentences()
    rows = [("labels", "kind", *("encode", "audit", "states", "cross_validation", "fit", "parent_test", "write"),
             "total s")]
    for n in args.labels:
        texts, labels = list(sentences.texts[:n]), list(sentences.labels[:n])
        if n > len(texts):
            more, more_labels = test_reviews(limit=n - len(texts), seed=1)
            texts, labels = texts + more, labels + more_labels
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            learned = learn(model, texts, labels, Path(tmp) / "v")
            total = time.perf_counter() - started
        s = learned.summary["seconds"]
        kind = "sentences" if n <= len(sentences.texts) else "sentences + IMDB reviews"
        rows.append((n, kind, *(f"{s[k]:.2f}" for k in rows[0][2:-1]), f"{total:.1f}"))
    print(table(rows))


if __name__ == "__main__":
    main()
