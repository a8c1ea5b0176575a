"""The Data tab: a whole labelled file scored once, then sliced, as LIT's data table, metrics and
confusion-matrix views do.

A file (any accepted input; for aclImdb a split) is scored in chunks with progress and kept by
(file sha256, split, model sha256), so slicing never scores again. A ``serve.batch`` output is taken
with the scores it holds, its texts joined by id from the file it scored when that is given too. A slice is the conjunction of
simple filters (true label, right or wrong, confidence band, length band, a word the review
contains, a column of the file equal to a value, numeric ranges of P(positive), confidence and length);
each slice gets its count, accuracy, calibration (mean confidence against accuracy, expected calibration
error), a 2x2 confusion matrix whose cells are slices too, and a reliability plot, all at the decision
threshold the slider sets. Slices can be named and kept for the session, and are compared side by side;
with a second model (``--compare``) every number is given for both. The table shows the slice a page at
a time, in the order chosen; clicking a row (or giving its number) opens its review in Analyze.

The computations live in ``serve.app.data_slices`` (no Gradio); this module is the tab that shows them.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict

import gradio as gr

from sentilens.digest import sha256_of
from sentilens.errors import InputError
from sentilens.labels import NEG, POS, THRESHOLD, VALUE_WORD
from sentilens.wording import count
from serve.runtime.rows import is_batch_output
from serve.runtime import SentimentModel
from serve.app.ui_safety import md_literal, user_errors, warn
from serve.app.uploads import UPLOAD_TYPES, id_note, uploaded
from serve.app.tab import TabContext
from serve.app.data_slices import (B, CONFIDENCE, LABELS, LENGTH, ORDER, RESULTS, TABLE, TABLE_B, Range, SavedSlice,
                                   Scored, at_threshold, bins, compare_slices, confusion, filterable, from_batch_output,
                                   number_text, ordered, plain_text, save_slice, score_file, select, slice_stats)
from serve.app.reliability_plot import reliability_svg
from serve.app.data_map import DataMap
from serve.app.data_counterfactuals import COLUMNS as EDIT_COLUMNS, counterfactual_table
from explain.counterfactuals import GENERATORS

__all__ = ["CELLS", "KEEP", "ORDER_DEFAULT", "PAGE", "SENT", "DataTab", "filters_of"]

PAGE = 50  # rows per page of the table
KEEP = 4  # scored files kept in memory
SENT = 5000  # reviews of a slice sent to Annotate at once


def _cut(text: str, most: int) -> str:
    """``text`` cut to ``most`` characters for a table cell, an ellipsis saying it was."""
    return text if len(text) <= most else text[:most - 1] + "…"


def _isna(x) -> bool:
    """Missing, as pandas marks it in a row (NA, NaN or None), without importing pandas at start."""
    import pandas as pd

    return bool(pd.isna(x))


def _share(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _table(headers: list[str], rows: list[list], shown: list[list[str]]) -> dict:
    """A Dataframe value whose cells keep their numbers (a column sorts by value) but show them as people read
    them (``shown``: "> 0.9999", never "1")."""
    return {"headers": headers, "data": rows,
            "metadata": {"display_value": shown, "styling": [[""] * len(headers) for _ in rows]}}


def _datatypes(headers: list[str], numeric: set[str]) -> list[str]:
    return ["number" if h in numeric else "str" for h in headers]


NUMERIC = {"row", "P(positive)", "confidence", "words", "B P(positive)"}
SLICES = ["slice", "reviews", "accuracy", "mean confidence", "ECE"]
SLICES_B = ["B accuracy", "B ECE"]


def filters_of(label="all", result="all", confidence="all", length="all", word="", column="(none)", value="",
               p_low=None, p_high=None, conf_low=None, conf_high=None, words_low=None, words_high=None) -> dict:
    """The filters on screen as ``select``'s keyword arguments, the numeric boxes checked (one line each)."""
    return {"label": label, "result": result, "confidence": confidence, "length": length, "word": word or "",
            "column": None if column in (None, "(none)") else column, "value": value or "",
            "p": Range.of(p_low, p_high, "P(positive)", 0, 1),
            "confident": Range.of(conf_low, conf_high, "Confidence", 0, 1),
            "words": Range.of(words_low, words_high, "Length in words", 0, None)}


class DataTab:
    """The tab's handlers. Scored files are shared by everyone through a small cache (scoring is the slow
    part); which file a visitor is looking at is theirs alone (a ``gr.State`` per browser session)."""

    title, id = "Data", "data"

    def __init__(self, model: SentimentModel, other: SentimentModel | None = None, annotating: bool = False):
        """``annotating``: the page has an Annotate tab, where a slice can be sent as a queue."""
        self.model, self.other, self.annotating = model, other, annotating  # other: a second model (B, ``--compare``)
        self._scored: OrderedDict[tuple[str, ...], Scored] = OrderedDict()
        self._lock = threading.Lock()
        self.view_outputs = 6 + len(CELLS)  # the values view() returns

    def load(self, file, source, split: str, label="all", result="all", confidence="all", length="all", word="",
             column="(none)", value="", order=None, current: Scored | None = None, threshold=THRESHOLD, p_low=None,
             p_high=None, conf_low=None, conf_high=None, words_low=None, words_high=None,
             saved: list[SavedSlice] | None = None, progress=gr.Progress()):  # noqa: B008
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
                *self.view(label, result, confidence, length, word, column, value, order or ORDER_DEFAULT, 1, scored,
                           threshold, p_low, p_high, conf_low, conf_high, words_low, words_high, saved))

    def clear(self):
        """The first file taken away: nothing loaded, the view emptied."""
        return (None, "No file loaded.", gr.update(choices=["(none)"], value="(none)"), "", self.empty_plot(),
                *[gr.update(value="0") for _ in CELLS], gr.update(value=None, visible=False),
                gr.update(value={"headers": TABLE, "data": []}), 1, "")

    def empty_plot(self) -> str:
        """The reliability plot before a file is loaded: its axes, and in words that nothing is in it yet."""
        return reliability_svg([("A", [])] + ([("B", [])] if self.other is not None else []))

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
            (sha256_of(path), split, self.model.sha256, self.other.sha256 if self.other is not None else "")
        with self._lock:
            scored = self._scored.get(key)
        if scored is None:
            scored = from_batch_output(path, source_path, split_of) if batch else \
                score_file(self.model, path, split_of, progress, self.other)
            with self._lock:
                self._scored[key] = scored
                while len(self._scored) > KEEP:
                    self._scored.popitem(last=False)
        # The cache is keyed by content: the names are this visitor's, not those of whoever sent it first.
        names = {"name": path.name, "skipped_from": source_path.name if source_path else path.name}
        names["digest"] = sha256_of(path)[:8]  # a slice sent to Annotate gets the ids an upload there would
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
            if self.other is not None:
                note += ". Model B's numbers need the reviews scored by both: load the file itself for them"
        else:
            note = f"Loaded {md_literal(scored.name)}: {count(n, 'review')} scored"
            if self.other is not None:
                note += " by both models (A, the served one, and B)"
            note += f"; {md_literal(id_note(path))}"
            if source is not None:
                note += " (the second file is used only with a serve.batch output)"
        if scored.skipped:
            note += (f"; {count(scored.skipped, 'row')} of {md_literal(scored.skipped_from)} could not be read "
                     f"(the first: {md_literal(scored.first_problem)})")
        return scored, note + "."

    def view(self, label, result, confidence, length, word, column, value, order, page, current: Scored | None,
             threshold=THRESHOLD, p_low=None, p_high=None, conf_low=None, conf_high=None, words_low=None,
             words_high=None, saved: list[SavedSlice] | None = None):
        """The slice at ``threshold``: its numbers (B's beside them when a second model scored the file), the
        2x2 confusion matrix, the reliability plot, the saved slices compared, and one page of its rows. The
        confusion matrix counts the slice before its own two filters (true label, right or wrong), so its
        cells stay a way to move between them. Nothing loaded: nothing changes."""
        if current is None:
            return (gr.skip(),) * self.view_outputs
        frame, wider, part = self._slice(current, threshold, label, result, confidence, length, word, column, value,
                                         p_low, p_high, conf_low, conf_high, words_low, words_high)
        both = "p" + B in frame.columns
        s = slice_stats(part)
        cells = confusion(wider)
        at = "" if threshold in (None, THRESHOLD) else f" at threshold **{float(threshold):.2f}**"
        summary = (f"**Slice: {count(s['count'], 'review')}** of {len(frame):,}{at}. "
                   f"Accuracy **{_share(s['accuracy'])}** ({s['labelled']:,} with a label); mean confidence "
                   f"**{_share(s['confidence'])}**; expected calibration error **{_share(s['ece'])}** (the gap "
                   "between confidence and being right, 0 is perfect).")
        if both:
            b = slice_stats(part, B)
            summary += (f"\n\nModel **B** on the same slice: accuracy **{_share(b['accuracy'])}**, mean confidence "
                        f"**{_share(b['confidence'])}**, calibration error **{_share(b['ece'])}**.")
        pages = max(1, -(-len(part) // PAGE))
        page = int(min(max(1, int(page) if isinstance(page, (int, float)) and page == page else 1), pages))
        shown = ordered(part, order).iloc[(page - 1) * PAGE: page * PAGE]
        extra = current.columns  # renamed by own_names, so never one of TABLE's headings
        headers = TABLE + (TABLE_B if both else []) + extra
        rows, texts = [], []
        for i, r in shown.iterrows():
            right = "" if _isna(r["right"]) else ("yes" if r["right"] else "no")
            words = None if _isna(r["words"]) else int(r["words"])
            cells_b = [float(r["p" + B]), "" if _isna(r["right" + B]) else ("yes" if r["right" + B] else "no")] \
                if both else []
            own = ["" if _isna(r.get(c)) else _cut(str(r.get(c)), 80) for c in extra]
            rows.append([int(i) + 1, _cut(r["id"], 80), VALUE_WORD.get(r["label"], ""),
                         VALUE_WORD[int(r["predicted"])], float(r["p"]), float(r["confidence"]), right, words,
                         plain_text(r["text"]), *cells_b, *own])
            texts.append([str(int(i) + 1), rows[-1][1], rows[-1][2], rows[-1][3], number_text(r["p"]),
                          number_text(r["confidence"]), right, "" if words is None else f"{words:,}", rows[-1][8],
                          *([number_text(cells_b[0]), cells_b[1]] if both else []), *own])
        table = gr.update(value=_table(headers, rows, texts), datatype=_datatypes(headers, NUMERIC))
        buttons = [gr.update(value=f"{cells[key]:,} {key[1]}") for key, _ in CELLS]
        plot = reliability_svg([("A", bins(part))] + ([("B", bins(part, B))] if both else []))
        return (summary, plot, *buttons, self.compared(frame, part, saved), table, page, f"Page {page} of {pages}")

    @staticmethod
    def _slice(current: Scored, threshold, label, result, confidence, length, word, column, value, p_low=None,
               p_high=None, conf_low=None, conf_high=None, words_low=None, words_high=None):
        """(the file at ``threshold``, the slice before its true-label and right/wrong filters, the slice)."""
        given = filters_of(label, result, confidence, length, word, column, value, p_low, p_high, conf_low,
                           conf_high, words_low, words_high)
        frame = at_threshold(current.frame, threshold)
        wider = frame[select(frame, **(given | {"label": "all", "result": "all"}))]
        return frame, wider, wider[select(wider, label, result)]

    def counterfactuals(self, generators, label, result, confidence, length, word, column, value,
                        current: Scored | None, threshold=THRESHOLD, p_low=None, p_high=None, conf_low=None,
                        conf_high=None, words_low=None, words_high=None, progress=gr.Progress()):  # noqa: B008
        """The chosen generators over the slice on screen: (summary with the flipped share, the edits' table)."""
        if current is None:
            raise InputError("Load a labelled file first.")
        part = self._slice(current, threshold, label, result, confidence, length, word, column, value, p_low, p_high,
                           conf_low, conf_high, words_low, words_high)[2].assign(row=lambda f: f.index + 1)
        summary, rows = counterfactual_table(
            self.model, part, generators or [],
            progress=lambda i, n: progress((i, n), desc="editing the strongest words") if i % 100 == 0 else None)
        return summary, gr.update(value={"headers": EDIT_COLUMNS, "data": rows}, visible=bool(rows))

    def send(self, label, result, confidence, length, word, column, value, current: Scored | None,
             threshold=THRESHOLD, p_low=None, p_high=None, conf_low=None, conf_high=None, words_low=None,
             words_high=None) -> dict:
        """The slice on screen as Annotate takes it (``serve.app.annotate_bulk``): its reviews with text, up to
        ``SENT``, under the ids an upload of the same file to Annotate would give them."""
        if current is None:
            raise InputError("Load a labelled file first.")
        part = self._slice(current, threshold, label, result, confidence, length, word, column, value, p_low, p_high,
                           conf_low, conf_high, words_low, words_high)[2]
        part = part[part["text"].notna()]
        if not len(part):
            raise InputError("This slice has no review with its text to annotate.")
        rows = [(str(r["id"]), str(r["text"]), None if _isna(r["label"]) else int(r["label"]), float(r["p"]),
                 tuple((c, str(r[c])) for c in current.columns if not _isna(r.get(c))))
                for _, r in part.head(SENT).iterrows()]
        return {"source": f"{current.name}@{current.digest}", "rows": rows, "of": len(part),
                "at": time.time()}  # the same slice sent again is a new value: Annotate takes it again

    def compared(self, frame, part, saved: list[SavedSlice] | None):
        """The slice on screen and the saved ones side by side (count, accuracy, confidence, ECE; B's too)."""
        both = "p" + B in frame.columns
        here = {"slice": "(on screen)", **slice_stats(part)}
        if both:
            b = slice_stats(part, B)
            here |= {"accuracy B": b["accuracy"], "ece B": b["ece"]}
        found = [here, *compare_slices(frame, saved or [])]
        headers = SLICES + (SLICES_B if both else [])
        keys = ["slice", "count", "accuracy", "confidence", "ece"] + (["accuracy B", "ece B"] if both else [])
        rows = [[r[k] for k in keys] for r in found]
        texts = [[r["slice"], f"{r['count']:,}", *(_share(r[k]) for k in keys[2:])] for r in found]
        numeric = set(headers[1:])
        return gr.update(value=_table(headers, rows, texts), datatype=_datatypes(headers, numeric),
                         visible=bool(saved))

    def save(self, name: str, saved: list[SavedSlice] | None, label, result, confidence, length, word, column, value,
             p_low=None, p_high=None, conf_low=None, conf_high=None, words_low=None, words_high=None):
        """The slice on screen kept under ``name`` for this visitor's session; the name box emptied."""
        given = filters_of(label, result, confidence, length, word, column, value, p_low, p_high, conf_low,
                           conf_high, words_low, words_high)
        return save_slice(saved, name, given), ""

    def open_row(self, row: float | None, current: Scored | None) -> str:
        """The text of row ``row`` (the table's first column), for Analyze."""
        if current is None:
            raise InputError("Load a labelled file first.")
        n = int(current.frame.index.max()) + 1 if len(current.frame) else 0  # (a map selection keeps row numbers)
        if not isinstance(row, (int, float)) or row != row or not 1 <= row <= n or row != int(row) \
                or int(row) - 1 not in current.frame.index:
            raise InputError(f"Give a row number from the table's first column (1 to {n:,}).")
        text = current.frame.loc[int(row) - 1, "text"]
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
            order = gr.Dropdown(list(ORDER), value=ORDER_DEFAULT, label="Order (the whole slice)",
                                elem_id="data-order")
        with gr.Row(elem_id="data-ranges"):  # numeric filters: an empty box is an open end
            # text boxes, not gr.Number: an empty box (no bound) would be shown, and sent, as 0
            ranges = [gr.Textbox(label=what, placeholder=hint, elem_id=f"data-{key}", min_width=110, max_length=12)
                      for key, what, hint in (
                ("p-low", "P(positive) from", "0"), ("p-high", "P(positive) to", "1"),
                ("conf-low", "confidence from", "0"), ("conf-high", "confidence to", "1"),
                ("words-low", "words from", "0"), ("words-high", "words to", "any"))]
            threshold = gr.Slider(0.05, 0.95, value=THRESHOLD, step=0.01, min_width=220, elem_id="data-threshold",
                                  label="Decision threshold: positive at or above this P(positive)")
        summary = gr.Markdown(elem_id="data-summary")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=280):
                gr.Markdown("**Confusion matrix** (choose a cell to see its reviews)")
                with gr.Column(elem_id="data-confusion"):
                    heads = ["", "predicted positive", "predicted negative", "true positive", None, None,
                             "true negative", None, None]
                    cells, keys = [], iter(CELLS)
                    for head in heads:
                        if head is None:
                            key, what = next(keys)
                            cells.append(gr.Button("0", size="sm", elem_id=f"data-cell-{key[0]}-{key[1]}",
                                                   min_width=0))
                        else:
                            gr.HTML(f'<span class="sl-cm-head">{head}</span>', padding=False, min_width=0)
            with gr.Column(scale=1, min_width=280):  # (a Row wraps a Column, not an HTML block, on a phone)
                plot = gr.HTML(self.empty_plot(), elem_id="data-reliability")
        data_map = DataMap(self.model)  # the map of the dataset: a selection on it becomes the slice
        map_parts = data_map.build()
        with gr.Row(equal_height=False):
            slice_name = gr.Textbox(label="Name this slice to compare it with others", elem_id="data-slice-name",
                                    max_length=60, scale=2)
            keep = gr.Button("Save slice", elem_id="data-save-slice", scale=0, min_width=140)
            forget = gr.Button("Clear saved slices", elem_id="data-clear-slices", scale=0, min_width=160)
        slices = gr.Dataframe(interactive=False, visible=False, elem_id="data-slices", wrap=False,
                              label="Saved slices, side by side (at the threshold and on the file on screen)")
        with gr.Row():
            page = gr.Number(value=1, precision=0, label="Page", elem_id="data-page", scale=0, min_width=120)
            pages = gr.Markdown(elem_id="data-pages")
        table = gr.Dataframe(interactive=False, wrap=True, elem_id="data-table", max_height=600,
                             label="Reviews in the slice (click a row to open it in Analyze)")
        with gr.Row():
            row = gr.Number(value=None, label="Row (first column) to open in Analyze", precision=0, elem_id="data-row",
                            scale=0, min_width=240)
            open_it = gr.Button("Open in Analyze", elem_id="data-open", scale=0, min_width=160)
        with gr.Accordion("Counterfactuals of this slice: edit each review's strongest word", open=False,
                          elem_id="data-cf-box"):
            generators = gr.CheckboxGroup([(f"{name}: {what}", name) for name, what in GENERATORS.items()],
                                          value=list(GENERATORS), label="Generators", elem_id="data-cf-generators")
            run_edits = gr.Button("Run on the slice", elem_id="data-cf-run")
            edits_summary = gr.Markdown(elem_id="data-cf-summary")
            edits = gr.Dataframe(headers=EDIT_COLUMNS, interactive=False, visible=False, wrap=True, max_height=480,
                                 elem_id="data-cf-table", label="The edited reviews, largest change first")
        if self.annotating:
            send = gr.Button(f"Send this slice to Annotate (up to {SENT:,} reviews)", elem_id="data-send")
            context.shared["sent"] = sent = gr.State(None)  # Annotate's "Find and label many" takes it
        chosen = gr.State(None)  # the text to open, once checked: Analyze's box changes only then
        saved = gr.State([])  # this visitor's named slices (``SavedSlice``)
        filters = [label, result, confidence, length, word, column, value, order]
        more = [threshold, *ranges, saved]  # view()'s inputs after the file
        outputs = [summary, plot, *cells, slices, table, page, pages]
        loaded = [current, status, column, *outputs]
        for given in (upload, source):
            given.upload(user_errors(self.load), [upload, source, split, *filters, current, *more], loaded,
                         **private)
        upload.clear(self.clear, None, loaded, **private)
        source.clear(user_errors(self.load), [upload, source, split, *filters, current, *more], loaded, **private)
        first_page = gr.Number(value=1, visible=False)
        again = [*filters, first_page, current, *more]
        for f in (label, result, confidence, length, column, order, threshold):
            f.change(user_errors(self.view), again, outputs, show_progress="minimal", **private)
        for f in (word, value, *ranges):
            f.submit(user_errors(self.view), again, outputs, **private)
        page.submit(user_errors(self.view), [*filters, page, current, *more], outputs, **private)
        for go in (keep.click, slice_name.submit):
            go(user_errors(self.save), [slice_name, saved, *filters[:7], *ranges], [saved, slice_name], **private) \
                .success(user_errors(self.view), again, outputs, **private)
        forget.click(lambda: [], None, [saved], **private).then(user_errors(self.view), again, outputs, **private)
        data_map.wire(map_parts, context, current, status, user_errors(self.view), again, outputs)
        sliced = [*filters[:7], current, threshold, *ranges]  # the slice on screen, as _slice takes it
        run_edits.click(user_errors(self.counterfactuals), [generators, *sliced], [edits_summary, edits],
                        concurrency_id="explain", concurrency_limit=2, **private)
        if self.annotating:
            send.click(user_errors(self.send), sliced, [sent], **private) \
                .success(lambda: gr.Tabs(selected="annotate"), None, [tabs], **private)
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
