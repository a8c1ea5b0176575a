"""Are the explanations faithful? Delete each method's top-k words and watch the score fall; keep
only them and watch how much of the score they hold.

For every review, words are ranked by their contribution toward the predicted class. ERASER's two
measures (DeYoung et al. 2020), each averaged over k (AOPC):
- comprehensiveness: the top k are deleted (removed, then the review is re-padded) and the drop of the
  predicted class's probability is recorded; higher is better, and a method that finds the words the
  model really relies on beats deleting k random words clearly;
- sufficiency: only the top k are kept (in their order) and the drop is recorded; lower is better
  (the words alone carry the verdict), and random words are the floor to beat.

    python -m bench.faithfulness [--reviews 500] [--lime]

``--lime`` adds LIME (the ``lime`` package, bench extra) on the same model and reviews as a peer row:
position-aware (``bow=False``: a removed word is replaced by an unknown word, as occlusion does), over
our own tokens, ``--lime-samples`` perturbations per review. Milliseconds per review are printed for
every method.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench.common import DATA, table, test_reviews
from explain.attribution import forward
from explain.methods import METHODS
from sentilens.codec import START, pad
from sentilens.labels import POS, label_of
from serve.runtime import DEFAULT_DIR, SentimentModel

KS = ("1", "3", "5", "10", "20%")


def deletion_drops(model: SentimentModel, ids: list[int], deletions: list[list[int]], positive: bool,
                   keep: bool = False) -> np.ndarray:
    """Drop of the predicted class's probability for each set of deleted token indices (``keep``: for
    each set kept alone, everything else deleted)."""
    rows = [[START] + ids] + [[START] + [t for j, t in enumerate(ids) if (j in set(d)) == keep] for d in deletions]
    probs = model.score_ids(pad(rows, model.maxlen)).astype(np.float64)
    if not positive:
        probs = 1.0 - probs
    return probs[0] - probs[1:]


def lime_scores(model: SentimentModel, tokens: list[str], samples: int, seed: int) -> list[float]:
    """LIME's weight for each token (positive: toward positive), on the space-joined tokens so that
    its features are exactly ours; classifier: the model on the perturbed texts."""
    from lime.lime_text import LimeTextExplainer

    explainer = LimeTextExplainer(class_names=["negative", "positive"], split_expression=lambda s: s.split(" "),
                                  bow=False, random_state=seed)

    def classify(texts: list[str]) -> np.ndarray:
        p = model.predict(texts).astype(np.float64)
        return np.stack([1 - p, p], axis=1)

    exp = explainer.explain_instance(" ".join(tokens), classify, num_features=len(tokens), num_samples=samples,
                                     labels=(1,))
    scores = [0.0] * len(tokens)
    for index, weight in exp.as_map()[1]:
        scores[index] = weight
    return scores


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--reviews", type=int, default=500)
    p.add_argument("--model", default=str(DEFAULT_DIR), help="an export directory (default: the committed model)")
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--random-draws", type=int, default=5)
    p.add_argument("--lime", action="store_true", help="add LIME as a peer row (pip install lime)")
    p.add_argument("--lime-samples", type=int, default=1000)
    args = p.parse_args()
    model = SentimentModel(args.model)
    texts, _ = test_reviews(args.data, limit=args.reviews, seed=1)
    rng = np.random.default_rng(0)
    names = list(model.methods) + (["lime"] if args.lime else [])
    results = {m: [] for m in names + ["random"]}  # per review: drops for each k (comprehensiveness)
    kept_only = {m: [] for m in names + ["random"]}  # per review: drops for each k with only the top k kept
    seconds = {m: 0.0 for m in names}
    for text in texts:
        enc = model.codec.encode(text)
        read = [j for j, pos in enumerate(enc.positions) if pos >= 0]
        if not read:
            continue
        fwd = forward(model, text, enc)  # one pass, shared by every method
        positive = label_of(fwd.probability) == POS
        sign = 1.0 if positive else -1.0
        sizes = [max(1, len(read) // 5) if k.endswith("%") else min(len(read), int(k)) for k in KS]
        for method in names:
            t0 = time.perf_counter()
            if method == "lime":  # LIME sees only the words the model reads (the last maxlen)
                kept = lime_scores(model, [enc.tokens[j] for j in read], args.lime_samples, seed=len(results["random"]))
                scores = dict(zip(read, kept))
            else:
                scores = METHODS[method].explain(model, fwd).scores
            seconds[method] += time.perf_counter() - t0
            order = sorted(read, key=lambda j: -sign * scores[j])
            tops = [order[:n] for n in sizes]
            results[method].append(deletion_drops(model, enc.ids, tops, positive))
            kept_only[method].append(deletion_drops(model, enc.ids, tops, positive, keep=True))
        picks = [[list(rng.choice(read, n, replace=False)) for n in sizes] for _ in range(args.random_draws)]
        results["random"].append(np.mean([deletion_drops(model, enc.ids, d, positive) for d in picks], axis=0))
        kept_only["random"].append(np.mean([deletion_drops(model, enc.ids, d, positive, keep=True) for d in picks],
                                           axis=0))
    rows = [("method",) + tuple(f"k={k}" for k in KS) + ("comprehensiveness (AOPC)", "sufficiency (AOPC)",
                                                         "ms/review")]
    n = len(results["random"])
    for method, by_k in results.items():
        means = np.mean(by_k, axis=0).tolist()
        ms = f"{seconds[method] / n * 1000:.1f}" if method in seconds else "-"
        rows.append((method,) + tuple(f"{m:.3f}" for m in means)
                    + (f"{np.mean(means):.3f}", f"{np.mean(kept_only[method]):.3f}", ms))
    print(f"{n} test reviews; k columns: mean drop of the predicted class's probability after deleting the top-k "
          "words; sufficiency: the drop with only the top-k words kept (lower is better)")
    print(table(rows))


if __name__ == "__main__":
    main()
