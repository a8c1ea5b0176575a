"""Counterfactuals: small edits of a review that should move the model, generated for many reviews at once.

LIT runs counterfactual generators over a selection and adds their outputs to the table; the share of
edits that flip the verdict is a measure of the slice (how much it hangs on one word). Three generators,
each an edit of the review's strongest word toward its verdict (by an explanation method):

- ``negate``: insert a negation before the word, or take away the one already there. The words are kept
  as written: "wasn't great" becomes "was great" (not "wasn't not great"), "not good" becomes "good",
  and a negation word itself is taken away ("never" in "never boring").
- ``opposite``: swap the word for its opposite among the model's own strongest words: the word of the
  other direction with the same strength rank (the model's own scale, not a thesaurus).
- ``drop``: delete the word.

``negate_at`` and ``drop_at`` are also what Analyze's what-if does when a person negates or drops a
clicked word, so the two never disagree on what a negation is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from explain.attribution import Forward, ScoringModel
from explain.methods import METHODS
from sentilens.codec import token_spans
from sentilens.labels import POS, label_of

__all__ = ["Counterfactual", "GENERATORS", "NEGATIONS", "drop_at", "flipped_share", "generate", "negate_at",
           "strongest_words"]

NEGATIONS = frozenset({"not", "never", "no", "cannot"})
# A contraction's positive form where dropping "n't" is not enough.
_UNCONTRACTED = {"can't": "can", "won't": "will", "ain't": "is", "shan't": "shall", "cannot": "can"}
_WORD_BEFORE = re.compile(r"([A-Za-z']+|[^\s]+)(\s+)$")
_APOSTROPHES = ("\u2019", "\u02bc", "\u2018")


def _plain(word: str) -> str:
    for mark in _APOSTROPHES:
        word = word.replace(mark, "'")
    return word.lower()


def _positive_form(word: str) -> str | None:
    """``wasn't`` -> ``was`` (case kept), or None when ``word`` is no negation."""
    plain = _plain(word)
    if plain in _UNCONTRACTED:
        out = _UNCONTRACTED[plain]
    elif plain.endswith("n't") and len(plain) > 3:
        return word[:-3]  # "wasn't" -> "was", its case as written
    elif plain in NEGATIONS:
        return ""
    else:
        return None
    return out.capitalize() if word[:1].isupper() else out


def negate_at(text: str, start: int, end: int) -> str:
    """``text`` with the word at ``[start, end)`` negated, the rest as written.

    A negation word itself is taken away (a contraction keeps its verb: "isn't" -> "is"); a word after a
    negation loses it ("not good" -> "good", "wasn't great" -> "was great"); any other word gets "not"
    before it ("Great" at a sentence start becomes "Not great")."""
    if not 0 <= start < end <= len(text):
        raise ValueError("the span is not inside the text")
    word = text[start:end]
    own = _positive_form(word)
    if own is not None:  # the word is a negation: take it away
        if own:
            return text[:start] + own + text[end:]
        before, after = text[:start], text[end:]
        if after.startswith(" "):
            after = after[1:]
        elif before.endswith(" "):
            before = before[:-1]
        if word[:1].isupper() and after[:1].islower():
            after = after[:1].upper() + after[1:]
        return before + after
    m = _WORD_BEFORE.search(text[:start])
    if m:
        form = _positive_form(m.group(1))
        if form is not None:  # "not good" -> "good", "wasn't great" -> "was great"
            if form:
                return text[:m.start(1)] + form + m.group(2) + text[start:]
            lead = text[:m.start(1)]
            rest = text[start:]
            if m.group(1)[:1].isupper() and rest[:1].islower():
                rest = rest[:1].upper() + rest[1:]
            return lead + rest
    sentence_start = not text[:start].strip() or text[:start].rstrip()[-1:] in ".!?"
    if sentence_start and word[:1].isupper() and not word.isupper():
        return text[:start] + "Not " + word[:1].lower() + word[1:] + text[end:]
    return text[:start] + "not " + text[start:]


def drop_at(text: str, start: int, end: int) -> str:
    """``text`` without the word at ``[start, end)`` and one space beside it; when a sentence's first word
    goes, the next one starts it with a capital."""
    if not 0 <= start < end <= len(text):
        raise ValueError("the span is not inside the text")
    before, after = text[:start], text[end:]
    if after.startswith(" "):
        after = after[1:]
    elif before.endswith(" "):
        before = before[:-1]
    if text[start:start + 1].isupper() and not before.strip() and after[:1].islower():
        after = after[:1].upper() + after[1:]
    return before + after


@dataclass(frozen=True)
class Counterfactual:
    """One edit of one review: which generator, the word it edited, the new text and both scores."""
    index: int  # the review's position in the input
    generator: str
    word: str
    text: str
    before: float  # P(positive) of the review
    after: float  # P(positive) of the edit

    @property
    def change(self) -> float:
        return self.after - self.before

    @property
    def flipped(self) -> bool:
        return label_of(self.after) != label_of(self.before)


@lru_cache(maxsize=4)
def _polarity(model: ScoringModel) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The model's strongest single words each way, strongest first: each vocabulary word scored alone."""
    vocab = model.codec.vocab  # most frequent first
    words = [w for w in vocab.words[:20000] if w.isalpha()]
    p = np.asarray(model.predict(words), dtype=np.float64)
    order = np.argsort(p)
    k = min(200, len(words) // 2)
    negative = tuple(words[i] for i in order[:k] if p[i] < 0.5)
    positive = tuple(words[i] for i in order[::-1][:k] if p[i] >= 0.5)
    return positive, negative


def strongest_words(model: ScoringModel) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(positive, negative): the model's strongest words alone, up to 200 each way, strongest first."""
    return _polarity(model)


def _opposite(model: ScoringModel, word: str, toward_positive: bool) -> str | None:
    positive, negative = _polarity(model)
    same, other = (positive, negative) if toward_positive else (negative, positive)
    if not other:
        return None
    rank = same.index(word.lower()) if word.lower() in same else 0
    return other[min(rank, len(other) - 1)]


def _edit(model: ScoringModel, text: str, span: tuple[int, int], generator: str, toward_positive: bool) -> str | None:
    start, end = span
    if generator == "negate":
        return negate_at(text, start, end)
    if generator == "drop":
        return drop_at(text, start, end)
    word = _opposite(model, text[start:end], toward_positive)
    if word is None:
        return None
    if text[start:start + 1].isupper():
        word = word.capitalize()
    return text[:start] + word + text[end:]


GENERATORS: dict[str, str] = {
    "negate": "insert or take away a negation at the strongest word",
    "opposite": "swap the strongest word for the model's word of the other direction with the same strength rank",
    "drop": "delete the strongest word",
}


def generate(model: ScoringModel, texts: Sequence[str], generators: Iterable[str] = tuple(GENERATORS),
             method: str = "running", progress: Callable[[int, int], None] | None = None) -> list[Counterfactual]:
    """Every generator on every review of ``texts``: one ``Counterfactual`` per edit made (a review with no
    word the model read, or whose words cannot be placed in its text, gets none), scored in one batch.

    ``method`` picks the strongest word toward the review's verdict (the running score by default: a
    slice of thousands is explained in seconds)."""
    generators = tuple(generators)
    unknown = [g for g in generators if g not in GENERATORS]
    if unknown:
        raise ValueError(f"unknown generator {unknown[0]!r}; choose from {', '.join(GENERATORS)}")
    pending: list[tuple[int, str, str, str, float]] = []
    for i, text, fwd in _forwards(model, texts):
        if progress is not None:
            progress(i, len(texts))
        enc = fwd.enc
        read = fwd.read_positions
        if not read:
            continue
        spans = token_spans(text, enc.tokens)
        if spans is None:
            continue
        scores = METHODS[method].explain(model, fwd).scores
        toward_positive = label_of(fwd.probability) == POS
        sign = 1.0 if toward_positive else -1.0
        candidates = [j for j in range(len(enc.tokens)) if enc.positions[j] >= 0 and scores[j] is not None]
        if not candidates:
            continue
        top = max(candidates, key=lambda j: sign * scores[j])
        for g in generators:
            edited = _edit(model, text, spans[top], g, toward_positive)
            if edited is not None and edited != text:
                pending.append((i, g, text[slice(*spans[top])], edited, float(fwd.probability)))
    after = np.asarray(model.predict([p[3] for p in pending]), dtype=np.float64) if pending else np.zeros(0)
    return [Counterfactual(i, g, w, t, b, float(a)) for (i, g, w, t, b), a in zip(pending, after)]


def _forwards(model: ScoringModel, texts: Sequence[str], chunk: int = 256):
    """(index, text, ``Forward``) for each review, the model run once per chunk of reviews (as ``forward``
    runs it for one: the padded ids, both outputs)."""
    for start in range(0, len(texts), chunk):
        part = list(texts[start:start + chunk])
        encs = [model.codec.encode(t) for t in part]
        probs, running = model.run(np.stack([e.padded for e in encs]), running=True)
        for k, (text, enc) in enumerate(zip(part, encs)):
            yield start + k, text, Forward(enc, float(probs[k]), running[k])


def flipped_share(edits: Sequence[Counterfactual]) -> dict[str, float]:
    """Per generator, the share of its edits that flipped the verdict."""
    out: dict[str, float] = {}
    for g in GENERATORS:
        mine = [e for e in edits if e.generator == g]
        if mine:
            out[g] = sum(e.flipped for e in mine) / len(mine)
    return out
