"""Score one chunk of records: the seam shared by serve.batch, the Annotate loader and serve.spark.

Texts in; probabilities, labels and (when asked) each review's top words out, plus the rows that
could not be encoded, so that a bad row is rejected with its reason instead of taking the chunk
down with it. Two stages, so that a caller can encode the next chunk while one is scored: encoding
(Python) and one ORT call per chunk (the padding-skipping scorer, or the full graph when words are
asked, which needs the running score).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from explain.attribution import Forward
from explain.methods import DEFAULT_METHOD, check_method
from sentilens.settings import THRESHOLD
from sentilens.sources import Record
from serve.runtime import SentimentModel


def chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    """Consecutive lists of ``size`` records (the last may be shorter), read as they are needed."""
    while chunk := list(itertools.islice(records, size)):
        yield chunk


@dataclass
class Scored:
    records: list[Record] = field(default_factory=list)
    probabilities: list[float] = field(default_factory=list)
    top_words: list[list[tuple[str, float]]] = field(default_factory=list)  # empty unless asked
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (where, problem)

    def labels(self, threshold: float = THRESHOLD) -> list[str]:
        return ["pos" if p >= threshold else "neg" for p in self.probabilities]

    def rows(self, threshold: float = THRESHOLD) -> list[dict]:
        """One output row per scored record, as every scorer writes it (``top_words`` None unless asked)."""
        words = self.top_words or [None] * len(self.records)
        return [{"id": r.id, "probability": p, "label": lab, "true_label": label_name(r.label),
                 "top_words": None if top is None else " ".join(f"{w}:{s:+.3f}" for w, s in top)}
                for r, p, lab, top in zip(self.records, self.probabilities, self.labels(threshold), words)]


def label_name(label: int | None) -> str:
    """A known label as the outputs write it (pos, neg), or '' when the row had none."""
    return "" if label is None else ("pos" if label else "neg")


@dataclass
class Encoded:
    """A chunk's records that encoded, their encodings, and the rows that did not."""

    records: list[Record]
    encoded: object  # int32 [n, maxlen] ids, or the ``Encoding``s when words are asked
    rejected: list[tuple[str, str]]


def encode_chunk(model: SentimentModel, records: Sequence[Record], top_k: int = 0) -> Encoded:
    """Stage one (no ORT): the chunk encoded at once, or row by row to find the rows that fail."""
    try:
        if top_k:
            return Encoded(list(records), [model.codec.encode(r.text) for r in records], [])
        return Encoded(list(records), model.codec.encode_batch([r.text for r in records]), [])
    except Exception:  # noqa: BLE001 - find the row(s) that failed; one row never stops a run
        kept, encoded, rejected = [], [], []
        for r in records:
            try:
                encoded.append(model.codec.encode(r.text) if top_k else model.codec.encode_batch([r.text])[0])
                kept.append(r)
            except Exception as err:  # noqa: BLE001
                rejected.append((r.where, f"cannot be encoded ({type(err).__name__})"))
        return Encoded(kept, encoded if top_k else np.asarray(encoded, np.int32).reshape(len(kept), -1), rejected)


def score_encoded(model: SentimentModel, chunk: Encoded, top_k: int = 0, method: str = DEFAULT_METHOD) -> Scored:
    """Stage two: one ORT call for the chunk (the padding-skipping scorer unless words are asked)."""
    out = Scored(records=chunk.records, rejected=list(chunk.rejected))
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
