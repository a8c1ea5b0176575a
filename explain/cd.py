"""Contextual decomposition for the LSTM (Murdoch, Liu & Yu, ICLR 2018, "Beyond Word Importance").

The LSTM is re-run in numpy from the weights in the ONNX file, carrying two parts of
every cell and hidden state: ``beta`` (what the phrase contributed) and ``gamma``
(everything else: other words, the padding, the biases' share). Sums inside a
nonlinearity are split with the paper's Shapley-style linearisation, and
``beta + gamma`` equals the real state at every step, so

    readout(beta_T) + readout(gamma_T) + readout_bias == the model's logit

exactly (up to float error); ``tests/test_explain.py`` checks it against onnxruntime.
Many phrases (e.g. every single word) run together as one batch.
"""

from __future__ import annotations

import numpy as np

from explain.attribution import Attribution, ScoringModel, _per_token
from explain.codec import Encoding


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _split3(a: np.ndarray, b: np.ndarray, bias: np.ndarray, act) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """act(a + b + bias) = a_part + b_part + act(bias), each part averaged over both orders."""
    ab, a_only, b_only, base = act(a + b + bias), act(a + bias), act(b + bias), act(bias)
    return 0.5 * (a_only - base + ab - b_only), 0.5 * (b_only - base + ab - a_only), base


def _split_tanh(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ab, ta, tb = np.tanh(a + b), np.tanh(a), np.tanh(b)
    return 0.5 * (ta + ab - tb), 0.5 * (tb + ab - ta)


class LSTMWeights:
    """ONNX LSTM weights (gate order i, o, f, c) split per gate, in float64."""

    def __init__(self, weights: dict[str, np.ndarray]):
        missing = {"embedding", "W", "R", "B", "readout_kernel"} - set(weights)
        if missing:
            raise ValueError("contextual decomposition needs a fused LSTM model "
                             f"(this model lacks {', '.join(sorted(missing))})")
        self.embedding = weights["embedding"]
        H = weights["R"].shape[-1]
        W, R = weights["W"][0].astype(np.float64), weights["R"][0].astype(np.float64)
        B = weights["B"][0].astype(np.float64)
        bias = B[: 4 * H] + B[4 * H:]
        gates = {}
        for k, name in enumerate("iofc"):
            rows = slice(k * H, (k + 1) * H)
            gates[name] = (W[rows].T, R[rows].T, bias[rows])  # x @ Wg, h @ Rg, bg
        self.gates = gates
        self.kernel = weights["readout_kernel"].astype(np.float64).reshape(-1)
        rb = weights.get("readout_bias")
        self.readout_bias = float(np.asarray(rb).reshape(-1)[0]) if rb is not None else 0.0
        self.units = H


def decompose(w: LSTMWeights, ids: np.ndarray, spans: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """For each span [start, stop) of positions: (relevant logit, irrelevant logit).

    The prefix before the earliest span is identical for every row and entirely
    irrelevant, so it runs once as a plain LSTM and the decomposition starts there.
    """
    K, H, T = len(spans), w.units, len(ids)
    x = w.embedding[ids].astype(np.float64)  # [T, E]
    Wi, Ri, bi = w.gates["i"]
    Wf, Rf, bf = w.gates["f"]
    Wo, Ro, bo = w.gates["o"]
    Wc, Rc, bc = w.gates["c"]
    first = min(s for s, _ in spans) if spans else T
    h, c = np.zeros(H), np.zeros(H)
    for t in range(first):  # shared, all-irrelevant prefix
        i = _sigmoid(x[t] @ Wi + h @ Ri + bi)
        f = _sigmoid(x[t] @ Wf + h @ Rf + bf)
        o = _sigmoid(x[t] @ Wo + h @ Ro + bo)
        c = f * c + i * np.tanh(x[t] @ Wc + h @ Rc + bc)
        h = o * np.tanh(c)
    rel_h, rel_c = np.zeros((K, H)), np.zeros((K, H))
    irr_h, irr_c = np.tile(h, (K, 1)), np.tile(c, (K, 1))
    starts = np.array([s for s, _ in spans])[:, None]
    stops = np.array([e for _, e in spans])[:, None]
    # input projections for all steps at once: [T, H] per gate
    xi, xf, xo, xc = (x @ Wi, x @ Wf, x @ Wo, x @ Wc)
    for t in range(first, T):
        inside = (starts <= t) & (t < stops)  # [K, 1]: is word t in the row's phrase?
        rel = {g: rel_h @ R for g, R in (("i", Ri), ("f", Rf), ("o", Ro), ("c", Rc))}
        irr = {g: irr_h @ R for g, R in (("i", Ri), ("f", Rf), ("o", Ro), ("c", Rc))}
        for g, xg in (("i", xi), ("f", xf), ("o", xo), ("c", xc)):
            rel[g] = rel[g] + np.where(inside, xg[t], 0.0)
            irr[g] = irr[g] + np.where(inside, 0.0, xg[t])
        ri, ii, bi_ = _split3(rel["i"], irr["i"], bi, _sigmoid)
        rg, ig, bg_ = _split3(rel["c"], irr["c"], bc, np.tanh)
        rf, if_, bf_ = _split3(rel["f"], irr["f"], bf, _sigmoid)
        new_rel = ri * (rg + bg_) + bi_ * rg + (rf + bf_) * rel_c
        new_irr = ii * (rg + ig + bg_) + (ri + bi_) * ig + (rf + if_ + bf_) * irr_c + if_ * rel_c
        both = bi_ * bg_  # the biases' own product goes with the current word
        new_rel = new_rel + np.where(inside, both, 0.0)
        new_irr = new_irr + np.where(inside, 0.0, both)
        o = _sigmoid(rel["o"] + irr["o"] + bo)  # the output gate is not decomposed
        rel_c, irr_c = new_rel, new_irr
        th_rel, th_irr = _split_tanh(rel_c, irr_c)
        rel_h, irr_h = o * th_rel, o * th_irr
    return rel_h @ w.kernel, irr_h @ w.kernel


def cd_attribution(model: ScoringModel, text: str, enc: Encoding | None = None) -> Attribution:
    """Each read word's relevant logit, from one batched decomposition over all of them."""
    enc = enc or model.codec.encode(text)
    w = LSTMWeights(model.weights)
    read = [int(p) for p in enc.positions if p >= 0]
    prob = float(model.run(enc.padded[None, :])[0])
    T = len(enc.padded)
    rel, irr = decompose(w, enc.padded, [(p, p + 1) for p in read] or [(T, T)])
    total = float(rel[0] + irr[0] + w.readout_bias)  # the same in every row: the model's logit
    by_position = np.zeros(T)
    if read:
        by_position[read] = rel
    return Attribution("cd", "logit", enc.tokens, _per_token(enc, by_position), prob,
                       total - float(by_position.sum()), total)


def phrase_logits(w: LSTMWeights, ids: np.ndarray, span: list[int] | tuple[int, int]) -> tuple[float, float]:
    """(relevant, irrelevant + readout bias) logits of one span of positions; empty span: all irrelevant."""
    rel, irr = decompose(w, ids, [tuple(span) if span else (len(ids), len(ids))])
    return float(rel[0]), float(irr[0] + w.readout_bias)


def phrase_score(model: ScoringModel, text: str, first_word: int, last_word: int) -> dict:
    """CD score of the words ``first_word..last_word`` (token indices, inclusive)."""
    enc = model.codec.encode(text)
    if not 0 <= first_word <= last_word < len(enc.tokens):
        raise ValueError(f"word span {first_word}..{last_word} is outside the review's {len(enc.tokens)} words")
    pos = enc.positions[first_word: last_word + 1]
    seen = pos[pos >= 0]
    phrase = " ".join(enc.tokens[first_word: last_word + 1])
    if len(seen) == 0:
        return {"phrase": phrase, "relevant": None, "irrelevant": None, "logit": None,
                "note": "the model never read these words (they were truncated)"}
    w = LSTMWeights(model.weights)
    rel, irr = phrase_logits(w, enc.padded, (int(seen[0]), int(seen[-1]) + 1))
    return {"phrase": phrase, "relevant": rel, "irrelevant": irr, "logit": rel + irr}
