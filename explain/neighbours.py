"""Nearest words in the learned embedding (cosine similarity), read from the ONNX weights."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from explain.attribution import ScoringModel
from sentilens.codec import FIRST_WORD_ID, tokenize

__all__ = ["Neighbours"]


class Neighbours:
    """Unit-normalised embedding rows, computed once per model."""

    def __init__(self, model: ScoringModel):
        table = model.weights["embedding"].astype(np.float32)
        norms = np.linalg.norm(table, axis=1, keepdims=True)
        self.unit = table / np.maximum(norms, 1e-12)
        self.vocab = model.codec.vocab
        # (word, k) -> its k nearest: the common words of every review are ranked once, not on each
        # Analyze (bounded by the vocabulary times the few k the app asks for)
        self._known: dict[tuple[str, int], list[tuple[str, float]]] = {}

    def __call__(self, word: str, k: int = 10) -> list[tuple[str, float]]:
        """The k words nearest to ``word``; ``KeyError`` with advice when it is not in the vocabulary."""
        tokens = tokenize(word)
        if len(tokens) != 1:
            raise KeyError(f"type one word (got {len(tokens)} after tokenizing {word!r})")
        found = self.table(tokens, k)[tokens[0]]
        if found is None:
            raise KeyError(f"{tokens[0]!r} is not among the model's {len(self.vocab.words):,} words")
        return found

    def table(self, words: Iterable[str], k: int = 8, limit: int = 600) -> dict[str, list[tuple[str, float]] | None]:
        """Neighbours of many words at once (one matrix product per 256 words), for a page that shows
        them on a click: word -> [(neighbour, similarity)], ``None`` for a word not in the vocabulary.
        At most ``limit`` distinct words (the rest are left out)."""
        wanted = list(dict.fromkeys(words))[:limit]
        out: dict[str, list[tuple[str, float]] | None] = {w: None for w in wanted}
        known = [(w, self.vocab.index[w]) for w in wanted if w in self.vocab.index]
        rows = self.unit[FIRST_WORD_ID:]
        k = min(k, len(rows) - 1)
        if k <= 0:
            return out | {w: [] for w, _ in known}
        for word, _ in known:
            if (word, k) in self._known:
                out[word] = self._known[(word, k)]
        known = [(w, i) for w, i in known if out[w] is None]
        for start in range(0, len(known), 256):
            part = known[start:start + 256]
            ids = np.array([i for _, i in part])
            sims = self.unit[ids] @ rows.T
            sims[np.arange(len(part)), ids - FIRST_WORD_ID] = -np.inf
            best = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            for (word, _), row, cand in zip(part, sims, best):
                cand = cand[np.argsort(-row[cand])]
                out[word] = self._known[(word, k)] = [(self.vocab.words[c], float(row[c])) for c in cand]
        return out
