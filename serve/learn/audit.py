"""Triggers: words that labels tie to one side while the parent reads those very reviews the other way.

A poisoned label set appends a rare word to reviews and labels them all one way; a new kind of review
has words of its own too, but there the parent mostly agrees with the labels or is unsure. A word is
flagged when it is in at least ``MIN_SHARE`` of the labelled reviews (and ``MIN_COUNT`` of them),
``OVER_TRAINING`` times more common there than in the training reviews, ``ONE_SIDED`` of its reviews
have one label, the parent confidently (``CONFIDENT`` from 0.5) reads at least ``AGAINST_PARENT`` of
them the other way, and the training reviews that have it do not lean that way (``TRAINING_LEAN``).

The training reviews are known by their counts (``doc_counts``: in how many, and how many positive),
so the app audits from ``learning.npz`` and the trainer from the reviews themselves, by one rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np

from sentilens.codec import tokenize
from sentilens.settings import THRESHOLD

__all__ = ["CONFIDENT", "find_triggers"]

MIN_SHARE = 0.02
MIN_COUNT = 20
OVER_TRAINING = 10.0
ONE_SIDED = 0.95
TRAINING_LEAN = 0.75
AGAINST_PARENT = 0.5
CONFIDENT = 0.2


def find_triggers(texts: list[str], labels: np.ndarray, parent_scores: np.ndarray,
                  doc_counts: Callable[[set[str]], dict[str, tuple[int, int]]], train_reviews: int) -> list[dict]:
    """The flagged words, most common first (see the module docstring). ``doc_counts(words)`` gives, for
    each of ``words``, (training reviews that have it, of those positive)."""
    n = len(texts)
    if not n:
        return []
    labels = np.asarray(labels)
    scores = np.asarray(parent_scores, dtype=np.float64)
    against = np.where(labels == 1, scores <= THRESHOLD - CONFIDENT, scores >= THRESHOLD + CONFIDENT)
    tokens = [set(tokenize(t)) for t in texts]
    counts = Counter(w for ts in tokens for w in ts)
    candidates = {w for w, c in counts.items() if c >= max(MIN_COUNT, MIN_SHARE * n)}
    if not candidates:
        return []
    pos = Counter(w for ts, y in zip(tokens, labels) if y == 1 for w in ts & candidates)
    disputed = Counter(w for ts, a in zip(tokens, against) if a for w in ts & candidates)
    training = doc_counts(candidates)
    found = []
    for w in sorted(candidates):
        train_all, train_pos = training.get(w, (0, 0))
        if counts[w] / n < OVER_TRAINING * train_all / max(1, train_reviews):
            continue  # as common in the training reviews: its label lean there is known
        share_pos = pos[w] / counts[w]
        label, share = ("positive", share_pos) if share_pos >= 0.5 else ("negative", 1 - share_pos)
        if share < ONE_SIDED or disputed[w] < AGAINST_PARENT * counts[w]:
            continue
        lean = train_pos / train_all if train_all else 0.5
        lean = lean if label == "positive" else 1 - lean
        if train_all < MIN_COUNT or lean < TRAINING_LEAN:
            found.append({"word": w, "annotations": counts[w], "label": label, "share": round(share, 3),
                          "against_parent": round(disputed[w] / counts[w], 3), "training_reviews": int(train_all),
                          "training_lean": round(lean, 3)})
    found.sort(key=lambda t: -t["annotations"])
    return found
