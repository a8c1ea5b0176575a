"""What the Analyze tab and the API return for one review, as plain data (no Gradio here).

Everything a user types passes ``check_text`` first, so bad input becomes one clear
sentence (``InputError``) instead of a hang or a traceback.
"""

from __future__ import annotations

from explain.attribution import METHODS, attribute, running_from, zero_state_probability
from explain.encodings import encoding_view
from serve.model import SentimentModel

MAX_CHARS = 100_000  # about 18,000 words; the model reads only the last maxlen anyway
THRESHOLD = 0.5


class InputError(ValueError):
    """Input the user can fix; the message says how."""


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


def check_method(method: object) -> str:
    if method not in METHODS:
        raise InputError(f"Unknown explanation method {method!r}; choose one of {', '.join(METHODS)}.")
    return method


def label_of(probability: float) -> str:
    return "positive" if probability >= THRESHOLD else "negative"


def predict(model: SentimentModel, text: str) -> dict:
    """The /predict answer: label and probability of each class."""
    p = float(model.predict([check_text(text)])[0])
    return {"label": label_of(p), "positive": p, "negative": 1.0 - p}


def explain_review(model: SentimentModel, text: str, method: str = "running") -> dict:
    """The /explain answer: prediction, contributions, the running score and the encodings."""
    text = check_text(text)
    method = check_method(method)
    if method == "cd" and "W" not in model.weights:
        raise InputError("Contextual decomposition needs an LSTM model; this one is a "
                         f"{model.meta['model']['cell']}. Pick another method.")
    enc = model.codec.encode(text)
    prob, running = model.run(enc.padded[None, :], running=True)  # the plot's curve, and the running method
    if method == "running":
        attribution = running_from(enc, float(prob[0]), running[0], zero_state_probability(model))
    else:
        attribution = attribute(model, text, method, enc)
    view = encoding_view(model.codec, text, enc)
    p = attribution.probability
    return {
        "label": label_of(p), "positive": p, "negative": 1.0 - p,
        "attribution": attribution.to_dict(),
        "highlighted": attribution.highlighted(),
        # from the last padding step (the state the review starts from) to the end
        "running_score": [{"position": pos, "word": view.padded[pos]["word"], "score": float(running[0, pos])}
                          for pos in range(max(0, enc.first_position - 1), model.maxlen)],
        "encodings": view.to_dict(),
    }
