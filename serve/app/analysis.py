"""What the Analyze tab and the API return for one review, as plain data (no Gradio here).

Everything a user types passes ``check_text`` first, so bad input becomes one clear
sentence (``InputError``) instead of a hang or a traceback.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from explain.attribution import Attribution, Forward, forward
from explain.encodings import EncodingView, encoding_view
from explain.methods import DEFAULT_METHOD, check_method
from sentilens.errors import InputError
from sentilens.labels import WORD, label_of
from sentilens.sources.records import not_text
from serve.runtime import SentimentModel

__all__ = ["MAX_CHARS", "MAX_TOKENS", "MAX_TOKEN_CHARS", "Explained", "check_text", "explain", "predict",
           "running_points"]

MAX_CHARS = 100_000  # about 18,000 words; the model reads only the last maxlen anyway
# Normalisation can turn one character into several words (a ligature, a fraction, a squared
# unit), so the words are capped too: this bounds the work behind every explanation, whatever the
# 100,000 characters were (the /explain answer lists the words the model did not read once: ``to_dict``).
MAX_TOKENS = 20_000
MAX_TOKEN_CHARS = 200_000  # ... and their letters: one squared unit can normalise into a word of many


def check_text(text: object) -> str:
    """``text`` as a review to score, or one ``InputError`` sentence saying why not."""
    if text is None:
        raise InputError("Type or paste a review first.")
    if not isinstance(text, str):
        raise InputError(f"A review must be text, not {type(text).__name__}.")
    if len(text) > MAX_CHARS:
        raise InputError(f"Your review has {len(text):,} characters; the limit is {MAX_CHARS:,}. "
                         "Paste a shorter one (the model reads only its last words anyway).")
    if not text.strip():
        raise InputError("Type or paste a review first.")
    if not_text(text) is not None:  # the readers' rule for a row (sources.records.checked): refused, not repaired
        raise InputError("Your review holds characters that are not text (a lone surrogate or a NUL); "
                         "retype or paste it again.")
    return text


def predict(model: SentimentModel, text: str) -> dict:
    """The /predict answer: label and probability of each class."""
    p = float(model.predict([check_text(text)])[0])
    return {"label": WORD[label_of(p)], "positive": p, "negative": 1.0 - p}


@dataclass(frozen=True)
class Explained:
    """One review explained: what the page renders and what /explain returns."""

    text: str
    fwd: Forward
    attribution: Attribution
    view: EncodingView

    def to_dict(self) -> dict:
        """The /explain answer. Its per-word lists cover the words the model read (at most ``maxlen``, the
        last ones); the words before them, which it never read, are listed once, in ``encodings.truncated``.
        So the answer for 20,000 words is about as small as for the last ``maxlen`` of them: word ``i``
        (from 0) of ``attribution.tokens`` is word ``len(truncated) + i + 1`` of the review."""
        a, enc = self.attribution, self.fwd.enc
        read = slice(enc.n_truncated, None)  # pre-truncation drops a prefix: the words read are the rest
        p, tokens, normalized = a.probability, a.tokens[read], a.normalized()[read]
        bag = sorted(Counter(tokens).items(), key=lambda wc: (-wc[1], wc[0]))  # as explain.encodings orders it
        return {
            "label": WORD[label_of(p)], "positive": p, "negative": 1.0 - p,
            "attribution": {"method": a.method, "space": a.space, "probability": p, "baseline": a.baseline,
                            "total": a.total,
                            "tokens": [{"word": t, "score": s, "normalized": n}
                                       for t, s, n in zip(tokens, a.scores[read], normalized)]},
            "highlighted": list(zip(tokens, normalized)),
            "running_score": running_points(self.fwd),
            "encodings": {"tokens": tokens,
                          "bag_of_words": [[w, c] for w, c in bag],
                          "integer_encoding": [[t, i] for t, i in zip(tokens, enc.ids[read])],
                          "padded": [dict(r) for r in self.view.padded], "truncated": list(self.view.truncated),
                          "notice": self.view.notice, "padding": self.view.padding},
        }


def explain(model: SentimentModel, text: str, method: str = DEFAULT_METHOD) -> Explained:
    """Prediction, contributions, the running score and the encodings of one review."""
    text = check_text(text)
    entry = check_method(method, model.methods)
    enc = model.codec.encode(text)
    letters = sum(map(len, enc.tokens))
    if len(enc.tokens) > MAX_TOKENS or letters > MAX_TOKEN_CHARS:
        raise InputError(f"Your review has {len(enc.tokens):,} words ({letters:,} letters) once normalised; the limit "
                         f"for an explanation is {MAX_TOKENS:,} words and {MAX_TOKEN_CHARS:,} letters. Paste a shorter "
                         f"one (the model reads only its last {model.maxlen} words).")
    fwd = forward(model, text, enc)  # one pass: the probability, the plot's curve and the running method
    return Explained(text, fwd, entry.explain(model, fwd), encoding_view(model.codec, text, fwd.enc))


def running_points(fwd: Forward) -> list[dict]:
    """P(positive) after each word the model read, by the word's number in the review (1 = first),
    starting from the score before the first word read (its ``word`` is ``(start)``) when the start
    marker was read; ``position`` is the padded position behind each point."""
    enc, running = fwd.enc, fwd.running
    read = [(i, int(p)) for i, p in enumerate(enc.positions.tolist()) if p >= 0]
    points = []
    if read and read[0][1] > 0:
        points.append({"word_number": read[0][0], "word": "(start)", "position": read[0][1] - 1,
                       "score": float(running[read[0][1] - 1])})
    points += [{"word_number": i + 1, "word": enc.tokens[i], "position": p, "score": float(running[p])}
               for i, p in read]
    return points
