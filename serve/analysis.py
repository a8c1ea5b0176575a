"""What the Analyze tab and the API return for one review, as plain data (no Gradio here).

Everything a user types passes ``check_text`` first, so bad input becomes one clear
sentence (``InputError``) instead of a hang or a traceback.
"""

from __future__ import annotations

from explain.attribution import forward
from explain.encodings import encoding_view
from explain.methods import DEFAULT_METHOD, check_method
from sentilens.errors import InputError
from sentilens.settings import THRESHOLD
from serve.runtime import SentimentModel

MAX_CHARS = 100_000  # about 18,000 words; the model reads only the last maxlen anyway
# Normalisation can turn one character into several words (a ligature, a fraction, a squared
# unit), so the words are capped too: this bounds every /explain answer (a few MB at most) and
# the work behind it, whatever the 100,000 characters were.
MAX_TOKENS = 20_000


def check_text(text: object) -> str:
    if text is None:
        raise InputError("Type or paste a review first.")
    if not isinstance(text, str):
        raise InputError(f"A review must be text, not {type(text).__name__}.")
    if len(text) > MAX_CHARS:
        raise InputError(f"Your review has {len(text):,} characters; the limit is {MAX_CHARS:,}. "
                         "Paste a shorter one (the model reads only its last words anyway).")
    if not text.strip():
        raise InputError("Type or paste a review first.")
    return text


def label_of(probability: float) -> str:
    return "positive" if probability >= THRESHOLD else "negative"


def predict(model: SentimentModel, text: str) -> dict:
    """The /predict answer: label and probability of each class."""
    p = float(model.predict([check_text(text)])[0])
    return {"label": label_of(p), "positive": p, "negative": 1.0 - p}


def explain_review(model: SentimentModel, text: str, method: str = DEFAULT_METHOD) -> dict:
    """The /explain answer: prediction, contributions, the running score and the encodings."""
    text = check_text(text)
    entry = check_method(method, model.methods)
    enc = model.codec.encode(text)
    if len(enc.tokens) > MAX_TOKENS:
        raise InputError(f"Your review has {len(enc.tokens):,} words once normalised; the limit for an explanation "
                         f"is {MAX_TOKENS:,}. Paste a shorter one (the model reads only its last {model.maxlen} words).")
    fwd = forward(model, text, enc)  # one pass: the probability, the plot's curve and the running method
    attribution = entry.explain(model, fwd)
    view = encoding_view(model.codec, text, fwd.enc)
    p = attribution.probability
    return {
        "label": label_of(p), "positive": p, "negative": 1.0 - p,
        "attribution": attribution.to_dict(),
        "highlighted": attribution.highlighted(),
        # from the last padding step (the state the review starts from) to the end
        "running_score": [{"position": pos, "word": view.padded[pos]["word"], "score": float(fwd.running[pos])}
                          for pos in range(max(0, fwd.enc.first_position - 1), model.maxlen)],
        "encodings": view.to_dict(),
    }
