"""Are the explanations faithful? Delete each method's top-k words and watch the score fall.

For every review, words are ranked by their contribution toward the predicted class, the
top k are deleted (removed, then the review is re-padded) and the drop of the predicted
class's probability is recorded. AOPC is the mean drop over k; a method that finds the
words the model really relies on beats deleting k random words clearly.

    python -m bench.faithfulness [--reviews 500]
"""

from __future__ import annotations

import argparse

import numpy as np

from bench.common import DATA, table, test_reviews
from explain.attribution import forward
from explain.methods import METHODS
from sentilens.codec import START, pad
from sentilens.settings import THRESHOLD
from serve.runtime import SentimentModel

KS = ("1", "3", "5", "10", "20%")


def deletion_drops(model: SentimentModel, ids: list[int], deletions: list[list[int]], positive: bool) -> np.ndarray:
    """Drop of the predicted class's probability for each set of deleted token indices."""
    rows = [[START] + ids] + [[START] + [t for j, t in enumerate(ids) if j not in set(d)] for d in deletions]
    probs = model.run(pad(rows, model.maxlen)).astype(np.float64)
    if not positive:
        probs = 1.0 - probs
    return probs[0] - probs[1:]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--reviews", type=int, default=500)
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--random-draws", type=int, default=5)
    args = p.parse_args()
    model = SentimentModel()
    texts, _ = test_reviews(args.data, limit=args.reviews, seed=1)
    rng = np.random.default_rng(0)
    results = {m: [] for m in list(model.methods) + ["random"]}  # per review: drops for each k
    for text in texts:
        enc = model.codec.encode(text)
        read = [j for j, pos in enumerate(enc.positions) if pos >= 0]
        if not read:
            continue
        fwd = forward(model, text, enc)  # one pass, shared by every method
        positive = fwd.probability >= THRESHOLD
        sign = 1.0 if positive else -1.0
        sizes = [max(1, len(read) // 5) if k.endswith("%") else min(len(read), int(k)) for k in KS]
        for method in model.methods:
            scores = METHODS[method].explain(model, fwd).scores
            order = sorted(read, key=lambda j: -sign * scores[j])
            results[method].append(deletion_drops(model, enc.ids, [order[:n] for n in sizes], positive))
        draws = [deletion_drops(model, enc.ids, [list(rng.choice(read, n, replace=False)) for n in sizes], positive)
                 for _ in range(args.random_draws)]
        results["random"].append(np.mean(draws, axis=0))
    rows = [("method",) + tuple(f"k={k}" for k in KS) + ("AOPC",)]
    for method, by_k in results.items():
        means = np.mean(by_k, axis=0).tolist()
        rows.append((method,) + tuple(f"{m:.3f}" for m in means) + (f"{np.mean(means):.3f}",))
    print(f"{len(results['random'])} test reviews; mean drop of the predicted class's probability after deleting the top-k words")
    print(table(rows))


if __name__ == "__main__":
    main()
