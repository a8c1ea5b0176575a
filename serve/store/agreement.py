"""How much annotators agree: Cohen's kappa for each pair, Krippendorff's alpha over everyone.

Both are chance-corrected: 1 is perfect agreement, 0 what labelling at random with the same label
frequencies would give, below 0 worse than that. They take a few lines of numpy each, so the
serving path needs no statistics package; ``tests/test_agreement.py`` holds them to
scikit-learn's ``cohen_kappa_score``, the ``krippendorff`` package and hand-computed cases.
Skips are not labels: a review counts for a pair (or for alpha) only where both (or at least two)
gave pos or neg.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np

from sentilens.labels import DECIDED, STORED

__all__ = ["CATEGORIES", "cohen_kappa", "krippendorff_alpha", "team_agreement"]

CATEGORIES = DECIDED  # what a vote must be to count (skips are not labels)


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa of two annotators' labels on the same reviews (None when undefined: no review,
    or both always gave one and the same label, so chance agreement is already 1)."""
    if len(a) != len(b):
        raise ValueError("the two label lists must cover the same reviews")
    if not a:
        return None
    cats = sorted(set(a) | set(b))
    x, y = np.searchsorted(cats, a), np.searchsorted(cats, b)
    observed = float(np.mean(x == y))
    expected = float(np.bincount(x, minlength=len(cats)) @ np.bincount(y, minlength=len(cats))) / len(a) ** 2
    return None if expected == 1.0 else (observed - expected) / (1.0 - expected)


def krippendorff_alpha(units: Sequence[Sequence[str]]) -> float | None:
    """Krippendorff's alpha for nominal labels; each unit is the labels one review received (any number
    of annotators, missing ones simply absent). None when undefined (fewer than two pairable labels,
    or a single category in all of them)."""
    cats = {c: k for k, c in enumerate(sorted({v for u in units for v in u}))}
    o = np.zeros((len(cats), len(cats)))  # the coincidence matrix
    for unit in units:
        m = len(unit)
        if m < 2:
            continue
        counts = np.bincount([cats[v] for v in unit], minlength=len(cats)).astype(float)
        o += (np.outer(counts, counts) - np.diag(counts)) / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    disagree_expected = n * n - float(n_c @ n_c)
    if n < 2 or disagree_expected == 0:
        return None
    disagree_observed = n - float(np.trace(o))
    return 1.0 - (n - 1) * disagree_observed / disagree_expected


def team_agreement(votes: Mapping[str, Mapping[str, str]]) -> dict:
    """From item -> {annotator: label}: alpha overall; kappa per pair of annotators (with how many
    reviews both labelled); per annotator their labels and how often they match the others on the
    reviews they share."""
    labelled = {item: {who: lab for who, lab in v.items() if lab in CATEGORIES} for item, v in votes.items()}
    people = sorted({who for v in votes.values() for who in v})
    pairs = []
    for a, b in combinations(people, 2):
        shared = [(v[a], v[b]) for v in labelled.values() if a in v and b in v]
        pairs.append({"a": a, "b": b, "reviews": len(shared),
                      "kappa": cohen_kappa([x for x, _ in shared], [y for _, y in shared])})
    per = []
    for who in people:
        own = [v for v in votes.values() if who in v]
        matches = [v[who] == other for v in labelled.values() if who in v for o, other in v.items() if o != who]
        per.append({"annotator": who, "votes": len(own),
                    **{label: sum(v[who] == label for v in own) for label in STORED},
                    "agreement": float(np.mean(matches)) if matches else None, "compared": len(matches)})
    return {"alpha": krippendorff_alpha([list(v.values()) for v in labelled.values()]), "pairs": pairs,
            "annotators": per, "reviews": sum(len(v) >= 2 for v in labelled.values())}
