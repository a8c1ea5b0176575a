"""The scored-row schema, owned here: the columns every scorer writes (``serve.batch``, ``serve.spark``) and
the Data tab reads back, so that a corpus scored elsewhere is sliced without scoring it again.

An output is known by its columns (``id``, ``probability``, ``label``, ``true_label``; no text column):
it holds scores, not reviews. The reviews come from the file it scored, joined by id, when the user
gives that file too. Rows are read through ``sentilens.sources.read_rows``, so an output is cut and
bounded as every other upload is (record length, id length, 20 other columns of bounded size), and a
row that is not one serve.batch writes is refused with its line. pandas (which comes with gradio) is
imported here only when a file is read.
"""

from __future__ import annotations

from pathlib import Path

from sentilens.errors import DataError, InputError
from sentilens.labels import NEG, POS, VALUE
from sentilens.sources import MAX_EXTRA_COLUMNS, TEXT_COLUMNS, extra_columns, find, read_rows, row_id

__all__ = ["NEEDED", "OUTPUT_COLUMNS", "REJECT_COLUMNS", "WRITES", "is_batch_output", "read_batch_output"]

OUTPUT_COLUMNS = ("id", "probability", "label", "true_label", "top_words")  # top_words only with --explain
REJECT_COLUMNS = ("where", "problem")  # a row that could not be scored: where it was and why
NEEDED = OUTPUT_COLUMNS[:4]
WRITES = f"probability in [0, 1], label {POS} or {NEG}, true_label {POS}, {NEG} or empty"


def _columns(path: Path) -> list[str]:
    """The column names of a file whose format has named columns (CSV's header, JSONL's first object),
    from its first line only ([] for any other file)."""
    fmt = find(path.name)
    if fmt is None or fmt.header is None:
        return []
    with open(path, "rb") as f:
        first = f.readline(1 << 20).decode("utf-8-sig", errors="replace")
    return fmt.header(first)


def is_batch_output(path: Path) -> bool:
    """Whether ``path`` looks like a ``serve.batch`` output: its columns, and no review text."""
    columns = _columns(path)
    return all(c in columns for c in NEEDED) and not any(c in columns for c in TEXT_COLUMNS)


def _probability(value: object) -> float | None:
    """A probability as serve.batch writes it (a number in [0, 1]; text in CSV), else None. JSON's
    true and false are not numbers here."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        p = float(value)
    except (ValueError, OverflowError):  # OverflowError: an integer of hundreds of digits
        return None
    return p if 0 <= p <= 1 else None  # NaN fails both


def _row(obj: dict, where: str) -> tuple:
    try:
        rid = row_id(obj.get("id"), where)  # the readers' rule: text, or JSON; UTF-8 and bounded
    except DataError as err:
        raise InputError(f"{err}.") from None
    if rid is None:
        raise InputError(f"{where} has no id.")
    p, label, true = _probability(obj.get("probability")), obj.get("label"), obj.get("true_label")
    if p is None or not isinstance(label, str) or label not in VALUE or not (true is None or true in ("", *VALUE)):
        raise InputError(f"{where} is not one serve.batch writes ({WRITES}).")
    return rid, p, VALUE[label], VALUE.get(true), dict(extra_columns(obj, NEEDED))


def read_batch_output(path: Path) -> tuple["pd.DataFrame", dict[str, list[str]]]:  # noqa: F821 - pandas
    """The output's rows as ``id``, ``p``, ``predicted``, ``label`` (1, 0 or NA), and apart from them its
    other columns by name (the first ``MAX_EXTRA_COLUMNS`` met, ``top_words`` among them; a row without
    one has ""). A row that cannot be read or is not one serve.batch writes is refused with its line."""
    import pandas as pd

    try:
        rows = read_rows(path)
    except DataError as err:
        raise InputError(f"Could not read the serve.batch output: {str(err).removeprefix(f'{path}: ')}") from None
    table, names = [], {}
    for line, obj in rows:
        where = f"Line {line} of the serve.batch output"
        if isinstance(obj, str):
            raise InputError(f"{where} cannot be read: {obj}.")
        table.append(_row(obj, where))
        for name in table[-1][4]:
            if name not in names and len(names) < MAX_EXTRA_COLUMNS:
                names[name] = None
    if not table:
        raise InputError("The serve.batch output holds no rows.")
    out = pd.DataFrame({"id": [r[0] for r in table], "p": [r[1] for r in table],
                        "predicted": [r[2] for r in table],
                        "label": pd.array([r[3] for r in table], dtype="Int64")})
    return out, {name: [r[4].get(name, "") for r in table] for name in names}
