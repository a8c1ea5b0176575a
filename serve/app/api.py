"""The named API: /predict, /explain and /health, first on the API page (the Annotate tab adds
/next_item and /annotate, learning /learn, /versions and /use_version)."""

from __future__ import annotations

from typing import Literal, TypedDict

import gradio as gr

from explain.methods import METHODS, shown_first
from serve.app.analysis import MAX_CHARS, explain, predict
from serve.app.api_docs import client_call, describe
from serve.app.tab import EXPLAIN_QUEUE
from serve.app.ui_safety import user_errors
from serve.runtime import SentimentModel

__all__ = ["Prediction", "Explanation", "build_api"]


class Prediction(TypedDict):
    label: str
    positive: float
    negative: float


class Explanation(TypedDict):
    label: str
    positive: float
    negative: float
    attribution: dict
    highlighted: list
    running_score: list
    encodings: dict


def build_api(model: SentimentModel, address: str | None = None) -> None:
    """/predict, /explain and /health, documented on the API page (every parameter and return, an example
    with the app's address when it is known)."""
    Method = Literal[tuple(model.methods)]  # the API page lists the allowed names

    def api_predict(text: str) -> Prediction:
        return predict(model, text)

    def api_explain(text: str, method: str = shown_first(model.methods)) -> Explanation:  # as Analyze opens
        return explain(model, text, method).to_dict()

    api_explain.__annotations__ |= {"text": str, "method": Method, "return": Explanation}
    api_predict.__annotations__ |= {"text": str, "return": Prediction}

    text_doc = f"the review, as written (up to {MAX_CHARS:,} characters; markup and case do not matter)"
    prediction_doc = ("a dict: label ('positive' or 'negative'), positive (P(positive) in [0, 1]), negative "
                      "(1 - positive)")
    predict_doc = (f"Score one review. Example: {client_call(address, 'A sharp, funny film.', api_name='/predict')}")
    methods = "; ".join(f"'{m}' = {METHODS[m].summary}" for m in model.methods)
    explanation_doc = ("a dict: label, positive, negative (as /predict); attribution: method, space ('probability' or "
                       "'logit'), probability, baseline, total, tokens (word, score in that space, normalized in "
                       "[-1, 1]); highlighted: [word, normalized score] pairs; running_score: [{word_number, word, "
                       "position, score}] = P(positive) after each word read; encodings: tokens, bag_of_words, "
                       "integer_encoding, padded (position, id, word, kind) from the first real id on, padding (how "
                       "many pad zeros come before it), truncated, notice. The per-word lists cover the words the "
                       "model read (the last ones of a long review); the words before them, never read, are listed "
                       "once, in truncated")
    explain_doc = (f"Explain one review: which words moved the score. Example: "
                   f"{client_call(address, 'Not bad at all.', 'occlusion', api_name='/explain')}")
    describe(gr.api(user_errors(api_predict), api_name="predict", api_description=predict_doc),
             [text_doc], [prediction_doc])
    describe(gr.api(user_errors(api_explain), api_name="explain", api_description=explain_doc, **EXPLAIN_QUEUE),
             [text_doc, f"the explanation method: {methods}"], [explanation_doc])

    def api_health() -> str:
        return "ok"

    api_health.__annotations__["return"] = str  # a type, not the string this module's annotations are

    describe(gr.api(api_health, api_name="health",
                    api_description="Answers 'ok' without touching the model, through the same queue as /predict: a "
                                    "liveness check, and the floor bench/load.py measures Gradio's own cost per request "
                                    f"with. Example: {client_call(address, api_name='/health')}"),
             [], ["the text 'ok' while the app answers"])

