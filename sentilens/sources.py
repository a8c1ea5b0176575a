"""Readers for every review source the tool accepts, as streams of ``Record``s.

The trainer, the batch scorer and the annotation queue all read through here, so a file
that scores also trains, and a bad file fails the same way everywhere: ``DataError``
naming the file (and the row) and what is wrong.

Accepted:
- the aclImdb layout ``aclImdb/{train,test}/{pos,neg}/ID_RATING.txt`` as a directory or
  a ``.tar.gz`` read without extracting;
- CSV with a header (text column ``text`` or ``review`` by default, optional ``label``
  and ``id``);
- JSONL, one object per line with the same keys;
- plain text, one review per line (no labels; blank lines are not reviews).
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sentilens.errors import DataError

ACLIMDB_LAYOUT = "aclImdb/{train,test}/{pos,neg}/ID_RATING.txt"
TABLE_FORMATS = ".csv, .jsonl (or .ndjson), .txt (one review per line)"
ACCEPTED = f"an aclImdb directory or .tar.gz ({ACLIMDB_LAYOUT}), or {TABLE_FORMATS}"
TEXT_COLUMNS = ("text", "review")
_LABELS = {"0": 0, "1": 1, "neg": 0, "pos": 1, "negative": 0, "positive": 1}
_ACL_FILE = re.compile(r"(?:^|/)(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")

csv.field_size_limit(sys.maxsize)


BadRow = Callable[[str, str], None]  # (where, problem): report a bad row and go on


@dataclass(frozen=True)
class Record:
    id: str
    text: str
    label: int | None  # 1 positive, 0 negative, None unknown
    where: str  # "file:line" or the member path, for error reports
    split: str | None = None  # "train"/"test" for aclImdb


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
        raise DataError(f"{where}: label {value!r} is not one of 0, 1, pos, neg, positive, negative")
    return _LABELS[key]


def is_aclimdb(path: Path) -> bool:
    return path.is_dir() or path.name.endswith((".tar.gz", ".tgz"))


def read_aclimdb(path: str | Path, on_bad_row: BadRow | None = None) -> Iterator[Record]:
    """Every labelled review of an aclImdb tree, sorted by split, label, id.

    A review that is not UTF-8 raises ``DataError``, or goes to ``on_bad_row`` and is skipped.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    found: list[tuple[tuple, str, bytes]] = []
    for member, read in _aclimdb_members(path):
        m = _ACL_FILE.search(member)
        if m is None:
            continue
        split, polarity, num, rating = m.groups()
        key = (split, polarity, int(num), int(rating))
        found.append((key, member, read()))
    if not found:
        raise DataError(f"{path}: no reviews in the aclImdb layout {ACLIMDB_LAYOUT}")
    found.sort(key=lambda f: f[0])
    for (split, polarity, num, rating), member, raw in found:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            problem = f"not UTF-8 text ({err.reason} at byte {err.start})"
            if on_bad_row is None:
                raise DataError(f"{path}: {member} is {problem}") from None
            on_bad_row(f"{path}:{member}", problem)
            continue
        yield Record(
            id=f"{split}/{polarity}/{num}_{rating}",
            text=text,
            label=1 if polarity == "pos" else 0,
            where=f"{path}:{member}",
            split=split,
        )


def _aclimdb_members(path: Path) -> Iterator[tuple[str, callable]]:
    if path.is_dir():
        for file in sorted(path.rglob("*.txt")):
            yield file.relative_to(path).as_posix(), file.read_bytes
        return
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                if member.isfile() and member.name.endswith(".txt"):
                    yield member.name, tar.extractfile(member).read
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DataError(f"{path}: not a readable .tar.gz ({err})") from None


def read_table(path: str | Path, text_column: str | None = None, on_bad_row: BadRow | None = None) -> Iterator[Record]:
    """CSV, JSONL or TXT rows as records.

    A bad row (broken JSON, missing or empty text, bytes that are not UTF-8, a label that
    is not 0/1/pos/neg) raises ``DataError`` naming its line, or, with ``on_bad_row``, is
    reported there and skipped. A file that cannot be read at all always raises.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    readers = {".csv": _csv_rows, ".jsonl": _jsonl_rows, ".ndjson": _jsonl_rows, ".txt": _txt_rows}
    if suffix not in readers:
        raise DataError(f"{path}: unknown format {suffix or '(no suffix)'}; expected {ACCEPTED}")
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        for line, parse in readers[suffix](path, f, text_column):
            try:
                yield parse()
            except DataError as err:
                if on_bad_row is None:
                    raise
                on_bad_row(f"{path}:{line}", str(err).removeprefix(f"{path}:{line}: "))


def read_any(path: str | Path, text_column: str | None = None, on_bad_row: BadRow | None = None) -> Iterator[Record]:
    path = Path(path)
    return read_aclimdb(path, on_bad_row) if is_aclimdb(path) else read_table(path, text_column, on_bad_row)


def _pick_text_column(columns: list[str], wanted: str | None, where: str) -> str:
    if wanted is not None:
        if wanted not in columns:
            raise DataError(f"{where}: no column {wanted!r}; columns are {columns}")
        return wanted
    for name in TEXT_COLUMNS:
        if name in columns:
            return name
    raise DataError(f"{where}: no text column (looked for {' or '.join(TEXT_COLUMNS)}); columns are {columns}")


def _has_bad_bytes(text: str) -> bool:
    """Undecodable bytes survive ``surrogateescape`` as lone surrogates U+DC80..U+DCFF."""
    return any("\udc80" <= ch <= "\udcff" for ch in text) if not text.isascii() else False


def _record(path: Path, line: int, obj: dict, text_column: str) -> Record:
    where = f"{path}:{line}"
    text = obj.get(text_column)
    if not isinstance(text, str):
        raise DataError(f"{where}: {text_column!r} is missing or not a string")
    if _has_bad_bytes(text):
        raise DataError(f"{where}: the text is not UTF-8")
    if not text.strip():
        raise DataError(f"{where}: the text is empty")
    rid = obj.get("id")
    return Record(
        id=str(rid) if rid not in (None, "") else str(line),
        text=text,
        label=parse_label(obj.get("label"), where),
        where=where,
    )


RowParsers = Iterator[tuple[int, Callable[[], Record]]]


def _csv_rows(path: Path, f: io.TextIOBase, text_column: str | None) -> RowParsers:
    reader = csv.DictReader(f)
    try:
        header = reader.fieldnames
    except csv.Error as err:
        raise DataError(f"{path}: malformed CSV header ({err})") from None
    if not header:
        raise DataError(f"{path}: empty file, expected a CSV header")
    if any(_has_bad_bytes(h) for h in header):
        raise DataError(f"{path}: the header is not UTF-8 text")
    column = _pick_text_column(list(header), text_column, str(path))
    start = reader.line_num + 1  # a quoted review may span lines: report where it starts
    while True:
        try:
            obj = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise DataError(f"{path}:{start}: malformed CSV ({err})") from None

        def parse(obj=obj, start=start) -> Record:
            if None in obj:
                raise DataError(f"{path}:{start}: more fields than the header")
            return _record(path, start, obj, column)

        yield start, parse
        start = reader.line_num + 1


def _jsonl_rows(path: Path, f: io.TextIOBase, text_column: str | None) -> RowParsers:
    for line, raw in enumerate(f, start=1):
        if not raw.strip():
            continue

        def parse(raw=raw, line=line) -> Record:
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as err:
                raise DataError(f"{path}:{line}: not valid JSON ({err.msg})") from None
            if not isinstance(obj, dict):
                raise DataError(f"{path}:{line}: expected a JSON object per line")
            return _record(path, line, obj, _pick_text_column(list(obj), text_column, f"{path}:{line}"))

        yield line, parse


def _txt_rows(path: Path, f: io.TextIOBase, text_column: str | None) -> RowParsers:
    for line, raw in enumerate(f, start=1):
        text = raw.rstrip("\r\n")
        if text.strip():
            yield line, lambda text=text, line=line: _record(path, line, {"text": text}, "text")
