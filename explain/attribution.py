"""What every explanation method returns, and the forward pass they share.

``Attribution`` is one score per token (``None`` for a word that pre-truncation dropped: the
model never read it). ``Forward`` is a review's encoding with the model's output on it (the
probability and the running score at every position), computed once by ``forward`` or taken
from a batch the caller already scored, and handed to any method in ``explain.methods``.
This module imports no method: the registry imports the methods, the methods import this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from sentilens.codec import Codec, Encoding

__all__ = ["Attribution", "Forward", "ScoringModel", "forward", "per_token", "prepared", "readout_bias"]


class ScoringModel(Protocol):
    """What explain/ needs of a model; ``serve.runtime.SentimentModel`` is one."""

    codec: Codec

    def run(self, ids: np.ndarray, running: bool = False): ...

    @property
    def weights(self) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True)
class Attribution:
    method: str
    space: str  # "probability" or "logit"
    tokens: list[str]
    scores: list[float | None]  # one per token; None when truncation dropped it
    probability: float  # the model's output for the review
    baseline: float  # what the contributions start from (same space)
    total: float  # baseline + sum(scores): the output in ``space``

    def normalized(self) -> list[float | None]:
        """Scores divided by the largest magnitude: in [-1, 1], sign kept."""
        seen = [abs(s) for s in self.scores if s is not None]
        top = max(seen, default=0.0) or 1.0
        return [None if s is None else s / top for s in self.scores]

    def highlighted(self) -> list[tuple[str, float | None]]:
        """/explain's ``highlighted``: (word, score in [-1, 1]) pairs, scaled for colouring."""
        return [(t, s) for t, s in zip(self.tokens, self.normalized())]

    def top(self, k: int) -> list[tuple[str, float]]:
        """The k words with the largest |contribution|, strongest first."""
        pairs = [(t, s) for t, s in zip(self.tokens, self.scores) if s is not None]
        return sorted(pairs, key=lambda ts: -abs(ts[1]))[:k]

    def to_dict(self) -> dict:
        return {
            "method": self.method, "space": self.space, "probability": self.probability,
            "baseline": self.baseline, "total": self.total,
            "tokens": [{"word": t, "score": s, "normalized": n}
                       for t, s, n in zip(self.tokens, self.scores, self.normalized())],
        }


def per_token(enc: Encoding, by_position: np.ndarray) -> list[float | None]:
    """Scores by padded position -> one score per token (``None`` where truncation dropped it)."""
    return [None if p < 0 else float(by_position[p]) for p in enc.positions]


@dataclass(frozen=True)
class Forward:
    """One review as encoded, with the model's output on it."""

    enc: Encoding
    probability: float
    running: np.ndarray  # float32 [maxlen]: P(positive) after each position

    @property
    def read_positions(self) -> list[int]:
        """Padded positions of the words the model read, in order."""
        return [int(p) for p in self.enc.positions if p >= 0]


def forward(model: ScoringModel, text: str, enc: Encoding | None = None) -> Forward:
    """Encode (unless ``enc`` is given) and run the model once, keeping both outputs."""
    enc = enc or model.codec.encode(text)
    prob, running = model.run(enc.padded[None, :], running=True)
    return Forward(enc, float(prob[0]), running[0])


_PREPARED: dict[tuple[type, int], tuple[dict, object]] = {}


def prepared(kind: type, weights: dict[str, np.ndarray]):
    """``kind(weights)`` built once per weights dict (a model's weights are read once and kept), so an
    explanation does not regroup the same arrays on every request. Holds the dict, so its id stays its own."""
    key = (kind, id(weights))
    hit = _PREPARED.get(key)
    if hit is None or hit[0] is not weights:
        if len(_PREPARED) >= 8:  # a handful of models at most (Compare holds two)
            _PREPARED.pop(next(iter(_PREPARED)))
        hit = _PREPARED[key] = (weights, kind(weights))
    return hit[1]


def readout_bias(weights: dict[str, np.ndarray]) -> float:
    """The Dense readout's bias (the export drops it when it is exactly zero)."""
    bias = weights.get("readout_bias")
    return float(np.asarray(bias).reshape(-1)[0]) if bias is not None else 0.0
