"""Explanations on the exported model: encodings, per-token contributions (one registry of methods), neighbours."""

import sentilens  # noqa: E402,F401 - process defaults (BLAS threads, TF logging) before numpy loads

__all__: list[str] = []  # nothing of its own: its modules are imported by name
