"""Occlusion (leave one word out): each read word in turn replaced by the OOV id.

All variants are scored in one batched ORT call; contribution = p(review) - p(variant).
Replacing rather than deleting keeps every other word at its position and the truncation
window where it was, so the difference measures the word and nothing else. The review's own
probability comes from the forward pass the caller already has.
"""

from __future__ import annotations

import numpy as np

from explain.attribution import Attribution, Forward, ScoringModel, per_token
from sentilens.codec import OOV


def occlusion(model: ScoringModel, fwd: Forward) -> Attribution:
    enc, read = fwd.enc, fwd.read_positions
    variants = np.repeat(enc.padded[None, :], len(read), axis=0)
    variants[np.arange(len(read)), read] = OOV
    by_position = np.zeros(len(enc.padded))
    if read:  # the padding-skipping scorer when the model has one: every variant has the review's length
        score = getattr(model, "score_ids", model.run)
        by_position[read] = fwd.probability - score(variants).astype(np.float64)
    return Attribution("occlusion", "probability", enc.tokens, per_token(enc, by_position),
                       fwd.probability, fwd.probability - float(by_position.sum()), fwd.probability)
