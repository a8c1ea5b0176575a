"""Training and export: Keras model, fit, tf2onnx export with parity, written through sentilens.artifact."""

import sentilens  # noqa: E402,F401 - process defaults (BLAS threads, TF logging) before numpy loads

__all__: list[str] = []  # nothing of its own: its modules are imported by name
