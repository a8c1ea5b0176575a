"""The registry of input formats: each format is registered by the module that reads it, with its
suffixes and what it can do, and every list of suffixes is asked of this registry.

The readers (``read_any``, ``read_table``), the app's uploads, serve.batch's outputs, serve.spark's
choice of reader and the Data tab's reading back of a serve.batch output all look formats up here, so
a new format is one module that defines its reader and calls ``register`` (and one import in
``sentilens/sources/__init__.py``), and nothing else lists suffixes.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from sentilens.sources.records import BadRow, Limits, Record, Tally

__all__ = ["ColumnParsers", "ColumnRows", "FileRows", "Format", "RecordReader", "RowParsers", "RowWriter",
           "TextRows", "WriteRows", "accepted", "find", "format_of", "formats", "register", "suffixes", "unregister"]

# Readers take an ``id_column=`` keyword too when they can (the built-in ones do); it is passed only when a
# column is named, so a format of one's own may leave it out.
RowParsers = Iterator[tuple[int, Callable[[], Record]]]  # (line or row number, build that row's record)
ColumnParsers = Iterator[tuple[int, Callable[[], dict[str, object]]]]  # (line, build that row's {column: value})
TextRows = Callable[[Path, io.TextIOBase, str | None], RowParsers]  # (path, its decoded text, text column)
FileRows = Callable[[Path, str | None], RowParsers]  # (path, text column): a reader that opens the file itself
ColumnRows = Callable[[Path, io.TextIOBase], ColumnParsers]
# (path, on_bad_row, limits, tally, split): a whole source read its own way (an aclImdb folder or archive)
RecordReader = Callable[[Path, BadRow | None, Limits | None, Tally | None, str | None], Iterator[Record]]


class RowWriter(Protocol):
    """What a format's writer gives: rows written as they come, then ``finish`` (the file stays open)."""

    def write(self, rows: list[list]) -> None: ...
    def finish(self) -> None: ...


class WriteRows(Protocol):
    """Rows of ``columns`` written onto the binary file ``raw`` (left open by ``finish``); ``floats``
    name the columns that hold numbers (the rest are text); ``raw_csv`` keeps CSV cells as they are."""

    def __call__(self, raw: BinaryIO, columns: Sequence[str], *, floats: Collection[str] = (),
                 raw_csv: bool = False) -> RowWriter: ...


@dataclass(frozen=True)
class Format:
    """One input format. It is read by exactly one of ``text_rows`` (its decoded text: CSV, JSONL,
    TXT; Spark's executors read it so too), ``file_rows`` (the file itself: Parquet) or ``records`` (a
    whole source with its own structure: aclImdb)."""

    name: str
    suffixes: tuple[str, ...]  # lower case, with the dot; the first is the one messages name
    described: str = ""  # how an "expected ..." message names it (default: its suffixes)
    text_rows: TextRows | None = None
    file_rows: FileRows | None = None
    records: RecordReader | None = None
    folder: bool = False  # a directory is a source in this format
    header: Callable[[str], list[str]] | None = None  # the column names a file's first line gives
    columns: ColumnRows | None = None  # rows as {column: value}, no text column needed (a serve.batch output)
    write: WriteRows | None = None  # serve.batch can write its scores in this format
    spark: str | None = None  # the name of Spark's reader for it ("csv", "json", "text", "parquet")
    spark_suffixes: tuple[str, ...] = ()  # further suffixes Spark reads with that reader (not ours)
    require: Callable[[], object] | None = None  # imports the extra's library it needs, or DataError saying how

    def __post_init__(self) -> None:
        if sum(r is not None for r in (self.text_rows, self.file_rows, self.records)) != 1:
            raise ValueError(f"format {self.name}: give exactly one of text_rows, file_rows, records")
        if (self.header is None) != (self.columns is None):
            raise ValueError(f"format {self.name}: header and columns go together")
        for suffix in (*self.suffixes, *self.spark_suffixes):
            if not suffix.startswith(".") or suffix != suffix.lower():
                raise ValueError(f"format {self.name}: suffix {suffix!r} must be lower case and start with '.'")
        if not self.described:
            rest = f" (or {', '.join(self.suffixes[1:])})" if len(self.suffixes) > 1 else ""
            object.__setattr__(self, "described", self.suffixes[0] + rest)

    @property
    def table(self) -> bool:
        """Whether it is read row by row as a table (``read_table``), not as a whole source."""
        return self.records is None


_FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    """Add ``fmt``; a name or a suffix another format has already is refused."""
    if fmt.name in _FORMATS:
        raise ValueError(f"format {fmt.name!r} is already registered")
    taken = {s: f.name for f in _FORMATS.values() for s in f.suffixes}
    for suffix in fmt.suffixes:
        if suffix in taken:
            raise ValueError(f"format {fmt.name!r}: {suffix} is already the suffix of {taken[suffix]!r}")
    if fmt.folder and any(f.folder for f in _FORMATS.values()):
        raise ValueError(f"format {fmt.name}: another format already reads folders")
    _FORMATS[fmt.name] = fmt
    return fmt


def unregister(name: str) -> None:
    _FORMATS.pop(name, None)


def formats() -> tuple[Format, ...]:
    """Every registered format, in the order they were registered."""
    return tuple(_FORMATS.values())


def find(file_name: str) -> Format | None:
    """The format whose suffix ends ``file_name`` (any case; the longest suffix wins: ``.tar.gz``), or None.
    A suffix alone (``".csv"``) names its format too."""
    lower = file_name.lower()
    hits = [(len(s), f) for f in _FORMATS.values() for s in f.suffixes if lower.endswith(s)]
    return max(hits, key=lambda hit: hit[0])[1] if hits else None


def format_of(path: Path) -> Format | None:
    """The format of a source: a directory is the folder format's, a file is named by its suffix."""
    if path.is_dir():
        return next((f for f in _FORMATS.values() if f.folder), None)
    return find(path.name)


def suffixes(where: Callable[[Format], object] = lambda f: True) -> tuple[str, ...]:
    """The suffixes of the formats ``where`` holds for (by default all), in registration order."""
    return tuple(s for f in _FORMATS.values() if where(f) for s in f.suffixes)


def accepted() -> str:
    """What the readers take, as the "expected ..." part of a message: whole sources, then the tables."""
    wholes = [f.described for f in _FORMATS.values() if not f.table]
    tables = ", ".join(f.described for f in _FORMATS.values() if f.table)
    return ", or ".join([*wholes, tables] if tables else wholes)
