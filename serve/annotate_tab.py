"""The Annotate tab: a model-in-the-loop labelling queue over ``AnnotationStore``.

Load reviews (upload, or ``--annotate PATH`` at launch), pick the queue order, and label
each review Positive / Negative / Skip (keys 1 / 2 / 3, Undo: u) with its contribution
highlights and the model's score beside it. The annotator is the logged-in user when the
app runs with ``--auth``, else the name typed in the tab.
"""

from __future__ import annotations

import html
from pathlib import Path

import gradio as gr

from explain.attribution import forward
from explain.running import running_score
from sentilens.errors import DataError, InputError
from sentilens.sources import read_any
from serve.annotations import ORDERS, AnnotationStore, Item
from serve.runtime import SentimentModel
from serve.ui_errors import user_errors

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
UPLOAD_TYPES = [".csv", ".jsonl", ".ndjson", ".txt", ".tar.gz", ".tgz"]
SCORE_CHUNK = 2048

# Keyboard shortcuts: click the buttons by their elem_id unless the user is typing.
SHORTCUTS = """
<script>
document.addEventListener("keydown", (e) => {
  const t = e.target;
  if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable)) return;
  const ids = {"1": "ann-pos", "2": "ann-neg", "3": "ann-skip", "u": "ann-undo"};
  const id = ids[e.key];
  if (!id) return;
  const button = document.getElementById(id);
  if (button) { e.preventDefault(); button.click(); }
});
</script>
"""


def load_reviews(store: AnnotationStore, model: SentimentModel, path: str | Path, name: str | None = None,
                 progress=None) -> str:
    """Score and queue every review of ``path``; returns a one-line report.

    ``progress(fraction, desc)`` is told how far scoring has got (the app passes ``gr.Progress``).
    """
    path = Path(path)
    name = name or path.name
    bad: list[str] = []
    records = list(read_any(path, on_bad_row=lambda where, problem: bad.append(f"{where.rsplit('/', 1)[-1]}: {problem}")))
    added = 0
    for i in range(0, len(records), SCORE_CHUNK):
        if progress is not None:
            progress(i / max(1, len(records)), desc=f"scoring {len(records):,} reviews")
        chunk = records[i:i + SCORE_CHUNK]
        scores = model.predict([r.text for r in chunk])
        added += store.add_items((f"{name}#{r.id}", r.text, r.label, float(s)) for r, s in zip(chunk, scores))
    report = f"Loaded {name}: {len(records):,} reviews, {added:,} new in the queue"
    if bad:
        report += f"; {len(bad):,} rows skipped (first: {bad[0]})"
    return report + "."


def md_literal(text: str) -> str:
    """Show user-controlled text (a file name, an id) inside Markdown as inert text."""
    return html.escape(text).translate({ord(c): f"&#{ord(c)};" for c in "`*_[]()#|\\~<>!"})


class AnnotateTab:
    def __init__(self, model: SentimentModel, store: AnnotationStore, default_order: str = "uncertain",
                 export_dir: str | Path | None = None):
        self.model = model
        self.store = store
        self.default_order = default_order
        self.export_dir = Path(export_dir) if export_dir else Path(store.path).resolve().parent

    # ---- handlers (plain functions of their inputs; InputError for anything the user can fix) ----
    def annotator(self, typed: str, request: gr.Request | None) -> str:
        user = getattr(request, "username", None) if request is not None else None
        if user:
            return user
        typed = (typed or "").strip()
        if not typed:
            raise InputError("Type your name in 'Annotator' first, so that your labels are yours.")
        if len(typed) > 64:
            raise InputError("Keep the annotator name under 64 characters.")
        return typed

    def show(self, item: Item | None):
        progress = self.progress_text()
        if item is None:
            return (None, [], "**Queue empty.** Load reviews above, or export what you have.", progress,
                    gr.update(choices=[], value=[]), "")
        a = running_score(self.model, forward(self.model, item.text))
        given = {None: "none", 1: "positive", 0: "negative"}[item.given_label]
        info = (f"Model: **{item.model_score:.1%} positive**. Label in the file: {given}. "
                f"Item {md_literal(item.item_id)}.")
        words = sorted(set(a.tokens))
        return item.item_id, a.highlighted(), info, progress, gr.update(choices=words, value=[]), ""

    def next(self, order: str, typed: str, request: gr.Request):
        return self.show(self.store.next_item(self.annotator(typed, request), order))

    def decide(self, label: str, item_id: str | None, note: str, rationale: list[str], order: str, typed: str,
               request: gr.Request):
        who = self.annotator(typed, request)
        if not item_id:
            raise InputError("There is no review on screen to label; press 'Next review'.")
        self.store.decide(item_id, label, who, self.model.sha256, note=(note or "")[:2000],
                          rationale=list(rationale or []))
        return self.show(self.store.next_item(who, order))

    def decider(self, label: str):
        """A handler for one label's button (Gradio reads the signature to pass the request)."""

        def handler(item_id: str | None, note: str, rationale: list[str], order: str, typed: str,
                    request: gr.Request):
            return self.decide(label, item_id, note, rationale, order, typed, request)

        handler.__name__ = f"decide_{label}"
        return handler

    def undo(self, order: str, typed: str, request: gr.Request):
        who = self.annotator(typed, request)
        if self.store.undo(who) is None:
            gr.Info("Nothing to undo.")
        return self.show(self.store.next_item(who, order))

    def upload(self, file, order: str, typed: str, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        if file is None:
            raise InputError("Choose a file to upload first.")
        path = Path(file if isinstance(file, str) else file.name)
        if path.stat().st_size > MAX_UPLOAD_BYTES:
            raise InputError(f"The file is {path.stat().st_size / 2**20:.0f} MB; the limit is {MAX_UPLOAD_BYTES // 2**20} MB.")
        try:
            report = load_reviews(self.store, self.model, path, progress=progress)
        except DataError as err:
            raise InputError(f"Could not read the file: {str(err).replace(str(path.parent) + '/', '')}") from None
        gr.Info(report)
        return (report,) + self.next(order, typed, request)

    def export(self, fmt: str):
        out = self.export_dir / f"annotations.{fmt}"
        n = self.store.export(out)
        if n == 0:
            raise InputError("Nothing labelled yet to export.")
        return str(out)

    def progress_text(self) -> str:
        p = self.store.progress()
        agree = "n/a" if p["agreement"] is None else f"{p['agreement']:.0%}"
        return (f"Done **{p['done']:,} / {p['total']:,}** ({p['labelled']:,} labelled, {p['skipped']:,} skipped); "
                f"agreement with the model: **{agree}**.")

    # ---- layout -----------------------------------------------------------------------------
    def render(self, app: gr.Blocks) -> None:
        with gr.Row():
            upload = gr.File(label="Reviews to annotate (CSV, JSONL, TXT, aclImdb .tar.gz)",
                             file_types=UPLOAD_TYPES, scale=2)
            with gr.Column(scale=2):
                order = gr.Radio(choices=[(v, k) for k, v in ORDERS.items()], value=self.default_order,
                                 label="Queue order", elem_id="ann-order")
                typed = gr.Textbox(label="Annotator (ignored when logged in)", value="", elem_id="ann-name")
                load_status = gr.Markdown()
        progress = gr.Markdown(self.progress_text(), elem_id="ann-progress")
        item_id = gr.State(None)
        text = gr.HighlightedText(label="Review (contribution of each word)", elem_id="ann-text")
        info = gr.Markdown(elem_id="ann-info")
        with gr.Row():
            pos = gr.Button("Positive (1)", variant="primary", elem_id="ann-pos")
            neg = gr.Button("Negative (2)", variant="stop", elem_id="ann-neg")
            skip = gr.Button("Skip (3)", elem_id="ann-skip")
            undo = gr.Button("Undo (u)", elem_id="ann-undo")
            nxt = gr.Button("Next review", elem_id="ann-next")
        with gr.Row():
            note = gr.Textbox(label="Note (optional)", scale=2, elem_id="ann-note")
            rationale = gr.Dropdown(label="Rationale words (optional)", multiselect=True, choices=[], scale=2)
        with gr.Row():
            export_fmt = gr.Radio(choices=["csv", "jsonl"], value="csv", label="Export format")
            export_btn = gr.Button("Export labels")
            export_file = gr.File(label="Export", interactive=False)

        shown = [item_id, text, info, progress, rationale, note]
        private = {"api_visibility": "private"}
        nxt.click(user_errors(self.next), [order, typed], shown, **private)
        order.change(user_errors(self.next), [order, typed], shown, **private)
        for button, label in ((pos, "pos"), (neg, "neg"), (skip, "skip")):
            button.click(user_errors(self.decider(label)),
                         [item_id, note, rationale, order, typed], shown, **private)
        undo.click(user_errors(self.undo), [order, typed], shown, **private)
        upload.upload(user_errors(self.upload), [upload, order, typed], [load_status] + shown, **private)
        export_btn.click(user_errors(self.export), [export_fmt], [export_file], **private)
        app.load(lambda: self.progress_text(), None, [progress], **private)

        # API for scripted annotation (with --auth the annotator is the logged-in user).
        def next_item(annotator: str = "", order: str = "uncertain", request: gr.Request = None) -> dict:
            """The next review to label for this annotator (leased to them for a few minutes), or {} when done."""
            if order not in ORDERS:
                raise InputError(f"order must be one of {', '.join(ORDERS)}")
            item = self.store.next_item(self.annotator(annotator, request), order)
            return {} if item is None else {"item_id": item.item_id, "text": item.text,
                                             "model_score": item.model_score, "given_label": item.given_label}

        def annotate(item_id: str, label: str, annotator: str = "", note: str = "",
                     request: gr.Request = None) -> int:
            """Record a label (pos, neg or skip) for an item; returns the decision id once it is stored."""
            if label not in ("pos", "neg", "skip"):
                raise InputError("label must be pos, neg or skip")
            try:
                return self.store.decide(item_id, label, self.annotator(annotator, request), self.model.sha256,
                                         note=(note or "")[:2000])
            except KeyError:
                raise InputError(f"no item {item_id!r} in the queue") from None

        gr.api(user_errors(next_item), api_name="next_item")
        gr.api(user_errors(annotate), api_name="annotate")
