"""The previous implementations of the explanation methods, kept as the oracles the fast ones are
held to (``tests/test_explain.py``) and timed against in the same run (``bench/explain.py``).

``decompose_rowwise`` is contextual decomposition one row per phrase, the word's input added
with a mask, the gated evidence per step; ``occlusion_batched`` scores every leave-one-out
variant from its first step with onnxruntime (``explain.occlusion.batched``, also what a model
that is not a fused LSTM uses).
"""

from __future__ import annotations

import numpy as np

from explain.attribution import Attribution, Forward, ScoringModel
from explain.cd import LSTMWeights, _activate, cd_attribution
from explain.occlusion import batched, occlusion
from sentilens.evidence import GATE_MAX, token_evidence
from sentilens.lstm import sigmoid

__all__ = ["cd_rowwise", "decompose_rowwise", "occlusion_batched"]


def occlusion_batched(model: ScoringModel, fwd: Forward) -> Attribution:
    """Occlusion with every variant scored from its first step (the L^2 steps the replay halves)."""
    return occlusion(model, fwd, score_variants=batched)


def cd_rowwise(model: ScoringModel, fwd: Forward) -> Attribution:
    """``explain.cd.cd_attribution`` on ``decompose_rowwise``."""
    return cd_attribution(model, fwd, decomposition=decompose_rowwise)


def decompose_rowwise(w: LSTMWeights, ids: np.ndarray, spans: list[tuple[int, int]],
              pad_table: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``explain.cd.decompose`` as it was before issue 24 (same arguments, same results to 1e-6).

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
