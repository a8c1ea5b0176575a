"""Refit the word evidence to people's labels, with the parent's table as the prior.

Each labelled review's logit is the parent's plus the gated sum of the *changes* to the weights of
the words it reads (``serve.learn.states``: the gates are the parent's). The changes are fitted by
L2-regularised logistic regression with the parent's logit as an offset, so that no label leaves
the parent where it was. What was measured on the dev sentences (5 random splits; docs/results.md)
decided the rest:

- the penalty of each word grows with how often the training reviews used it (``BASE + PER_USE *
  uses``): a word the parent saw ten thousand times moves little for one label, a word it rarely
  saw moves freely (a uniform penalty, at its best, bought nothing);
- ``hold`` keeps the changes from moving the *average* training review (``shift``: each word's mean
  count per review): without it the labels of short sentences moved every IMDB logit by +0.7 on
  average and cost 2.5 points of IMDB accuracy; with it, 0.3, at the same gain on the sentences;
- the start id, read once by every review, is the one weight with a light penalty (``START_PENALTY``):
  with the hold, it acts as a bias that short texts feel and long ones do not;
- word pairs are not refitted: on a few hundred labels they cost accuracy (0.876 -> 0.873 at 500).

Solved by Newton's method with conjugate gradients on the sparse design, in numpy: seconds for
thousands of labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sentilens.codec import START
from serve.learn.states import Trace

__all__ = ["BASE", "HOLD", "PER_USE", "START_PENALTY", "Design", "cross_validated", "design", "fit", "penalty"]

# Chosen on the dev sentences (bench/adaptation.py, 5 random splits; docs/results.md).
BASE = 2.0  # the penalty of a weight the training reviews never used
PER_USE = 0.003  # ... plus this much for each time they used it
START_PENALTY = 1.0  # the start id's (a bias for short texts, given the hold)
HOLD = 1e3  # how hard the average training review's logit is held where it was
NEWTON_STEPS = 30
CG_STEPS = 60


@dataclass
class Design:
    """The sparse design of the labelled reviews: column ``j`` is the word id ``features[j]``, entries
    (``row``, ``col``, ``value`` = the gate)."""

    n: int
    features: np.ndarray
    row: np.ndarray
    col: np.ndarray
    value: np.ndarray
    offset: np.ndarray  # the parent's logit of each review

    def times(self, theta: np.ndarray) -> np.ndarray:
        """X @ theta (for every review)."""
        return np.bincount(self.row, weights=self.value * theta[self.col], minlength=self.n)

    def transposed(self, r: np.ndarray) -> np.ndarray:
        """X.T @ r."""
        return np.bincount(self.col, weights=self.value * r[self.row], minlength=len(self.features))

    def take(self, rows: np.ndarray) -> Design:
        """The design of the reviews ``rows`` (renumbered), over the same features."""
        new = np.full(self.n, -1, np.int64)
        new[rows] = np.arange(len(rows))
        keep = new[self.row] >= 0
        return Design(len(rows), self.features, new[self.row[keep]], self.col[keep], self.value[keep],
                      self.offset[rows])


def design(trace: Trace) -> Design:
    """The features a labelled set reads: its words (ids)."""
    features, col = np.unique(trace.word, return_inverse=True)
    return Design(trace.n, features, trace.row, col.reshape(-1), trace.gate, trace.logit)


def penalty(features: np.ndarray, uses: np.ndarray, base: float = BASE, per_use: float = PER_USE) -> np.ndarray:
    """Each word's L2 penalty from how often the training reviews used it (``uses``: per word id)."""
    lam = base + per_use * uses[features].astype(np.float64)
    lam[features == START] = START_PENALTY
    return lam


def fit(d: Design, labels: np.ndarray, lam: np.ndarray, weights: np.ndarray | None = None,
        shift: np.ndarray | None = None, hold: float = 0.0) -> np.ndarray:
    """The change of each feature's weight (float64 [len(d.features)]) minimising the weighted log loss
    of the labels with the parent's logit as offset, plus ``sum(lam * change**2) / 2``, plus
    ``hold * (shift @ change)**2 / 2``: with ``shift`` the features' mean count in a training review,
    ``shift @ change`` is how far the changes move the average training review's logit."""
    y = np.asarray(labels, np.float64)
    w = np.ones(d.n) if weights is None else np.asarray(weights, np.float64)
    theta = np.zeros(len(d.features))
    f = np.zeros(len(theta)) if shift is None else np.asarray(shift, np.float64)
    for _ in range(NEWTON_STEPS):
        z = d.offset + d.times(theta)
        p = 1.0 / (1.0 + np.exp(-z))
        grad = d.transposed(w * (p - y)) + lam * theta + hold * f * (f @ theta)
        curvature = w * p * (1 - p)
        diagonal = lam + hold * f * f + np.bincount(d.col, weights=curvature[d.row] * d.value ** 2,
                                                    minlength=len(theta))
        step = _conjugate_gradient(lambda v: d.transposed(curvature * d.times(v)) + lam * v + hold * f * (f @ v),
                                   grad, diagonal)
        theta -= step
        if np.abs(step).max() < 1e-6:
            break
    return theta


def _conjugate_gradient(hess, b: np.ndarray, diagonal: np.ndarray) -> np.ndarray:
    """Solve hess(x) = b (symmetric positive definite), preconditioned by its diagonal."""
    x = np.zeros_like(b)
    r = b.copy()
    zr = r / diagonal
    direction = zr.copy()
    rz = r @ zr
    for _ in range(CG_STEPS):
        hd = hess(direction)
        alpha = rz / (direction @ hd)
        x += alpha * direction
        r -= alpha * hd
        if np.sqrt(r @ r) <= 1e-8 * (1 + np.sqrt(b @ b)):
            break
        zr = r / diagonal
        rz, previous = r @ zr, rz
        direction = zr + (rz / previous) * direction
    return x


def cross_validated(d: Design, labels: np.ndarray, lam: np.ndarray, folds: int = 5, seed: int = 0,
                    shift: np.ndarray | None = None, hold: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(the parent's logit, the learned model's logit) of every review, each learned without its fold:
    what the labels buy on reviews they did not include."""
    n = d.n
    fold = np.random.default_rng(seed).permutation(n) % max(2, min(folds, n))
    learned = d.offset.copy()
    for k in np.unique(fold):
        train, held = np.nonzero(fold != k)[0], np.nonzero(fold == k)[0]
        theta = fit(d.take(train), labels[train], lam, shift=shift, hold=hold)
        learned[held] = d.take(held).offset + d.take(held).times(theta)
    return d.offset.copy(), learned
