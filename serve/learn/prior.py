"""``learning.npz``: what in-app learning needs that the weights do not say, written at export.

- ``word_uses`` [vocab_size]: how often the training reviews used each word (as the model reads it); the
  refit's penalty grows with it (``serve.learn.fit``).
- ``word_docs`` and ``word_positive_docs`` [vocab_size], ``train_reviews``: in how many training reviews
  each word appears, and how many of those are positive; the audit compares the labels with them.
- ``check_ids`` (flat), ``check_lengths`` and ``check_labels``: a seeded sample of the test split as the
  ids the model reads (not its text; uint16 while the vocabulary fits), on which each new version's
  forgetting is measured in the app.

Numbers only: no review text travels with a model. The file is validated here, before a byte is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sentilens.errors import ModelError

__all__ = ["CHECK_REVIEWS", "LearningData", "build", "read", "write"]

CHECK_REVIEWS = 2_000  # test reviews in the forgetting sample (half positive, half negative)
KEYS = ("word_uses", "word_docs", "word_positive_docs", "train_reviews", "check_ids", "check_lengths",
        "check_labels")


@dataclass
class LearningData:
    uses: np.ndarray  # [vocab_size]: each word's uses in the training reviews
    word_docs: np.ndarray
    word_positive_docs: np.ndarray
    train_reviews: int
    check_ids: np.ndarray  # int32 [n, maxlen], padded as the codec pads
    check_labels: np.ndarray  # int32 [n]


def build(train_ids: np.ndarray, train_labels: np.ndarray, test_ids: np.ndarray, test_labels: np.ndarray,
          vocab_size: int, sample: int = CHECK_REVIEWS, seed: int = 0) -> dict[str, np.ndarray]:
    """The arrays of ``learning.npz`` from the padded training and test ids (see the module docstring)."""
    train_ids = np.asarray(train_ids, np.int64)
    word_uses = np.bincount(train_ids[train_ids != 0], minlength=vocab_size)
    word_docs = np.zeros(vocab_size, np.int64)
    word_positive = np.zeros(vocab_size, np.int64)
    for row, label in zip(train_ids, np.asarray(train_labels)):
        present = np.unique(row[row != 0])
        word_docs[present] += 1
        if label == 1:
            word_positive[present] += 1
    labels = np.asarray(test_labels)
    rng = np.random.default_rng(seed)
    half = sample // 2
    pick = np.concatenate([rng.permutation(np.nonzero(labels == k)[0])[:half] for k in (0, 1)])
    pick.sort()
    rows = np.asarray(test_ids, np.int32)[pick]
    live = rows != 0
    id_type = np.uint16 if vocab_size <= np.iinfo(np.uint16).max + 1 else np.int32
    return {"word_uses": word_uses.astype(np.uint32),
            "word_docs": word_docs.astype(np.uint32), "word_positive_docs": word_positive.astype(np.uint32),
            "train_reviews": np.int64(len(train_ids)), "check_ids": rows[live].astype(id_type),
            "check_lengths": live.sum(axis=1).astype(np.int32), "check_labels": labels[pick].astype(np.int8)}


def write(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def read(path: str | Path, vocab_size: int, maxlen: int) -> LearningData:
    """``learning.npz`` checked against the model it belongs to; a bad file is one ``ModelError`` line."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in KEYS}
    except (OSError, ValueError, KeyError, EOFError) as err:
        raise ModelError(f"{path}: not a learning file this code reads ({str(err).splitlines()[0][:200]})") from None
    shapes = {"word_uses": (vocab_size,), "word_docs": (vocab_size,),
              "word_positive_docs": (vocab_size,), "train_reviews": ()}
    for key, shape in shapes.items():
        a = arrays[key]
        if a.shape != shape or a.dtype.kind not in "ui" or (a < 0).any():
            raise ModelError(f"{path}: {key} must be {list(shape)} non-negative integers, got {list(a.shape)} {a.dtype}")
    lengths, ids, labels = arrays["check_lengths"], arrays["check_ids"], arrays["check_labels"]
    if (lengths.ndim != 1 or labels.shape != lengths.shape or ids.ndim != 1 or ids.dtype.kind not in "ui"
            or (lengths < 0).any()
            or (lengths > maxlen).any() or int(lengths.sum()) != len(ids) or not np.isin(labels, (0, 1)).all()
            or (len(ids) and (ids.min() < 1 or ids.max() >= vocab_size))):
        raise ModelError(f"{path}: the check sample's ids, lengths and labels do not fit this model")
    padded = np.zeros((len(lengths), maxlen), np.int32)
    row = np.repeat(np.arange(len(lengths)), lengths)
    col = maxlen - np.repeat(lengths, lengths) + (np.arange(len(ids)) - np.repeat(np.cumsum(lengths) - lengths, lengths))
    padded[row, col] = ids
    return LearningData(arrays["word_uses"].astype(np.int64), arrays["word_docs"].astype(np.int64), arrays["word_positive_docs"].astype(np.int64),
                        int(arrays["train_reviews"]), padded, labels.astype(np.int32))
