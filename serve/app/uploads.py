"""What the app accepts from an upload, on every tab (Annotate, Compare): one rule, checked before
a byte is parsed.

A file over ``MAX_UPLOAD_BYTES`` is refused from its size; an archive is refused from its headers
once it would unpack past ``LIMITS`` (a small ``.tar.gz`` bomb costs nothing); every record then
goes through ``sentilens.sources`` with the same rejections as ``serve.batch``, and a review over the
app's ``MAX_CHARS`` is rejected as it is read, before anything normalises or scores it (four rows of
3.9 M characters were scored, 2.7 GB and 41 s, before being refused). ``id_note`` says, for a tab's status
line, which column the ids were taken from.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sentilens.errors import DataError, InputError
from sentilens.sources import BadRow, Limits, Record, find, id_column_of, read_any, suffixes
from serve.app.analysis import MAX_CHARS

__all__ = ["LIMITS", "MAX_UPLOAD_BYTES", "UPLOAD_TYPES", "id_note", "read_upload", "upload_types", "uploaded"]

MAX_UPLOAD_BYTES = 50 * 2**20
LIMITS = Limits(max_total_bytes=128 * 2**20, max_members=100_000)  # the whole aclImdb: 63 MB in 50,009 files


def upload_types() -> list[str]:
    """The suffixes an upload may have: every registered format that needs no extra's library (Parquet
    needs pyarrow, which serving does not install)."""
    return list(suffixes(lambda f: f.require is None))


UPLOAD_TYPES = upload_types()  # what the file pickers offer


def uploaded(file) -> Path:
    """The uploaded file's path, or ``InputError`` saying why it is not taken."""
    if file is None:
        raise InputError("Choose a file to upload first.")
    path = Path(file if isinstance(file, str) else file.name)
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise InputError(f"The file is {size / 2**20:.0f} MB; the limit is {MAX_UPLOAD_BYTES // 2**20} MB.")
    return path


def id_note(path: Path) -> str:
    """Where the upload's ids come from, for the tab's status line (the readers take a column named id,
    review_id, reviewId, uid... in any case, ``sentilens.sources.ID_COLUMNS``): a file with an id column
    under another name is then not taken for one numbered by line without a word."""
    fmt = find(path.name)
    if path.is_dir() or fmt is None or not fmt.table:
        return "ids from the review files' names"
    column = id_column_of(path)
    if column is None:
        return "ids are line numbers, the file has no id column" if fmt.header is not None else "ids are line numbers"
    return f"ids from the column {column!r}"


def read_upload(path: Path, on_bad_row: BadRow) -> Iterator[Record]:
    """The upload's records within ``LIMITS``, each review of at most ``MAX_CHARS`` characters (a longer one
    goes to ``on_bad_row``); a file that cannot be read at all is one ``InputError``."""
    try:
        for record in read_any(path, on_bad_row=on_bad_row, limits=LIMITS):
            if len(record.text) > MAX_CHARS:  # the app shows and explains reviews up to this length
                on_bad_row(record.where, f"the review has {len(record.text):,} characters; the limit is {MAX_CHARS:,}")
                continue
            yield record
    except DataError as err:
        raise InputError(f"Could not read the file: {str(err).replace(str(path.parent) + '/', '')}") from None
