"""How far two explanations of the same review agree, in terms that do not depend on their units
(one method speaks in probability points, another in logits): the rank correlation of the word
scores, the overlap of their strongest words, and how often they give a word the same direction.
Used by Analyze's "two methods side by side"; ``tests/test_explain.py`` holds Spearman's rho to
scipy's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Concordance", "concordance", "ranks", "spearman"]


def ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their average rank (as Spearman's rho needs)."""
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_x)) + 1]
    stops = np.r_[starts[1:], len(x)]
    out = np.empty(len(x))
    for a, b in zip(starts, stops):
        out[order[a:b]] = (a + b + 1) / 2  # the mean of ranks a+1 .. b
    return out


def spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Spearman's rank correlation; None when undefined (fewer than two words, or one side constant)."""
    ra, rb = ranks(np.asarray(a, float)), ranks(np.asarray(b, float))
    if len(ra) < 2 or ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


@dataclass(frozen=True)
class Concordance:
    words: int  # words both methods scored
    rho: float | None  # Spearman's rank correlation of the scores
    k: int  # how many strongest words are compared
    shared_top: list[int]  # token positions among both methods' k strongest
    same_sign: float | None  # share of words both push the same way (zeros aside)


def concordance(a: Sequence[float | None], b: Sequence[float | None], k: int = 5) -> Concordance:
    """Agreement of two score lists over the same tokens (None: a token the method did not score)."""
    both = [i for i, (x, y) in enumerate(zip(a, b)) if x is not None and y is not None]
    x = np.array([a[i] for i in both], float)
    y = np.array([b[i] for i in both], float)
    k = min(k, len(both))
    strongest = lambda v: {both[i] for i in np.argsort(-np.abs(v), kind="stable")[:k]}  # noqa: E731
    signed = (x != 0) & (y != 0)
    return Concordance(len(both), spearman(x, y), k, sorted(strongest(x) & strongest(y)),
                       float(np.mean(np.sign(x[signed]) == np.sign(y[signed]))) if signed.any() else None)
