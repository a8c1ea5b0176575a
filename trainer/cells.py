"""The recurrent cells the trainer can build: one registry read by the model builder, the export,
the reload into Keras, the command line and the benchmarks. Imports no Keras (``--help`` stays fast).

Adding a cell is one entry here (and, if it should reload or decompose, the code that does it).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CELLS", "Cell", "get_cell"]


@dataclass(frozen=True)
class Cell:
    name: str  # what --cell takes and the Keras layer's name in the model
    keras_layer: str  # class in keras.layers
    onnx_op: str  # the fused ONNX op it would export as
    must_fuse: bool  # the export fails unless tf2onnx emits exactly one fused op (no Loop)
    reloadable: bool  # trainer.reload rebuilds Keras from the exported weights
    decomposable: bool  # contextual decomposition is defined for it (explain.cd)


CELLS: dict[str, Cell] = {c.name: c for c in (
    Cell("lstm", "LSTM", "LSTM", must_fuse=True, reloadable=True, decomposable=True),
    # tf2onnx 1.17 turns Keras 3's GRU and SimpleRNN into an ONNX Loop, not a fused GRU/RNN op.
    Cell("gru", "GRU", "GRU", must_fuse=False, reloadable=False, decomposable=False),
    Cell("simplernn", "SimpleRNN", "RNN", must_fuse=False, reloadable=False, decomposable=False),
)}


def get_cell(name: str) -> Cell:
    if name not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {name!r}")
    return CELLS[name]
