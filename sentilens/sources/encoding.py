"""How every text file is decoded: one rule for every reader (CSV, JSONL, TXT, aclImdb members, the rows
Spark's executors cut), so that a file either reads as text or is refused in one line, never scored as
garbage.

- A byte-order mark says the encoding: UTF-8, UTF-16 LE/BE or UTF-32 LE/BE; the mark is dropped.
- Without one the file is UTF-8. A NUL byte in its first ``SNIFF_BYTES`` means it is not: UTF-16 or
  UTF-32 without a mark, or a binary file, whose lines would otherwise read as NUL-interleaved garbage.
  Such a file is refused whole (``DataError``).
- Bytes that do not decode are kept as lone surrogates, so the one row holding them is rejected ("not
  UTF-8 text", ``records.checked``) and the reading goes on; a NUL later in a file (or a JSON ``\\u0000``)
  is rejected with its row the same way. A lone surrogate is never scored: every reader and every typed
  text (``serve.app.analysis.check_text``) refuses it before the codec sees it.
"""

from __future__ import annotations

import codecs
import io
from typing import BinaryIO

from sentilens.errors import DataError

__all__ = ["BOMS", "NUL_FILE", "NUL_TEXT", "SNIFF_BYTES", "decode_bytes", "open_text", "sniff"]

SNIFF_BYTES = 64 * 1024
# Longest first: a UTF-32 LE mark begins with the UTF-16 LE one.
BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
NUL_FILE = ("holds NUL bytes, so it is not UTF-8 text (UTF-16 or UTF-32 without a byte-order mark, or not text "
            "at all); save it as UTF-8")
NUL_TEXT = "the text holds a NUL character, so it is not text"
_LONE = "sentilens.lone-surrogate"


def _lone(err: UnicodeError) -> tuple[str, int]:
    """What a UTF-16/32 decoder makes of bytes it cannot decode: one lone surrogate, which rejects the row
    holding it (as ``surrogateescape`` does for UTF-8, whose handler cannot escape bytes below 128)."""
    if not isinstance(err, UnicodeDecodeError):
        raise err
    return "\udcff", err.end


codecs.register_error(_LONE, _lone)


def sniff(head: bytes, where: str) -> tuple[str, int]:
    """(the encoding, the length of its byte-order mark) of a text starting with ``head``, or
    ``DataError`` for one that holds a NUL byte and has no mark."""
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return encoding, len(bom)
    if b"\0" in head[:SNIFF_BYTES]:
        raise DataError(f"{where}: {NUL_FILE}")
    return "utf-8", 0


def _errors(encoding: str) -> str:
    return "surrogateescape" if encoding == "utf-8" else _LONE


def open_text(raw: BinaryIO, where: str) -> io.TextIOWrapper:
    """``raw`` (seekable, at its start) as text by the rule above; lines end as written (CSV needs them so).
    The wrapper owns ``raw``: closing it closes both."""
    head = raw.read(SNIFF_BYTES)
    encoding, skip = sniff(head, where)
    raw.seek(skip)
    return io.TextIOWrapper(raw, encoding=encoding, errors=_errors(encoding), newline="")


def decode_bytes(data: bytes, where: str) -> str:
    """A whole text (an archive member, one review) by the rule above, strictly: ``DataError`` for NUL-bearing
    bytes without a mark and for bytes that do not decode, naming the first."""
    encoding, skip = sniff(data[:SNIFF_BYTES], where)
    try:
        text = data[skip:].decode(encoding)
    except UnicodeDecodeError as err:
        name = "UTF-8" if encoding == "utf-8" else encoding.upper()[:6]
        raise DataError(f"{where}: not {name} text ({err.reason} at byte {err.start + skip})") from None
    if "\0" in text:  # strict decoders never give a lone surrogate; a NUL is the one garbage left
        raise DataError(f"{where}: {NUL_TEXT}")
    return text
