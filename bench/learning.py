"""Does the model beat the simple peers a user could pick instead, in domain, out of domain, and when
it learns from annotations?

    python -m bench.learning [--model exported] [--weight 10]

In domain: the 25,000 IMDB test reviews. Out of domain: the labelled single sentences of
``../shared/data/imdb_sentences_labelled.txt``, odd lines (500; numbered from 0, as issue 18 did). From
annotations: the even lines (500) as annotations, the model fine-tuned on them (``trainer.finetune``,
the code of ``python -m trainer --init``) and every peer refitted on its training reviews plus them
(plain, and each annotation counted ``--weight`` times), then both tests again.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import DATA, ROOT, labelled_sentences, table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--model", default=str(ROOT / "exported"))
    p.add_argument("--weight", type=float, default=None, help="annotation weight (default: the fine-tune chooses)")
    p.add_argument("--peer-weight", type=float, default=10.0, help="the peers' second weight (issue 18 used 10)")
    args = p.parse_args()

    from serve.runtime import SentimentModel
    from trainer.baseline import PEERS, fit_peer
    from trainer.data import load_files
    from trainer.finetune import fine_tune

    corpus = load_files(args.data)
    odd, even = labelled_sentences(lines="odd"), labelled_sentences(lines="even")

    def accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
        return float(((scores >= 0.5) == (labels == 1)).mean())

    rows = [("model", "IMDB test", "sentences (odd lines)", "after 500 labels: sentences", "gain (points)",
             "IMDB test after", "change (points)", "seconds")]

    def row(name, before_imdb, before_odd, after_imdb, after_odd, seconds):
        rows.append((name, f"{before_imdb:.4f}", f"{before_odd:.4f}", f"{after_odd:.4f}",
                     f"{100 * (after_odd - before_odd):+.1f}", f"{after_imdb:.4f}",
                     f"{100 * (after_imdb - before_imdb):+.2f}", f"{seconds:.0f}"))
        print(table(rows), flush=True)

    model = SentimentModel(args.model)
    imdb_before = accuracy(model.predict(corpus.test.texts), corpus.test.labels)
    odd_before = accuracy(model.predict(odd.texts), odd.labels)
    with tempfile.TemporaryDirectory() as tmp:
        notes = Path(tmp) / "even.jsonl"
        notes.write_text("".join(json.dumps({"text": t, "label": int(y)}) + "\n" for t, y in zip(even.texts,
                                                                                                  even.labels)))
        t0 = time.perf_counter()
        meta = fine_tune(args.model, corpus, even, [notes], Path(tmp) / "tuned", weight=args.weight,
                         log=lambda *_: None)
        tuned = SentimentModel(Path(tmp) / "tuned")
        row(f"this model ({model.artifact.capabilities.cell}), fine-tuned, weight {meta['lineage']['weight']:g}",
            imdb_before, odd_before,
            accuracy(tuned.predict(corpus.test.texts), corpus.test.labels),
            accuracy(tuned.predict(odd.texts), odd.labels), time.perf_counter() - t0)

    for name, label in PEERS.items():
        peer = fit_peer(name, corpus.train.texts, corpus.train.labels)
        imdb, sentences = accuracy(peer.predict(corpus.test.texts), corpus.test.labels), accuracy(
            peer.predict(odd.texts), odd.labels)
        for w in (1.0, args.peer_weight):
            t0 = time.perf_counter()
            both = corpus.train + even
            refit = fit_peer(name, both.texts, both.labels, np.r_[np.ones(len(corpus.train)), np.full(len(even), w)])
            row(f"{label}, refitted, weight {w:g}", imdb, sentences,
                accuracy(refit.predict(corpus.test.texts), corpus.test.labels),
                accuracy(refit.predict(odd.texts), odd.labels), time.perf_counter() - t0)


if __name__ == "__main__":
    main()
