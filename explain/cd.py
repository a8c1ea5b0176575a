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

from explain.attribution import Attribution, Forward, ScoringModel, per_token, prepared, readout_bias
from sentilens.evidence import GATE_MAX, token_evidence
from sentilens.lstm import gate_rows, sigmoid

__all__ = ["LSTMWeights", "cd_attribution", "decompose"]


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

    The true states are computed first, in one pass, so that the loop over the phrases only reads
    them; the products with the gate biases are folded into the gates (``shifted``), the gated
    evidence is summed after the loop from each covering row's gate input, and with one word per
    span the covering row is the newest, reached by slicing. ``explain.reference.decompose_rowwise``
    is the version before these changes, the oracle this one is tested against (to 1e-6).
    """
    H, T, K = w.units, len(ids), len(spans)
    H2, H3 = 2 * H, 3 * H
    starts = np.array([s for s, _ in spans], dtype=np.int64)
    stops = np.array([e for _, e in spans], dtype=np.int64)
    order = np.argsort(starts, kind="stable")
    starts, stops = starts[order], stops[order]
    first = 0
    h, c = np.zeros(H, np.float32), np.zeros(H, np.float32)
    if pad_table is not None:
        pads = int(np.argmax(ids != 0)) if (ids != 0).any() else T
        first = min(pads, int(starts.min()) if K else pads)
        h, c = pad_table[first, 0].astype(np.float32), pad_table[first, 1].astype(np.float32)
    # Inputs from ``first`` on only (a short review in a long window would otherwise cost the window):
    # xw[s] is step s = position first + s; counted stays by position.
    x = w.embedding[ids[first:]].astype(np.float32)
    if w.evidence:
        lead = 1 if first else 0  # a pair needs the id before
        evidence = token_evidence(ids[first - lead:], w.unigram, w.pairs)[lead:]  # the LSTM reads it beside the embedding
        x = np.concatenate([x, evidence], axis=1)
        counted = np.zeros(T)
        counted[first:] = evidence.sum(axis=1)
    xw = x @ w.W  # [steps, 4H], bias kept apart
    steps = T - first
    # The true states first (one row), in the very arithmetic of the version before (the oracle), so
    # that the loop over the phrases only reads them as rows of arrays.
    full = np.empty((steps, 4 * H), np.float32)  # pre-activation without bias
    gates = np.empty((steps, 4 * H), np.float32)
    cells = np.empty((steps, H), np.float32)
    hidden = np.empty((steps, H), np.float32)
    for s in range(steps):
        np.add(xw[s], h @ w.R, out=full[s])
        g = gates[s]
        np.add(full[s], w.bias, out=g)
        g[H2:H3] = np.tanh(g[H2:H3])
        g_c = g[H2:H3].copy()
        g[:] = sigmoid(g)  # _activate's sigmoid on all four blocks at once, then the c block put back
        g[H2:H3] = g_c
        c = g[H:H2] * c + g[:H] * g_c
        h = g[H3:] * np.tanh(c)
        cells[s], hidden[s] = c, h
    # In act(rel) - act(irr) the sigmoids' constant cancels, leaving (tanh(rel / 2) - tanh(irr / 2)) / 2.
    scale = np.r_[np.full(H2, 0.5), np.ones(H)].astype(np.float32)
    coef = np.r_[np.full(H2, 0.25), np.full(H, 0.5)].astype(np.float32)  # Shapley 1/2 x the slope above
    base = _activate(w.bias, H)[:H3]  # act(bias) per gate
    bi, bg = base[:H], base[H2:H3]
    b3s = w.bias[:H3] * scale
    R3s = np.ascontiguousarray(w.R[:, :H3] * scale)
    xw3s = xw[:, :H3] * scale
    true_pre = full[:, :H3] * scale + b3s  # relevant + irrelevant + bias, in the halved units
    # The true gates' share of each relevant gate, plus act(bias): with q = relevant gate + act(bias),
    # f c + i (g + bg) + bi g (the paper's products) is qf c + qi qg - bi bg, and qf c + qi qg inside the
    # phrase, where the bias products belong to the phrase too.
    shifted = 0.5 * (gates[:, :H3] - base) + base
    out_half = 0.5 * gates[:, H3:]  # the output gate is not decomposed
    half_hidden = 0.5 * hidden
    bibg = bi * bg
    # Which phrases cover each step, as (step, row) pairs grouped by step; with one word per phrase
    # (the app's case) that is the row joining at the step, and plain slices replace the fancy indexing.
    ts = np.arange(first, T)
    cover_s, cover_k = np.nonzero((starts[None, :] <= ts[:, None]) & (stops[None, :] > ts[:, None]))
    bounds = np.searchsorted(cover_s, np.arange(steps + 1))
    single = bool(K) and bool((stops - starts == 1).all()) and len(np.unique(starts)) == K
    cover_z = np.empty(len(cover_s), np.float32)  # each covering row's gate input after its word
    n_live = np.searchsorted(starts, ts, side="right")
    rel_h, rel_c = np.zeros((K, H), np.float32), np.zeros((K, H), np.float32)
    # Work buffers reused every step: fresh arrays this size would cost a page fault each.
    pre = np.empty((2 * K, H3), np.float32)  # rows [0, A): relevant, [A, 2A): irrelevant
    work = np.empty((2, K, H), np.float32)
    for s in range(steps):
        A = int(n_live[s])
        if not A:
            continue
        lo, hi = bounds[s], bounds[s + 1]
        rel, irr = pre[:A], pre[A:2 * A]
        np.matmul(rel_h[:A], R3s, out=rel)
        if single and hi > lo:  # the word's row is the newest
            inside = slice(A - 1, A)
        else:
            inside = cover_k[lo:hi]
        rel[inside] += xw3s[s]  # the phrase's own word
        np.subtract(true_pre[s], rel, out=irr)  # (true + bias) - relevant: the irrelevant part, with bias
        rel += b3s
        both = pre[:2 * A]
        np.tanh(both, out=both)
        # Shapley average of the two orders: the relevant part of each gate (shifted by act(bias))
        q = rel
        q -= irr
        q *= coef
        q += shifted[s]
        qi, qf, qg = q[:, :H], q[:, H:H2], q[:, H2:]
        nc, t1, t2 = rel_c[:A], work[0, :A], work[1, :A]
        nc *= qf
        np.multiply(qi, qg, out=t1)
        nc += t1
        if single and hi > lo:
            nc[: A - 1] -= bibg
        else:
            nc -= bibg
            nc[inside] += bibg
        np.tanh(nc, out=t1)  # tanh(relevant cell)
        np.subtract(cells[s], nc, out=t2)
        np.tanh(t2, out=t2)  # tanh(irrelevant cell)
        t1 -= t2
        h = rel_h[:A]
        np.multiply(t1, out_half[s], out=h)
        h += half_hidden[s]  # o (tanh(rel) - tanh(irr) + tanh(c)) / 2
        if w.evidence and hi > lo:
            cover_z[lo:hi] = h[inside] @ w.gate_kernel
    rel_logit = np.empty(K)
    final = float(hidden[-1].astype(np.float64) @ w.kernel) if steps else float(h.astype(np.float64) @ w.kernel)
    rel_logit[order] = rel_h.astype(np.float64) @ w.kernel
    if not w.evidence:
        return rel_logit, final - rel_logit
    # The gated evidence: gate_t * evidence_t summed over the steps; a phrase's share of a step it
    # covers is (its part of the gate + the gate's bias part) times that step's evidence.
    # (float32 where the version before computed in float32, so both give the same digits)
    bias = w.gate_bias[first:]
    z = (hidden @ w.gate_kernel).astype(np.float64) + bias
    gated = float((GATE_MAX * sigmoid(z) * counted[first:]).sum())
    counts = counted[first + cover_s] != 0
    if counts.any():
        si, ki, zr = cover_s[counts], cover_k[counts], cover_z[counts]
        b = bias[si]
        share = 0.5 * ((sigmoid(zr + b) - sigmoid(b)) + (sigmoid(z[si]) - sigmoid(z[si] - zr)))
        rel_gated = np.zeros(K)
        np.add.at(rel_gated, order[ki], GATE_MAX * (share + sigmoid(b)) * counted[first + si])
        rel_logit += rel_gated
    return rel_logit, final + gated - rel_logit


def cd_attribution(model: ScoringModel, fwd: Forward, decomposition=None) -> Attribution:
    """Each read word's relevant logit, from one batched decomposition over all of them
    (``decomposition``: ``decompose`` unless given, e.g. the version it replaced, ``explain.reference``)."""
    enc, read = fwd.enc, fwd.read_positions
    w = prepared(LSTMWeights, model.weights)
    T = len(enc.padded)
    rel, irr = (decomposition or decompose)(w, enc.padded, [(p, p + 1) for p in read] or [(T, T)],
                                            getattr(model, "pad_table", None))
    total = float(rel[0] + irr[0] + w.readout_bias)  # the same in every row: the model's logit
    by_position = np.zeros(T)
    if read:
        by_position[read] = rel
    return Attribution("cd", "logit", enc.tokens, per_token(enc, by_position), fwd.probability,
                       total - float(by_position.sum()), total)
