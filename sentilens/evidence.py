"""Word and word-pair evidence: the linear half of the hybrid model, defined once, in numpy.

Every position of a padded review carries two numbers: the weight of its word
(``unigram[id]``) and the weight of the pair its word completes with the word before it
(``pairs[pair_bucket(previous id, id)]``). Pads carry nothing; neither does the pair of the first
id the model reads (its predecessor was never read), nor a pair that starts on a pad. The pairs
are hashed into a fixed number of buckets, so any two words have a weight without a pair
vocabulary, and a fine-tune that adds words to the vocabulary adds their pairs with them.

The trainer fits the weights (``trainer.evidence``), the Keras graph computes the same thing
(``trainer.model``), the padding-skipping graph too (``trainer.fastpath``), and the explanations
read it here; the export's parity checks hold the three to this definition.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GATE_MAX", "PAIR_MULTIPLIERS", "pair_buckets", "token_evidence"]

# bucket(previous, current) = (previous * A + current * B) mod buckets, in int64 (exact for any id
# below 2**31 / 2**21); two odd primes so that neither word's id alone decides the bucket.
PAIR_MULTIPLIERS = (1_000_003, 7_919)
GATE_MAX = 2.0  # a word's evidence counts between 0 and twice its weight, as the context decides


def pair_buckets(ids: np.ndarray, buckets: int) -> np.ndarray:
    """int64 [..., T]: the bucket of (previous id, id) at every position, -1 where there is no pair."""
    ids = np.asarray(ids, dtype=np.int64)
    prev = np.zeros_like(ids)
    prev[..., 1:] = ids[..., :-1]
    a, b = PAIR_MULTIPLIERS
    bucket = (prev * a + ids * b) % buckets
    return np.where((prev != 0) & (ids != 0), bucket, -1)


def token_evidence(ids: np.ndarray, unigram: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """float32 [..., T, 2]: (word weight, pair weight) at every position; zero on pads. The tables
    may be float16 as exported: only the rows looked up are widened."""
    ids = np.asarray(ids, dtype=np.int64)
    unigram, pairs = np.asarray(unigram).reshape(-1), np.asarray(pairs).reshape(-1)
    bucket = pair_buckets(ids, len(pairs))
    out = np.zeros(ids.shape + (2,), np.float32)
    out[..., 0] = np.where(ids != 0, unigram[ids].astype(np.float32), 0.0)
    out[..., 1] = np.where(bucket >= 0, pairs[np.maximum(bucket, 0)].astype(np.float32), 0.0)
    return out
