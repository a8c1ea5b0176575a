"""CSV that a spreadsheet opens as data, never as formulas (OWASP "CSV injection").

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets; every CSV sentilens writes (batch scores,
rejected rows, annotation exports) prefixes such a cell with ``'``, which spreadsheets show
as text and do not run. Machine consumers who want the bytes as they were pass ``raw=True``
(``--raw-csv`` on the command line). Numbers we write ourselves are never touched.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO

__all__ = ["FORMULA_STARTS", "SafeWriter", "neutralize"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` that neutralizes every string cell unless ``raw``."""

    def __init__(self, f: IO[str], raw: bool = False):
        self.writer = csv.writer(f)
        self.raw = raw

    def writerow(self, row: Iterable[object]) -> None:
        self.writer.writerow(row if self.raw else [neutralize(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)
