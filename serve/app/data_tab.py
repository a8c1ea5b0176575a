"""The Data tab: a whole labelled file scored once, then sliced, as LIT's data table, metrics and
confusion-matrix views do.

A file (any accepted input; for aclImdb a split) is scored in chunks with progress and kept by
(file sha256, split, model sha256), so slicing never scores again. A ``serve.batch`` output is taken
with the scores it holds, its texts joined by id from the file it scored when that is given too. A slice is the conjunction of
simple filters (true label, right or wrong, confidence band, length band, a word the review
contains, a column of the file equal to a value); each slice gets its count, accuracy, calibration
(mean confidence against accuracy, expected calibration error), a confusion matrix whose cells are
slices too, and a reliability plot. The table shows the slice a page at a time; clicking a row (or
giving its number) opens its review in Analyze.

The computations live in ``serve.app.data_slices`` (no Gradio); this module is the tab that shows them.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict

import gradio as gr

from sentilens.digest import sha256_of
from sentilens.errors import InputError
from sentilens.labels import NEG, POS, VALUE_WORD
from sentilens.wording import count
from serve.runtime.rows import is_batch_output
from serve.runtime import SentimentModel
from serve.app.ui_safety import md_literal, user_errors, warn
from serve.app.uploads import UPLOAD_TYPES, uploaded
from serve.app.tab import TabContext
from serve.app.data_slices import (CONFIDENCE, LABELS, LENGTH, ORDER, RESULTS, TABLE, Scored, confusion, filterable,
                                   from_batch_output, ordered, reliability, score_file, select, slice_stats)

__all__ = ["CELLS", "KEEP", "ORDER_DEFAULT", "PAGE", "DataTab"]

PAGE = 50  # rows per page of the table
KEEP = 4  # scored files kept in memory


def _cut(text: str, most: int) -> str:
    """``text`` cut to ``most`` characters for a table cell, an ellipsis saying it was."""
    return text if len(text) <= most else text[:most - 1] + "…"


def _share(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


class DataTab:
    """The tab's handlers. Scored files are shared by everyone through a small cache (scoring is the slow
    part); which file a visitor is looking at is theirs alone (a ``gr.State`` per browser session)."""

    title, id = "Data", "data"

    def __init__(self, model: SentimentModel):
        self.model = model
        self._scored: OrderedDict[tuple[str, str, str], Scored] = OrderedDict()
        self._lock = threading.Lock()
        self.view_outputs = 5 + len(CELLS)  # the values view() returns

    def load(self, file, source, split: str, label="all", result="all", confidence="all", length="all", word="",
             column="(none)", value="", order=None, current: Scored | None = None, progress=gr.Progress()):  # noqa: B008
        """Score the file (once per file, split and model) and show the slice the filters set; a serve.batch
        output is read as it was scored, with its texts from ``source``. A file that cannot be loaded leaves
        what was loaded before on screen, and says so (a warning, and the status line)."""
        try:
            scored, note = self._scored_file(file, source, split, progress)
        except InputError as err:
            warn(str(err))
            kept = f" Still showing {md_literal(current.name)}." if current is not None else ""
            return (current, f"Not loaded: {md_literal(str(err))}{kept}", *[gr.skip()] * (1 + self.view_outputs))
        choices = filterable(scored)
        column = column if column in choices else "(none)"
        return (scored, note, gr.update(choices=["(none)", *choices], value=column),
                *self.view(label, result, confidence, length, word, column, value, order or ORDER_DEFAULT, 1, scored))

    def clear(self):
        """The first file taken away: nothing loaded, the view emptied."""
        import pandas as pd

        return (None, "No file loaded.", gr.update(choices=["(none)"], value="(none)"), "", reliability(pd.DataFrame(
            columns=["p", "label"])), *[gr.update(value=what) for _, what in CELLS], pd.DataFrame(columns=TABLE),
                1, "")

    def _scored_file(self, file, source, split: str, progress) -> tuple[Scored, str]:
        """The file scored (or read, for a serve.batch output), from the cache when it was before, and the
        status line that says what it holds."""
        if file is None:
            raise InputError("Upload the serve.batch output first; this second file only adds its texts." if source
                             else "Choose a file to upload first.")
        path = uploaded(file)
        split_of = None if split == "all" else split
        batch = is_batch_output(path)
        source_path = uploaded(source) if batch and source is not None else None
        key = (sha256_of(path), split, sha256_of(source_path) if source_path else "") if batch else \
            (sha256_of(path), split, self.model.sha256)
        with self._lock:
            scored = self._scored.get(key)
        if scored is None:
            scored = from_batch_output(path, source_path, split_of) if batch else \
                score_file(self.model, path, split_of, progress)
            with self._lock:
                self._scored[key] = scored
                while len(self._scored) > KEEP:
                    self._scored.popitem(last=False)
        # The cache is keyed by content: the names are this visitor's, not those of whoever sent it first.
        names = {"name": path.name, "skipped_from": source_path.name if source_path else path.name}
        scored = dataclasses.replace(scored, **names, source=source_path.name if source_path else None) if batch \
            else dataclasses.replace(scored, **names)
        n = len(scored.frame)
        if batch:
            note = (f"Loaded {md_literal(scored.name)}, a serve.batch output: {count(n, 'review')} with the scores "
                    "it holds (not scored again)")
            if scored.source:
                note += f"; texts from {md_literal(scored.source)} for {scored.matched:,} of them"
            if scored.repeated:
                note += (f"; {count(scored.repeated, 'row')} whose id is not unique in one of the two files left "
                         "without a text (which text is theirs cannot be told)")
            if scored.matched < n:
                note += (". Without a review's text, the word and length filters pass it over and it cannot open in "
                         "Analyze: add the file it scored as the second file")
        else:
            note = f"Loaded {md_literal(scored.name)}: {count(n, 'review')} scored"
            if source is not None:
                note += " (the second file is used only with a serve.batch output)"
        if scored.skipped:
            note += (f"; {count(scored.skipped, 'row')} of {md_literal(scored.skipped_from)} could not be read "
                     f"(the first: {md_literal(scored.first_problem)})")
        return scored, note + "."

    def view(self, label, result, confidence, length, word, column, value, order, page, current: Scored | None):
        """The slice: its numbers, confusion matrix, reliability plot and one page of its rows. The
        confusion matrix counts the slice before its own two filters (true label, right or wrong), so its
        cells stay a way to move between them. Nothing loaded: nothing changes."""
        import pandas as pd

        if current is None:
            return (gr.skip(),) * self.view_outputs
        frame = current.frame
        column = None if column in (None, "(none)") else column
        wider = frame[select(frame, "all", "all", confidence, length, word or "", column, value or "")]
        part = wider[select(wider, label, result)]
        s = slice_stats(part)
        cells = confusion(wider)
        summary = (f"**Slice: {count(s['count'], 'review')}** of {len(frame):,}. Accuracy **{_share(s['accuracy'])}** "
                   f"({s['labelled']:,} with a label); mean confidence **{_share(s['confidence'])}**; expected "
                   f"calibration error **{_share(s['ece'])}** (the gap between confidence and being right, 0 is "
                   "perfect).")
        pages = max(1, -(-len(part) // PAGE))
        page = int(min(max(1, int(page) if isinstance(page, (int, float)) and page == page else 1), pages))
        shown = ordered(part, order).iloc[(page - 1) * PAGE: page * PAGE]
        extra = current.columns  # renamed by own_names, so never one of TABLE's headings
        table = [[int(i) + 1, _cut(r["id"], 80), VALUE_WORD.get(r["label"], ""),
                  VALUE_WORD[int(r["predicted"])], round(float(r["p"]), 4),
                  round(float(r["confidence"]), 4), "" if pd.isna(r["right"]) else ("yes" if r["right"] else "no"),
                  "" if pd.isna(r["words"]) else int(r["words"]), " ".join(r["text"].split())[:160],
                  *("" if pd.isna(r.get(c)) else _cut(str(r.get(c)), 80) for c in extra)] for i, r in shown.iterrows()]
        buttons = [gr.update(value=f"{what}: {cells[key]:,}") for key, what in CELLS]
        return (summary, reliability(part), *buttons, gr.update(value=pd.DataFrame(table, columns=TABLE + extra)),
                page, f"Page {page} of {pages}")

    def open_row(self, row: float | None, current: Scored | None) -> str:
        """The text of row ``row`` (the table's first column), for Analyze."""
        if current is None:
            raise InputError("Load a labelled file first.")
        n = len(current.frame)
        if not isinstance(row, (int, float)) or row != row or not 1 <= row <= n or row != int(row):
            raise InputError(f"Give a row number from the table's first column (1 to {n:,}).")
        text = current.frame.iloc[int(row) - 1]["text"]
        if not text:
            raise InputError(f"Row {int(row):,} has no text: add the file serve.batch scored as the second file.")
        return text

    def open_selected(self, current: Scored | None, evt: gr.SelectData) -> str:
        """The text of the table's row a click chose, for Analyze."""
        row = (evt.row_value or [None])[0]
        return self.open_row(float(row) if isinstance(row, (int, float)) else None, current)

    def render(self, context: TabContext) -> None:
        """A row opens in Analyze's review box (``context.shared["review"]``) through the app's tabs."""
        review, tabs = context.shared["review"], context.tabs
        private = {"api_visibility": "private"}
        current = gr.State(None)  # this visitor's scored file
        with gr.Row():
            upload = gr.File(label="A labelled file (CSV, JSONL, TXT, aclImdb .tar.gz)",
                             file_types=UPLOAD_TYPES, elem_id="data-upload", height=120, scale=2)
            source = gr.File(label="Texts for a serve.batch output: the file it scored",
                             file_types=UPLOAD_TYPES, elem_id="data-source", height=120, scale=1)
            with gr.Column(scale=1):
                split = gr.Radio(["all", "train", "test"], value="test", label="aclImdb split", elem_id="data-split")
                status = gr.Markdown(elem_id="data-status")
        with gr.Row():
            label = gr.Radio([(v, k) for k, v in LABELS.items()], value="all", label="True label", elem_id="data-label")
            result = gr.Radio([(v, k) for k, v in RESULTS.items()], value="all", label="Model was", elem_id="data-result")
            confidence = gr.Dropdown(list(CONFIDENCE), value="all", label="Confidence", elem_id="data-confidence")
            length = gr.Dropdown(list(LENGTH), value="all", label="Length", elem_id="data-length")
        with gr.Row():
            word = gr.Textbox(label="Contains the word", elem_id="data-word", max_length=100)
            column = gr.Dropdown(["(none)"], value="(none)", label="Column of the file", elem_id="data-column")
            value = gr.Textbox(label="equals", elem_id="data-value", max_length=200)
            order = gr.Dropdown(list(ORDER), value=ORDER_DEFAULT, label="Order", elem_id="data-order")
        summary = gr.Markdown(elem_id="data-summary")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1):
                gr.Markdown("**Confusion matrix** (choose a cell to see its reviews)")
                cells = [gr.Button(what, size="sm", elem_id=f"data-cell-{key[0]}-{key[1]}") for key, what in CELLS]
            plot = gr.LinePlot(x="mean P(positive)", y="share positive", color="series", x_lim=[0, 1], y_lim=[0, 1],
                               tooltip=["mean P(positive)", "share positive", "reviews"], height=260, scale=2,
                               title="Reliability, per tenth of P(positive)", elem_id="data-reliability")
        with gr.Row():
            page = gr.Number(value=1, precision=0, label="Page", elem_id="data-page", scale=0, min_width=120)
            pages = gr.Markdown(elem_id="data-pages")
        table = gr.Dataframe(interactive=False, wrap=True, elem_id="data-table", max_height=600,
                             label="Reviews in the slice (click a row to open it in Analyze)")
        with gr.Row():
            row = gr.Number(value=None, label="Row (first column) to open in Analyze", precision=0, elem_id="data-row",
                            scale=0, min_width=240)
            open_it = gr.Button("Open in Analyze", elem_id="data-open", scale=0, min_width=160)
        chosen = gr.State(None)  # the text to open, once checked: Analyze's box changes only then
        filters = [label, result, confidence, length, word, column, value, order]
        outputs = [summary, plot, *cells, table, page, pages]
        loaded = [current, status, column, *outputs]
        for given in (upload, source):
            given.upload(user_errors(self.load), [upload, source, split, *filters, current], loaded, **private)
        upload.clear(self.clear, None, loaded, **private)
        source.clear(user_errors(self.load), [upload, source, split, *filters, current], loaded, **private)
        first_page = gr.Number(value=1, visible=False)
        for f in (label, result, confidence, length, column, order):
            f.change(user_errors(self.view), [*filters, first_page, current], outputs, show_progress="minimal",
                     **private)
        for f in (word, value):
            f.submit(user_errors(self.view), [*filters, first_page, current], outputs, **private)
        page.submit(user_errors(self.view), [*filters, page, current], outputs, **private)
        for button, ((true, res), _) in zip(cells, CELLS):
            button.click(lambda t=true, r=res: (t, r), None, [label, result], **private)
        for go, handler, given in ((open_it.click, self.open_row, [row, current]),
                                   (row.submit, self.open_row, [row, current]),
                                   (table.select, self.open_selected, [current])):
            go(user_errors(handler), given, [chosen], **private) \
                .success(lambda text: (gr.Tabs(selected="analyze"), text), [chosen], [tabs, review], **private) \
                .success(None, None, None, js="() => document.getElementById('analyze').click()", **private)


ORDER_DEFAULT = "wrong and confident first"
CELLS = [((POS, "right"), "Positive, predicted positive"), ((POS, "wrong"), "Positive, predicted negative"),
         ((NEG, "wrong"), "Negative, predicted positive"), ((NEG, "right"), "Negative, predicted negative")]
