"""The Analyze tab: one review scored and explained (the coloured review first, then the running score
and the encodings), two methods side by side, and the what-if box."""

from __future__ import annotations

import html
import threading
from collections import OrderedDict
from dataclasses import dataclass, fields

import gradio as gr

from explain.concordance import concordance
from explain.methods import METHODS, shown_first
from explain.neighbours import Neighbours
from sentilens.errors import InputError
from sentilens.labels import VALUE_WORD
from sentilens.wording import count
from serve.app.analysis import MAX_CHARS, Explained, explain, running_points
from serve.app.data_map import similar, start_of
from serve.app.review_view import asset, explained_html
from serve.app.tab import EXPLAIN_QUEUE, PRIVATE, TabContext, frame
from serve.app.ui_safety import md_literal, user_errors, warn
from serve.app.whatif import COLUMNS as WHATIF_COLUMNS, apply_click, what_if
from serve.runtime import SentimentModel

__all__ = ["EXAMPLES", "SIMILAR_COLUMNS", "AnalyzeOutputs", "AnalyzeHandlers", "AnalyzeTab", "build_analyze",
           "build_similar", "padded_rows", "similar_rows"]

# Our own example reviews. The last two use exactly the same words in a different order.
EXAMPLES = [
    "A warm, funny and beautifully acted film. The script is sharp and the ending moved me to tears.",
    "Two hours of my life I will never get back. The plot is a mess and the acting is wooden.",
    "I expected to hate it, but the second half won me over completely. Worth seeing.",
    "I thought it would be bad. It was excellent.",
    "I thought it would be excellent. It was bad.",
]
SCROLL_TO_RESULT = asset("scroll_to_result.js")


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

    KEEP = 32  # explanations kept for the second step (a few per concurrent user) ...
    KEEP_WORDS = 200_000  # ... and their words: 32 reviews of 20,000 words held 120 MB

    def __init__(self, model: SentimentModel, ui: AnalyzeOutputs):
        self.model, self.ui = model, ui
        self.neighbours = Neighbours(model)
        # what the model does with each word, built once in the background: the first click need not wait
        threading.Thread(target=lambda: self.neighbours.table(["the"], k=1), daemon=True).start()
        self._recent: OrderedDict[tuple[str, str], Explained] = OrderedDict()
        self._words = 0  # in ``_recent``
        self._lock = threading.Lock()

    def _explained(self, text: str, method: str) -> Explained:
        with self._lock:
            e = self._recent.get((text, method))
        if e is None:
            e = explain(self.model, text, method)
            with self._lock:
                if (text, method) not in self._recent:
                    self._recent[(text, method)] = e
                    self._words += len(e.fwd.enc.tokens)
                while len(self._recent) > 1 and (len(self._recent) > self.KEEP or self._words > self.KEEP_WORDS):
                    self._words -= len(self._recent.popitem(last=False)[1].fwd.enc.tokens)
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
                              value=shown_first(model.methods),  # the most faithful a click affords
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
        whatif_click = gr.Textbox(visible="hidden", elem_id="whatif-click")  # a clicked word's edit (whatif.js)
        whatif_apply = gr.Button("Apply the clicked edit", visible="hidden", elem_id="whatif-apply")
        whatif_note = gr.HTML('<p id="whatif-note" aria-live="polite"></p>', padding=False)
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
    whatif_apply.click(user_errors(clicked_edit), [whatif_text, whatif_click], [whatif_text, whatif_note],
                       **PRIVATE).success(user_errors(h.what_if), [review, whatif_text, method],
                                          [whatif_summary, whatif_review, whatif_changes], **EXPLAIN_QUEUE, **PRIVATE)
    two.click(user_errors(h.two_methods), [review, method_a, method_b], [agreement, side_a, side_b], **EXPLAIN_QUEUE,
              **PRIVATE)
    return review


def clicked_edit(text: str, click: str) -> tuple[str, str]:
    """A clicked word's edit of the what-if text, and the note under the box that says what it did."""
    edited, note = apply_click(text, click)
    return edited, f'<p id="whatif-note" aria-live="polite">{html.escape(note)}</p>'


SIMILAR_COLUMNS = ["row", "similarity", "true label", "P(positive)", "review"]
SIMILAR_K = 10


def similar_rows(model: SentimentModel, text: str, scored) -> tuple[dict, list[str]]:
    """"More like this": the nearest reviews of the file loaded in the Data tab (``scored``) by the model's
    representation, as table rows (its row number there, similarity, true label, P(positive), the review's
    start), and their full texts (a click on a row opens one)."""
    found = similar(model, scored, text, SIMILAR_K)
    rows = [[r["row"], f"{r['similarity']:.3f}", VALUE_WORD.get(r["label"], "none"), f"{r['score']:.3f}",
             start_of(r["text"])] for r in found]
    return gr.update(value={"headers": SIMILAR_COLUMNS, "data": rows}, visible=True), [r["text"] for r in found]


def build_similar(model: SentimentModel, review: gr.Textbox) -> gr.State:
    """"More like this" under Analyze; returns the state the Data tab fills with the file it loaded."""
    source = gr.State(None)  # this visitor's file in the Data tab (serve.app.data_map fills it)
    texts = gr.State([])
    with gr.Accordion("More like this: the nearest reviews of the file loaded in the Data tab", open=False,
                      elem_id="similar-box"):
        gr.Markdown("Reviews the model treats most like this one (its final state and the words that counted), "
                    "from the file loaded in the **Data** tab, with their labels and scores. Click a row to "
                    "analyze it.")
        find = gr.Button("Find reviews like this one", elem_id="similar-find")
        table = gr.Dataframe(headers=SIMILAR_COLUMNS, interactive=False, wrap=True, visible=False, elem_id="similar",
                             column_widths=["9%", "13%", "13%", "13%", "52%"],
                             label="The nearest reviews, most similar first (row: its number in the Data tab)")
    find.click(user_errors(lambda text, scored: similar_rows(model, text, scored)), [review, source], [table, texts],
               **EXPLAIN_QUEUE, **PRIVATE)

    def chosen(found: list[str], evt: gr.SelectData) -> str:
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        if not isinstance(row, int) or not 0 <= row < len(found):
            raise InputError("Find the reviews like this one again: that row is gone.")
        return found[row]

    table.select(user_errors(chosen), [texts], [review], **PRIVATE) \
        .success(None, None, None, js="() => document.getElementById('analyze').click()", **PRIVATE)
    return source


class AnalyzeTab:
    """Offers its review box to the other tabs as ``shared["review"]``, and the state "more like this"
    searches as ``shared["similar_source"]`` (the Data tab fills it with the file it loaded)."""

    title, id = "Analyze", "analyze"

    def __init__(self, model: SentimentModel):
        self.model = model

    def render(self, context: TabContext) -> None:
        context.shared["review"] = review = build_analyze(self.model)
        context.shared["similar_source"] = build_similar(self.model, review)
