"""Score one chunk of records: the seam shared by serve.batch, the Annotate loader and serve.spark.

Texts in; probabilities, labels and (when asked) each review's top words out. Rows a reader could
not parse were rejected before they got here; every text encodes, so a failure here is a bug and
stops the run with its traceback. Two stages, so that a caller can encode the next chunk while one is scored: encoding
(Python) and one ORT call per chunk (the padding-skipping scorer, or the full graph when words are
asked, which needs the running score).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from explain.attribution import Forward
from explain.methods import DEFAULT_METHOD, check_method
from sentilens.labels import THRESHOLD, label_of, name_of
from sentilens.sources import CHUNK, CHUNK_CHARS, Record, chunks  # the chunking every scorer uses
from serve.runtime import SentimentModel
from serve.runtime.rows import OUTPUT_COLUMNS

__all__ = ["CHUNK", "CHUNK_CHARS", "Encoded", "Scored", "chunks", "encode_chunk",
           "score_chunk", "score_encoded"]


# What every scorer (serve.batch, serve.spark) writes for a scored review, in this order; top_words
# only with --explain. Rejected rows go elsewhere as (where, problem).


@dataclass
class Scored:
    records: list[Record] = field(default_factory=list)
    probabilities: list[float] = field(default_factory=list)
    top_words: list[list[tuple[str, float]]] = field(default_factory=list)  # empty unless asked

    def labels(self, threshold: float = THRESHOLD) -> list[str]:
        return [label_of(p, threshold) for p in self.probabilities]

    def rows(self, threshold: float = THRESHOLD) -> list[dict]:
        """One output row per scored record, keyed by ``OUTPUT_COLUMNS`` (``top_words`` None unless asked)."""
        words = self.top_words or [None] * len(self.records)
        return [dict(zip(OUTPUT_COLUMNS, (r.id, p, lab, name_of(r.label),
                                          None if top is None else " ".join(f"{w}:{s:+.3f}" for w, s in top))))
                for r, p, lab, top in zip(self.records, self.probabilities, self.labels(threshold), words)]


@dataclass
class Encoded:
    """A chunk's records and their encodings."""

    records: list[Record]
    encoded: object  # int32 [n, maxlen] ids, or the ``Encoding``s when words are asked


def encode_chunk(model: SentimentModel, records: Sequence[Record], top_k: int = 0) -> Encoded:
    """Stage one (no ORT): the chunk encoded at once. Any text encodes (property-tested), so an
    exception here is a bug and keeps its traceback."""
    if top_k:
        return Encoded(list(records), [model.codec.encode(r.text) for r in records])
    return Encoded(list(records), model.codec.encode_batch([r.text for r in records]))


def score_encoded(model: SentimentModel, chunk: Encoded, top_k: int = 0, method: str = DEFAULT_METHOD) -> Scored:
    """Stage two: one ORT call for the chunk (the padding-skipping scorer unless words are asked)."""
    out = Scored(records=chunk.records)
    if not chunk.records:
        return out
    if not top_k:
        out.probabilities = model.score_ids(chunk.encoded).tolist()
        return out
    explain = check_method(method, model.methods).explain
    probs, running = model.run(np.stack([e.padded for e in chunk.encoded]), running=True)
    out.probabilities = probs.tolist()
    out.top_words = [explain(model, Forward(e, p, running[i])).top(top_k)
                     for i, (e, p) in enumerate(zip(chunk.encoded, out.probabilities))]
    return out


def score_chunk(model: SentimentModel, records: Sequence[Record], top_k: int = 0,
                method: str = DEFAULT_METHOD) -> Scored:
    """Probabilities (and the ``top_k`` words by ``method``) for ``records``, in order."""
    return score_encoded(model, encode_chunk(model, records, top_k), top_k, method)
