"""Issue 34's work at the scale of the 25,000 test reviews, on the server's side: counterfactuals over a slice,
and finding and labelling in bulk in an annotation queue of 25,000 reviews (the figures in docs/guide.md).

    python -m bench.at_scale [--reviews 25000]

Run it on an idle machine: it prints seconds by the wall clock, one run each.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import DATA, table, test_reviews
from serve.app.annotate_bulk import BulkPanel
from serve.app.data_counterfactuals import MOST, counterfactual_table
from serve.runtime import DEFAULT_DIR, SentimentModel
from serve.store.annotations import AnnotationStore
from serve.store.bulk import Query, find, label_many


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--reviews", type=int, default=25000)
    p.add_argument("--data", default=str(DATA))
    args = p.parse_args()
    model = SentimentModel(DEFAULT_DIR)
    texts, labels = test_reviews(args.data, limit=args.reviews, seed=0)
    scores, scoring = timed(lambda: model.predict(texts))
    rows = [("step", "reviews", "seconds")]
    rows.append(("score the file (for reference)", f"{len(texts):,}", f"{scoring:.2f}"))
    part = pd.DataFrame({"row": np.arange(1, len(texts) + 1), "text": texts})
    (summary, edits), seconds = timed(lambda: counterfactual_table(model, part, ["negate", "opposite", "drop"]))
    rows.append((f"counterfactuals, 3 generators (an even sample of {MOST:,})", f"{min(MOST, len(texts)):,}",
                 f"{seconds:.2f}"))
    with tempfile.TemporaryDirectory() as tmp:
        store = AnnotationStore(Path(tmp) / "queue.db")
        _, seconds = timed(lambda: store.add_items(
            (f"test#{i}", t, y, float(s)) for i, (t, y, s) in enumerate(zip(texts, labels, scores))))
        rows.append(("queue the file", f"{len(texts):,}", f"{seconds:.2f}"))
        found, seconds = timed(lambda: find(store, "ana", Query(words="boring")))
        rows.append(('find the word "boring" (first 1,000 listed)', f"{len(found):,}", f"{seconds:.2f}"))
        found, seconds = timed(lambda: find(store, "ana", Query(score=(0.0, 0.1))))
        rows.append(("find P(positive) below 0.1 (first 1,000 listed)", f"{len(found):,}", f"{seconds:.2f}"))
        done, seconds = timed(lambda: label_many(store, [i.item_id for i in found], "neg", "ana", model.sha256))
        rows.append(("label them in one action", f"{len(done.labelled):,}", f"{seconds:.2f}"))
        undone, seconds = timed(lambda: store.undo("ana"))
        rows.append(("undo the action", f"{undone.together:,}", f"{seconds:.2f}"))
        panel = BulkPanel(model, store, lambda typed, request: typed)
        like, seconds = timed(lambda: panel.like("test#0"))
        rows.append(("reviews like one: index the queue, first time", f"{len(texts):,}", f"{seconds:.2f}"))
        like, seconds = timed(lambda: panel.like("test#1"))
        rows.append(("reviews like one: the next search", f"{len(like):,}", f"{seconds:.3f}"))
    print(summary)
    print(table(rows))


if __name__ == "__main__":
    main()
