"""The Data tab's computations, with no Gradio: a labelled file scored once (``Scored``), a serve.batch
output read back with its scores, and the slices of it (``select``) with their count, accuracy,
calibration, confusion and reliability. The tab (``data_tab``) only shows them; tests call these
directly.

pandas (which comes with gradio) is imported by the functions that use it: the serving path loads
only numpy, onnxruntime, gradio and tqdm when it starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sentilens.errors import InputError
from sentilens.labels import DECIDED, VALUE, WORD, positive
from sentilens.sources import MAX_EXTRA_COLUMNS
from sentilens.wording import count
from serve.runtime.rows import read_batch_output
from serve.runtime import SentimentModel
from serve.runtime.scoring import chunks, score_chunk
from serve.app.uploads import read_upload

__all__ = ["CONFIDENCE", "LABELS", "LENGTH", "ORDER", "OURS", "RESULTS", "TABLE", "Scored", "confusion", "filterable",
           "from_batch_output", "ordered", "own_names", "reliability", "score_file", "select", "slice_stats", "tenths"]

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


