"""The Data tab's computations, with no Gradio: a labelled file scored once (``Scored``), a serve.batch
output read back with its scores, and the slices of it (``select``) with their count, accuracy,
calibration, confusion and reliability. The tab (``data_tab``) only shows them; tests call these
directly.

pandas (which comes with gradio) is imported by the functions that use it: the serving path loads
only numpy, onnxruntime, gradio and tqdm when it starts.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sentilens.errors import InputError
from sentilens.labels import DECIDED, THRESHOLD, VALUE, WORD, positive
from sentilens.sources import MAX_EXTRA_COLUMNS
from sentilens.wording import count
from serve.runtime.rows import read_batch_output
from serve.runtime import SentimentModel
from serve.runtime.scoring import chunks, score_chunk
from serve.app.uploads import read_upload

__all__ = ["B", "CONFIDENCE", "LABELS", "LENGTH", "MAX_SAVED", "ORDER", "OURS", "RESULTS", "TABLE", "TABLE_B", "Bin",
           "Range", "SavedSlice", "Scored", "at_threshold", "bins", "check_threshold", "compare_slices", "confusion",
           "filterable", "from_batch_output", "number_text", "ordered", "own_names", "plain_text", "reliability",
           "save_slice", "score_file", "select", "slice_stats", "tenths"]

LABELS = {"all": "all", **{label: WORD[label] for label in DECIDED}}
RESULTS = {"all": "all", "right": "right", "wrong": "wrong"}
CONFIDENCE = {"all": (0.5, 1.01), "<60%": (0.5, 0.6), "60-80%": (0.6, 0.8), "80-95%": (0.8, 0.95), ">=95%": (0.95, 1.01)}
LENGTH = {"all": (0, 10**9), "<100 words": (0, 100), "100-300": (100, 300), "300-600": (300, 600), ">=600": (600, 10**9)}
# The whole slice in an order (the table shows it a page at a time, so the order is the server's, not the page's):
# a name -> a rule of ``ordered``, or (column, ascending) for a plain sort on one of the frame's columns.
ORDER = {"wrong and confident first": "wrong", "least confident first": "unsure", "longest first": "long",
         "file order": "file", "most confident first": ("confidence", False),
         "P(positive), highest first": ("p", False), "P(positive), lowest first": ("p", True),
         "shortest first": ("words", True), "id": ("id", True)}
TABLE = ["row", "id", "true", "predicted", "P(positive)", "confidence", "right", "words", "text"]
TABLE_B = ["B P(positive)", "B right"]  # added after ``TABLE`` when a second model (B) scored the file too
B = "_b"  # the suffix of B's columns in a scored frame (p_b, predicted_b, confidence_b, right_b)
MAX_SAVED = 12  # named slices one visitor keeps


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
    other: str | None = None  # the second model (B) that scored it too, by sha256, when there is one
    digest: str = ""  # the first 8 hex digits of the file's sha256 (the queue ids an upload to Annotate gives)


def score_file(model: SentimentModel, path: Path, split: str | None, progress=None,
               other: SentimentModel | None = None) -> Scored:
    """Every review of ``path`` scored in chunks, ``progress((done, None), desc)`` told as it goes; by
    ``other`` too when given (a second model: its P(positive) in ``p_b``)."""
    import pandas as pd

    bad: list[str] = []
    rows, extras, probs, probs_b = [], [], [], []
    for chunk in chunks(_records(path, split, bad)):
        scored = score_chunk(model, chunk)
        for r, p in zip(scored.records, scored.probabilities):
            rows.append((r.id, r.text, r.label))
            extras.append(dict(r.extra))
            probs.append(float(p))
        if other is not None:
            probs_b.extend(float(p) for p in score_chunk(other, scored.records).probabilities)
        if progress is not None:
            progress((len(rows), None), desc=f"scored {len(rows):,} reviews")
    if not rows:
        why = f": no row could be read ({count(len(bad), 'row')}; the first: {bad[0]})" if bad else ""
        raise InputError(f"The file holds no review to score{why}.")
    frame = pd.DataFrame(rows, columns=["id", "text", "label"])
    frame["p"] = np.array(probs)
    frame["predicted"] = positive(frame["p"]).astype(int)
    if other is not None:
        frame["p" + B] = np.array(probs_b)
    columns = _add_own_columns(frame, extras)
    out = _finish(frame, path.name, columns, bad, path.name)
    out.other = other.sha256 if other is not None else None
    return out


# The tab's own columns, and the table's headings: a file's column of the same name is shown renamed.
OURS = ("id", "text", "label", "p", "predicted", "confidence", "right", "words", *(c + B for c in (
    "p", "predicted", "confidence", "right")), *TABLE, *TABLE_B)


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
    """The columns every slice needs, from ``p`` (and B's ``p_b``), ``label`` and ``text``: predicted,
    confidence, right (NA without a label) and words (NA without a text)."""
    _decide(frame, THRESHOLD)
    words = frame["text"].str.split().str.len()
    frame["words"] = words.where(frame["text"] != "").astype("Int64")
    return Scored(name, frame, columns, len(bad), bad_from, bad[0] if bad else "")


def _decide(frame: pd.DataFrame, threshold: float) -> None:
    """predicted, confidence (the probability of the label given) and right, for each model in ``frame``, at
    ``threshold``: the label rule is ``sentilens.labels.positive`` (``label_of`` over arrays), never a copy."""
    import pandas as pd

    labelled = frame["label"].notna()
    for suffix in ("", B) if "p" + B in frame.columns else ("",):
        p = frame["p" + suffix]
        predicted = positive(p, threshold)
        frame["predicted" + suffix] = predicted.astype(int)
        frame["confidence" + suffix] = np.where(predicted, p, 1 - p)
        right = pd.Series(pd.NA, index=frame.index, dtype="boolean")
        right[labelled] = frame.loc[labelled, "label"].astype(int) == frame.loc[labelled, "predicted" + suffix]
        frame["right" + suffix] = right


def check_threshold(threshold: float | None) -> float:
    """A decision threshold as the slider gives it; anything but a number strictly between 0 and 1 is refused."""
    if threshold is None:
        return THRESHOLD
    if not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise InputError("The decision threshold must be a number between 0 and 1 (0.5: the model's own).")
    return float(threshold)


def at_threshold(frame: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """``frame`` with its labels decided at ``threshold`` (predicted, confidence, right; B's too): a new frame,
    the loaded one (shared by everyone who loaded the file) is never changed."""
    threshold = check_threshold(threshold)
    if threshold == THRESHOLD:
        return frame
    out = frame.copy(deep=False)
    _decide(out, threshold)
    return out


@dataclass(frozen=True)
class Range:
    """A numeric filter: ``low <= x <= high``, either end open when None."""

    low: float | None = None
    high: float | None = None

    @staticmethod
    def of(low, high, what: str, lowest: float, highest: float | None) -> "Range":
        """The range two boxes give (numbers, or their text: empty is an open end), checked: within
        [lowest, highest], low not above high."""
        ends = []
        for x in (low, high):
            if isinstance(x, str):  # a text box: empty is an open end
                x = x.strip()
                try:
                    x = float(x) if x else None
                except ValueError:
                    x = "not a number"
            if x is None or (isinstance(x, float) and math.isnan(x)):
                ends.append(None)
                continue
            if isinstance(x, bool) or not isinstance(x, (int, float)) or math.isinf(x) or x < lowest \
                    or (highest is not None and x > highest):
                top = f" to {highest:g}" if highest is not None else " or more"
                raise InputError(f"{what}: give numbers from {lowest:g}{top}, or leave the box empty.")
            ends.append(float(x))
        if None not in ends and ends[0] > ends[1]:
            raise InputError(f"{what}: the lower end ({ends[0]:g}) is above the upper end ({ends[1]:g}).")
        return Range(*ends)

    def mask(self, values: pd.Series) -> pd.Series:
        out = values.notna()
        if self.low is not None:
            out &= values >= self.low
        if self.high is not None:
            out &= values <= self.high
        return out.fillna(False).astype(bool)

    def __bool__(self) -> bool:
        return self.low is not None or self.high is not None


def select(frame: pd.DataFrame, label: str = "all", result: str = "all", confidence: str = "all",
           length: str = "all", word: str = "", column: str | None = None, value: str = "",
           p: Range = Range(), confident: Range = Range(), words: Range = Range()) -> pd.Series:  # noqa: B008
    """The rows of a slice, as a mask: every filter given must hold. The bands (``confidence``, ``length``)
    are presets; ``p``, ``confident`` and ``words`` are free numeric ranges of P(positive), confidence and
    length in words (a review without a text has no length, so a length filter passes it over)."""
    import pandas as pd

    mask = pd.Series(True, index=frame.index)
    if label != "all":
        mask &= frame["label"] == VALUE[label]
    if result != "all":
        mask &= frame["right"].fillna(False) if result == "right" else (frame["right"] == False).fillna(False)  # noqa: E712
    if confidence != "all":
        lo, hi = CONFIDENCE[confidence]
        mask &= (frame["confidence"] >= lo) & (frame["confidence"] < hi)
    if length != "all":
        lo, hi = LENGTH[length]
        mask &= ((frame["words"] >= lo) & (frame["words"] < hi)).fillna(False)
    if p:
        mask &= p.mask(frame["p"])
    if confident:
        mask &= confident.mask(frame["confidence"])
    if words:
        mask &= words.mask(frame["words"].astype("Float64"))
    if word and word.strip():
        mask &= frame["text"].str.contains(rf"(?<!\w){re.escape(word.strip())}(?!\w)", case=False, regex=True)
    if column and column in frame.columns and value.strip():
        mask &= frame[column].astype(str).str.strip().str.lower() == value.strip().lower()
    return mask


@dataclass(frozen=True)
class Bin:
    """A tenth of P(positive) of the reliability plot: its labelled reviews' count, mean P(positive) and
    share truly positive (None when it holds none: an empty bin is shown empty, never joined across)."""

    low: float
    high: float
    count: int
    mean: float | None
    share: float | None


def bins(part: pd.DataFrame, suffix: str = "") -> list[Bin]:
    """The ten tenths of P(positive) (``p`` + ``suffix``: A's, or B's), empty ones included."""
    labelled = part[part["label"].notna()]
    p = labelled["p" + suffix].to_numpy(dtype=float)
    truth = labelled["label"].astype(int).to_numpy()
    which = np.minimum((p * 10).astype(int), 9)
    out = []
    for b in range(10):
        inside = which == b
        n = int(inside.sum())
        out.append(Bin(b / 10, (b + 1) / 10, n, float(p[inside].mean()) if n else None,
                       float(truth[inside].mean()) if n else None))
    return out


def tenths(labelled: pd.DataFrame, suffix: str = "") -> list[tuple[float, float, int]]:
    """Per tenth of P(positive) holding a labelled review: (mean P(positive), share truly positive, count),
    the reliability plot's points and the calibration error's terms."""
    return [(b.mean, b.share, b.count) for b in bins(labelled, suffix) if b.count]


def slice_stats(part: pd.DataFrame, suffix: str = "") -> dict:
    """Count, accuracy, mean confidence and expected calibration error (10 bins of P(positive)) of a slice,
    by model A (``suffix`` "") or B (``B``)."""
    labelled = part[part["label"].notna()]
    out = {"count": len(part), "labelled": len(labelled), "accuracy": None, "confidence": None, "ece": None}
    if len(part):
        out["confidence"] = float(part["confidence" + suffix].mean())
    if len(labelled):
        out["accuracy"] = float(labelled["right" + suffix].astype(bool).mean())
        out["ece"] = sum(abs(mean - share) * n for mean, share, n in tenths(labelled, suffix)) / len(labelled)
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
    """The whole slice in the order ``order`` (an ``ORDER`` name) says; ties keep the file's order."""
    how = ORDER[order]
    if isinstance(how, tuple):
        column, ascending = how
        return part.sort_values(column, ascending=ascending, kind="stable", na_position="last")
    if how == "wrong":
        key = np.where((part["right"] == False).fillna(False), part["confidence"], part["confidence"] - 1)  # noqa: E712
        return part.iloc[np.argsort(-key, kind="stable")]
    if how == "unsure":
        return part.sort_values("confidence", kind="stable")
    if how == "long":
        return part.sort_values("words", ascending=False, kind="stable")
    return part


_OPEN_TAG = re.compile(r"<[^>]{0,200}$")
_TAG = re.compile(r"<[^>]{0,200}>")  # the codec's rule for markup (sentilens.codec): a tag is a space


def plain_text(text: str, most: int = 160) -> str:
    """A review for a table cell: tags (``<br />``) made spaces and entities unescaped as the codec does,
    whitespace made single spaces, cut to ``most`` characters with an ellipsis saying it was."""
    head = _TAG.sub(" ", text[:most * 4])
    cut = len(text) > most * 4
    if cut:  # a tag the cut split in two is markup all the same
        head = _OPEN_TAG.sub(" ", head)
    flat = " ".join(html.unescape(head).split())
    return flat if len(flat) <= most and not cut else flat[:most - 1] + "…"


def number_text(x: float | None, digits: int = 4) -> str:
    """A probability as people read it, never rounded onto 0 or 1 when it is not: 0.99996 is "> 0.9999"."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    step = 10 ** -digits
    if 0 < x < step:
        return f"< {step:.{digits}f}"
    if 1 - step < x < 1:
        return f"> {1 - step:.{digits}f}"
    return f"{x:.{digits}f}"


@dataclass(frozen=True)
class SavedSlice:
    """A slice a visitor named: the filters that make it (``select``'s keyword arguments), applied again to
    whatever file and threshold are on screen."""

    name: str
    filters: dict = field(hash=False)


def save_slice(saved: list[SavedSlice] | None, name: str, filters: dict) -> list[SavedSlice]:
    """``saved`` with ``name`` added (or replaced, when the name is taken): at most ``MAX_SAVED``."""
    name = " ".join((name or "").split())
    if not name:
        raise InputError("Give the slice a name first.")
    if len(name) > 60:
        raise InputError("A slice's name is at most 60 characters.")
    kept = [s for s in saved or [] if s.name != name]
    if len(kept) >= MAX_SAVED:
        raise InputError(f"At most {MAX_SAVED} slices are kept: clear them to start again.")
    return [*kept, SavedSlice(name, dict(filters))]


def compare_slices(frame: pd.DataFrame, slices: list[SavedSlice]) -> list[dict]:
    """Each slice's numbers side by side (count, accuracy, mean confidence, ECE; B's accuracy and ECE when
    ``frame`` holds a second model's scores), on ``frame`` as it is (already at the threshold on screen)."""
    out = []
    both = "p" + B in frame.columns
    for s in slices:
        part = frame[select(frame, **s.filters)]
        row = {"slice": s.name, **slice_stats(part)}
        if both:
            b = slice_stats(part, B)
            row |= {"accuracy B": b["accuracy"], "ece B": b["ece"]}
        out.append(row)
    return out
