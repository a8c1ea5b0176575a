"""Score one chunk of records: the seam shared by the batch scorer and the Annotate loader.

Texts in; probabilities, labels and (when asked) each review's top words out, plus the rows
that could not be encoded, so that a bad row is rejected with its reason instead of taking the
chunk down with it. The model is run once per chunk, both outputs at once when words are asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from explain.attribution import Forward
from explain.methods import DEFAULT_METHOD, check_method
from sentilens.settings import THRESHOLD
from sentilens.sources import Record
from serve.runtime import SentimentModel


@dataclass
class Scored:
    records: list[Record] = field(default_factory=list)
    probabilities: list[float] = field(default_factory=list)
    top_words: list[list[tuple[str, float]]] = field(default_factory=list)  # empty unless asked
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (where, problem)

    def labels(self, threshold: float = THRESHOLD) -> list[str]:
        return ["pos" if p >= threshold else "neg" for p in self.probabilities]


def score_chunk(model: SentimentModel, records: Sequence[Record], top_k: int = 0,
                method: str = DEFAULT_METHOD) -> Scored:
    """Probabilities (and the ``top_k`` words by ``method``) for ``records``, in order."""
    out = Scored()
    encode = model.codec.encode if top_k else (lambda text: model.codec.encode_batch([text])[0])
    try:  # the fast path: the whole chunk at once
        encoded = [model.codec.encode(r.text) for r in records] if top_k else model.codec.encode_batch(
            [r.text for r in records])
        out.records = list(records)
    except Exception:  # noqa: BLE001 - find the row(s) that failed; one row never stops a run
        encoded = []
        for r in records:
            try:
                encoded.append(encode(r.text))
                out.records.append(r)
            except Exception as err:  # noqa: BLE001
                out.rejected.append((r.where, f"cannot be encoded ({type(err).__name__})"))
    if not out.records:
        return out
    if not top_k:
        out.probabilities = model.run(np.asarray(encoded)).tolist()
        return out
    explain = check_method(method, model.methods).explain
    probs, running = model.run(np.stack([e.padded for e in encoded]), running=True)
    out.probabilities = probs.tolist()
    out.top_words = [explain(model, Forward(e, p, running[i])).top(top_k)
                     for i, (e, p) in enumerate(zip(encoded, out.probabilities))]
    return out
