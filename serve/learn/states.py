"""The exported LSTM over many reviews at once, in numpy: the gate of every word and the logit.

In-app learning refits the word and pair evidence above the LSTM, so it needs, for every word a
labelled review reads, the gate that multiplies that word's evidence (``trainer.model``: the logit is
the state's logit plus the gated evidence summed over the words). Rows are sorted by length and run
in groups, each from the LSTM state after its pads (``pad_states.npy``), as the padding-skipping
scorer does; the recurrence is ``sentilens.lstm``'s, in float32 like onnxruntime, and the logits are
held to onnxruntime's by the version writer (``serve.learn.version``) before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sentilens.evidence import GATE_MAX, pair_buckets
from sentilens.lstm import gate_rows, sigmoid

__all__ = ["Trace", "trace"]

GROUP = 256  # rows per numpy step: long enough to amortise the call, short enough for cache


@dataclass
class Trace:
    """What the LSTM did on ``n`` reviews, flattened over every real position (start id and words).

    ``row``, ``word`` (the id) and ``gate`` have one entry per position; ``logit`` is each review's output logit under the tables it was run with."""

    n: int
    row: np.ndarray
    word: np.ndarray
    gate: np.ndarray
    logit: np.ndarray


def trace(weights: dict[str, np.ndarray], pad_table: np.ndarray, ids: np.ndarray,
          unigram: np.ndarray | None = None, pairs: np.ndarray | None = None) -> Trace:
    """Run padded ``ids`` [n, maxlen] through the LSTM with the export's ``weights`` (or other
    evidence tables); see the module docstring."""
    ids = np.asarray(ids, np.int64)
    n, T = ids.shape
    u = np.asarray(weights["unigram"] if unigram is None else unigram, np.float32).reshape(-1)
    p = np.asarray(weights["pairs"] if pairs is None else pairs, np.float32).reshape(-1)
    H = weights["R"].shape[-1]
    rows = gate_rows(H, "ifco")
    B = weights["B"][0].astype(np.float32)
    W = np.ascontiguousarray(weights["W"][0].astype(np.float32)[rows].T)
    R = np.ascontiguousarray(weights["R"][0].astype(np.float32)[rows].T)
    bias = (B[: 4 * H] + B[4 * H:])[rows]
    embedding = weights["embedding"]
    kernel = weights["readout_kernel"].astype(np.float32).reshape(H, 2)
    readout_bias = np.asarray(weights["readout_bias"], np.float32).reshape(2)
    position = weights["position"].astype(np.float32)

    lengths = T - np.argmax(ids != 0, axis=1)
    lengths[~(ids != 0).any(axis=1)] = 0
    order = np.argsort(lengths, kind="stable")
    logit = np.zeros(n, np.float64)
    parts: list[tuple] = []
    for start in range(0, n, GROUP):
        group = order[start:start + GROUP]
        width = int(lengths[group].max())
        if width == 0:  # rows of pads only: the state after T pads, no evidence
            h = pad_table[T, 0].astype(np.float32)
            logit[group] = float(h @ kernel[:, 0] + readout_bias[0])
            continue
        block = ids[group][:, max(0, T - width - 1):]
        buckets = pair_buckets(block, len(p))[:, -width:]
        tail = block[:, -width:]
        live = tail != 0
        word_ev = np.where(live, u[tail], 0.0)
        pair_ev = np.where(buckets >= 0, p[np.maximum(buckets, 0)], 0.0)
        x = np.concatenate([embedding[tail].astype(np.float32), word_ev[..., None], pair_ev[..., None]], axis=-1)
        xw = x.astype(np.float32) @ W + bias
        m = len(group)
        h = np.repeat(pad_table[T - width, 0][None], m, axis=0).astype(np.float32)
        c = np.repeat(pad_table[T - width, 1][None], m, axis=0).astype(np.float32)
        z = np.empty((m, width), np.float32)
        for s in range(width):  # a row shorter than the group reads pads first: exactly its pad state
            g = xw[:, s] + h @ R
            c = sigmoid(g[:, H:2 * H]) * c + sigmoid(g[:, :H]) * np.tanh(g[:, 2 * H:3 * H])
            h = sigmoid(g[:, 3 * H:]) * np.tanh(c)
            z[:, s] = h @ kernel[:, 1]
        gate = GATE_MAX * sigmoid(z.astype(np.float64) + readout_bias[1] + position[T - width:])
        evidence = (word_ev + pair_ev).astype(np.float64)
        logit[group] = (gate * evidence).sum(axis=1) + h.astype(np.float64) @ kernel[:, 0] + readout_bias[0]
        r, s = np.nonzero(live)
        parts.append((group[r], tail[r, s], gate[r, s]))
    if parts:
        row, word, gate = (np.concatenate(a) for a in zip(*parts))
    else:
        row = word = np.zeros(0, np.int64)
        gate = np.zeros(0)
    return Trace(n, row, word, gate, logit)
