"""Contextual decomposition for the LSTM (Murdoch, Liu & Yu, ICLR 2018, "Beyond Word Importance").

The LSTM is re-run in numpy from the weights in the ONNX file, carrying two parts of
every cell and hidden state: ``beta`` (what the phrase contributed) and ``gamma``
(everything else: other words, the padding, the biases' share). Sums inside a
nonlinearity are split with the paper's Shapley-style linearisation, and
``beta + gamma`` equals the real state at every step, so

    readout(beta_T) + readout(gamma_T) + readout_bias == the model's logit

exactly (up to float error); ``tests/test_explain.py`` checks it against onnxruntime.
Many phrases (e.g. every single word) run together as one batch.

With the gated evidence readout (``trainer.model``) the logit also sums ``gate_t * evidence_t``
over the steps. The gate is a sigmoid of the state, split like the LSTM's own gates into the
phrase's part and the rest around its value with no words (its bias, which includes the bias
per position); following the paper's rule for products, the phrase's share of ``gate * evidence``
is (its part of the gate + the gate's bias part) times the evidence of the phrase's own words,
and every product with the rest's part goes to the rest. So a word's score is its evidence
counted with the gate it would have on its own, plus what it changes in the gates of its own
evidence and in the final state; relevant + irrelevant + readout bias is still the logit.
"""

from __future__ import annotations

import numpy as np

from explain.attribution import Attribution, Forward, ScoringModel, per_token, readout_bias
from sentilens.evidence import GATE_MAX, token_evidence
from sentilens.lstm import gate_rows, sigmoid


class LSTMWeights:
    """ONNX LSTM weights (gate order i, o, f, c), regrouped as (i, f, c, o), float32 like the model.

    Columns ``[0:2H]`` are the sigmoid gates i and f, ``[2H:3H]`` the tanh candidate c,
    ``[3H:4H]`` the output gate o: each nonlinearity then runs once per step on a block.
    """

    def __init__(self, weights: dict[str, np.ndarray]):
        missing = {"embedding", "W", "R", "B", "readout_kernel"} - set(weights)
        if missing:
            raise ValueError("contextual decomposition needs a fused LSTM model "
                             f"(this model lacks {', '.join(sorted(missing))})")
        self.embedding = weights["embedding"]
        H = weights["R"].shape[-1]
        rows = gate_rows(H, "ifco")
        B = weights["B"][0].astype(np.float32)
        self.W = np.ascontiguousarray(weights["W"][0].astype(np.float32)[rows].T)  # [E, 4H]: x @ W
        self.R = np.ascontiguousarray(weights["R"][0].astype(np.float32)[rows].T)  # [H, 4H]: h @ R
        self.bias = (B[: 4 * H] + B[4 * H:])[rows]
        kernel = weights["readout_kernel"].astype(np.float64).reshape(H, -1)  # the readout sums in float64
        self.kernel = kernel[:, 0]
        self.readout_bias = readout_bias(weights)
        self.units = H
        self.evidence = "unigram" in weights  # the gated evidence readout: column 1 is the gate
        if self.evidence:
            self.unigram, self.pairs = weights["unigram"], weights["pairs"]
            self.gate_kernel = kernel[:, 1].astype(np.float32)
            bias = np.asarray(weights.get("readout_bias", np.zeros(2, np.float32)), np.float32).reshape(-1)
            self.gate_bias = (bias[1] + weights["position"]).astype(np.float32)  # [maxlen]: the gate with no words


def _activate(pre: np.ndarray, H: int) -> np.ndarray:
    """sigmoid on the i, f, o blocks and tanh on the c block of [..., 4H] pre-activations."""
    out = np.empty_like(pre)
    out[..., : 2 * H] = sigmoid(pre[..., : 2 * H])
    out[..., 2 * H: 3 * H] = np.tanh(pre[..., 2 * H: 3 * H])
    out[..., 3 * H:] = sigmoid(pre[..., 3 * H:])
    return out


def decompose(w: LSTMWeights, ids: np.ndarray, spans: list[tuple[int, int]],
              pad_table: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each span [start, stop) of positions: (relevant logit, irrelevant logit).

    Only the relevant part is propagated: relevant + irrelevant equals the true state at
    every step (the decomposition is exact), so the irrelevant part is the true state
    minus the relevant one, and act(rel + irr + b) is the true gate. A row joins the
    batch when its span starts; before that its relevant part is exactly zero. The output
    gate is not decomposed, so only the i, f, c blocks are split, with one ``tanh`` call
    per step (sigmoid(x) = (1 + tanh(x / 2)) / 2). With ``pad_table`` (the state after each number of
    pads, ``serve.runtime``) the leading pads are skipped when no span covers them.
    """
    H, T, K = w.units, len(ids), len(spans)
    H2, H3 = 2 * H, 3 * H
    starts = np.array([s for s, _ in spans], dtype=np.int64)
    stops = np.array([e for _, e in spans], dtype=np.int64)
    order = np.argsort(starts, kind="stable")
    starts, stops = starts[order], stops[order]
    x = w.embedding[ids].astype(np.float32)
    if w.evidence:
        evidence = token_evidence(ids, w.unigram, w.pairs)  # [T, 2]: the LSTM reads it beside the embedding
        x = np.concatenate([x, evidence], axis=1)
        counted = evidence.sum(axis=1).astype(np.float64)
        rel_gated, gated = np.zeros(K), 0.0
    xw = x @ w.W  # [T, 4H], bias kept apart
    # The i, f, c blocks are kept pre-scaled for tanh: sigmoid(x) = (1 + tanh(x / 2)) / 2, and in
    # act(rel) - act(irr) the constant cancels, leaving (tanh(rel / 2) - tanh(irr / 2)) / 2.
    scale = np.r_[np.full(H2, 0.5), np.ones(H)].astype(np.float32)
    coef = np.r_[np.full(H2, 0.25), np.full(H, 0.5)].astype(np.float32)  # Shapley 1/2 x the slope above
    R3s, b3s, xw3s = w.R[:, :H3] * scale, w.bias[:H3] * scale, xw[:, :H3] * scale
    base = _activate(w.bias, H)[:H3]  # act(bias) per gate
    bi, bf, bg = base[:H], base[H:H2], base[H2:H3]
    rel_h, rel_c = np.zeros((K, H), np.float32), np.zeros((K, H), np.float32)
    h, c = np.zeros(H, np.float32), np.zeros(H, np.float32)
    first = 0
    if pad_table is not None:
        pads = int(np.argmax(ids != 0)) if (ids != 0).any() else T
        first = min(pads, int(starts.min()) if K else pads)
        h, c = pad_table[first, 0].astype(np.float32), pad_table[first, 1].astype(np.float32)
    # Work buffers reused every step: fresh arrays this size would cost a page fault each.
    pre = np.empty((2 * K, H3), np.float32)  # rows [0, A): relevant, [A, 2A): irrelevant
    cell = np.empty((2 * K, H), np.float32)
    part = np.empty((K, H3), np.float32)
    new_c = np.empty((K, H), np.float32)
    for t in range(first, T):
        full = xw[t] + h @ w.R  # true pre-activation without bias, shared by every row
        gates = _activate(full + w.bias, H)
        c_next = gates[H:H2] * c + gates[:H] * gates[H2:H3]
        h_next = gates[H3:] * np.tanh(c_next)
        A = int(np.searchsorted(starts, t, side="right"))
        if A:
            inside = (stops[:A] > t)[:, None]
            rel, irr, p, nc = pre[:A], pre[A:2 * A], part[:A], new_c[:A]
            np.matmul(rel_h[:A], R3s, out=rel)
            np.add(rel, xw3s[t], out=rel, where=inside)  # the phrase's own word
            np.subtract(full[:H3] * scale, rel, out=irr)
            both = pre[:2 * A]
            both += b3s
            np.tanh(both, out=both)
            # Shapley average of the two orders: the relevant part of each gate
            np.subtract(rel, irr, out=p)
            p *= coef
            p += 0.5 * (gates[:H3] - base)
            ri, rf, rg = p[:, :H], p[:, H:H2], p[:, H2:]
            np.multiply(rf + bf, rel_c[:A], out=nc)
            nc += ri * (rg + bg)
            nc += bi * rg
            np.add(nc, bi * bg, out=nc, where=inside)
            th = cell[:2 * A]
            th[:A] = nc
            np.subtract(c_next, nc, out=th[A:])
            np.tanh(th, out=th)  # tanh(relevant cell), tanh(irrelevant cell)
            rel_c[:A] = nc
            np.subtract(th[:A], th[A:], out=rel_h[:A])
            rel_h[:A] += np.tanh(c_next)
            rel_h[:A] *= 0.5 * gates[H3:]  # the output gate is not decomposed
        if w.evidence and counted[t]:
            bias = w.gate_bias[t]
            z = float(h_next @ w.gate_kernel) + bias
            gated += GATE_MAX * sigmoid(z) * counted[t]
            if A:
                rows = np.flatnonzero(stops[:A] > t)  # the phrases this word belongs to
                z_rel = rel_h[rows] @ w.gate_kernel
                share = 0.5 * ((sigmoid(z_rel + bias) - sigmoid(bias)) + (sigmoid(z) - sigmoid(z - z_rel)))
                rel_gated[rows] += GATE_MAX * (share + sigmoid(bias)) * counted[t]
        h, c = h_next, c_next
    rel_logit = np.empty(K)
    final = float(h.astype(np.float64) @ w.kernel)
    if w.evidence:
        rel_logit[order] = rel_h.astype(np.float64) @ w.kernel + rel_gated
        return rel_logit, final + gated - rel_logit
    rel_logit[order] = rel_h.astype(np.float64) @ w.kernel
    return rel_logit, final - rel_logit


def cd_attribution(model: ScoringModel, fwd: Forward) -> Attribution:
    """Each read word's relevant logit, from one batched decomposition over all of them."""
    enc, read = fwd.enc, fwd.read_positions
    w = LSTMWeights(model.weights)
    T = len(enc.padded)
    rel, irr = decompose(w, enc.padded, [(p, p + 1) for p in read] or [(T, T)], getattr(model, "pad_table", None))
    total = float(rel[0] + irr[0] + w.readout_bias)  # the same in every row: the model's logit
    by_position = np.zeros(T)
    if read:
        by_position[read] = rel
    return Attribution("cd", "logit", enc.tokens, per_token(enc, by_position), fwd.probability,
                       total - float(by_position.sum()), total)
