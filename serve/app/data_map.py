"""The Data tab's map of the dataset, as LIT's embedding projector: every review of the loaded file a point,
placed by the two principal axes of what the model computes for it (``explain.representation``, the kind
that puts reviews of one label together best: bench/representation.py), coloured by label, prediction,
right or wrong, or confidence. A box or lasso selection becomes the slice (the tab's table, metrics and
confusion matrix follow: the visitor's file is replaced by the selected rows, which keep their row
numbers, until the selection is cleared); a click opens the review in Analyze.

The points are drawn on a canvas by ``assets/data_map.js`` (25,000 stay interactive; bench/map_interaction.py
measures it). Each file's representation is computed once and kept with it, and Analyze's "more like
this" reads the same index (``similar``).
"""

from __future__ import annotations

import base64
import dataclasses
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

import gradio as gr
import numpy as np

from explain.representation import DEFAULT_KIND, ReviewIndex, project
from sentilens.errors import InputError
from sentilens.wording import count
from serve.app.review_view import asset
from serve.app.tab import PRIVATE, TabContext
from serve.app.ui_safety import user_errors
from serve.runtime import SentimentModel

__all__ = ["DataMap", "MapIndex", "MapParts", "indexed", "packed", "selected", "similar", "start_of"]

START = 160  # characters of a review shown on hover
KEEP = 4  # files' representations kept (one per file a visitor loads; 25,000 reviews hold ~13 MB)
_TAG = re.compile(r"<[^>]*>")

TEMPLATE = """<div class="sl-map">
  <div class="sl-map-bar">
    <label>Colour by <select class="sl-map-colour">
      <option value="label">true label</option><option value="pred">prediction</option>
      <option value="error">right or wrong</option><option value="conf">confidence</option></select></label>
    <label>Select with <select class="sl-map-tool">
      <option value="box">a box</option><option value="lasso">a lasso</option></select></label>
    <button type="button" class="sl-map-clear">Clear the selection</button>
    <span class="sl-map-legend" role="group" aria-label="Colours"></span>
  </div>
  <div class="sl-map-plot">
    <canvas class="sl-map-canvas" aria-hidden="true"></canvas>
    <canvas class="sl-map-over" role="img" tabindex="0" aria-label="The map of the dataset"></canvas>
    <div class="sl-map-tip" role="tooltip" hidden></div>
  </div>
  <p class="sl-map-status" aria-live="polite"></p>
</div>"""

CSS = """
.sl-map-bar { display: flex; flex-wrap: wrap; gap: 6px 16px; align-items: center; margin-bottom: 6px; }
.sl-map-bar select { margin-left: 4px; padding: 2px 4px; border: 1px solid #767676; border-radius: 4px;
  background: var(--input-background-fill); color: var(--body-text-color); }
.sl-map-clear { padding: 2px 10px; border: 1px solid #767676; border-radius: 4px; background: var(--button-secondary-background-fill);
  color: var(--body-text-color); }
.sl-map-legend { display: flex; flex-wrap: wrap; gap: 4px 12px; }
.sl-map-legend i { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; }
.sl-map-plot { position: relative; width: 100%; border: 1px solid var(--border-color-primary); border-radius: 4px;
  background: #fff; }
.sl-map-plot canvas { position: absolute; left: 0; top: 0; }
.sl-map-over { cursor: crosshair; touch-action: none; }
.sl-map-over:focus-visible { outline: 3px solid #1f4e8c; outline-offset: 2px; }
.sl-map-tip { position: absolute; z-index: 5; max-width: min(420px, 90%); padding: 6px 8px; border-radius: 4px;
  background: #1f1f1f; color: #fff; font-size: 0.85em; pointer-events: none; overflow-wrap: anywhere; }
.sl-map-status { margin: 4px 0 0; }
"""


def start_of(text: str, most: int = START) -> str:
    """The start of a review as people read it: tags made spaces, whitespace single, an ellipsis when cut."""
    flat = " ".join(_TAG.sub(" ", text[: most * 4]).split())
    return flat if len(flat) <= most else flat[: most - 1] + "…"


@dataclass
class MapIndex:
    """One file's reviews with a text, represented once: ``rows`` are the frame's labels of the points,
    ``xy`` their place on the map (0..1), ``index`` the same vectors for "more like this"."""

    rows: np.ndarray
    xy: np.ndarray
    index: ReviewIndex


_INDEXES: OrderedDict[tuple[str, int], tuple[object, MapIndex]] = OrderedDict()
_LOCK = threading.Lock()


def indexed(model: SentimentModel, scored, progress=None) -> MapIndex:
    """The map and the index of ``scored``'s reviews, computed once per (model, file) and shared by every
    visitor who loaded that file (the scored frame itself is shared the same way by the Data tab)."""
    frame = scored.frame
    key = (model.sha256, id(frame))
    with _LOCK:
        hit = _INDEXES.get(key)
        if hit is not None and hit[0] is frame:
            _INDEXES.move_to_end(key)
            return hit[1]
    texts = frame["text"].fillna("").astype(str)
    has = (texts.str.len() > 0).to_numpy()
    rows = frame.index.to_numpy()[has]
    if progress is not None:
        progress(None, desc=f"placing {len(rows):,} reviews by what the model computes")
    labels = [None if missing else int(v) for v, missing in zip(frame["label"].to_numpy()[has],
                                                                 frame["label"].isna().to_numpy()[has])]
    index = ReviewIndex(model, list(texts[has]), labels, frame["p"].to_numpy()[has], kind=DEFAULT_KIND)
    xy = project(index.unit)
    lo, hi = xy.min(axis=0, initial=0.0), xy.max(axis=0, initial=0.0)
    xy = (xy - lo) / np.where(hi > lo, hi - lo, 1.0)
    found = MapIndex(rows, xy.astype(np.float32), index)
    with _LOCK:
        _INDEXES[key] = (frame, found)
        while len(_INDEXES) > KEEP:
            _INDEXES.popitem(last=False)
    return found


def similar(model: SentimentModel, scored, text: str, k: int = 10) -> list[dict]:
    """The ``k`` reviews of ``scored`` nearest to ``text`` by the model's representation (the review itself
    left out when it is one of them): each a dict with row (the Data tab's number), similarity, label,
    score and text."""
    if scored is None:
        raise InputError("Load a labelled file in the Data tab first: \"more like this\" searches its reviews.")
    if not isinstance(text, str) or not text.strip():
        raise InputError("Type or paste a review first.")
    m = indexed(model, scored)
    if not len(m.index):
        raise InputError("The file loaded in the Data tab has no review texts to search.")
    found = m.index.like_text(text, k)
    return [r | {"row": int(m.rows[r["row"]]) + 1} for r in found]


def _b64(array: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()).decode()


def packed(xy: np.ndarray, label: np.ndarray, pred: np.ndarray, p: np.ndarray, rows: np.ndarray, texts: list[str],
           note: str) -> dict:
    """The map's value: places and P(positive) as 16-bit fractions, labels (-1: none) and predictions as
    bytes, row numbers as int32, all little-endian in base64, and the texts' starts joined by U+001F (which
    ``start_of`` never leaves in a text). A few strings: the page keeps no 150,000-number structure to watch."""
    def frac(v):
        return np.round(np.clip(np.asarray(v, np.float64), 0, 1) * 65535)

    return {"n": len(rows), "x": _b64(frac(xy[:, 0]), "u2"), "y": _b64(frac(xy[:, 1]), "u2"), "p": _b64(frac(p), "u2"),
            "label": _b64(label, "i1"), "pred": _b64(pred, "i1"), "row": _b64(rows, "i4"),
            "text": "\x1f".join(texts), "note": note}


def selected(chosen: dict, n: int) -> np.ndarray:
    """The points of a selection the page sent (a bit mask of ``n`` points in base64, the first point in
    the highest bit), checked: one clear line for anything else."""
    mask, count_ = (chosen.get("mask"), chosen.get("n")) if isinstance(chosen, dict) else (None, None)
    if count_ == 0 and mask == "":
        return np.zeros(0, np.int64)
    try:
        bits = np.unpackbits(np.frombuffer(base64.b64decode(mask, validate=True), np.uint8)) \
            if isinstance(mask, str) and count_ == n else None
    except ValueError:
        bits = None
    if bits is None or len(bits) != -(-n // 8) * 8 or bits[n:].any():
        raise InputError("That selection does not belong to the map on screen; draw it again.")
    return np.flatnonzero(bits[:n])


@dataclass
class MapParts:
    """What ``DataMap.build`` puts on the page, for ``DataMap.wire``."""

    plot: gr.HTML
    whole: gr.State  # the file the map shows (the tab's file may be its selected part)


class DataMap:
    """The map: ``build`` where it goes on the page, ``wire`` once the tab's file, filters and view exist."""

    def __init__(self, model: SentimentModel):
        self.model = model
        self._parts: OrderedDict[int, tuple[object, object]] = OrderedDict()  # id(part frame) -> (frame, whole)

    def build(self) -> MapParts:
        with gr.Accordion("Map of the dataset: each review placed by what the model computes for it", open=True,
                          elem_id="data-map-box"):
            gr.Markdown("Reviews the model treats alike lie close together (its final state and the words that "
                        "counted, on their two main axes). **Drag** a box or a lasso to make the selection the "
                        "slice below; **click** a point to open its review in Analyze; hover for its start. From the "
                        "keyboard: focus the map, move with the arrow keys, open with Enter.")
            plot = gr.HTML({}, html_template=TEMPLATE, css_template=CSS, js_on_load=asset("data_map.js"),
                           elem_id="data-map", min_height=240)
        return MapParts(plot, gr.State(None))

    def draw(self, current, shown=None, progress=gr.Progress()):  # noqa: B008
        """The map of the visitor's file (the whole file when the tab shows a selection of it); the map on
        screen (``shown``) is left as it is, selection and all, when that is the file."""
        whole = self._whole(current)
        if whole is not None and whole is shown:
            return gr.skip(), gr.skip(), gr.skip()
        if whole is None:
            return {}, None, None
        try:
            m = indexed(self.model, whole, progress)
        except ValueError as err:  # a model the representation cannot re-run (not a fused LSTM export)
            return {"note": f"No map for this model: {err}."}, None, None
        frame = whole.frame.loc[m.rows]
        missing = len(whole.frame) - len(m.rows)
        note = f"{count(len(m.rows), 'review')} on the map."
        if missing:
            note += f" {count(missing, 'review')} without a text are not (add the file serve.batch scored)."
        value = packed(m.xy, np.array([-1 if v is None else v for v in m.index.labels], np.int8),
                       frame["predicted"].to_numpy().astype(np.int8), frame["p"].to_numpy(), m.rows + 1,
                       [start_of(t) for t in m.index.texts], note)
        return value, whole, whole

    def _whole(self, current):
        if current is None:
            return None
        hit = self._parts.get(id(current.frame))
        return hit[1] if hit is not None and hit[0] is current.frame else current

    def pick(self, whole, evt: gr.EventData):
        """The points a box or lasso held, as the visitor's file (its rows keep their numbers); none: the
        whole file again."""
        if whole is None:
            raise InputError("Load a labelled file first.")
        m = indexed(self.model, whole)
        chosen = getattr(evt, "_data", None) or {}
        points = selected(chosen, len(m.rows))
        if not len(points):
            return whole
        part = dataclasses.replace(whole, frame=whole.frame.loc[m.rows[points]])
        with _LOCK:
            self._parts[id(part.frame)] = (part.frame, whole)
            while len(self._parts) > 64:
                self._parts.popitem(last=False)
        return part

    def open_point(self, whole, evt: gr.EventData) -> str:
        """The text of the point clicked, for Analyze."""
        if whole is None:
            raise InputError("Load a labelled file first.")
        m = indexed(self.model, whole)
        chosen = getattr(evt, "_data", None) or {}
        i = chosen.get("row") if isinstance(chosen, dict) else None
        if not isinstance(i, int) or not 0 <= i < len(m.rows):
            raise InputError("That point does not belong to the map on screen.")
        return m.index.texts[i]

    def wire(self, parts: MapParts, context: TabContext, current: gr.State, status: gr.Markdown, view, again: list,
             outputs: list) -> None:
        """The map drawn whenever the tab's status line changes (a file loaded, or taken away); a selection
        becomes the tab's file and ``view`` runs on it; a click opens the review in Analyze. Analyze's
        "more like this" reads the file through ``context.shared["similar_source"]`` when it offers one."""
        source = context.shared.get("similar_source") or gr.State(None)
        status.change(user_errors(self.draw), [current, parts.whole], [parts.plot, parts.whole, source], **PRIVATE)
        parts.plot.pick(user_errors(self.pick), [parts.whole], [current], **PRIVATE) \
            .success(view, again, outputs, **PRIVATE)
        chosen = gr.State(None)
        parts.plot.open(user_errors(self.open_point), [parts.whole], [chosen], **PRIVATE) \
            .success(lambda text: (gr.Tabs(selected="analyze"), text), [chosen], [context.tabs, context.shared["review"]],
                     **PRIVATE) \
            .success(None, None, None, js="() => document.getElementById('analyze').click()", **PRIVATE)
