"""JSON Lines (``.jsonl``, ``.ndjson``), one object per line with the keys a CSV header names: its
reader, its writer and its registration. ``json_object`` is also how Spark's rows are read back."""

from __future__ import annotations

import functools
import io
import json
from collections import Counter
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import BinaryIO

from sentilens.errors import DataError
from sentilens.sources import lines
from sentilens.sources.formats import ColumnParsers, Format, RowParsers, register
from sentilens.sources.records import Record, checked, make_record, pick_text_column

__all__ = ["JSONL", "JsonlWriter", "json_object", "json_record"]


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


def json_record(raw: str, text_column: str | None, where: str, default_id: str, id_column: str | None = None) -> Record:
    """One JSON object as a record, or ``DataError`` (see ``json_object``); its id from ``id_column``, by
    default the one ``records.pick_id_column`` finds among its keys."""
    obj = json_object(raw, where)
    return make_record(obj, pick_text_column(list(obj), text_column, where), where, default_id, id_column)


def _jsonl_rows(path: Path, f: io.TextIOBase, text_column: str | None, id_column: str | None = None) -> RowParsers:
    def parse(line: int, raw: str | None) -> Record:
        if raw is None:
            raise DataError(f"{path}:{line}: {lines.TOO_LONG}")
        return json_record(raw, text_column, f"{path}:{line}", str(line), id_column)

    return ((line, functools.partial(parse, line, raw)) for line, raw in lines.review_lines(f))


def _jsonl_columns(path: Path, f: io.TextIOBase) -> ColumnParsers:
    def parse(line: int, raw: str | None) -> dict[str, object]:
        if raw is None:
            raise DataError(f"{path}:{line}: {lines.TOO_LONG}")
        return json_object(checked(raw, "line", f"{path}:{line}"), f"{path}:{line}")

    return ((line, functools.partial(parse, line, raw)) for line, raw in lines.review_lines(f))


def _jsonl_header(first_line: str) -> list[str]:
    """The keys of the first object ([] when the line is not one)."""
    try:
        obj = json.loads(first_line)
    except ValueError:
        return []
    return list(obj) if isinstance(obj, dict) else []


class JsonlWriter:
    """One JSON object per row, keyed by ``columns``."""

    def __init__(self, raw: BinaryIO, columns: Sequence[str], *, floats: Collection[str] = (), raw_csv: bool = False):
        self.columns = list(columns)
        self.f = io.TextIOWrapper(raw, encoding="utf-8", newline="")

    def write(self, rows: list[list]) -> None:
        self.f.writelines(json.dumps(dict(zip(self.columns, r)), ensure_ascii=False) + "\n" for r in rows)

    def finish(self) -> None:
        self.f.flush()
        self.f.detach()


JSONL = register(Format("jsonl", (".jsonl", ".ndjson"), text_rows=_jsonl_rows, header=_jsonl_header,
                        columns=_jsonl_columns, write=JsonlWriter, spark="json", spark_suffixes=(".json",)))
