"""Parquet: its reader, its writer and its registration. pyarrow comes with the spark extra and is
imported only inside these functions, so the foundation loads without it."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import BinaryIO

from sentilens.errors import DataError
from sentilens.sources.formats import Format, RowParsers, register
from sentilens.sources.records import make_record, pick_text_column

__all__ = ["PARQUET", "ParquetRowWriter", "parquet_modules"]

_INSTALL = "pip install -e \".[spark]\""


def parquet_modules():
    """(pyarrow, pyarrow.parquet), or ``DataError`` saying how to install them."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(f"Parquet needs pyarrow: {_INSTALL}") from None
    return pa, pq


def _parquet_rows(path: Path, text_column: str | None) -> RowParsers:
    """Parquet rows (row numbers from 1), read in batches."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(f"{path}: reading Parquet needs pyarrow: {_INSTALL}") from None
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


PARQUET = register(Format("parquet", (".parquet",), file_rows=_parquet_rows, write=ParquetRowWriter, spark="parquet",
                          require=parquet_modules))
