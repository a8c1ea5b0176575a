"""The ONNX LSTM's weight layout and recurrence in numpy: the one owner of its gate order.

ONNX stacks the four gates' rows as (i, o, f, c) and keeps the input and recurrent biases apart
(``B = [Wb, Rb]``); Keras stacks (i, f, c, o) with one bias. The padding-skipping table, the
contextual decomposition and the reload into Keras all read the exported weights through here.
"""

from __future__ import annotations

import numpy as np

__all__ = ["KERAS_GATES", "ONNX_GATES", "gate_rows", "sigmoid", "step"]

ONNX_GATES = "iofc"
KERAS_GATES = "ifco"


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def gate_rows(units: int, order: str) -> np.ndarray:
    """Indices of the ONNX rows (``W``, ``R``, ``B`` halves) that give the gates in ``order``."""
    return np.concatenate([np.arange(ONNX_GATES.index(g) * units, (ONNX_GATES.index(g) + 1) * units) for g in order])


def step(xw: np.ndarray, R: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One ONNX LSTM step from ``xw`` (input projection plus both biases, [4H]) and the state (h, c)."""
    H = len(h)
    gates = xw + R @ h
    i, o, f, g = (gates[k * H:(k + 1) * H] for k in range(4))
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c
