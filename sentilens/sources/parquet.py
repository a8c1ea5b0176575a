"""Parquet: its reader, its writer and its registration. pyarrow comes with the spark extra and is
imported only inside these functions, so the foundation loads without it.

Parquet is the one format whose text can decode to far more than the file holds: a dictionary-encoded
column repeats one value in as many rows as it likes (1,256 bytes held one 3.9 M-character value in
200,000 rows, and serve.batch died at 4.1 GB). So the reader counts what it decodes:

- a column chunk that keeps its text in a dictionary is read as one (a repeated value costs once, and
  each row's length is known before it is decoded) when the dictionary holds a value over ``SHORT_VALUE``
  characters; else (any review) plainly, which is faster, in batches sized so that none decodes past
  ``MATERIALIZED`` characters;
- a cell over ``MAX_RECORD_CHARS`` is rejected from its length, never turned into a string (a binary
  cell, rejected as not text anyway, is never turned into bytes);
- a row group whose page headers show that a page must hold such a cell (its values would average more
  than 16 MB: ``parquet_pages``) is not decoded at all, its rows rejected unread: pyarrow cannot skip one
  value, and decoding a 200 MiB cell only to refuse it cost 0.9 GB;
- the file's text may decode into at most ``DECODED_RATIO`` times the file's size (gzip's own most, so
  no worse than any archive we read), or ``DECODED_FLOOR`` characters for a small file: the row that
  would pass it and every row after it are rejected, unread;
- rows become Python objects at most ``MATERIALIZED`` characters at a time.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from sentilens.errors import DataError
from sentilens.sources import lines
from sentilens.sources.formats import Format, RowParsers, register
from sentilens.sources.parquet_pages import holds_oversized
from sentilens.sources.records import Record, make_record, pick_id_column, pick_text_column

__all__ = ["BATCH_ROWS", "DECODED_FLOOR", "DECODED_RATIO", "MATERIALIZED", "PARQUET", "SHORT_VALUE", "ParquetRowWriter",
           "abandon", "parquet_modules"]

_INSTALL = "pip install -e \".[spark]\""
DECODED_RATIO = 1024  # a file's text decodes to at most this many times its size ...
DECODED_FLOOR = 64 * 2**20  # ... or to this many characters, for a small file
MATERIALIZED = 16 * 2**20  # characters of text decoded, or turned into Python strings, at a time
SHORT_VALUE = 65_536  # a dictionary whose values are all this short is read plainly (hashing it costs more)
BATCH_ROWS = 2048


def parquet_modules():
    """(pyarrow, pyarrow.parquet), or ``DataError`` saying how to install them."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(f"Parquet needs pyarrow: {_INSTALL}") from None
    return pa, pq


def _refused(where: str, problem: str) -> Record:
    raise DataError(f"{where}: {problem}")


def _parquet_rows(path: Path, text_column: str | None, id_column: str | None = None) -> RowParsers:
    """Parquet rows (row numbers from 1), read in batches, their text bounded (see the module docstring)."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(f"{path}: reading Parquet needs pyarrow: {_INSTALL}") from None
    try:
        plain = pq.ParquetFile(path)
        columns, meta = plain.schema_arrow, plain.metadata
    except Exception as err:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise DataError(f"{path}: not a readable Parquet file ({str(err)[:200]})") from None
    column = pick_text_column(columns.names, text_column, str(path))
    ids = pick_id_column(columns.names, id_column, str(path)) or "id"
    wanted = [c for c in dict.fromkeys((column, ids, "label")) if c in columns.names]
    kind = columns.field(column).type
    if pa.types.is_dictionary(kind):  # written from a dictionary array: the file says so in its Arrow schema
        kind = kind.value_type
    is_text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    is_binary = pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
    leaf = next((j for j in range(meta.num_columns) if meta.schema.column(j).path == column), None)
    try:
        keyed = pq.ParquetFile(path, read_dictionary=[column]) if is_text or is_binary else plain
    except Exception as err:  # noqa: BLE001
        raise DataError(f"{path}: not a readable Parquet file ({str(err)[:200]})") from None
    budget = max(DECODED_FLOOR, DECODED_RATIO * path.stat().st_size)
    over_budget = (f"the file's text would decode past {budget:,} characters ({DECODED_RATIO:,} times the file's "
                   "size); this row and the rows after it are not read")
    too_long = f"the text is longer than {lines.MAX_RECORD_CHARS:,} characters"

    def oversized(group: int) -> str | None:
        """Why the row group is not read, when its page headers show a cell over the bound (see the module)."""
        if leaf is None or not (is_text or is_binary):
            return None
        chunk = meta.row_group(group).column(leaf)
        start = chunk.dictionary_page_offset if chunk.has_dictionary_page and chunk.dictionary_page_offset else \
            chunk.data_page_offset
        try:
            with open(path, "rb") as f:
                if not holds_oversized(f, start, chunk.total_compressed_size, chunk.total_uncompressed_size):
                    return None
        except (OSError, TypeError):
            return None
        return (f"its row group holds a text over {lines.MAX_RECORD_CHARS:,} characters (its page sizes say so), so "
                f"none of its {meta.row_group(group).num_rows:,} rows is read")

    def lengths(values) -> list[int | None]:
        """Each row's text length in characters, from the dictionary when there is one (None: not text)."""
        if not is_text:
            return [None] * len(values)
        if pa.types.is_dictionary(values.type):
            return pc.utf8_length(values.dictionary).take(values.indices).to_pylist()
        return pc.utf8_length(values).to_pylist()

    def batches(group: int) -> Iterator:
        """The row group's batches: as a dictionary when its text keeps one with a value over
        ``SHORT_VALUE`` (the first batch, read so, tells), else plainly, in batches that decode at most
        ``MATERIALIZED`` characters."""
        longest = 0
        if (is_text or is_binary) and (leaf is None or meta.row_group(group).column(leaf).has_dictionary_page):
            keyed_batches = keyed.iter_batches(batch_size=BATCH_ROWS, row_groups=[group], columns=wanted)
            first = next(keyed_batches, None)
            values = first.column(column) if first is not None else None
            if values is not None and pa.types.is_dictionary(values.type):
                measure = pc.utf8_length if is_text else pc.binary_length
                longest = pc.max(measure(values.dictionary)).as_py() or 0
            if longest > SHORT_VALUE:
                return itertools.chain([first], keyed_batches)
        rows = max(1, min(BATCH_ROWS, MATERIALIZED // max(longest, 1)))
        return plain.iter_batches(batch_size=rows, row_groups=[group], columns=wanted)

    def rows() -> RowParsers:
        number, decoded, spent = 0, 0, False
        for group in range(meta.num_row_groups):
            seen = 0
            unread = None if spent else oversized(group)
            if unread is not None:  # nothing decoded, nothing counted against the budget
                for _ in range(meta.row_group(group).num_rows):
                    number += 1
                    yield number, functools.partial(_refused, f"{path}:{number}", unread)
                continue
            for batch in [] if spent else batches(group):
                sizes = lengths(batch.column(column))
                known = [n for n in sizes if n is not None]
                total, seen = sum(known), seen + len(sizes)
                longest = max(known, default=0)
                if total <= MATERIALIZED and decoded + total <= budget and longest <= lines.MAX_RECORD_CHARS:
                    decoded += total  # the common case: the whole batch at once
                    yield from made(batch, range(len(sizes)), number)
                    number += len(sizes)
                    continue
                problems = []
                for n in sizes:
                    spent = spent or (n is not None and n <= lines.MAX_RECORD_CHARS and decoded + n > budget)
                    problems.append(over_budget if spent else too_long if n and n > lines.MAX_RECORD_CHARS else None)
                    if problems[-1] is None:
                        decoded += n or 0
                yield from each(batch, sizes, problems, number)
                number += len(sizes)
                if spent:
                    break
            for _ in range(meta.row_group(group).num_rows - seen):  # past the budget: counted, never read
                number += 1
                yield number, functools.partial(_refused, f"{path}:{number}", over_budget)

    def each(batch, sizes: list[int | None], problems: list[str | None], before: int) -> Iterator:
        """A batch row by row: the refused ones as they come, the others made ``MATERIALIZED`` at a time."""
        group: list[int] = []
        size = 0
        for i, (n, problem) in enumerate(zip(sizes, problems)):
            if problem is not None or (n or 0) + size > MATERIALIZED:
                yield from made(batch, group, before + i - len(group))
                group, size = [], 0
            if problem is not None:
                yield before + i + 1, functools.partial(_refused, f"{path}:{before + i + 1}", problem)
                continue
            group.append(i)
            size += n or 0
        yield from made(batch, group, before + len(sizes) - len(group))

    def made(batch, group: Sequence[int], before: int) -> Iterator:
        """The rows ``group`` of ``batch`` (row ``before`` + 1 onwards) as Python objects, a binary text
        left out (rejected as not text, as a binary cell always is)."""
        if not group:
            return
        taken = batch if len(group) == batch.num_rows else batch.take(pa.array(group, pa.int64()))
        if is_binary:
            taken = taken.drop_columns([column])
        for k, row in enumerate(taken.to_pylist(), start=before + 1):
            if is_binary:
                row[column] = None
            yield k, functools.partial(make_record, row, column, f"{path}:{k}", str(k), ids)

    return rows()


def abandon(writer) -> None:
    """Close a pyarrow ``ParquetWriter`` whose run failed, quietly, while its file is still open, and mark it
    closed: a writer whose ``close`` failed (a full disk at the footer) says it is still open, and its
    finaliser would try the footer again, into a file already closed and removed, whenever it is collected."""
    try:
        writer.close()
    except Exception:  # noqa: BLE001 - the run's own error is the one to report
        pass
    finally:
        writer.is_open = False


class ParquetRowWriter:
    """Rows as one Parquet file: ``floats`` as doubles, every other column as text."""

    def __init__(self, raw: BinaryIO, columns: Sequence[str], *, floats: Collection[str] = (), raw_csv: bool = False):
        pa, pq = parquet_modules()
        self.pa, self.columns = pa, list(columns)
        self.schema = pa.schema([(c, pa.float64() if c in floats else pa.string()) for c in columns])
        self.parquet = pq.ParquetWriter(raw, self.schema)

    def write(self, rows: list[list]) -> None:
        self.parquet.write_table(self.pa.Table.from_pylist([dict(zip(self.columns, r)) for r in rows], self.schema))

    def finish(self) -> None:
        self.parquet.close()

    def abandon(self) -> None:
        """The run failed: close without a word (see ``abandon``)."""
        abandon(self.parquet)


PARQUET = register(Format("parquet", (".parquet",), file_rows=_parquet_rows, write=ParquetRowWriter, spark="parquet",
                          require=parquet_modules))
