"""Per-token contributions: what each word of a review did to the model's score.

Three methods, one result type (``Attribution``):
- ``running``: the change of the model's running score at each step, from the exported
  second output in one forward pass. Probability space; the contributions telescope, so
  they sum *exactly* to the final probability minus the score after the padding and the
  start marker (the ``baseline``).
- ``occlusion``: leave-one-out. Each read word in turn is replaced by the OOV id and all
  variants are scored in one batched ORT call; contribution = p(review) - p(variant).
  Replacing (not deleting) keeps every other word at its position and the truncation
  window where it was, so the difference measures the word and nothing else.
- ``cd``: contextual decomposition (Murdoch, Liu & Yu, ICLR 2018), see ``explain.cd``.
  Logit space; it also scores a phrase.

Words that pre-truncation dropped get no score (``None``): the model never read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from explain.codec import OOV, Codec, Encoding

METHODS = {
    "running": "running score (one pass, probability change per word)",
    "occlusion": "occlusion (leave one word out, probability change)",
    "cd": "contextual decomposition (LSTM only, logit contribution)",
}


class ScoringModel(Protocol):
    """What explain/ needs of a model; ``serve.model.SentimentModel`` is one."""

    codec: Codec
    meta: dict

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
        """``gr.HighlightedText`` input: (word + space, score in [-1, 1]) pairs."""
        return [(t + " ", s) for t, s in zip(self.tokens, self.normalized())]

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


def _per_token(enc: Encoding, by_position: np.ndarray) -> list[float | None]:
    return [None if p < 0 else float(by_position[p]) for p in enc.positions]


def running_score(model: ScoringModel, text: str, enc: Encoding | None = None) -> Attribution:
    enc = enc or model.codec.encode(text)
    prob, running = model.run(enc.padded[None, :], running=True)
    return running_from(enc, float(prob[0]), running[0], zero_state_probability(model))


def running_from(enc: Encoding, probability: float, running: np.ndarray, zero_state: float) -> Attribution:
    """The running-score attribution from an already computed running score (one review's row),
    so a batch scored in one ORT call can be explained without scoring it again."""
    r = running.astype(np.float64)
    read = enc.positions[enc.positions >= 0]
    # Baseline: the score just before the first word read, after the padding and start marker
    # (the zero state's readout when truncation leaves no room for them).
    first = int(read[0]) if len(read) else len(r)
    before = r[first - 1] if first > 0 else zero_state
    by_position = np.zeros(len(r))
    by_position[first:] = np.diff(np.concatenate([[before], r[first:]]))
    return Attribution("running", "probability", enc.tokens, _per_token(enc, by_position),
                       probability, float(before), float(r[-1]))


def readout_bias(weights: dict[str, np.ndarray]) -> float:
    """The Dense readout's bias (the export drops it when it is exactly zero)."""
    bias = weights.get("readout_bias")
    return float(np.asarray(bias).reshape(-1)[0]) if bias is not None else 0.0


def zero_state_probability(model: ScoringModel) -> float:
    """The readout of the initial all-zero state: sigmoid(readout bias)."""
    return float(1.0 / (1.0 + np.exp(-readout_bias(model.weights))))


def occlusion(model: ScoringModel, text: str, enc: Encoding | None = None) -> Attribution:
    enc = enc or model.codec.encode(text)
    read = [int(p) for p in enc.positions if p >= 0]
    variants = np.repeat(enc.padded[None, :], len(read) + 1, axis=0)
    variants[np.arange(1, len(read) + 1), read] = OOV  # row 0 is the review itself
    probs = model.run(variants).astype(np.float64)
    by_position = np.zeros(model.codec.maxlen)
    by_position[read] = probs[0] - probs[1:]
    return Attribution("occlusion", "probability", enc.tokens, _per_token(enc, by_position),
                       float(probs[0]), float(probs[0]) - float(by_position.sum()), float(probs[0]))


def attribute(model: ScoringModel, text: str, method: str = "running", enc: Encoding | None = None) -> Attribution:
    """Dispatch by method name (see ``METHODS``); pass ``enc`` when the text is already encoded."""
    if method == "running":
        return running_score(model, text, enc)
    if method == "occlusion":
        return occlusion(model, text, enc)
    if method == "cd":
        from explain.cd import cd_attribution

        return cd_attribution(model, text, enc)
    raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
