"""What a Parquet column chunk's page headers say, read without decoding a page: enough to know that a
page holds a text over the cell bound before anything decompresses it.

pyarrow reads a column a page at a time and cannot skip a value, so one 200 MiB cell cost ~0.9 GB
(the page decompressed, its Arrow array, a dictionary built from it) before its length could refuse it.
A page's header gives its uncompressed size and how many values it holds; when the values would have to
average more than ``CELL_BYTES`` (the most bytes ``MAX_RECORD_CHARS`` characters take in UTF-8), one of
them is over the bound whatever it holds, and the reader refuses the page's row group unread.

The headers are Thrift compact structs (parquet-format's ``PageHeader``); only the integer fields needed
are kept. A header that cannot be parsed within ``MAX_HEADER_BYTES`` says nothing (pyarrow then reads the
chunk as before and reports what is wrong with it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

from sentilens.sources.lines import MAX_RECORD_CHARS

__all__ = ["CELL_BYTES", "MAX_HEADER_BYTES", "Page", "holds_oversized", "pages"]

CELL_BYTES = 4 * MAX_RECORD_CHARS  # UTF-8 takes at most 4 bytes a character
MAX_HEADER_BYTES = 1 << 20  # a header with page statistics can be long; past this it is not read
_LEVELS_SLACK = 1024  # definition levels, length prefixes and framing, beyond 5 bytes a value


class Page(NamedTuple):
    kind: int  # 0 data, 2 dictionary, 3 data v2 (parquet-format's PageType)
    uncompressed: int
    values: int | None  # values in the page (a dictionary page: its entries), when the header says


class _Short(Exception):
    """The header runs past the bytes read so far."""


def _varint(b: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        if i >= len(b):
            raise _Short
        byte = b[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i
        shift += 7
        if shift > 70:
            raise ValueError("varint too long")


def _skip(b: bytes, i: int, kind: int, depth: int) -> tuple[object, int]:
    """One value of compact type ``kind`` at ``i``: (its value when an integer or a struct, else None; the next
    index)."""
    if kind in (1, 2):
        return kind == 1, i
    if kind == 3:
        return None, i + 1
    if kind in (4, 5, 6):
        n, i = _varint(b, i)
        return (n >> 1) ^ -(n & 1), i
    if kind == 7:
        return None, i + 8
    if kind == 8:
        n, i = _varint(b, i)
        return None, i + n
    if kind == 12:
        return _struct(b, i, depth + 1)
    if kind in (9, 10):
        if i >= len(b):
            raise _Short
        head, i = b[i], i + 1
        count, element = head >> 4, head & 0x0F
        if count == 15:
            count, i = _varint(b, i)
        for _ in range(count):
            _, i = _skip(b, i, element, depth)
        return None, i
    raise ValueError(f"unknown compact type {kind}")


def _struct(b: bytes, i: int, depth: int = 0) -> tuple[dict[int, object], int]:
    if depth > 8:
        raise ValueError("nested too deeply")
    fields: dict[int, object] = {}
    last = 0
    while True:
        if i >= len(b):
            raise _Short
        head, i = b[i], i + 1
        if head == 0:
            return fields, i
        delta, kind = head >> 4, head & 0x0F
        if delta:
            field = last + delta
        else:
            n, i = _varint(b, i)
            field = (n >> 1) ^ -(n & 1)
        last = field
        fields[field], i = _skip(b, i, kind, depth)


def _header(f: BinaryIO, at: int) -> tuple[dict[int, object], int] | None:
    """The page header at ``at`` and its length, or None when it cannot be read within ``MAX_HEADER_BYTES``."""
    size = 256
    while size <= MAX_HEADER_BYTES:
        f.seek(at)
        b = f.read(size)
        try:
            return _struct(b, 0)
        except _Short:
            if len(b) < size:
                return None
            size *= 4
        except (ValueError, IndexError):
            return None
    return None


def pages(f: BinaryIO, start: int, length: int) -> Iterator[Page]:
    """The pages of the column chunk of ``length`` compressed bytes at ``start``, each read from its header
    only; it stops at the first header it cannot read."""
    at, end = start, start + length
    while at < end:
        read = _header(f, at)
        if read is None:
            return
        header, size = read
        kind, uncompressed, compressed = header.get(1), header.get(2), header.get(3)
        if not all(isinstance(v, int) for v in (kind, uncompressed, compressed)) or compressed < 0 or uncompressed < 0:
            return
        detail = next((header[k] for k in (5, 7, 8) if isinstance(header.get(k), dict)), {})
        values = detail.get(1)
        yield Page(kind, uncompressed, values if isinstance(values, int) and values > 0 else None)
        at += size + compressed


def holds_oversized(f: BinaryIO, start: int, length: int, uncompressed: int) -> bool:
    """Whether a page of the chunk must hold a value over ``MAX_RECORD_CHARS`` characters: its values would
    average more than ``CELL_BYTES`` bytes, levels and framing allowed for. Pages are read only when the chunk
    is large enough to hold one (``uncompressed`` over ``CELL_BYTES``)."""
    if uncompressed <= CELL_BYTES:
        return False
    return any(page.values is not None and page.kind in (0, 2, 3)
               and page.uncompressed > page.values * (CELL_BYTES + 5) + _LEVELS_SLACK
               for page in pages(f, start, length))
