"""Plain text, one review per line (no labels; a blank line is not a review): its reader and its registration."""

from __future__ import annotations

import functools
import io
from pathlib import Path

from sentilens.errors import DataError
from sentilens.sources import lines
from sentilens.sources.formats import Format, RowParsers, register
from sentilens.sources.records import Record, make_record

__all__ = ["TXT"]


def _txt_rows(path: Path, f: io.TextIOBase, text_column: str | None, id_column: str | None = None) -> RowParsers:
    if id_column is not None:
        raise DataError(f"{path}: a .txt file has no columns, so no id column {id_column!r}; its rows are numbered "
                        "by line")
    def parse(line: int, text: str | None) -> Record:
        if text is None:
            raise DataError(f"{path}:{line}: {lines.TOO_LONG}")
        return make_record({"text": text}, "text", f"{path}:{line}", str(line))

    return ((line, functools.partial(parse, line, None if raw is None else raw.rstrip("\r\n")))
            for line, raw in lines.review_lines(f))


TXT = register(Format("txt", (".txt",), described=".txt (one review per line)", text_rows=_txt_rows, spark="text"))
