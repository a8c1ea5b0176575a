"""Reading back what ``serve.batch`` wrote, so the Data tab can slice a corpus scored elsewhere without
scoring it again.

An output is known by its columns (``id``, ``probability``, ``label``, ``true_label``; no text column):
it holds scores, not reviews. The reviews come from the file it scored, joined by id, when the user
gives that file too. pandas (which comes with gradio) is imported here only when a file is read.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from sentilens.errors import InputError
from sentilens.sources import TEXT_COLUMNS
from serve.scoring import OUTPUT_COLUMNS

NEEDED = ("id", "probability", "label", "true_label")
LABELS = {"pos": 1, "neg": 0}


def _columns(path: Path) -> list[str]:
    """The column names of a CSV or JSONL file, from its first line only ([] for any other file)."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        return []
    with open(path, "rb") as f:
        first = f.readline(1 << 20).decode("utf-8-sig", errors="replace")
    if suffix == ".csv":
        return next(csv.reader(io.StringIO(first)), [])
    try:
        obj = json.loads(first)
    except ValueError:
        return []
    return list(obj) if isinstance(obj, dict) else []


def is_batch_output(path: Path) -> bool:
    """Whether ``path`` looks like a ``serve.batch`` output: its columns, and no review text."""
    columns = _columns(path)
    return all(c in columns for c in NEEDED) and not any(c in columns for c in TEXT_COLUMNS)


def read_batch_output(path: Path) -> "pd.DataFrame":  # noqa: F821 - pandas is imported here
    """The output's rows as ``id``, ``p``, ``predicted``, ``label`` (1, 0 or NA) and its other columns; a
    row whose probability or label is not one serve.batch writes is refused with its line."""
    import pandas as pd

    try:
        if path.suffix.lower() == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        else:
            frame = pd.read_json(path, lines=True, dtype=False)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise InputError(f"Could not read the serve.batch output: {str(err).splitlines()[0][:200]}") from None
    first = 2 if path.suffix.lower() == ".csv" else 1  # the file's line of row 0
    p = pd.to_numeric(frame["probability"], errors="coerce")
    bad = p.isna() | (p < 0) | (p > 1)
    bad |= ~frame["label"].astype(str).isin(list(LABELS))
    bad |= ~frame["true_label"].fillna("").astype(str).isin(["", *LABELS])
    if bad.any():
        line = int(bad.to_numpy().argmax()) + first
        raise InputError(f"Line {line} of the serve.batch output is not one it writes (probability in [0, 1], "
                         "label pos or neg, true_label pos, neg or empty).")
    out = pd.DataFrame({"id": frame["id"].astype(str), "p": p.astype(float),
                        "predicted": frame["label"].astype(str).map(LABELS).astype(int),
                        "label": frame["true_label"].fillna("").astype(str).map(LABELS).astype("Int64")})
    for name in frame.columns:
        if name not in OUTPUT_COLUMNS or name == "top_words":
            out[name] = frame[name].astype(str).where(frame[name].notna(), "")
    return out
