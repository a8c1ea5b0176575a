"""Text files read as bounded lines: how every text table is decoded, and how a line (or a CSV record
over several lines) longer than ``MAX_RECORD_CHARS`` is cut without being held in memory."""

from __future__ import annotations

import io
from collections.abc import Iterator

__all__ = ["MAX_RECORD_CHARS", "TEXT_OPEN", "TOO_LONG", "BoundedLines", "review_lines"]

MAX_RECORD_CHARS = 4_000_000  # one CSV record (a quoted field may span lines up to this)
TOO_LONG = f"the line is longer than {MAX_RECORD_CHARS:,} characters"
# How a UTF-8 table is opened: a BOM dropped, bytes that are not UTF-8 kept as lone surrogates (the row
# holding them is rejected by ``records.checked``), line ends left to the reader (CSV needs them as written).
# The readers open files through ``encoding.open_text``, which also reads UTF-16/32 by their BOM and
# refuses NUL-bearing files; this stays for code that opens a file known to be UTF-8.
TEXT_OPEN = {"encoding": "utf-8-sig", "errors": "surrogateescape", "newline": ""}


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


def review_lines(f: io.TextIOBase) -> Iterator[tuple[int, str | None]]:
    """The numbered lines that hold something (a blank line is not a row); ``None`` for one too long."""
    return ((number, line) for number, line in _physical_lines(f) if line is None or line.strip())


class BoundedLines:
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

    def __iter__(self) -> BoundedLines:
        return self

    def __next__(self) -> str:
        if self.taken and self.taken[0][0] <= self.single_until:
            raise BoundedLines.Spans
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
            raise BoundedLines.Overlong
        return text
