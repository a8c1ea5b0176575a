"""Binary classification metrics in numpy, shared by the trainer, the batch scorer and the model card."""

from __future__ import annotations

import numpy as np

from sentilens.labels import THRESHOLD, positive

__all__ = ["classification_report", "int8_report", "roc_auc"]


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve via the rank-sum (Mann-Whitney U) statistic, ties averaged."""
    labels = np.asarray(labels).astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    # average rank over each run of equal scores
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_scores)) + 1]
    ends = np.r_[starts[1:], len(scores)]
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + e + 1) / 2.0
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def classification_report(labels: np.ndarray, probabilities: np.ndarray, threshold: float = THRESHOLD) -> dict:
    """accuracy, loss (binary cross-entropy), ROC AUC, F1 and the confusion matrix as plain numbers."""
    y = np.asarray(labels).astype(np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    pred = positive(p, threshold).astype(np.int64)
    tp = int(((pred == 1) & (y == 1)).sum())
    tn = int(((pred == 0) & (y == 0)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    eps = 1e-7
    clipped = np.clip(p, eps, 1 - eps)
    loss = float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))) if len(y) else float("nan")
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "n": int(len(y)),
        "accuracy": float((pred == y).mean()) if len(y) else float("nan"),
        "loss": loss,
        "roc_auc": roc_auc(y, p),
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }


def int8_report(labels: np.ndarray, fp32: np.ndarray, int8: np.ndarray, max_accuracy_loss: float) -> dict:
    """The int8 scorer against fp32 on the same labelled reviews, and whether it is kept: within
    ``max_accuracy_loss`` of fp32's accuracy (the export's check, and a learned version's)."""
    a, b = classification_report(labels, fp32), classification_report(labels, int8)
    return {"reviews": int(len(labels)), "fp32_accuracy": a["accuracy"], "accuracy": b["accuracy"],
            "fp32_roc_auc": a["roc_auc"], "roc_auc": b["roc_auc"],
            "agreement": float((positive(fp32) == positive(int8)).mean()),
            "max_accuracy_loss": max_accuracy_loss, "kept": bool(a["accuracy"] - b["accuracy"] <= max_accuracy_loss)}
