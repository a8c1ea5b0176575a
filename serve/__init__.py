"""Serving on onnxruntime (never TensorFlow), in rooms that change for one reason each and import only the
rooms below them: ``runtime`` (the model, scoring, the scored-row schema) <- ``store`` (annotations) <-
``learn`` (learning from labels) <- ``jobs`` (batch, convert, compare, spark) <- ``app`` (Gradio)."""

import sentilens  # noqa: E402,F401 - process defaults (BLAS threads, TF logging) before numpy loads

__all__: list[str] = []  # nothing of its own: its modules are imported by name
