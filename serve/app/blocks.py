"""The Gradio app: Analyze, Annotate, (Compare) and Model tabs, and the named API (/predict and
/explain first; the Annotate tab adds /next_item and /annotate).

Handlers raise ``InputError`` for anything the user can fix and ``serve.ui_safety.user_errors``
turns it into a message box; review text reaches the page only through ``serve.review_view``
(escaped) or components that render it as text.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, fields
from typing import Literal, TypedDict

import gradio as gr

from explain.concordance import concordance
from explain.methods import DEFAULT_METHOD, METHODS
from explain.neighbours import Neighbours
from sentilens.wording import count
from serve.app import model_card
from serve.app.analysis import MAX_CHARS, Explained, explain, predict, running_points
from serve.app.api_docs import client_call, describe
from serve.app.uploads import MAX_UPLOAD_BYTES
from serve.app.palette import css as palette_css
from serve.app.review_view import asset, explained_html
from serve.runtime import SentimentModel
from serve.app.data_tab import DataTab
from serve.app.team_tab import TeamTab
from serve.app.ui_safety import md_literal, user_errors, warn
from serve.app.whatif import COLUMNS as WHATIF_COLUMNS, what_if

# Our own example reviews. The last two use exactly the same words in a different order.
EXAMPLES = [
    "A warm, funny and beautifully acted film. The script is sharp and the ending moved me to tears.",
    "Two hours of my life I will never get back. The plot is a mess and the acting is wooden.",
    "I expected to hate it, but the second half won me over completely. Worth seeing.",
    "I thought it would be bad. It was excellent.",
    "I thought it would be excellent. It was bad.",
]
TITLE = "sentilens"
# Explanations cost up to ~100x a prediction: they share a small queue of their own, so a burst
# of them (or of huge reviews) waits there and never holds up /predict's workers.
EXPLAIN_QUEUE = {"concurrency_id": "explain", "concurrency_limit": 2}
PRIVATE = {"api_visibility": "private"}
SCROLL_TO_RESULT = asset("scroll_to_result.js")
# for the page head: Annotate's keys and drafts, names for Gradio's upload buttons that match what they
# show, Analyze's what-if edits
HEAD = "".join(f"<script>\n{asset(name)}</script>\n" for name in ("shortcuts.js", "drafts.js", "upload_names.js",
                                                                 "whatif.js"))  # on a narrow screen, bring the result into view


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def launch_options(host: str = "127.0.0.1", allowed_hosts: tuple[str, ...] = ()) -> dict:
    """What ``launch()`` needs besides host/port/auth (Gradio 6 takes head/css there, not in Blocks),
    and a check of every request's Host: loopback, the bound address and ``allowed_hosts`` only."""
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    hosts = [*LOOPBACK_NAMES, *allowed_hosts] + ([host] if host not in ("0.0.0.0", "::") else [])
    return {"show_error": False, "max_file_size": MAX_UPLOAD_BYTES, "head": HEAD,
            "css": palette_css() + asset("review.css"), "theme": theme(),
            "app_kwargs": {"middleware": [Middleware(TrustedHostMiddleware, allowed_hosts=hosts)]}}


def theme() -> gr.themes.Base:
    """Gradio's default look with text that passes WCAG AA in light and dark mode: primary buttons and
    the accent (the selected tab's name) a shade darker (white on orange-600 is 3.6:1, on orange-700 5.2:1)."""
    return gr.themes.Default().set(color_accent="*primary_700",
                                   button_primary_background_fill="*primary_700",
                                   button_primary_background_fill_dark="*primary_700",
                                   button_primary_background_fill_hover="*primary_800",
                                   button_primary_background_fill_hover_dark="*primary_800",
                                   button_primary_text_color="white", button_primary_text_color_dark="white")


def padded_rows(e: Explained) -> dict:
    """The padded encoding from the first real id on, the padding before it in one row."""
    first = e.view.padding
    data = [[str(r["position"]), str(r["id"]), r["word"], r["kind"]] for r in e.view.padded]
    if first:  # (all text: the table shows numbers and ranges alike)
        span = "0" if first == 1 else f"0-{first - 1}"
        data.insert(0, [span, "0", f"<pad> x {first}", f"padding ({count(first, 'zero')})"])
    return {"headers": ["position", "id", "word", "kind"], "data": data}


@dataclass
class AnalyzeOutputs:
    """The components an analysis fills: handlers answer by component, not by position."""

    result: gr.HTML
    running: gr.LinePlot
    encodings: gr.Accordion
    padded: gr.Dataframe
    bag: gr.Dataframe
    ints: gr.Dataframe
    dropped: gr.Textbox

    def all(self) -> list:
        return [getattr(self, f.name) for f in fields(self)]


class AnalyzeHandlers:
    """Analyze answers in two steps: the coloured review first (what a person reads), then the plot and
    the encoding tables (a Vega plot and three tables cost the browser about as much again: bench/interaction.py).
    The second step reads the explanation the first computed, kept for a moment by (review, method)."""

    KEEP = 32  # explanations kept for the second step (a few per concurrent user)

    def __init__(self, model: SentimentModel, ui: AnalyzeOutputs):
        self.model, self.ui = model, ui
        self.neighbours = Neighbours(model)
        self._recent: OrderedDict[tuple[str, str], Explained] = OrderedDict()
        self._lock = threading.Lock()

    def _explained(self, text: str, method: str) -> Explained:
        with self._lock:
            e = self._recent.get((text, method))
        if e is None:
            e = explain(self.model, text, method)
            with self._lock:
                self._recent[(text, method)] = e
                while len(self._recent) > self.KEEP:
                    self._recent.popitem(last=False)
        return e

    def analyze(self, text: str, method: str) -> dict:
        e = self._explained(text, method)
        return {self.ui.result: explained_html(e, method, self.neighbours)}

    def what_if(self, original: str, edited: str, method: str):
        """The edited review scored and explained against the review as it is in the box above."""
        summary, page, rows = what_if(self._explained(original, method), self._explained(edited, method), method)
        return summary, page, gr.update(value=rows, visible=bool(rows))

    def two_methods(self, text: str, a: str, b: str) -> tuple[str, str, str]:
        """Two methods on one review, side by side, with how far they agree (explain.concordance)."""
        if a == b:
            warn("Choose two different methods to compare.")
            return gr.skip(), gr.skip(), gr.skip()
        ea, eb = self._explained(text, a), self._explained(text, b)
        c = concordance(ea.attribution.scores, eb.attribution.scores)
        words = ea.attribution.tokens
        rho = "n/a (too few words)" if c.rho is None else f"{c.rho:.2f}"
        same = "n/a" if c.same_sign is None else f"{c.same_sign:.0%}"
        shared = ", ".join(f"*{md_literal(words[i])}*" for i in c.shared_top) or "none"
        summary = (f"**How far they agree**, over the {count(c.words, 'word')} both scored: Spearman's rank correlation "
                   f"of the word scores **{rho}** (1: the same order; units do not matter); of each method's "
                   f"{c.k} strongest words, **{len(c.shared_top)} of {c.k}** are the same ({shared}); **{same}** of the "
                   "words are pushed the same way by both.")
        return (summary, explained_html(ea, a, self.neighbours), explained_html(eb, b, self.neighbours))

    def details(self, text: str, method: str) -> dict:
        """The running-score plot and the encodings of the review just analysed."""
        if not isinstance(text, str) or not text.strip():
            return {}
        e = self._explained(text, method)
        enc, ui = e.view, self.ui
        running = frame(["word number", "P(positive)", "word"],
                        [[r["word_number"], r["score"], r["word"]] for r in running_points(e.fwd)])
        dropped = " ".join(enc.truncated)
        return {ui.running: gr.update(value=running, visible=True),
                ui.encodings: gr.update(visible=True),
                ui.padded: padded_rows(e),
                ui.bag: {"headers": ["word", "count"], "data": [list(x) for x in enc.bag_of_words]},
                ui.ints: {"headers": ["word", "id"], "data": [list(x) for x in enc.integer_encoding]},
                ui.dropped: gr.update(value=dropped, visible=bool(dropped))}

    def rerun(self, text: str, method: str) -> dict:
        """A new method re-explains the review on screen at once; with no review, nothing happens."""
        if not isinstance(text, str) or not text.strip():
            return {}
        return self.analyze(text, method)

    def cleared(self) -> dict:
        """After an error: no stale result stays on screen next to the new input."""
        ui = self.ui
        return {ui.result: "", ui.running: gr.update(value=None, visible=False), ui.encodings: gr.update(visible=False),
                ui.padded: None, ui.bag: None, ui.ints: None, ui.dropped: gr.update(value="", visible=False)}


def build_analyze(model: SentimentModel) -> gr.Textbox:
    """Analyze's layout and events; returns the review box (the Data tab opens a row in it)."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=340):
            review = gr.Textbox(label="Review", lines=8, max_lines=20, placeholder="Type or paste a movie review",
                                elem_id="review", max_length=MAX_CHARS)
            method = gr.Radio(choices=[(METHODS[m].label, m) for m in model.methods],
                              value=DEFAULT_METHOD if DEFAULT_METHOD in model.methods else model.methods[0],
                              label="Explanation method", elem_id="method")
            analyze = gr.Button("Analyze", variant="primary", elem_id="analyze")
        with gr.Column(scale=1, min_width=340):
            result = gr.HTML("", elem_id="result", js_on_load=asset("review.js"), padding=True)
    examples = gr.Examples(examples=[[e] for e in EXAMPLES], inputs=[review], label="Examples (our own reviews)",
                           elem_id="examples")
    running = gr.LinePlot(x="word number", y="P(positive)", title="Running score: P(positive) after each word read",
                          tooltip=["word number", "word", "P(positive)"], y_lim=[0, 1], height=260, visible=False,
                          elem_id="running")
    with gr.Accordion("What the model sees: encodings", open=False, visible=False, elem_id="encodings") as encodings:
        gr.Markdown("**Bag of words** loses the order; the **integer encoding** keeps it; the **padded "
                    "encoding** is exactly what the model reads: pad zeros first (summarised in one row), a start "
                    "marker (1), unknown words as 2, and only the last words when the review is too long.")
        dropped = gr.Textbox(label="Words the model never read (dropped by pre-truncation)", interactive=False,
                             lines=2, visible=False, elem_id="dropped")
        with gr.Row():
            bag = gr.Dataframe(label="Bag of words", interactive=False, max_height=320)
            ints = gr.Dataframe(label="Integer encoding", interactive=False, max_height=320)
            padded = gr.Dataframe(label="Padded encoding", interactive=False, max_height=320, elem_id="padded",
                                  datatype=["str", "str", "str", "str"])

    with gr.Accordion("Two methods side by side", open=False, elem_id="methods-box"):
        others = [m for m in model.methods if m != method.value] or list(model.methods)
        with gr.Row():
            method_a = gr.Radio(choices=method.choices, value=method.value, label="Method A", elem_id="method-a")
            method_b = gr.Radio(choices=method.choices, value=others[0], label="Method B", elem_id="method-b")
        two = gr.Button("Compare the two methods on this review", elem_id="methods-compare")
        agreement = gr.Markdown(elem_id="methods-agreement")
        with gr.Row(equal_height=False):
            side_a = gr.HTML("", elem_id="side-a", js_on_load=asset("review.js"), padding=True)
            side_b = gr.HTML("", elem_id="side-b", js_on_load=asset("review.js"), padding=True)

    with gr.Accordion("What if: edit the review and see the new score", open=False, elem_id="whatif-box"):
        gr.Markdown("Change the text below (it is the review as analysed), or click a word in the result and use "
                    "**Drop this word** or **Negate it**; each word's contribution before and after is listed.")
        whatif_text = gr.Textbox(label="The review, edited", lines=4, max_lines=12, max_length=MAX_CHARS,
                                 elem_id="whatif")
        whatif_score = gr.Button("Score the edit", elem_id="whatif-score")
        gr.HTML('<p id="whatif-note" aria-live="polite"></p>', padding=False)
        whatif_summary = gr.Markdown(elem_id="whatif-summary")
        whatif_review = gr.HTML("", elem_id="whatif-review", js_on_load=asset("review.js"), padding=True)
        whatif_changes = gr.Dataframe(headers=WHATIF_COLUMNS, interactive=False, visible=False, wrap=True,
                                      column_widths=["34%", "22%", "22%", "22%"],  # the change in view on a phone
                                      label="Each word's contribution, before and after (largest changes first)",
                                      elem_id="whatif-changes")

    ui = AnalyzeOutputs(result, running, encodings, padded, bag, ints, dropped)
    h, outputs = AnalyzeHandlers(model, ui), ui.all()
    details = [running, encodings, padded, bag, ints, dropped]
    for trigger in (analyze.click, review.submit, examples.load_input_event.then):  # an example runs on click
        event = trigger(user_errors(h.analyze), [review, method], [result], **EXPLAIN_QUEUE, **PRIVATE)
        event.failure(h.cleared, None, outputs, **PRIVATE)
        # scrolled once the plot and tables below it are in: before, a short page cannot bring it to the top
        event.success(user_errors(h.details), [review, method], details, **EXPLAIN_QUEUE, **PRIVATE) \
            .success(None, None, None, js=SCROLL_TO_RESULT, **PRIVATE)
        trigger(lambda text: text, [review], [whatif_text], **PRIVATE)  # the what-if starts from the review
        trigger(lambda: ("", "", ""), None, [agreement, side_a, side_b], **PRIVATE)  # an old comparison goes
    rerun = method.change(user_errors(h.rerun), [review, method], [result], **EXPLAIN_QUEUE, **PRIVATE)
    rerun.failure(h.cleared, None, outputs, **PRIVATE)
    rerun.success(user_errors(h.details), [review, method], details, **EXPLAIN_QUEUE, **PRIVATE)
    whatif_score.click(user_errors(h.what_if), [review, whatif_text, method],
                       [whatif_summary, whatif_review, whatif_changes], **EXPLAIN_QUEUE, **PRIVATE)
    two.click(user_errors(h.two_methods), [review, method_a, method_b], [agreement, side_a, side_b], **EXPLAIN_QUEUE,
              **PRIVATE)
    return review


def model_tab_values(model: SentimentModel) -> tuple:
    """The Model tab's card, tables and details for the model served now (a learned version can replace it)."""
    test = model.artifact.metrics["test"]
    baseline = model_card.baseline_table(model)
    return ("## Model card\n" + model_card.INTENDED + "\n\n" + model_card.limitations(model) + "\n\n"
            + model_card.dataset(model),
            gr.update(value=model_card.per_class(test["confusion"]), label=f"Per class, test split ({test['n']:,} reviews)"),
            model_card.confusion_table(test["confusion"]),
            (baseline + "\n\n" if baseline else "") + "### Technical details\n" + model_card.details(model))


def build_model_tab(model: SentimentModel, tab: gr.Tab | None = None) -> None:
    """Read again each time the tab is opened: "Use this version" may have changed the model served."""
    card, per_class, confusion, details = model_tab_values(model)
    test = model.artifact.metrics["test"]
    card_box = gr.Markdown(card, elem_id="card")
    with gr.Row():
        per_class_box = gr.Dataframe(value=per_class["value"], interactive=False,
                                     label=f"Per class, test split ({test['n']:,} reviews)")
        confusion_box = gr.Dataframe(value=confusion, interactive=False,
                                     label="Confusion matrix, test split (rate of each actual class)")
    accuracy, loss = model_card.curves(model)
    if accuracy or loss:
        with gr.Row():
            gr.LinePlot(value=frame(["epoch", "series", "accuracy"], accuracy), x="epoch", y="accuracy",
                        color="series", title="Accuracy by epoch", height=260)
            gr.LinePlot(value=frame(["epoch", "series", "loss"], loss), x="epoch", y="loss", color="series",
                        title="Loss (binary cross-entropy) by epoch", height=260)
    details_box = gr.Markdown(details)
    if tab is not None:
        tab.select(lambda: model_tab_values(model), None, [card_box, per_class_box, confusion_box, details_box],
                   show_progress="hidden", api_visibility="private")


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

    def api_explain(text: str, method: str = DEFAULT_METHOD) -> Explanation:
        return explain(model, text, method).to_dict()

    api_explain.__annotations__ |= {"text": str, "method": Method, "return": Explanation}
    api_predict.__annotations__ |= {"text": str, "return": Prediction}

    text_doc = f"the review, as written (up to {MAX_CHARS:,} characters; markup and case do not matter)"
    prediction_doc = ("label: 'positive' or 'negative'; positive: P(positive) in [0, 1]; negative: 1 - positive")
    predict_doc = (f"Score one review. Example: {client_call(address, 'A sharp, funny film.', api_name='/predict')}")
    methods = "; ".join(f"'{m}' = {METHODS[m].summary}" for m in model.methods)
    explanation_doc = ("label, positive, negative (as /predict); attribution: method, space ('probability' or "
                       "'logit'), probability, baseline, total, tokens (word, score in that space, normalized in "
                       "[-1, 1]; score null for words the model did not read); highlighted: [word, normalized score] "
                       "pairs; running_score: [{word_number, word, position, score}] = P(positive) after each word "
                       "read; encodings: tokens, bag_of_words, integer_encoding, padded (position, id, word, kind) from "
                       "the first real id on, padding (how many pad zeros come before it), truncated (words never "
                       "read), notice")
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
             [], ["the text 'ok'"])


def build_app(model: SentimentModel, annotate=None, compare=None, address: str | None = None) -> gr.Blocks:
    """The whole UI. ``annotate`` is a ``serve.annotate_tab.AnnotateTab`` or None; ``compare`` a
    ``serve.compare_tab.CompareTab`` (a second model) or None; ``address``, the URL the app is served
    on when known, goes into the API page's examples."""
    # Uploads land in Gradio's temporary folder: files older than an hour are removed every ten minutes.
    with gr.Blocks(title=TITLE, delete_cache=(600, 3600)) as app:
        build_api(model, address)  # first: /predict and /explain lead the API page
        saved = annotate.browser_state() if annotate is not None else None
        gr.Markdown(f"# {TITLE}\nScore a movie review, see which words moved the score (blue toward positive, "
                    f"red toward negative), and the numbers the model really reads.")
        with gr.Tabs() as tabs:
            with gr.Tab("Analyze", id="analyze"):
                review = build_analyze(model)
            with gr.Tab("Data", id="data"):
                DataTab(model).render(review, tabs)
            if annotate is not None:
                with gr.Tab("Annotate", id="annotate"):
                    annotate.render(app, saved)
                with gr.Tab("Team", id="team") as team:
                    TeamTab(model, annotate.store, annotate.learning).render(team, app)
            if compare is not None:
                with gr.Tab("Compare", id="compare"):
                    compare.render()
            with gr.Tab("Model", id="model") as model_tab:
                build_model_tab(model, model_tab)
    return app


def frame(columns: list[str], rows: list[list]):
    """Plots take a pandas DataFrame (pandas comes with gradio)."""
    import pandas as pd

    return pd.DataFrame(rows, columns=columns)
