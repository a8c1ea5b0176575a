"""The model the app serves, which "Use this version" can replace while it runs.

Every tab, the API and the queue hold this one object; it passes every attribute through to the
``SentimentModel`` in use, so a switch takes effect on the next request. A request already running
finishes on the model it started with (it holds that model's bound methods).
"""

from __future__ import annotations

import threading
from pathlib import Path

from serve.runtime import SentimentModel

__all__ = ["ServedModel"]


class ServedModel:
    def __init__(self, model: SentimentModel, version: str = "base"):
        self._lock = threading.Lock()
        self._model, self.version = model, version

    @property
    def current(self) -> SentimentModel:
        return self._model

    def switch(self, directory: str | Path, version: str) -> SentimentModel:
        """Load ``directory`` (refused with one line if it does not load) and serve it from now on."""
        model = SentimentModel(directory)
        with self._lock:
            self._model, self.version = model, version
        return model

    def __getattr__(self, name: str):
        return getattr(self._model, name)
