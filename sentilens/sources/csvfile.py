"""CSV with a header: its reader, its writer and its registration.

A CSV quote that opens a field and never closes would swallow the rest of the file: the record is cut
at ``MAX_RECORD_CHARS`` or the end of the file, its first line is rejected, and the lines after it are
read again as records of their own.
"""

from __future__ import annotations

import csv
import functools
import io
import sys
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from sentilens.errors import DataError
from sentilens.safe_csv import SafeWriter
from sentilens.sources import lines
from sentilens.sources.formats import ColumnParsers, Format, RowParsers, register
from sentilens.sources.lines import BoundedLines
from sentilens.sources.records import Record, checked, make_record, pick_id_column, pick_text_column

__all__ = ["CSV", "UNCLOSED", "CsvWriter"]

UNCLOSED = "a quoted field opens here and never closes; the lines after it are read as rows of their own"

csv.field_size_limit(sys.maxsize)


def _csv_records(f: io.TextIOBase) -> Iterator[tuple[int, list[str] | str]]:
    """(first line, fields) per CSV record, or (first line, problem) for one that cannot be cut.

    ``csv`` ends a quoted field that never closes at the end of the file, swallowing every line
    after it: such a record (it needed the end of the file to finish) and one longer than
    ``MAX_RECORD_CHARS`` are rejected at their first line, and the lines it swallowed are read again,
    each as a record of its own (one that would again run on past its line is rejected at it). So
    every line is read at most twice: the cost stays linear in the file, whatever its quotes."""
    source = BoundedLines(f)
    reader = csv.reader(source)
    while True:
        source.start_record()
        try:
            fields = next(reader)
            problem = UNCLOSED if source.hit_end and source.taken else None
        except StopIteration:
            return
        except BoundedLines.Overlong:
            problem = lines.TOO_LONG if len(source.taken) == 1 else UNCLOSED
        except BoundedLines.Spans:
            problem = UNCLOSED
        except csv.Error as err:
            problem = f"malformed CSV ({str(err)[:120]})"
        if problem is None:
            if fields:  # a blank line is not a record
                yield source.taken[0][0], fields
            continue
        if not source.taken:
            return
        yield source.taken[0][0], problem
        if len(source.taken) > 1:
            source.single_until = max(source.single_until, source.taken[-1][0])
            source.give_back(source.taken[1:])
        reader = csv.reader(source)  # a fresh parser from the next line


def _header(path: Path, records: Iterator[tuple[int, list[str] | str]]) -> list[str]:
    """The header record, checked: there, readable, UTF-8, and no name twice."""
    first = next(records, None)
    if first is None:
        raise DataError(f"{path}: empty file, expected a CSV header")
    if isinstance(first[1], str):
        raise DataError(f"{path}: malformed CSV header ({first[1]})")
    header = first[1]
    for name in header:
        checked(name, "header", str(path))
    twice = sorted(name for name, n in Counter(header).items() if n > 1)
    if twice:
        raise DataError(f"{path}: the header names {', '.join(repr(n[:40]) for n in twice[:5])} more than once; "
                        "which one is meant?")
    return header


def _fields(path: Path, line: int, fields: list[str] | str, header: list[str]) -> list[str]:
    """A record's fields, or ``DataError`` for one that could not be cut or has more fields than the header."""
    if isinstance(fields, str):
        raise DataError(f"{path}:{line}: {fields}")
    if len(fields) > len(header):
        raise DataError(f"{path}:{line}: more fields than the header")
    return fields


def _csv_rows(path: Path, f: io.TextIOBase, text_column: str | None, id_column: str | None = None) -> RowParsers:
    records = _csv_records(f)
    header = _header(path, records)
    column = pick_text_column(header, text_column, str(path))
    ids = pick_id_column(header, id_column, str(path)) or "id"

    def parse(line: int, fields: list[str] | str) -> Record:
        return make_record(dict(zip(header, _fields(path, line, fields, header))), column, f"{path}:{line}", str(line),
                           ids)

    return ((line, functools.partial(parse, line, fields)) for line, fields in records)


def _csv_columns(path: Path, f: io.TextIOBase) -> ColumnParsers:
    records = _csv_records(f)
    header = _header(path, records)

    def parse(line: int, fields: list[str] | str) -> dict[str, object]:
        where = f"{path}:{line}"
        return {name: checked(value, f"{name[:40]!r} column", where)
                for name, value in zip(header, _fields(path, line, fields, header))}

    return ((line, functools.partial(parse, line, fields)) for line, fields in records)


def _csv_header(first_line: str) -> list[str]:
    return next(csv.reader(io.StringIO(first_line)), [])


class CsvWriter:
    """CSV rows under a header row; cells a spreadsheet would run as formulas are neutralised unless ``raw_csv``."""

    def __init__(self, raw: BinaryIO, columns: Sequence[str], *, floats: Collection[str] = (), raw_csv: bool = False):
        self.f = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        self.csv = SafeWriter(self.f, raw=raw_csv)
        self.csv.writerow(columns)

    def write(self, rows: list[list]) -> None:
        self.csv.writerows(rows)

    def finish(self) -> None:
        self.f.flush()
        self.f.detach()


CSV = register(Format("csv", (".csv",), text_rows=_csv_rows, header=_csv_header, columns=_csv_columns,
                      write=CsvWriter, spark="csv"))
