"""Readers for every review source the tool accepts, as streams of ``Record``s.

The trainer, the batch scorer and the annotation queue all read through here, so a file
that scores also trains, and a bad file fails the same way everywhere.

Accepted:
- the aclImdb layout ``aclImdb/{train,test}/{pos,neg}/ID_RATING.txt`` as a directory or
  a ``.tar.gz`` read without extracting;
- CSV with a header (text column ``text`` or ``review`` by default, optional ``label``
  and ``id``);
- JSONL, one object per line with the same keys;
- plain text, one review per line (no labels; blank lines are not reviews).

A whole source that cannot be read raises ``DataError`` naming the file. One bad row (bytes
that are not UTF-8 in any column, a lone surrogate, JSON that is broken, nested too deep or
not an object, a CSV quote that never closes, a label that is not 0/1/pos/neg, anything
else that fails while parsing it) raises ``DataError`` naming its line, or, with
``on_bad_row``, is reported there and the reading goes on. ``Tally.rows_in`` counts the
records as the file delimits them (lines; CSV records; archive members), apart from
whether they parse, so that a consumer can check rows in = scored + rejected.

A CSV quote that opens a field and never closes would swallow the rest of the file: the
record is cut at ``MAX_RECORD_CHARS`` or the end of the file, its first line is rejected, and
the lines after it are read again as records of their own.

Archives and folders are bounded: a member larger than ``Limits.max_member_bytes`` is
rejected from its header without being read, and callers that must hold a source in memory
(the Annotate upload) also cap the total unpacked bytes and the number of members.

Adding an input format: one ``_<format>_rows`` function yielding ``(line, parse)`` pairs and
one entry in ``TABLE_READERS``.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import re
import sys
import tarfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sentilens.archive import not_a_file, open_tar, tar_members, tar_problem
from sentilens.errors import DataError

ACLIMDB_LAYOUT = "aclImdb/{train,test}/{pos,neg}/ID_RATING.txt"
TABLE_FORMATS = ".csv, .jsonl (or .ndjson), .txt (one review per line), .parquet"
ACCEPTED = f"an aclImdb directory or .tar.gz ({ACLIMDB_LAYOUT}), or {TABLE_FORMATS}"
TEXT_COLUMNS = ("text", "review")
MAX_RECORD_CHARS = 4_000_000  # one CSV record (a quoted field may span lines up to this)
MAX_ID_CHARS = 1_000
# The row's other columns ride along as metadata (shown while annotating, carried into exports), bounded:
MAX_EXTRA_COLUMNS, MAX_EXTRA_NAME, MAX_EXTRA_VALUE = 20, 100, 1_000
_LABELS = {"0": 0, "1": 1, "neg": 0, "pos": 1, "negative": 0, "positive": 1}
_ACL_FILE = re.compile(r"(?:^|/)(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
_SURROGATE = re.compile("[\ud800-\udfff]")

csv.field_size_limit(sys.maxsize)

BadRow = Callable[[str, str], None]  # (where, problem): report a bad row and go on


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


def parse_label(value: object, where: str) -> int | None:
    """0/1/pos/neg/positive/negative (any case); empty or missing means unlabelled."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return int(value)
    key = str(value).strip().lower()
    if key in ("0.0", "1.0"):
        key = key[0]
    if key not in _LABELS:
        raise DataError(f"{where}: label {str(value)[:80]!r} is not one of 0, 1, pos, neg, positive, negative")
    return _LABELS[key]


# What tarfile raises for an archive it cannot read (IndexError and RecursionError: a damaged sparse map, a
# chain of thousands of long-name headers).
UNREADABLE_TAR = (tarfile.TarError, EOFError, OSError, ValueError, IndexError, RecursionError)


def _unreadable(path: Path, err: BaseException) -> DataError:
    """The one refusal of an archive that cannot be read as a whole, in one line."""
    return DataError(f"{path}: not a readable .tar.gz ({tar_problem(err)})")


def _read_member(path: Path, read: Callable[[], bytes]) -> bytes:
    """A member's data; an archive that breaks off inside it cannot be read as a whole."""
    try:
        return read()
    except UNREADABLE_TAR as err:
        raise _unreadable(path, err) from None


def is_aclimdb(path: Path) -> bool:
    return path.is_dir() or path.name.endswith(ARCHIVE_SUFFIXES)


def _report(on_bad_row: BadRow | None, where: str, problem: str) -> None:
    if on_bad_row is None:
        raise DataError(f"{where}: {problem}")
    on_bad_row(where, problem)


# ---- aclImdb --------------------------------------------------------------------------------

def read_aclimdb(path: str | Path, on_bad_row: BadRow | None = None, limits: Limits | None = None,
                 tally: Tally | None = None, sort: bool = False, split: str | None = None) -> Iterator[Record]:
    """The labelled reviews of an aclImdb tree, streamed in archive order, or sorted by split,
    label, id with ``sort`` (which holds them all in memory: the trainer wants that order).
    With ``split`` ("train" or "test") the other split's files are passed over unread.
    A missing path or an archive that is not a tar fails here, before anything is read."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if not path.is_dir():
        try:
            with open_tar(path):
                pass
        except UNREADABLE_TAR as err:
            raise _unreadable(path, err) from None
    if split not in (None, "train", "test"):
        raise DataError(f"{path}: split must be train or test, got {split!r}")
    limits = limits or Limits()
    if limits.max_total_bytes is not None or limits.max_members is not None:
        for _ in _aclimdb_members(path, limits):  # headers only: refuse before a single record is given
            pass
    return _acl_records(path, on_bad_row, limits, tally if tally is not None else Tally(), sort, only=split)


def _acl_records(path: Path, on_bad_row: BadRow | None, limits: Limits, tally: Tally, sort: bool,
                 only: str | None = None) -> Iterator[Record]:
    members = (m for m in _aclimdb_members(path, limits) if only is None or m[0][0] == only)
    if sort:  # read now: a tar member can only be read while the archive is open
        cap = limits.max_member_bytes
        members = iter(sorted(((key, name, size, read if isinstance(read, str) else
                                functools.partial(bytes, read() if size <= cap else b""))
                               for key, name, size, read in members), key=lambda m: m[0]))
    found = 0
    for key, member, size, read in members:
        found += 1
        tally.rows_in += 1
        split, polarity, num, rating = key
        where = f"{path}:{member}"
        if size > limits.max_member_bytes:
            _report(on_bad_row, where, f"{size:,} bytes, over the {limits.max_member_bytes:,}-byte cap for one review")
            continue
        if isinstance(read, str):  # the problem with this member
            _report(on_bad_row, where, read)
            continue
        try:
            text = read().decode("utf-8")
        except UnicodeDecodeError as err:
            _report(on_bad_row, where, f"not UTF-8 text ({err.reason} at byte {err.start})")
            continue
        yield Record(id=f"{split}/{polarity}/{num}_{rating}", text=text, label=1 if polarity == "pos" else 0,
                     where=where, split=split)
    if not found:
        raise DataError(f"{path}: no reviews in the aclImdb layout {ACLIMDB_LAYOUT}")


Member = tuple[tuple[str, str, int, int], str, int, Callable[[], bytes] | str]  # read, or why it cannot be


def _aclimdb_members(path: Path, limits: Limits) -> Iterator[Member]:
    """(sort key, member path, size, read) for every review file; totals checked before reading."""
    total = count = 0

    def account(size: int) -> None:
        nonlocal total, count
        total, count = total + size, count + 1
        if limits.max_members is not None and count > limits.max_members:
            raise DataError(f"{path}: more than {limits.max_members:,} files; the limit is {limits.max_members:,}")
        if limits.max_total_bytes is not None and total > limits.max_total_bytes:
            raise DataError(f"{path}: unpacks to more than {limits.max_total_bytes / 2**20:,.0f} MB; "
                            f"the limit is {limits.max_total_bytes / 2**20:,.0f} MB")

    def keyed(name: str, size: int, read) -> Member | None:
        m = _ACL_FILE.search(name)
        if m is None:
            return None
        split, polarity, num, rating = m.groups()
        return (split, polarity, int(num), int(rating)), name, size, read

    if path.is_dir():
        for file in sorted(path.rglob("*")):
            if file.is_file():
                account(file.stat().st_size)
                item = keyed(file.relative_to(path).as_posix(), file.stat().st_size, file.read_bytes)
                if item:
                    yield item
        return
    try:
        for member, read in tar_members(path):
            account(member.size)
            if member.name.endswith(".txt"):
                item = keyed(member.name, member.size if member.isfile() else 0,
                             functools.partial(_read_member, path, read) if member.isfile() else not_a_file(member))
                if item:
                    yield item
    except DataError:
        raise
    except UNREADABLE_TAR as err:
        raise _unreadable(path, err) from None


# ---- chunks ----

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


# ---- tables ---------------------------------------------------------------------------------

RowParsers = Iterator[tuple[int, Callable[[], Record]]]


def read_table(path: str | Path, text_column: str | None = None, on_bad_row: BadRow | None = None,
               tally: Tally | None = None) -> Iterator[Record]:
    """CSV, JSONL or TXT rows as records (see the module docstring for bad rows).

    The file is opened and its header checked before this returns, so a source that cannot be
    read at all fails here, before the caller opens anything of its own."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix.lower() == ".parquet":
        return _parsed(path, contextlib.nullcontext(), _parquet_rows(path, text_column), on_bad_row,
                       tally if tally is not None else Tally())
    reader = _table_reader(path)
    try:
        f = open(path, **TEXT_OPEN)
    except OSError as err:
        raise DataError(f"{path}: cannot open ({err.strerror})") from None
    try:
        rows = reader(path, f, text_column)
    except BaseException:
        f.close()
        raise
    return _parsed(path, f, rows, on_bad_row, tally if tally is not None else Tally())


# How every table is decoded: a BOM dropped, bytes that are not UTF-8 kept as lone surrogates (the
# row holding them is rejected by ``_clean``), line ends left to the reader (CSV needs them as written).
TEXT_OPEN = {"encoding": "utf-8-sig", "errors": "surrogateescape", "newline": ""}


def _table_reader(path: Path, suffix: str | None = None) -> Callable[[Path, io.TextIOBase, str | None], RowParsers]:
    """The reader of ``suffix`` (by default the path's own), or ``DataError`` naming what is accepted."""
    suffix = path.suffix if suffix is None else suffix
    reader = TABLE_READERS.get(suffix.lower())
    if reader is None:
        raise DataError(f"{path}: unknown format {suffix or '(no suffix)'}; expected {ACCEPTED}")
    return reader


def file_rows(name: str, data: bytes, suffix: str, text_column: str | None = None
              ) -> Iterator[tuple[str, str | None, int, str | None]]:
    """One file's rows through the very reader ``read_table`` uses, for readers elsewhere (Spark's
    executors): ``(where, record as a JSON object or None, row number, problem or None)``. A file
    that cannot be read at all raises ``DataError``, as ``read_table`` does."""
    path = Path(name)
    reader = _table_reader(path, suffix)
    f = io.TextIOWrapper(io.BytesIO(data), **TEXT_OPEN)
    for number, (line, parse) in enumerate(reader(path, f, text_column), start=1):
        where = f"{path}:{line}"
        record, problem = build_record(where, parse)
        if problem is not None:
            yield where, None, number, problem
        else:
            yield where, json.dumps({"id": record.id, "text": record.text, "label": record.label}), number, None


def build_record(where: str, parse: Callable[[], Record]) -> tuple[Record | None, str | None]:
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


def _parsed(path: Path, f: contextlib.AbstractContextManager, rows: RowParsers, on_bad_row: BadRow | None, tally: Tally) -> Iterator[Record]:
    with f:
        for line, parse in rows:
            tally.rows_in += 1
            record, problem = build_record(f"{path}:{line}", parse)
            if problem is None:
                yield record
            else:
                _report(on_bad_row, f"{path}:{line}", problem)


ANY_COLUMNS = "\0any"  # the text column of ``read_rows``: rows are kept as they are, with no text needed


def read_rows(path: str | Path) -> Iterator[tuple[int, dict | str]]:
    """A CSV or JSONL file's rows as ``(line, {column: value})``, or ``(line, why)`` for a row that cannot
    be read, cut and bounded as ``read_table`` cuts them but with no text column: for files that hold no
    reviews (a serve.batch output). A file that cannot be read at all raises ``DataError`` here."""
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".jsonl", ".ndjson"):
        raise DataError(f"{path}: expected .csv or .jsonl")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    f = open(path, **TEXT_OPEN)
    try:
        rows = _table_reader(path)(path, f, ANY_COLUMNS)
    except BaseException:
        f.close()
        raise

    def each() -> Iterator[tuple[int, dict | str]]:
        with f:
            for line, parse in rows:
                obj, problem = build_record(f"{path}:{line}", parse)
                yield line, obj if problem is None else problem

    return each()


def read_any(path: str | Path, text_column: str | None = None, on_bad_row: BadRow | None = None,
             limits: Limits | None = None, tally: Tally | None = None, split: str | None = None) -> Iterator[Record]:
    """Any accepted source; ``split`` applies to aclImdb only (a table has no splits)."""
    path = Path(path)
    if is_aclimdb(path):
        return read_aclimdb(path, on_bad_row, limits, tally, split=split)
    if split is not None:
        raise DataError(f"{path}: --split applies to aclImdb folders and archives only")
    return read_table(path, text_column, on_bad_row, tally)


def pick_text_column(columns: list[str], wanted: str | None, where: str) -> str:
    if wanted is not None:
        if wanted not in columns:
            raise DataError(f"{where}: no column {wanted!r}; columns are {columns[:20]}")
        return wanted
    for name in TEXT_COLUMNS:
        if name in columns:
            return name
    raise DataError(f"{where}: no text column (looked for {' or '.join(TEXT_COLUMNS)}); columns are {columns[:20]}")


def _clean(value: str, what: str, where: str) -> str:
    """Undecodable bytes survive ``surrogateescape`` as lone surrogates; JSON can spell them too."""
    if not value.isascii() and _SURROGATE.search(value):
        raise DataError(f"{where}: the {what} is not UTF-8")
    return value


def row_id(value: object, where: str) -> str | None:
    """A row's id as text, or None when it has none (a missing Parquet/pandas value is none): a string as
    it is, any other value as JSON; ``DataError`` for one that is not UTF-8 or is too long. Every reader,
    and the Data tab reading a serve.batch output, takes ids through here."""
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return None
    rid = _clean(value if isinstance(value, str) else json.dumps(value, default=str), "id", where)
    if len(rid) > MAX_ID_CHARS:
        raise DataError(f"{where}: the id is longer than {MAX_ID_CHARS:,} characters")
    return rid


def make_record(obj: Mapping, text_column: str, where: str, default_id: str) -> Record:
    """One row (a mapping of column -> value) as a record, or ``DataError`` saying what is wrong
    with it. Every reader (and Spark's) builds records here, so a row means the same everywhere."""
    text = obj.get(text_column)
    if not isinstance(text, str):
        raise DataError(f"{where}: {text_column!r} is missing or not a string")
    _clean(text, "text", where)
    if not text.strip():
        raise DataError(f"{where}: the text is empty")
    if len(text) > MAX_RECORD_CHARS:  # a Parquet cell or a DataFrame has no line to bound it
        raise DataError(f"{where}: the text is longer than {MAX_RECORD_CHARS:,} characters")
    rid = row_id(obj.get("id"), where) or default_id
    label = obj.get("label")
    if isinstance(label, str):
        _clean(label, "label", where)
    elif isinstance(label, float) and label != label:
        label = None
    return Record(id=rid, text=text, label=parse_label(label, where), where=where,
                  extra=extra_columns(obj, ("id", text_column, "label")))


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


def _record(path: Path, line: int, obj: dict, text_column: str) -> Record:
    return make_record(obj, text_column, f"{path}:{line}", str(line))


def _physical_lines(f: io.TextIOBase) -> Iterator[tuple[int, str | None]]:
    """Numbered lines; a line longer than ``MAX_RECORD_CHARS`` is skipped to its end without being
    held, and given as ``None`` (so one giant line cannot fill the memory)."""
    number = 0
    while line := f.readline(MAX_RECORD_CHARS + 1):
        number += 1
        if len(line) > MAX_RECORD_CHARS and not line.endswith(("\n", "\r")):
            while (rest := f.readline(1 << 20)) and not rest.endswith(("\n", "\r")):
                pass
            yield number, None
        else:
            yield number, line


TOO_LONG = f"the line is longer than {MAX_RECORD_CHARS:,} characters"


class _Lines:
    """Physical lines for ``csv.reader``; lines can be given back to be read again, and a record
    longer than ``MAX_RECORD_CHARS`` (one line or many) is cut short."""

    class Overlong(Exception):
        pass

    class Spans(Exception):
        """A record would continue past its first line where records may not (``single_until``)."""

    def __init__(self, f: io.TextIOBase):
        self.source, self.back = _physical_lines(f), []
        self.single_until = 0  # lines up to this number are read again as records of one line each
        self.start_record()

    def start_record(self) -> None:
        self.taken: list[tuple[int, str]] = []
        self.size, self.hit_end = 0, False

    def give_back(self, lines: list[tuple[int, str]]) -> None:
        self.back.extend(reversed(lines))

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.taken and self.taken[0][0] <= self.single_until:
            raise _Lines.Spans
        if self.back:
            number, text = self.back.pop()
        else:
            item = next(self.source, None)
            if item is None:
                self.hit_end = True
                raise StopIteration
            number, text = item
        self.taken.append((number, text or ""))
        self.size += len(text) if text is not None else MAX_RECORD_CHARS + 1
        if self.size > MAX_RECORD_CHARS:
            raise _Lines.Overlong
        return text


UNCLOSED = "a quoted field opens here and never closes; the lines after it are read as rows of their own"


def _csv_records(f: io.TextIOBase) -> Iterator[tuple[int, list[str] | str]]:
    """(first line, fields) per CSV record, or (first line, problem) for one that cannot be cut.

    ``csv`` ends a quoted field that never closes at the end of the file, swallowing every line
    after it: such a record (it needed the end of the file to finish) and one longer than
    ``MAX_RECORD_CHARS`` are rejected at their first line, and the lines it swallowed are read again,
    each as a record of its own (one that would again run on past its line is rejected at it). So
    every line is read at most twice: the cost stays linear in the file, whatever its quotes."""
    lines = _Lines(f)
    reader = csv.reader(lines)
    while True:
        lines.start_record()
        try:
            fields = next(reader)
            problem = UNCLOSED if lines.hit_end and lines.taken else None
        except StopIteration:
            return
        except _Lines.Overlong:
            problem = TOO_LONG if len(lines.taken) == 1 else UNCLOSED
        except _Lines.Spans:
            problem = UNCLOSED
        except csv.Error as err:
            problem = f"malformed CSV ({str(err)[:120]})"
        if problem is None:
            if fields:  # a blank line is not a record
                yield lines.taken[0][0], fields
            continue
        if not lines.taken:
            return
        yield lines.taken[0][0], problem
        if len(lines.taken) > 1:
            lines.single_until = max(lines.single_until, lines.taken[-1][0])
            lines.give_back(lines.taken[1:])
        reader = csv.reader(lines)  # a fresh parser from the next line


def _csv_rows(path: Path, f: io.TextIOBase, text_column: str | None) -> RowParsers:
    records = _csv_records(f)
    first = next(records, None)
    if first is None:
        raise DataError(f"{path}: empty file, expected a CSV header")
    if isinstance(first[1], str):
        raise DataError(f"{path}: malformed CSV header ({first[1]})")
    header = first[1]
    for name in header:
        _clean(name, "header", str(path))
    twice = sorted(name for name, n in Counter(header).items() if n > 1)
    if twice:
        raise DataError(f"{path}: the header names {', '.join(repr(n[:40]) for n in twice[:5])} more than once; "
                        "which one is meant?")
    if text_column is ANY_COLUMNS:
        def fields_of(line: int, fields: list[str] | str) -> dict:
            if isinstance(fields, str):
                raise DataError(f"{path}:{line}: {fields}")
            if len(fields) > len(header):
                raise DataError(f"{path}:{line}: more fields than the header")
            return {name: _clean(value, f"{name[:40]!r} column", f"{path}:{line}") for name, value in zip(header, fields)}

        return ((line, functools.partial(fields_of, line, fields)) for line, fields in records)
    column = pick_text_column(header, text_column, str(path))

    def parse(line: int, fields: list[str] | str) -> Record:
        if isinstance(fields, str):
            raise DataError(f"{path}:{line}: {fields}")
        if len(fields) > len(header):
            raise DataError(f"{path}:{line}: more fields than the header")
        return _record(path, line, dict(zip(header, fields)), column)

    return ((line, functools.partial(parse, line, fields)) for line, fields in records)


def json_object(raw: str, where: str) -> dict:
    """One JSON object (a JSONL line, or a row Spark serialised), or ``DataError``. A key given twice or a
    number JSON cannot hold (NaN, Infinity, 1e400) is refused, not guessed at."""
    def unique(pairs: list[tuple[str, object]]) -> dict:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            twice = sorted(k for k, n in Counter(k for k, _ in pairs).items() if n > 1)
            raise DataError(f"{where}: the key {', '.join(repr(k[:40]) for k in twice[:5])} is given more than once")
        return obj

    def finite(number: str) -> float:
        value = float(number)
        if value in (float("inf"), float("-inf")):
            raise DataError(f"{where}: the number {number[:40]} is too large")
        return value

    def refuse(constant: str) -> None:
        raise DataError(f"{where}: {constant} is not a JSON value")

    try:
        obj = json.loads(raw, object_pairs_hook=unique, parse_float=finite, parse_constant=refuse)
    except json.JSONDecodeError as err:
        raise DataError(f"{where}: not valid JSON ({err.msg})") from None
    except RecursionError:
        raise DataError(f"{where}: JSON nested too deeply") from None
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected a JSON object per line, got {type(obj).__name__}")
    return obj


def json_record(raw: str, text_column: str | None, where: str, default_id: str) -> Record:
    """One JSON object as a record, or ``DataError`` (see ``json_object``)."""
    obj = json_object(raw, where)
    return make_record(obj, pick_text_column(list(obj), text_column, where), where, default_id)


def _jsonl_rows(path: Path, f: io.TextIOBase, text_column: str | None) -> RowParsers:
    def parse(line: int, raw: str | None) -> Record | dict:
        if raw is None:
            raise DataError(f"{path}:{line}: {TOO_LONG}")
        if text_column is ANY_COLUMNS:
            return json_object(_clean(raw, "line", f"{path}:{line}"), f"{path}:{line}")
        return json_record(raw, text_column, f"{path}:{line}", str(line))

    return ((line, functools.partial(parse, line, raw)) for line, raw in _physical_lines(f)
            if raw is None or raw.strip())


def _txt_rows(path: Path, f: io.TextIOBase, text_column: str | None) -> RowParsers:
    def parse(line: int, text: str | None) -> Record:
        if text is None:
            raise DataError(f"{path}:{line}: {TOO_LONG}")
        return _record(path, line, {"text": text}, "text")

    return ((line, functools.partial(parse, line, None if raw is None else raw.rstrip("\r\n")))
            for line, raw in _physical_lines(f) if raw is None or raw.strip())


def _parquet_rows(path: Path, text_column: str | None) -> RowParsers:
    """Parquet rows (row numbers from 1), read in batches with pyarrow, which comes with the spark
    extra and is imported only here."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(f"{path}: reading Parquet needs pyarrow: pip install -e \".[spark]\"") from None
    try:
        parquet = pq.ParquetFile(path)
        columns = parquet.schema_arrow.names
    except Exception as err:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise DataError(f"{path}: not a readable Parquet file ({str(err)[:200]})") from None
    column = pick_text_column(columns, text_column, str(path))
    wanted = [c for c in dict.fromkeys((column, "id", "label")) if c in columns]

    def rows() -> RowParsers:
        number = 0
        for batch in parquet.iter_batches(batch_size=2048, columns=wanted):
            for row in batch.to_pylist():
                number += 1
                yield number, functools.partial(make_record, row, column, f"{path}:{number}", str(number))

    return rows()


TABLE_READERS: dict[str, Callable[[Path, io.TextIOBase, str | None], RowParsers]] = {
    ".csv": _csv_rows, ".jsonl": _jsonl_rows, ".ndjson": _jsonl_rows, ".txt": _txt_rows,
}
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
# Every file suffix a reader takes; Parquet needs pyarrow (the spark extra), the rest the standard library.
SUFFIXES = (*TABLE_READERS, ".parquet", *ARCHIVE_SUFFIXES)
