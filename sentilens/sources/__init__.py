"""Readers for every review source the tool accepts, as streams of ``Record``s.

The trainer, the batch scorer and the annotation queue all read through here, so a file
that scores also trains, and a bad file fails the same way everywhere.

Accepted (each format is a module here that registers itself in ``formats``):
- the aclImdb layout ``aclImdb/{train,test}/{pos,neg}/ID_RATING.txt`` as a directory or
  a ``.tar.gz`` read without extracting (``aclimdb``);
- CSV with a header (text column ``text`` or ``review`` by default, optional ``label``
  and an id column: named, else ``id`` or another of ``ID_COLUMNS`` in any case) (``csvfile``);
- JSONL, one object per line with the same keys (``jsonl``);
- plain text, one review per line (no labels; blank lines are not reviews) (``text``);
- Parquet with the same columns, when pyarrow is installed (``parquet``).

Every text file is decoded by one rule (``encoding``): a byte-order mark names UTF-8, UTF-16 or
UTF-32, else it is UTF-8, and a file that holds NUL bytes without a mark is refused whole.

A whole source that cannot be read raises ``DataError`` naming the file. One bad row (bytes
that are not UTF-8 in any column, a lone surrogate, JSON that is broken, nested too deep or
not an object, a CSV quote that never closes, a label that is not 0/1/pos/neg, anything
else that fails while parsing it) raises ``DataError`` naming its line, or, with
``on_bad_row``, is reported there and the reading goes on. ``Tally.rows_in`` counts the
records as the file delimits them (lines; CSV records; archive members), apart from
whether they parse, so that a consumer can check rows in = scored + rejected.

Adding an input format: one module here defining its reader (``text_rows`` for a text file
read row by row, ``file_rows`` for one it opens itself, ``records`` for a whole source) and
calling ``formats.register`` with its suffixes (and, when it can, its writer, Spark reader and
column reader), plus its import below. The readers, uploads, serve.batch, serve.spark and the
Data tab then take it; nothing else lists suffixes.
"""

from sentilens.labels import parse_label
from sentilens.sources.formats import (Format, RowWriter, accepted, find, format_of, formats, register, suffixes,
                                       unregister)
from sentilens.sources.lines import MAX_RECORD_CHARS, TEXT_OPEN, TOO_LONG
from sentilens.sources.encoding import decode_bytes, open_text
from sentilens.sources.records import (CHUNK, CHUNK_CHARS, ID_COLUMNS, ID_HELP, MAX_EXTRA_COLUMNS, MAX_EXTRA_NAME,
                                       MAX_EXTRA_VALUE, MAX_ID_CHARS, TEXT_COLUMNS, BadRow, Limits, Record, Tally,
                                       build_record, chunks, extra_columns, make_record, not_text, pick_id_column,
                                       pick_text_column, row_id)

# The built-in formats, each registered when its module loads, in the order messages list them.
from sentilens.sources.csvfile import CSV
from sentilens.sources.jsonl import JSONL, json_object, json_record
from sentilens.sources.text import TXT
from sentilens.sources.parquet import PARQUET
from sentilens.sources.aclimdb import ACLIMDB, ACLIMDB_LAYOUT, UNREADABLE_TAR, is_aclimdb, read_aclimdb
from sentilens.sources.read import file_rows, id_column_of, read_any, read_rows, read_table

ACCEPTED = accepted()  # for help texts, of the built-in formats; messages ask ``accepted()`` when they are made
SUFFIXES = suffixes()  # likewise; code that checks a suffix asks ``format_of`` or ``suffixes()``

__all__ = ["ACCEPTED", "ACLIMDB", "ACLIMDB_LAYOUT", "CHUNK", "CHUNK_CHARS", "CSV", "ID_COLUMNS", "ID_HELP", "JSONL",
           "MAX_EXTRA_COLUMNS", "MAX_EXTRA_NAME", "MAX_EXTRA_VALUE", "MAX_ID_CHARS", "MAX_RECORD_CHARS", "PARQUET",
           "SUFFIXES", "TEXT_COLUMNS", "TEXT_OPEN", "TOO_LONG", "TXT", "UNREADABLE_TAR", "BadRow", "Format", "Limits",
           "Record", "RowWriter", "Tally", "accepted", "build_record", "chunks", "decode_bytes", "extra_columns",
           "file_rows", "find", "format_of", "formats", "id_column_of", "is_aclimdb", "json_object", "json_record",
           "make_record", "not_text", "open_text", "parse_label", "pick_id_column", "pick_text_column",
           "read_aclimdb", "read_any", "read_rows", "read_table", "register", "row_id", "suffixes", "unregister"]
