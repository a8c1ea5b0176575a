"""Reading any registered format: a whole source, a table, one file's bytes (Spark's executors), or
the rows of a file that holds no reviews. Each picks its reader from the registry by the path."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sentilens.errors import DataError
from sentilens.sources.formats import Format, RowParsers, accepted, find, format_of, formats
from sentilens.sources.encoding import open_text
from sentilens.sources.records import BadRow, Limits, Record, Tally, build_record, pick_id_column, report

__all__ = ["file_rows", "id_column_of", "read_any", "read_rows", "read_table"]


def _table(path: Path, suffix: str | None = None, text: bool = False) -> Format:
    """The table format of ``path`` (of ``suffix`` when given; only one read from text with ``text``),
    or ``DataError`` naming what is accepted."""
    fmt = find(path.name if suffix is None else suffix)
    if fmt is None or not fmt.table or (text and fmt.text_rows is None):
        suffix = path.suffix if suffix is None else suffix
        raise DataError(f"{path}: unknown format {suffix or '(no suffix)'}; expected {accepted()}")
    return fmt


def read_any(path: str | Path, text_column: str | None = None, on_bad_row: BadRow | None = None,
             limits: Limits | None = None, tally: Tally | None = None, split: str | None = None,
             id_column: str | None = None) -> Iterator[Record]:
    """Any accepted source; ``split`` applies to aclImdb only (a table has no splits), ``id_column`` to
    tables only (aclImdb ids are its file names)."""
    path = Path(path)
    fmt = format_of(path)
    if fmt is not None and fmt.records is not None:
        if id_column is not None:
            raise DataError(f"{path}: --id-column applies to tables; aclImdb ids are its file names")
        return fmt.records(path, on_bad_row, limits, tally, split)
    if split is not None:
        raise DataError(f"{path}: --split applies to aclImdb folders and archives only")
    return read_table(path, text_column, on_bad_row, tally, id_column)


def read_table(path: str | Path, text_column: str | None = None, on_bad_row: BadRow | None = None,
               tally: Tally | None = None, id_column: str | None = None) -> Iterator[Record]:
    """A table's rows (CSV, JSONL, TXT, Parquet) as records (see the package docstring for bad rows), their
    ids from ``id_column`` (by default the one ``records.pick_id_column`` finds), else their row numbers.

    The file is opened and its header checked before this returns, so a source that cannot be
    read at all fails here, before the caller opens anything of its own."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    fmt = _table(path)
    tally = tally if tally is not None else Tally()
    if fmt.file_rows is not None:
        return _parsed(path, contextlib.nullcontext(), fmt.file_rows(path, text_column, **_ids(id_column)),
                       on_bad_row, tally)
    f = _open(path)
    try:
        rows = fmt.text_rows(path, f, text_column, **_ids(id_column))
    except BaseException:
        f.close()
        raise
    return _parsed(path, f, rows, on_bad_row, tally)


def _ids(id_column: str | None) -> dict[str, str]:
    """The id column as a reader's keyword, only when one is named (a format of one's own may not take it)."""
    return {} if id_column is None else {"id_column": id_column}


def _open(path: Path) -> io.TextIOBase:
    """``path`` as text by the one decoding rule (``encoding``), or ``DataError`` naming why not."""
    try:
        raw = open(path, "rb")
    except OSError as err:
        raise DataError(f"{path}: cannot open ({err.strerror})") from None
    try:
        return open_text(raw, str(path))
    except BaseException:
        raw.close()
        raise


def _parsed(path: Path, f: contextlib.AbstractContextManager, rows: RowParsers, on_bad_row: BadRow | None,
            tally: Tally) -> Iterator[Record]:
    with f:
        for line, parse in rows:
            tally.rows_in += 1
            record, problem = build_record(f"{path}:{line}", parse)
            if problem is None:
                yield record
            else:
                report(on_bad_row, f"{path}:{line}", problem)


def file_rows(name: str, data: bytes, suffix: str, text_column: str | None = None, id_column: str | None = None
              ) -> Iterator[tuple[str, str | None, int, str | None]]:
    """One file's rows through the very reader ``read_table`` uses, for readers elsewhere (Spark's
    executors): ``(where, record as a JSON object or None, row number, problem or None)``. A file
    that cannot be read at all raises ``DataError``, as ``read_table`` does. A format read from a
    file of its own (Parquet) reads the bytes spooled to a temporary file, within its own bounds."""
    path = Path(name)
    fmt = _table(path, suffix)
    if fmt.text_rows is None:
        yield from _spooled_rows(path, data, suffix, fmt, text_column, id_column)
        return
    f = open_text(io.BytesIO(data), str(path))
    for number, (line, parse) in enumerate(fmt.text_rows(path, f, text_column, **_ids(id_column)), start=1):
        where = f"{path}:{line}"
        record, problem = build_record(where, parse)
        if problem is not None:
            yield where, None, number, problem
        else:
            yield where, json.dumps({"id": record.id, "text": record.text, "label": record.label}), number, None


def _spooled_rows(path: Path, data: bytes, suffix: str, fmt: Format, text_column: str | None,
                  id_column: str | None = None) -> Iterator[tuple[str, str | None, int, str | None]]:
    """``file_rows`` for a format that opens its file itself: the bytes written to a temporary file of the
    same size (the reader's budgets go by it), each row named by ``path`` as if read there."""
    with tempfile.TemporaryDirectory(prefix="sentilens-") as folder:
        spooled = Path(folder) / f"rows{suffix}"
        spooled.write_bytes(data)
        try:
            rows = fmt.file_rows(spooled, text_column, **_ids(id_column))
            for number, (line, parse) in enumerate(rows, start=1):
                record, problem = build_record(f"{spooled}:{line}", parse)
                where = f"{path}:{line}"
                if problem is not None:
                    yield where, None, number, problem
                else:
                    yield where, json.dumps({"id": record.id, "text": record.text, "label": record.label}), number, None
        except DataError as err:
            raise DataError(str(err).replace(str(spooled), str(path))) from None


def id_column_of(path: str | Path, id_column: str | None = None) -> str | None:
    """The column a table's ids are taken from, as its readers pick it (``records.pick_id_column``) from its
    header (a CSV's first record, a JSONL's first object's keys, a Parquet schema), or None when its rows are
    numbered (a TXT file, an aclImdb source: its file names; or no such column). For status lines: reading
    nothing past the first line; ``DataError`` only for a named column the file does not have."""
    path = Path(path)
    fmt = format_of(path)
    if fmt is None or not fmt.table or not path.is_file():
        return None
    if fmt.header is not None:
        try:
            with _open(path) as f:
                columns = fmt.header(f.readline(1 << 20))
        except (DataError, OSError, UnicodeError):
            return None
    elif fmt.require is not None:
        try:
            _, pq = fmt.require()
            columns = pq.read_schema(path).names
        except Exception:  # noqa: BLE001 - no pyarrow or not Parquet: the reader says so itself
            return None
    else:
        return None
    return pick_id_column(columns, id_column, str(path))


def read_rows(path: str | Path) -> Iterator[tuple[int, dict[str, object] | str]]:
    """A file's rows as ``(line, {column: value})``, or ``(line, why)`` for a row that cannot be read, cut
    and bounded as ``read_table`` cuts them but with no text column: for files that hold no reviews (a
    serve.batch output), in a format that has ``columns``. A file that cannot be read at all raises
    ``DataError`` here."""
    path = Path(path)
    fmt = find(path.name)
    if fmt is None or fmt.columns is None:
        raise DataError(f"{path}: expected {' or '.join(f.suffixes[0] for f in formats() if f.columns)}")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    f = _open(path)
    try:
        rows = fmt.columns(path, f)
    except BaseException:
        f.close()
        raise

    def each() -> Iterator[tuple[int, dict[str, object] | str]]:
        with f:
            for line, parse in rows:
                obj, problem = build_record(f"{path}:{line}", parse)
                yield line, obj if problem is None else problem

    return each()
