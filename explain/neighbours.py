"""Nearest words by what the model does with them (``explain.representation.word_behaviour``: the state a
word leads to and the logit change it causes, from a few reference states), not by raw embedding distance:
this model's embedding is not where its meaning lives ("superb" was nearest to keenan, appearances,
containing; by behaviour it is nearest to underrated, touching, outstanding, delightful)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from explain.attribution import ScoringModel
from explain.representation import word_behaviour
from sentilens.codec import FIRST_WORD_ID, tokenize

__all__ = ["Neighbours"]


class Neighbours:
    """Words' unit behaviour vectors, computed once per model (on the first question: building them reads
    the weights and runs every word through the LSTM, about a second for 20,000 words)."""

    def __init__(self, model: ScoringModel):
        self.model = model
        self.vocab = model.codec.vocab
        # (word, k) -> its k nearest: the common words of every review are ranked once, not on each
        # Analyze (bounded by the vocabulary times the few k the app asks for)
        self._known: dict[tuple[str, int], list[tuple[str, float]]] = {}

    @property
    def unit(self) -> np.ndarray:
        """float32 [vocab, D]: each word's behaviour, unit length (cosine = dot product)."""
        try:
            return word_behaviour(self.model)[0]
        except ValueError:  # not a fused LSTM export (no state to speak of): the embedding is all there is
            table = self.model.weights["embedding"].astype(np.float32)
            return table / np.maximum(np.linalg.norm(table, axis=1, keepdims=True), 1e-12)

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
        if not known:
            return out
        unit = self.unit
        rows = unit[FIRST_WORD_ID:]
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
            sims = unit[ids] @ rows.T
            sims[np.arange(len(part)), ids - FIRST_WORD_ID] = -np.inf
            best = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            for (word, _), row, cand in zip(part, sims, best):
                cand = cand[np.argsort(-row[cand])]
                out[word] = self._known[(word, k)] = [(self.vocab.words[c], float(row[c])) for c in cand]
        return out
