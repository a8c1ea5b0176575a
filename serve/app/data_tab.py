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

pandas (which comes with gradio) is imported by the functions that use it: the serving path loads
only numpy, onnxruntime, gradio and tqdm when it starts.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np

from sentilens.digest import sha256_of
from sentilens.errors import InputError
from sentilens.labels import DECIDED, NEG, POS, VALUE, VALUE_WORD, WORD, positive
from sentilens.sources import MAX_EXTRA_COLUMNS
from sentilens.wording import count
from serve.runtime.rows import is_batch_output, read_batch_output
from serve.runtime import SentimentModel
from serve.runtime.scoring import chunks, score_chunk
from serve.app.ui_safety import md_literal, user_errors, warn
from serve.app.uploads import UPLOAD_TYPES, read_upload, uploaded
from serve.app.tab import TabContext

__all__ = ["CELLS", "CONFIDENCE", "KEEP", "LABELS", "LENGTH", "ORDER", "ORDER_DEFAULT", "OURS", "PAGE", "RESULTS",
           "TABLE", "DataTab", "Scored", "confusion", "filterable", "from_batch_output", "ordered", "own_names",
           "reliability", "score_file", "select", "slice_stats", "tenths"]

PAGE = 50  # rows per page of the table
KEEP = 4  # scored files kept in memory
LABELS = {"all": "all", **{label: WORD[label] for label in DECIDED}}
RESULTS = {"all": "all", "right": "right", "wrong": "wrong"}
CONFIDENCE = {"all": (0.5, 1.01), "<60%": (0.5, 0.6), "60-80%": (0.6, 0.8), "80-95%": (0.8, 0.95), ">=95%": (0.95, 1.01)}
LENGTH = {"all": (0, 10**9), "<100 words": (0, 100), "100-300": (100, 300), "300-600": (300, 600), ">=600": (600, 10**9)}
ORDER = {"wrong and confident first": "wrong", "least confident first": "unsure", "longest first": "long",
         "file order": "file"}
TABLE = ["row", "id", "true", "predicted", "P(positive)", "confidence", "right", "words", "text"]


@dataclass
class Scored:
    """One file, scored: a frame with a row per review (text, label, p, predicted, confidence, right, words
    and the file's own columns)."""

    name: str
    frame: "pd.DataFrame"  # noqa: F821 - pandas is imported where it is used
    columns: list[str]  # the file's own columns
    skipped: int
    skipped_from: str = ""  # the file whose rows could not be read
    first_problem: str = ""  # ... and why the first of them could not
    source: str | None = None  # for a serve.batch output: the file its texts were joined from
    matched: int = 0  # ... how many of its rows found their text there
    repeated: int = 0  # ... and how many were left without one, their id repeating in either file


def score_file(model: SentimentModel, path: Path, split: str | None, progress=None) -> Scored:
    """Every review of ``path`` scored in chunks, ``progress((done, None), desc)`` told as it goes."""
    import pandas as pd

    bad: list[str] = []
    rows, extras, probs = [], [], []
    for chunk in chunks(_records(path, split, bad)):
        scored = score_chunk(model, chunk)
        for r, p in zip(scored.records, scored.probabilities):
            rows.append((r.id, r.text, r.label))
            extras.append(dict(r.extra))
            probs.append(float(p))
        if progress is not None:
            progress((len(rows), None), desc=f"scored {len(rows):,} reviews")
    if not rows:
        why = f": no row could be read ({count(len(bad), 'row')}; the first: {bad[0]})" if bad else ""
        raise InputError(f"The file holds no review to score{why}.")
    frame = pd.DataFrame(rows, columns=["id", "text", "label"])
    frame["p"] = np.array(probs)
    frame["predicted"] = positive(frame["p"]).astype(int)
    columns = _add_own_columns(frame, extras)
    return _finish(frame, path.name, columns, bad, path.name)


# The tab's own columns, and the table's headings: a file's column of the same name is shown renamed.
OURS = ("id", "text", "label", "p", "predicted", "confidence", "right", "words", *TABLE)


def own_names(names) -> dict[str, str]:
    """The file's own columns (the first ``MAX_EXTRA_COLUMNS``) under names that cannot collide with the
    tab's: a file column called ``predicted`` or ``text`` would otherwise overwrite the model's."""
    out: dict[str, str] = {}
    taken = set(OURS)
    for name in names:
        if name in out:
            continue
        if len(out) == MAX_EXTRA_COLUMNS:
            break
        shown, k = name, 1
        while shown in taken:
            shown, k = f"{name} (file)" if k == 1 else f"{name} (file {k})", k + 1
        taken.add(shown)
        out[name] = shown
    return out


def _add_own_columns(frame: "pd.DataFrame", extras: list[dict]) -> list[str]:  # noqa: F821
    """The file's own columns added to ``frame`` (one dict per row), renamed by ``own_names``."""
    names = own_names(name for extra in extras for name in extra)
    for name, shown in names.items():
        frame[shown] = [extra.get(name) for extra in extras]
    return list(names.values())


def from_batch_output(path: Path, source: Path | None, split: str | None) -> Scored:
    """A ``serve.batch`` output's scores as written (nothing scored again), with each review's text and
    columns joined by id from ``source``, the file it scored, when given."""
    frame, written = read_batch_output(path)
    bad: list[str] = []
    texts: dict[str, tuple[str, dict] | None] = {}  # None: the id repeats, so its text is not known
    if source is not None:
        for r in _records(source, split, bad):
            texts[r.id] = None if r.id in texts else (r.text, dict(r.extra))
    once = ~frame["id"].duplicated(keep=False)
    joined = [(texts.get(i) or ("", {})) if unique else ("", {}) for i, unique in zip(frame["id"], once)]
    frame["text"] = [text for text, _ in joined]
    extras = [{name: values[i] for name, values in written.items()} | {k: v for k, v in extra.items()
                                                                       if k not in written}
              for i, (_, extra) in enumerate(joined)]
    columns = _add_own_columns(frame, extras)
    scored = _finish(frame, path.name, columns, bad, source.name if source else "")
    scored.source, scored.matched = (source.name if source else None), sum(bool(t) for t, _ in joined)
    if source is not None:
        scored.repeated = int((~once).sum()) + sum(1 for i, unique in zip(frame["id"], once)
                                                   if unique and i in texts and texts[i] is None)
    return scored


def filterable(scored: Scored, most: int = 100) -> list[str]:
    """The file's columns worth an "equals" filter: at most ``most`` distinct values (a genre, a year, a
    source), and not serve.batch's top_words (free text)."""
    return [c for c in scored.columns if c != "top_words" and scored.frame[c].nunique(dropna=True) <= most]


def _records(path: Path, split: str | None, bad: list[str]):
    records = read_upload(path, on_bad_row=lambda where, problem: bad.append(problem))
    return (r for r in records if r.split in (None, split)) if split else records


def _finish(frame: pd.DataFrame, name: str, columns: list[str], bad: list[str], bad_from: str) -> Scored:
    """The columns every slice needs, from ``p``, ``predicted``, ``label`` and ``text``: confidence, right
    (NA without a label) and words (NA without a text)."""
    import pandas as pd

    frame["confidence"] = np.maximum(frame["p"], 1 - frame["p"])
    labelled = frame["label"].notna()
    frame["right"] = pd.Series(pd.NA, index=frame.index, dtype="boolean")
    frame.loc[labelled, "right"] = frame.loc[labelled, "label"].astype(int) == frame.loc[labelled, "predicted"]
    words = frame["text"].str.split().str.len()
    frame["words"] = words.where(frame["text"] != "").astype("Int64")
    return Scored(name, frame, columns, len(bad), bad_from, bad[0] if bad else "")


def select(frame: pd.DataFrame, label: str = "all", result: str = "all", confidence: str = "all",
           length: str = "all", word: str = "", column: str | None = None, value: str = "") -> pd.Series:
    """The rows of a slice, as a mask: every filter given must hold."""
    import pandas as pd

    mask = pd.Series(True, index=frame.index)
    if label != "all":
        mask &= frame["label"] == VALUE[label]
    if result != "all":
        mask &= frame["right"].fillna(False) if result == "right" else (frame["right"] == False).fillna(False)  # noqa: E712
    lo, hi = CONFIDENCE[confidence]
    mask &= (frame["confidence"] >= lo) & (frame["confidence"] < hi)
    if length != "all":
        lo, hi = LENGTH[length]
        mask &= ((frame["words"] >= lo) & (frame["words"] < hi)).fillna(False)
    if word and word.strip():
        mask &= frame["text"].str.contains(rf"(?<!\w){re.escape(word.strip())}(?!\w)", case=False, regex=True)
    if column and column in frame.columns and value.strip():
        mask &= frame[column].astype(str).str.strip().str.lower() == value.strip().lower()
    return mask


def tenths(labelled: pd.DataFrame) -> list[tuple[float, float, int]]:
    """Per tenth of P(positive) holding a labelled review: (mean P(positive), share truly positive, count),
    the reliability plot's points and the calibration error's terms."""
    bins = np.minimum((labelled["p"].to_numpy() * 10).astype(int), 9)
    truth = labelled["label"].astype(int).to_numpy()
    p = labelled["p"].to_numpy()
    return [(float(p[bins == b].mean()), float(truth[bins == b].mean()), int((bins == b).sum()))
            for b in range(10) if (bins == b).any()]


def slice_stats(part: pd.DataFrame) -> dict:
    """Count, accuracy, mean confidence and expected calibration error (10 bins of P(positive)) of a slice."""
    labelled = part[part["label"].notna()]
    out = {"count": len(part), "labelled": len(labelled), "accuracy": None, "confidence": None, "ece": None}
    if len(part):
        out["confidence"] = float(part["confidence"].mean())
    if len(labelled):
        out["accuracy"] = float(labelled["right"].astype(bool).mean())
        out["ece"] = sum(abs(mean - share) * n for mean, share, n in tenths(labelled)) / len(labelled)
    return out


def reliability(part: pd.DataFrame) -> pd.DataFrame:
    """The reliability plot's points: per bin of P(positive), its mean and the share truly positive."""
    import pandas as pd

    labelled = part[part["label"].notna()]
    rows = [[mean, share, "this slice", n] for mean, share, n in tenths(labelled)] if len(labelled) else []
    rows += [[0.0, 0.0, "perfectly calibrated", 0], [1.0, 1.0, "perfectly calibrated", 0]]
    return pd.DataFrame(rows, columns=["mean P(positive)", "share positive", "series", "reviews"])


def confusion(part: pd.DataFrame) -> dict[tuple[str, str], int]:
    """(true label, right/wrong) -> count: the confusion matrix's cells, named as the filters that select them."""
    labelled = part[part["label"].notna()]
    out = {}
    for label, truth in VALUE.items():
        rows = labelled[labelled["label"] == truth]
        out[(label, "right")] = int(rows["right"].astype(bool).sum())
        out[(label, "wrong")] = len(rows) - out[(label, "right")]
    return out


def ordered(part: pd.DataFrame, order: str) -> pd.DataFrame:
    how = ORDER[order]
    if how == "wrong":
        key = np.where((part["right"] == False).fillna(False), part["confidence"], part["confidence"] - 1)  # noqa: E712
        return part.iloc[np.argsort(-key, kind="stable")]
    if how == "unsure":
        return part.sort_values("confidence", kind="stable")
    if how == "long":
        return part.sort_values("words", ascending=False, kind="stable")
    return part


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
