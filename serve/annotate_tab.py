"""The Annotate tab: a model-in-the-loop labelling queue over ``AnnotationStore``.

Load reviews (upload, or ``--annotate PATH`` at launch), pick the queue order, and label
each review Positive / Negative / Skip (keys 1 / 2 / 3, Undo: u) with its contribution
highlights and the model's score beside it. The annotator is the logged-in user when the
app has logins, else the name typed in the tab.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from explain.attribution import forward
from explain.running import running_score
from sentilens.digest import sha256_of
from sentilens.errors import DataError, InputError
from sentilens.sources import Limits, read_any
from serve.analysis import MAX_CHARS
from serve.annotations import ORDERS, AnnotationStore, Item
from serve.runtime import SentimentModel
from serve.scoring import chunks, score_chunk
from serve.ui_safety import info, md_literal, user_errors

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# An archive is refused once it unpacks past these (the whole aclImdb: 63 MB in 50,009 files),
# from the tar headers, before the bytes are read: a small .tar.gz cannot blow up the server.
ARCHIVE_LIMITS = Limits(max_total_bytes=128 * 2**20, max_members=100_000)
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
    """Score and queue every review of ``path``, streaming in chunks; returns a one-line report.

    Items are named ``NAME@SHA#ID``: the first 8 hex digits of the file's sha256 keep two uploads
    that share a name but not their content apart, and loading the same file again adds nothing.
    An id that repeats inside one file is kept apart as ``ID~2``, ``ID~3``... and reported.
    ``progress((done, None), desc)`` is told how far scoring has got (the app passes ``gr.Progress``).
    """
    path = Path(path)
    name = name or path.name
    source = f"{name}@{sha256_of(path)[:8]}"
    bad: list[str] = []
    seen: dict[str, int] = {}
    repeated: list[str] = []
    records = read_any(path, on_bad_row=lambda where, problem: bad.append(f"{where.rsplit('/', 1)[-1]}: {problem}"),
                       limits=ARCHIVE_LIMITS)
    n = added = 0
    if progress is not None:
        progress((0, None), desc="reading")
    for chunk in chunks(records, SCORE_CHUNK):
        n, added = n + len(chunk), added + _queue(store, model, source, chunk, seen, repeated, bad)
        if progress is not None and len(chunk) == SCORE_CHUNK:  # a full chunk: more may follow
            progress((n, None), desc=f"scored {n:,} reviews")
    report = f"Loaded {name}: {count(n, 'review')}, {added:,} new in the queue"
    if repeated:
        report += f"; {count(len(repeated), 'repeated id')} kept apart (first: {repeated[0]})"
    if bad:
        report += f"; {count(len(bad), 'row')} skipped (first: {bad[0]})"
    return report + "."


def count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _queue(store: AnnotationStore, model: SentimentModel, source: str, chunk: list, seen: dict[str, int],
           repeated: list[str], bad: list[str]) -> int:
    """Score one chunk and add it to the store; returns how many items were new."""
    scored = score_chunk(model, chunk)
    bad.extend(f"{where.rsplit('/', 1)[-1]}: {problem}" for where, problem in scored.rejected)
    items = []
    for r, p in zip(scored.records, scored.probabilities):
        if len(r.text) > MAX_CHARS:  # the app shows and explains reviews up to this length
            bad.append(f"{r.where.rsplit('/', 1)[-1]}: the review has {len(r.text):,} characters; the limit is "
                       f"{MAX_CHARS:,}")
            continue
        seen[r.id] = seen.get(r.id, 0) + 1
        item_id = f"{source}#{r.id}" if seen[r.id] == 1 else f"{source}#{r.id}~{seen[r.id]}"
        if seen[r.id] > 1:
            repeated.append(item_id.partition("#")[2])
        items.append((item_id, r.text, r.label, float(p)))
    return store.add_items(items)


class AnnotateTab:
    def __init__(self, model: SentimentModel, store: AnnotationStore, default_order: str = "uncertain",
                 export_dir: str | Path | None = None):
        self.model = model
        self.store = store
        self.default_order = default_order
        # Exports go to a fresh folder under the system temp dir, which Gradio serves, wherever the
        # database lives (a folder Gradio does not serve would fail the download).
        self.export_dir = Path(export_dir) if export_dir else None

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
        caption = (f"Model: **{item.model_score:.1%} positive**. Label in the file: {given}. "
                   f"Item {md_literal(item.item_id)}.")
        words = sorted(set(a.tokens))
        return item.item_id, a.highlighted(), caption, progress, gr.update(choices=words, value=[]), ""

    def next(self, order: str, typed: str, request: gr.Request):
        return self.show(self.store.next_item(self.annotator(typed, request), order))

    def next_or_hint(self, order: str, typed: str, request: gr.Request):
        """After a load: the next item when the annotator is known, else a hint (loading never
        depends on the name)."""
        try:
            return self.next(order, typed, request)
        except InputError:
            shown = list(self.show(None))
            shown[2] = "**Loaded.** Type your name in 'Annotator' and press 'Next review' to start labelling."
            return tuple(shown)

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
            info("Nothing to undo.")
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
        info(report)
        return (md_literal(report),) + self.next_or_hint(order, typed, request)

    def export(self, fmt: str):
        if fmt not in ("csv", "jsonl"):
            raise InputError("Choose csv or jsonl.")
        folder = self.export_dir or Path(tempfile.mkdtemp(prefix="sentilens-export-"))
        out = folder / f"annotations.{fmt}"
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
                             file_types=UPLOAD_TYPES, scale=2, elem_id="ann-upload")
            with gr.Column(scale=2):
                order = gr.Radio(choices=[(v, k) for k, v in ORDERS.items()], value=self.default_order,
                                 label="Queue order", elem_id="ann-order")
                typed = gr.Textbox(label="Annotator (ignored when logged in)", value="", elem_id="ann-name")
                load_status = gr.Markdown(elem_id="ann-load-status")
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

        # API for scripted annotation (behind a login the annotator is the logged-in user).
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
                raise InputError(f"no item {str(item_id)[:200]!r} in the queue") from None

        gr.api(user_errors(next_item), api_name="next_item")
        gr.api(user_errors(annotate), api_name="annotate")
