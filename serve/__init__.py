"""Serving on onnxruntime (never TensorFlow): the runtime model, the app, batch scoring, annotations."""

import sentilens  # noqa: E402,F401 - process defaults (BLAS threads, TF logging) before numpy loads

__all__: list[str] = []  # nothing of its own: its modules are imported by name
