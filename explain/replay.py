"""The exported LSTM re-run in numpy, many rows at once: occlusion's shared prefixes.

Occlusion replaces one read word at a time by the unknown id, so variant ``i`` reads exactly what
the review reads up to word ``i - 1``: its LSTM state there *is* the review's. ``occluded`` runs
the review as row 0 and lets variant ``i`` join as a copy of row 0 just before step ``i``, so the
rows grow one per word and a review of L words costs L (L + 1) / 2 row-steps instead of the L^2
that scoring every variant from the start costs. Only two steps of a variant read different
inputs from the review (its own word, and the pair the next word completes), so the input
projection is the review's, computed once, with two rows mended per step.

The recurrence is the ONNX LSTM's (``sentilens.lstm``) in float32 like onnxruntime, with the
readout (and, for a model with word evidence, the gated evidence summed over the steps) of
``trainer.model``; ``tests/test_explain.py`` holds it to the batched onnxruntime scores to 1e-6.
"""

from __future__ import annotations

import numpy as np

from sentilens.codec import OOV
from sentilens.evidence import GATE_MAX, token_evidence
from sentilens.lstm import gate_rows

__all__ = ["LSTM_ROLES", "Replay", "occluded"]

LSTM_ROLES = frozenset({"embedding", "W", "R", "B", "readout_kernel"})


class Replay:
    """A fused LSTM export's weights, laid out for batched numpy steps.

    Gate columns are regrouped (i, f, o, c): the three sigmoid gates come first and are
    pre-scaled by 1/2, so one ``tanh`` over all four blocks gives them (sigmoid(x) = (1 +
    tanh(x / 2)) / 2). The hidden state is carried doubled (2h = (1 + tanh(o / 2)) tanh(c)),
    so the 1/2 moves into the recurrent and readout weights and costs no step.
    """

    def __init__(self, weights: dict[str, np.ndarray]):
        missing = LSTM_ROLES - set(weights)
        if missing:
            raise ValueError(f"occlusion's replay needs a fused LSTM model (this model lacks {', '.join(sorted(missing))})")
        H = weights["R"].shape[-1]
        rows = gate_rows(H, "ifoc")
        scale = np.r_[np.full(3 * H, 0.5), np.ones(H)].astype(np.float32)
        B = weights["B"][0].astype(np.float32)
        self.W = np.ascontiguousarray(weights["W"][0].astype(np.float32)[rows].T * scale)  # [inputs, 4H]
        self.R_doubled = np.ascontiguousarray(weights["R"][0].astype(np.float32)[rows].T * scale * 0.5)  # 2h @ this
        self.bias = (B[: 4 * H] + B[4 * H:])[rows] * scale
        self.embedding = weights["embedding"]
        kernel = weights["readout_kernel"].astype(np.float32).reshape(H, -1)
        bias = np.asarray(weights.get("readout_bias", np.zeros(kernel.shape[1], np.float32)), np.float32).reshape(-1)
        self.state_kernel = kernel[:, 0].astype(np.float64) * 0.5  # 2h @ this: the last state's logit
        self.state_bias = float(bias[0])
        self.units = H
        self.evidence = "unigram" in weights
        if self.evidence:
            self.unigram, self.pairs = weights["unigram"], weights["pairs"]
            self.gate_kernel = np.ascontiguousarray(kernel[:, 1] * 0.5)
            self.gate_bias = (bias[1] + weights["position"]).astype(np.float32)  # [maxlen]

    def inputs(self, ids: np.ndarray, prev: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Input projection (with both biases) [..., 4H] and the counted evidence [...] of ``ids``
        [..., T]; ``prev`` [...] is the id read before each row's first (0: none)."""
        ids = np.asarray(ids, np.int64)
        x = self.embedding[ids].astype(np.float32)
        counted = np.zeros(ids.shape)
        if self.evidence:
            if prev is not None:  # the pair of the first id needs the id before it
                ids = np.concatenate([np.asarray(prev, np.int64)[..., None], ids], axis=-1)
            ev = token_evidence(ids, self.unigram, self.pairs)
            if prev is not None:
                ev = ev[..., 1:, :]
            x = np.concatenate([x, ev], axis=-1)
            counted = ev.sum(axis=-1).astype(np.float64)
        return x @ self.W + self.bias, counted


def occluded(r: Replay, ids: np.ndarray, read: list[int], pad_table: np.ndarray | None = None,
             replacement: int = OOV) -> np.ndarray:
    """P(positive) of the review ``ids`` (padded, [T]) with each position of ``read`` in turn
    replaced by ``replacement``: float64 [len(read)], in the order of ``read``.

    ``pad_table`` (the state after each number of leading pads, ``trainer.fastpath``) lets the
    review start at its first id instead of running its pads."""
    ids = np.asarray(ids, np.int64)
    T, H, K = len(ids), r.units, len(read)
    order = np.argsort(read, kind="stable")
    starts = np.asarray(read, np.int64)[order]
    if K and (starts[0] < 0 or starts[-1] >= T or (np.diff(starts) == 0).any()):
        raise ValueError("read positions must be distinct positions of ids")
    first = 0
    h0, c0 = np.zeros(H, np.float32), np.zeros(H, np.float32)  # the review's state before its first step
    if pad_table is not None:
        first = min(int(np.argmax(ids != 0)) if (ids != 0).any() else T, int(starts[0]) if K else T)
        h0, c0 = 2 * pad_table[first, 0], pad_table[first, 1]
    steps = T - first
    xw, counted = r.inputs(ids[first:], prev=ids[first - 1] if first else None)
    # each variant reads its own inputs at its start and at the step after: (previous, new, next)
    replaced = np.full(K, replacement, np.int64)
    after = np.where(starts + 1 < T, ids[np.minimum(starts + 1, T - 1)], 0)
    before = np.where(starts > 0, ids[np.maximum(starts - 1, 0)], 0)
    own_xw, own_counted = r.inputs(np.stack([replaced, after], axis=1), prev=before)  # [K, 2, 4H], [K, 2]
    variant_at = np.full(T + 1, -1, np.int64)
    variant_at[starts] = np.arange(K)
    # Rows are columns here: the state is [H, rows] and the gates [4H, rows], because BLAS writes the
    # transposed product faster (and steadily) on this kind of machine, and every array is kept
    # compact (a joining row re-lays the state out once) since strided views cost numpy 3x. One more
    # state row of ones meets a column of weights holding this step's input projection, so the
    # product adds the inputs for free; one more row of weights (the gate kernel) gives each
    # state's gate input.
    G = 4 * H
    RT = np.zeros((G + r.evidence, H + 1), np.float32)
    RT[:G, :H] = r.R_doubled.T
    if r.evidence:
        RT[G, :H] = r.gate_kernel
    own_delta = own_xw - np.stack([xw[starts - first], xw[np.minimum(starts + 1 - first, steps - 1)]], axis=1)
    size = (K + 1) * (H + 1)
    hbuf, cbuf = np.empty((2, size), np.float32), np.empty((2, size), np.float32)
    flat = np.empty(len(RT) * (K + 1), np.float32)  # the gates of the live rows
    spare = np.empty((2, H * (K + 1)), np.float32)
    hT, cT = hbuf[0, : H + 1].reshape(H + 1, 1), cbuf[0, :H].reshape(H, 1)
    hT[:H, 0], hT[H], cT[:, 0] = h0, 1.0, c0
    z = np.zeros((steps + 1, K + 1), np.float32) if r.evidence else None
    live, side = 1, 0
    for s in range(steps):
        t = first + s
        k = variant_at[t]
        if k >= 0:  # variant k joins: its state so far is the review's
            side = 1 - side
            h_new = hbuf[side, : (H + 1) * (live + 1)].reshape(H + 1, live + 1)
            c_new = cbuf[side, : H * (live + 1)].reshape(H, live + 1)
            h_new[:, :live], c_new[:, :live] = hT, cT
            h_new[:, live], c_new[:, live] = hT[:, 0], cT[:, 0]
            hT, cT = h_new, c_new
            live += 1
        RT[:G, H] = xw[s]
        full = flat[: len(RT) * live].reshape(len(RT), live)
        np.matmul(RT, hT, out=full)
        if z is not None:
            z[s, :live] = full[G]
        p = full[:G]
        if k >= 0:  # its own word
            p[:, k + 1] += own_delta[k, 0]
        j = variant_at[t - 1] if t > 0 else -1
        if j >= 0:  # the pair its replaced word begins with this step's word
            p[:, j + 1] += own_delta[j, 1]
        np.tanh(p, out=p)
        ui, uf, uo, g = p[:H], p[H:2 * H], p[2 * H:3 * H], p[3 * H:]
        th, f = (spare[i, : H * live].reshape(H, live) for i in (0, 1))
        h = hT[:H]
        # c' = f c + i g with f = (1 + uf) / 2, i = (1 + ui) / 2
        np.multiply(uf, cT, out=th)
        cT += th
        np.multiply(ui, g, out=f)
        f += g
        cT += f
        cT *= 0.5
        np.tanh(cT, out=th)
        np.multiply(uo, th, out=h)  # 2h = (1 + uo) tanh(c')
        h += th
    if z is not None:
        z[steps] = r.gate_kernel @ hT[:H]
        z = z[1:]  # the gate reads the state after each step
    logit = r.state_kernel @ hT[:H].astype(np.float64) + r.state_bias
    if z is not None:
        # row k + 1 is variant k from its start on; before that it was the review (row 0)
        joined = np.arange(steps)[:, None] >= (starts - first)[None, :]
        zz = np.where(joined, z[:, 1:], z[:, :1]).astype(np.float64)
        gate = GATE_MAX / (1.0 + np.exp(-(zz + r.gate_bias[first:, None])))
        weight = np.repeat(counted[:, None], K, axis=1)
        cols = np.arange(K)
        weight[starts - first, cols] = own_counted[:, 0]
        nxt = starts + 1 < T
        weight[starts[nxt] + 1 - first, cols[nxt]] = own_counted[nxt, 1]
        logit[1:] += (gate * weight).sum(axis=0)
    out = np.empty(K)
    out[order] = 1.0 / (1.0 + np.exp(-logit[1:]))
    return out
