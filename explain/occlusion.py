"""Occlusion (leave one word out): each read word in turn replaced by the OOV id.

Contribution = p(review) - p(variant). Replacing rather than deleting keeps every other word at
its position and the truncation window where it was, so the difference measures the word and
nothing else. The review's own probability comes from the forward pass the caller already has.

A fused LSTM export is replayed in numpy with the variants sharing the review's states up to
their word (``explain.replay``: half the steps); any other model scores every variant in one
batched onnxruntime call (``batched``, also the oracle the replay is tested against).
"""

from __future__ import annotations

import numpy as np

from explain.attribution import Attribution, Forward, ScoringModel, per_token, prepared
from explain.replay import LSTM_ROLES, Replay, occluded
from sentilens.codec import OOV

__all__ = ["batched", "occlusion", "replayed"]


def occlusion(model: ScoringModel, fwd: Forward, score_variants=None) -> Attribution:
    """``score_variants(model, padded, read)`` gives P(positive) of each variant: ``replayed`` for a fused
    LSTM, ``batched`` otherwise, unless one is given (the reference passes ``batched``)."""
    enc, read = fwd.enc, fwd.read_positions
    by_position = np.zeros(len(enc.padded))
    if read:
        score = score_variants or (replayed if LSTM_ROLES <= set(model.weights) else batched)
        by_position[read] = fwd.probability - score(model, enc.padded, read)
    return Attribution("occlusion", "probability", enc.tokens, per_token(enc, by_position),
                       fwd.probability, fwd.probability - float(by_position.sum()), fwd.probability)


def replayed(model: ScoringModel, padded: np.ndarray, read: list[int]) -> np.ndarray:
    """P(positive) of every variant, the fused LSTM replayed in numpy from the review's shared states."""
    return occluded(prepared(Replay, model.weights), padded, read, getattr(model, "pad_table", None))


def batched(model: ScoringModel, padded: np.ndarray, read: list[int]) -> np.ndarray:
    """P(positive) of every variant, all scored by onnxruntime in one batch (the padding-skipping
    scorer when the model has one: every variant has the review's length)."""
    variants = np.repeat(padded[None, :], len(read), axis=0)
    variants[np.arange(len(read)), read] = OOV
    score = getattr(model, "score_ids", model.run)
    return score(variants).astype(np.float64)
