"""Running score: the change of the model's P(positive) at each word, from the forward pass itself.

The exported graph's second output is the readout of every step's state, so this needs no
extra model call. Probability space; the contributions telescope, so they sum *exactly* to
the final probability minus the score after the padding and the start marker (the baseline).
"""

from __future__ import annotations

import numpy as np

from explain.attribution import Attribution, Forward, ScoringModel, per_token, readout_bias

__all__ = ["running_from", "running_score", "zero_state_probability"]


def zero_state_probability(model: ScoringModel) -> float:
    """The readout of the initial all-zero state: sigmoid(readout bias)."""
    return float(1.0 / (1.0 + np.exp(-readout_bias(model.weights))))


def running_score(model: ScoringModel, fwd: Forward) -> Attribution:
    return running_from(fwd, zero_state_probability(model))


def running_from(fwd: Forward, zero_state: float) -> Attribution:
    """The attribution from an already computed running score, with the model's zero-state
    readout given, so a batch scored in one ORT call is explained without touching the model."""
    enc, r = fwd.enc, fwd.running.astype(np.float64)
    read = fwd.read_positions
    # Baseline: the score just before the first word read, after the padding and start marker
    # (the zero state's readout when truncation leaves no room for them).
    first = read[0] if read else len(r)
    before = r[first - 1] if first > 0 else zero_state
    by_position = np.zeros(len(r))
    by_position[first:] = np.diff(np.concatenate([[before], r[first:]]))
    return Attribution("running", "probability", enc.tokens, per_token(enc, by_position),
                       fwd.probability, float(before), float(r[-1]))
