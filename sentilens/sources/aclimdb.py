"""The aclImdb layout ``aclImdb/{train,test}/{pos,neg}/ID_RATING.txt``, as a directory or a ``.tar.gz``
read without extracting: its reader and its registration.

An archive or a folder is bounded: a member larger than ``Limits.max_member_bytes`` is rejected from its
header without being read, and callers that must hold a source in memory (the Annotate upload) also cap
the total unpacked bytes and the number of members.
"""

from __future__ import annotations

import functools
import re
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

from sentilens.archive import not_a_file, open_tar, tar_members, tar_problem
from sentilens.errors import DataError
from sentilens.labels import VALUE
from sentilens.sources.encoding import decode_bytes
from sentilens.sources.formats import Format, format_of, register
from sentilens.sources.records import BadRow, Limits, Record, Tally, report

__all__ = ["ACLIMDB", "ACLIMDB_LAYOUT", "UNREADABLE_TAR", "is_aclimdb", "read_aclimdb"]

ACLIMDB_LAYOUT = "aclImdb/{train,test}/{pos,neg}/ID_RATING.txt"
_ACL_FILE = re.compile(r"(?:^|/)(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")

# What tarfile raises for an archive it cannot read (IndexError and RecursionError: a damaged sparse map, a
# chain of thousands of long-name headers).
UNREADABLE_TAR = (tarfile.TarError, EOFError, OSError, ValueError, IndexError, RecursionError)


def _unreadable(path: Path, err: BaseException) -> DataError:
    """The one refusal of an archive that cannot be read as a whole, in one line."""
    return DataError(f"{path}: not a readable .tar.gz ({tar_problem(err)})")


def _read_member(path: Path, read: Callable[[], bytes]) -> bytes:
    """A member's data; an archive that breaks off inside it cannot be read as a whole."""
    try:
        return read()
    except UNREADABLE_TAR as err:
        raise _unreadable(path, err) from None


def is_aclimdb(path: Path) -> bool:
    """Whether ``path`` is a source in the aclImdb layout (a directory, or an archive by its suffix)."""
    return format_of(path) is ACLIMDB


def read_aclimdb(path: str | Path, on_bad_row: BadRow | None = None, limits: Limits | None = None,
                 tally: Tally | None = None, sort: bool = False, split: str | None = None) -> Iterator[Record]:
    """The labelled reviews of an aclImdb tree, streamed in archive order, or sorted by split,
    label, id with ``sort`` (which holds them all in memory: the trainer wants that order).
    With ``split`` ("train" or "test") the other split's files are passed over unread.
    A missing path or an archive that is not a tar fails here, before anything is read."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if not path.is_dir():
        try:
            with open_tar(path):
                pass
        except UNREADABLE_TAR as err:
            raise _unreadable(path, err) from None
    if split not in (None, "train", "test"):
        raise DataError(f"{path}: split must be train or test, got {split!r}")
    limits = limits or Limits()
    if limits.max_total_bytes is not None or limits.max_members is not None:
        for _ in _aclimdb_members(path, limits):  # headers only: refuse before a single record is given
            pass
    return _acl_records(path, on_bad_row, limits, tally if tally is not None else Tally(), sort, only=split)


def _acl_records(path: Path, on_bad_row: BadRow | None, limits: Limits, tally: Tally, sort: bool,
                 only: str | None = None) -> Iterator[Record]:
    members = (m for m in _aclimdb_members(path, limits) if only is None or m[0][0] == only)
    if sort:  # read now: a tar member can only be read while the archive is open
        cap = limits.max_member_bytes
        members = iter(sorted(((key, name, size, read if isinstance(read, str) else
                                functools.partial(bytes, read() if size <= cap else b""))
                               for key, name, size, read in members), key=lambda m: m[0]))
    found = 0
    for key, member, size, read in members:
        found += 1
        tally.rows_in += 1
        split, polarity, num, rating = key
        where = f"{path}:{member}"
        if size > limits.max_member_bytes:
            report(on_bad_row, where, f"{size:,} bytes, over the {limits.max_member_bytes:,}-byte cap for one review")
            continue
        if isinstance(read, str):  # the problem with this member
            report(on_bad_row, where, read)
            continue
        try:
            text = decode_bytes(read(), where)
        except DataError as err:
            report(on_bad_row, where, str(err).removeprefix(f"{where}: "))
            continue
        yield Record(id=f"{split}/{polarity}/{num}_{rating}", text=text, label=VALUE[polarity],
                     where=where, split=split)
    if not found:
        raise DataError(f"{path}: no reviews in the aclImdb layout {ACLIMDB_LAYOUT}")


_Member = tuple[tuple[str, str, int, int], str, int, Callable[[], bytes] | str]  # read, or why it cannot be


def _aclimdb_members(path: Path, limits: Limits) -> Iterator[_Member]:
    """(sort key, member path, size, read) for every review file; totals checked before reading."""
    total = count = 0

    def account(size: int) -> None:
        nonlocal total, count
        total, count = total + size, count + 1
        if limits.max_members is not None and count > limits.max_members:
            raise DataError(f"{path}: more than {limits.max_members:,} files; the limit is {limits.max_members:,}")
        if limits.max_total_bytes is not None and total > limits.max_total_bytes:
            raise DataError(f"{path}: unpacks to more than {limits.max_total_bytes / 2**20:,.0f} MB; "
                            f"the limit is {limits.max_total_bytes / 2**20:,.0f} MB")

    def keyed(name: str, size: int, read) -> _Member | None:
        m = _ACL_FILE.search(name)
        if m is None:
            return None
        split, polarity, num, rating = m.groups()
        return (split, polarity, int(num), int(rating)), name, size, read

    if path.is_dir():
        for file in sorted(path.rglob("*")):
            if file.is_file():
                account(file.stat().st_size)
                item = keyed(file.relative_to(path).as_posix(), file.stat().st_size, file.read_bytes)
                if item:
                    yield item
        return
    try:
        for member, read in tar_members(path):
            account(member.size)
            if member.name.endswith(".txt"):
                item = keyed(member.name, member.size if member.isfile() else 0,
                             functools.partial(_read_member, path, read) if member.isfile() else not_a_file(member))
                if item:
                    yield item
    except DataError:
        raise
    except UNREADABLE_TAR as err:
        raise _unreadable(path, err) from None


def _read(path: Path, on_bad_row: BadRow | None, limits: Limits | None, tally: Tally | None,
          split: str | None) -> Iterator[Record]:
    return read_aclimdb(path, on_bad_row, limits, tally, split=split)


ACLIMDB = register(Format("aclimdb", (".tar.gz", ".tgz"), records=_read, folder=True,
                          described=f"an aclImdb directory or .tar.gz ({ACLIMDB_LAYOUT})"))
