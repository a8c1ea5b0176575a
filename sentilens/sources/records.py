"""A row of any format as a ``Record``: the one place a row's text, id, label and other columns are
checked, so that a row means the same whichever reader (or Spark's executors) met it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from sentilens.codec import MAX_STANDARD_CHARS, fits
from sentilens.errors import DataError
from sentilens.labels import parse_label
from sentilens.sources import lines

__all__ = ["CHUNK", "CHUNK_CHARS", "ID_COLUMNS", "ID_HELP", "MAX_EXTRA_COLUMNS", "MAX_EXTRA_NAME", "MAX_EXTRA_VALUE",
           "MAX_ID_CHARS", "TEXT_COLUMNS", "BadRow", "Limits", "Record", "Tally", "build_record", "checked", "chunks",
           "extra_columns", "make_record", "not_text", "pick_id_column", "pick_text_column", "report", "row_id"]

TEXT_COLUMNS = ("text", "review")
# The names a row's id is taken from when none is named (``--id-column``), in this order, any case: the
# first column of the row that has one of them. A row without any is numbered by its line.
ID_COLUMNS = ("id", "review_id", "reviewid", "review-id", "uid", "uuid", "key", "doc_id", "document_id")
_ID_RANK = {name: rank for rank, name in enumerate(ID_COLUMNS)}
ID_HELP = ("CSV/JSONL/Parquet column with each row's id (default: id, else review_id, reviewId, uid, uuid, key or "
           "doc_id in any case; else the row's line number)")
MAX_ID_CHARS = 1_000
# The row's other columns ride along as metadata (shown while annotating, carried into exports), bounded:
MAX_EXTRA_COLUMNS, MAX_EXTRA_NAME, MAX_EXTRA_VALUE = 20, 100, 1_000
_SURROGATE = re.compile("[\ud800-\udfff]")

BadRow = Callable[[str, str], None]  # (where, problem): report a bad row and go on
T = TypeVar("T")


@dataclass(frozen=True)
class Record:
    id: str
    text: str
    label: int | None  # 1 positive, 0 negative, None unknown
    where: str  # "file:line" or the member path, for error reports
    split: str | None = None  # "train"/"test" for aclImdb
    extra: tuple[tuple[str, str], ...] = ()  # the row's other columns as (name, value) text, in file order


@dataclass(frozen=True)
class Limits:
    """How much a source may unpack. ``None``: no cap (streaming consumers)."""

    max_member_bytes: int = 4 * 2**20  # one review file; a review is at most a few hundred KB
    max_total_bytes: int | None = None
    max_members: int | None = None


@dataclass
class Tally:
    """Records as the source delimits them, counted apart from whether they parse."""

    rows_in: int = 0


def report(on_bad_row: BadRow | None, where: str, problem: str) -> None:
    """A bad row: ``DataError`` with no ``on_bad_row``, else handed to it and the reading goes on."""
    if on_bad_row is None:
        raise DataError(f"{where}: {problem}")
    on_bad_row(where, problem)


def build_record(where: str, parse: Callable[[], T]) -> tuple[T | None, str | None]:
    """(record, None), or (None, why) when anything fails while building this one row: the one rule
    for a bad row, shared by every reader here and by Spark's executors."""
    try:
        return parse(), None
    except DataError as err:
        return None, str(err).removeprefix(f"{where}: ")
    except (RecursionError, MemoryError):
        return None, "nested too deeply to read"
    except Exception as err:  # noqa: BLE001 - one row never stops a run
        return None, f"unreadable ({type(err).__name__}: {str(err)[:200]})"


def pick_text_column(columns: list[str], wanted: str | None, where: str) -> str:
    if wanted is not None:
        if wanted not in columns:
            raise DataError(f"{where}: no column {wanted!r}; columns are {columns[:20]}")
        return wanted
    for name in TEXT_COLUMNS:
        if name in columns:
            return name
    raise DataError(f"{where}: no text column (looked for {' or '.join(TEXT_COLUMNS)}); columns are {columns[:20]}")


def pick_id_column(columns: list[str], wanted: str | None = None, where: str = "") -> str | None:
    """The column ids are taken from: ``wanted`` (``DataError`` when there is no such column), else ``id``,
    else the first name of ``ID_COLUMNS`` any column spells in any case; None when none does (rows are
    numbered). The app's uploads name it in their status line."""
    if wanted is not None:
        if wanted not in columns:
            raise DataError(f"{where}: no id column {wanted!r}; columns are {columns[:20]}")
        return wanted
    if "id" in columns:
        return "id"
    ranked = [(_ID_RANK[c.casefold()], c) for c in columns if isinstance(c, str) and c.casefold() in _ID_RANK]
    return min(ranked)[1] if ranked else None


def checked(value: str, what: str, where: str) -> str:
    """``value``, or ``DataError`` when it is not text: undecodable bytes survive decoding as lone
    surrogates (``encoding``), JSON can spell them (``\\ud800``) and NUL (``\\u0000``) too. The one rule
    for a lone surrogate or a NUL anywhere in a row: the row is rejected, never scored or repaired."""
    problem = not_text(value)
    if problem is not None:
        raise DataError(f"{where}: the {what} {problem}")
    return value


def not_text(value: str) -> str | None:
    """Why ``value`` is not text (a NUL, or a lone surrogate: bytes that were not UTF-8, or a JSON escape
    no encoder can write back), or None. Typed text is held to it too (``serve.app.analysis.check_text``)."""
    if "\0" in value:
        return "holds a NUL character, so it is not text"
    if not value.isascii() and _SURROGATE.search(value):
        return "is not UTF-8"
    return None


def row_id(value: object, where: str) -> str | None:
    """A row's id as text, or None when it has none (a missing Parquet/pandas value is none): a string as
    it is, any other value as JSON; ``DataError`` for one that is not UTF-8 or is too long. Every reader,
    and the Data tab reading a serve.batch output, takes ids through here."""
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return None
    rid = checked(value if isinstance(value, str) else json.dumps(value, default=str), "id", where)
    if len(rid) > MAX_ID_CHARS:
        raise DataError(f"{where}: the id is longer than {MAX_ID_CHARS:,} characters")
    return rid


def make_record(obj: Mapping, text_column: str, where: str, default_id: str, id_column: str | None = None) -> Record:
    """One row (a mapping of column -> value) as a record, or ``DataError`` saying what is wrong
    with it. Every reader (and Spark's) builds records here, so a row means the same everywhere. Its
    text is bounded as written and as the codec would normalise it (``sentilens.codec.fits``) here,
    before anything normalises or scores it. Its id comes from ``id_column`` (by default the one
    ``pick_id_column`` finds in the row), else ``default_id``."""
    text = obj.get(text_column)
    if not isinstance(text, str):
        raise DataError(f"{where}: {text_column!r} is missing or not a string")
    checked(text, "text", where)
    if not text.strip():
        raise DataError(f"{where}: the text is empty")
    if len(text) > lines.MAX_RECORD_CHARS:  # a Parquet cell or a DataFrame has no line to bound it
        raise DataError(f"{where}: the text is longer than {lines.MAX_RECORD_CHARS:,} characters")
    if not fits(text):  # NFKC makes up to 18 characters of one: refused here, never normalised or scored
        raise DataError(f"{where}: the text would be longer than {MAX_STANDARD_CHARS:,} characters once normalised")
    if id_column is None:
        id_column = "id" if "id" in obj else pick_id_column(list(obj)) or "id"
    rid = row_id(obj.get(id_column), where) or default_id
    label = obj.get("label")
    if isinstance(label, str):
        checked(label, "label", where)
    elif isinstance(label, float) and label != label:
        label = None
    return Record(id=rid, text=text, label=parse_label(label, where), where=where,
                  extra=extra_columns(obj, (id_column, text_column, "label")))


def extra_columns(obj: Mapping, known: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The row's other columns as text: the first ``MAX_EXTRA_COLUMNS``, each name and value cut to its
    bound; empty or missing values and cells that are not text (undecodable bytes) are left out rather
    than costing the row."""
    out = []
    for name, value in obj.items():
        if name in known or not isinstance(name, str) or value is None or value == "":
            continue
        if isinstance(value, float) and value != value:
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
        if _SURROGATE.search(name) or _SURROGATE.search(text):
            continue
        out.append((name[:MAX_EXTRA_NAME], text[:MAX_EXTRA_VALUE]))
        if len(out) == MAX_EXTRA_COLUMNS:
            break
    return tuple(out)


CHUNK = 2048  # reviews encoded and scored together
CHUNK_CHARS = 16 * 2**20  # ... or fewer, when their text would pass this: memory is bounded by text, not count


def chunks(records: Iterator[Record], size: int = CHUNK, max_chars: int = CHUNK_CHARS,
           first: int | None = None) -> Iterator[list[Record]]:
    """Consecutive lists of at most ``size`` records (``first`` for the first list, so that a consumer
    can start sooner) and ``max_chars`` characters of text (a record longer than that alone is a chunk of
    its own), read as they are needed."""
    chunk, chars, most = [], 0, first or size
    for record in records:
        if chunk and (len(chunk) == most or chars + len(record.text) > max_chars):
            yield chunk
            chunk, chars, most = [], 0, size
        chunk.append(record)
        chars += len(record.text)
    if chunk:
        yield chunk
