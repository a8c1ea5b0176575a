"""Tar archives of reviews (aclImdb's ``.tar.gz``), read forward once, fast and bounded.

tarfile parses every 512-byte header field by field in Python: for aclImdb's 50,000 headers that was
2.8 s, the largest cost of scoring the archive (bench/batch.py). ``tar_members`` reads a gzip archive's
plain headers (files, folders, links, devices; ustar, GNU or v7, checksum verified) with one slice per
field, and hands any other header (long names, pax, sparse files, base-256 sizes, a bad checksum) and
the rest of the archive from there to tarfile, whose headers are bounded too (``_BoundedTarInfo``).
Archives compressed otherwise (bz2, xz) or not at all are read by tarfile throughout.

Nothing is held that was not asked for: data is inflated at most ``MAX_INFLATE`` bytes ahead, a
member's bytes only when its reader is called, and skipped ones are inflated and dropped.
"""

from __future__ import annotations

import re
import tarfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["BLOCK", "MAX_INFLATE", "MAX_TAR_HEADER_BYTES", "Member", "READ_BYTES", "not_a_file", "open_tar",
           "tar_members", "tar_problem"]

BLOCK = 512
MAX_TAR_HEADER_BYTES = 64 * 2**10  # a GNU long name or a pax header; a real one is a few hundred bytes
MAX_INFLATE = 4 * 2**20  # decompressed bytes made at a time, whatever the archive's compression ratio
READ_BYTES = 256 * 2**10  # compressed bytes read at a time
_REGULAR = (b"0", b"\0", b"7")  # tarfile's REGULAR_TYPES but GNU sparse, which goes to tarfile
_PLAIN = (*_REGULAR, b"1", b"2", b"3", b"4", b"5", b"6")  # links, devices, folders, fifos: no data follows
_ZEROS = bytes(BLOCK)

Member = tuple[tarfile.TarInfo, Callable[[], bytes]]  # the header, and its data (call before the next one)


class _BoundedTarInfo(tarfile.TarInfo):
    """tarfile reads a long-name (``L``) or pax (``x``) header's whole data before anything else can
    look at it: a 0.4 MB archive can ask for gigabytes. Its size is checked before it is read. Three more
    holes are closed: a damaged header after the first ends tarfile's archive quietly (the reviews after
    it lost without a word), so it is an error here; a negative size makes tarfile read the same header
    forever; and a sparse file's extension blocks are held without bound (140 KB took 337 MB), while a
    sparse file is no review, so it is refused."""

    @classmethod
    def fromtarfile(cls, tarfile_):
        try:
            info = super().fromtarfile(tarfile_)
        except (tarfile.InvalidHeaderError, tarfile.TruncatedHeaderError) as err:
            if tarfile_.offset == 0:
                raise
            raise tarfile.SubsequentHeaderError(f"a damaged header ({err})") from None
        if info.size < 0:
            raise tarfile.SubsequentHeaderError("a header with a negative size")
        return info

    def _proc_sparse(self, tarfile_):
        raise tarfile.SubsequentHeaderError("a sparse file, which no review is")

    def _proc_gnulong(self, tarfile_):
        self._check_header()
        return super()._proc_gnulong(tarfile_)

    def _proc_pax(self, tarfile_):
        self._check_header()
        return super()._proc_pax(tarfile_)

    def _check_header(self) -> None:
        if self.size > MAX_TAR_HEADER_BYTES:
            raise tarfile.HeaderError(f"a header of {self.size:,} bytes (the limit is {MAX_TAR_HEADER_BYTES:,})")


def open_tar(path: Path) -> tarfile.TarFile:
    """A tar archive whose headers are bounded before they are read (``_BoundedTarInfo``)."""
    return tarfile.open(path, "r:*", tarinfo=_BoundedTarInfo)


def tar_problem(err: BaseException) -> str:
    """Why an archive cannot be read, in one short line: opening with ``r:*`` lists every method tarfile
    tried, one per line, which says nothing to a user."""
    text = str(err)
    if isinstance(err, RecursionError):
        return "long-name or pax headers chained too deeply"
    if text.startswith("file could not be opened successfully"):
        gz = re.search(r"method gz: \w+\(['\"](.+?)['\"]\)", text)  # a gzip file: what was wrong inside it
        if gz and gz.group(1) not in ("not a gzip file", "invalid header", "empty file"):
            return gz.group(1)[:200]
        return "not a tar archive, plain or compressed with gzip, bz2 or xz"
    return (text.splitlines() or [type(err).__name__])[0][:200]


def not_a_file(member: tarfile.TarInfo) -> str:
    """Why a review's path in the archive cannot be read: it is a link, folder or device."""
    kind = ("a symbolic link" if member.issym() else "a hard link" if member.islnk() else
            "a folder" if member.isdir() else "a device or pipe")
    return f"{kind} in the archive, not a file"


def tar_members(path: Path) -> Iterator[Member]:
    """Every member of the archive at ``path``, in archive order, with a function that reads its data
    (valid until the next member is asked for). Raises tarfile's errors (``ReadError``, ``HeaderError``),
    ``EOFError`` or ``OSError`` for an archive that cannot be read, as tarfile does."""
    with open(path, "rb") as f:
        if f.read(2) != b"\x1f\x8b":
            yield from _tarfile_members(open_tar(path))
            return
        f.seek(0)
        yield from _lean_members(_Inflated(f))


def _tarfile_members(tar: tarfile.TarFile) -> Iterator[Member]:
    with tar:
        while (member := tar.next()) is not None:
            tar.members.clear()  # tarfile keeps every header it has read: a million empty files add up
            yield member, (lambda m=member: tar.extractfile(m).read())


class _Inflated:
    """A gzip file's bytes (any number of gzip members, zero padding after one), decompressed forward."""

    def __init__(self, f):
        self.f, self.inflate, self.buf, self.pos = f, zlib.decompressobj(31), b"", 0

    def _more(self) -> bool:
        """More bytes at the end of the buffer; False at the end of the file."""
        while True:
            if self.inflate.eof:  # a gzip member ended: another may follow, after zero padding
                rest = self.inflate.unused_data.lstrip(b"\0")
                while len(rest) < 2 and (data := self.f.read(READ_BYTES)):
                    rest = (rest + data).lstrip(b"\0")
                if not rest:
                    return False
                if not rest.startswith(b"\x1f\x8b"):
                    raise tarfile.ReadError("not a gzip file after its first part")
                self.inflate, data = zlib.decompressobj(31), rest
            else:
                data = self.inflate.unconsumed_tail or self.f.read(READ_BYTES)
                if not data:
                    raise EOFError("the archive ends before its compressed data does")
            try:
                out = self.inflate.decompress(data, MAX_INFLATE)
            except zlib.error as err:
                raise tarfile.ReadError(f"damaged compressed data ({err})") from None
            if out:
                self.buf, self.pos = self.buf[self.pos:] + out, 0
                return True

    def take(self, n: int) -> bytes:
        """The next ``n`` bytes (fewer at the end of the file)."""
        while len(self.buf) - self.pos < n and self._more():
            pass
        out = self.buf[self.pos:self.pos + n]
        self.pos += len(out)
        return out

    def skip(self, n: int) -> bool:
        """Pass over ``n`` bytes without keeping them; False when the file ends first."""
        while len(self.buf) - self.pos < n:
            n -= len(self.buf) - self.pos
            self.buf, self.pos = b"", 0
            if not self._more():
                return False
        self.pos += n
        return True

    def give_back(self, n: int) -> None:
        """The last ``n`` bytes taken are read again (a header just taken is still in the buffer)."""
        self.pos -= n

    def read(self, n: int = -1) -> bytes:
        """For tarfile, when it takes over (``r|``, which only ever reads forward)."""
        if n < 0:
            raise ValueError("reads are bounded")
        return self.take(n)


def _plain_header(block: bytes) -> tarfile.TarInfo | None:
    """A header as tarfile's ``frombuf`` reads it, for the plain types only; None for anything else,
    which is left to tarfile."""
    kind = block[156:157]
    size_field, sum_field = block[124:136], block[148:156]
    if kind not in _PLAIN or size_field[0] & 0x80 or sum_field[0] & 0x80:  # base-256 numbers
        return None
    try:
        size = int(size_field.split(b"\0", 1)[0].strip() or b"0", 8)
        checksum = int(sum_field.split(b"\0", 1)[0].strip() or b"0", 8)
    except ValueError:
        return None
    if size < 0:  # int() takes a sign; tarfile would read this header forever
        raise tarfile.ReadError("a header with a negative size")
    if checksum != sum(block) - sum(sum_field) + 256:  # the checksum field counts as eight spaces
        return None
    # as tarfile's frombuf, in its order: an old folder's slash, folder names without it, then the prefix
    name = block[:100].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    if kind == b"\0" and name.endswith("/"):
        kind = b"5"
    if kind == b"5":
        name = name.rstrip("/")
    prefix = block[345:500].split(b"\0", 1)[0]  # joined whatever the magic says, as tarfile does
    if prefix:
        name = prefix.decode("utf-8", "surrogateescape") + "/" + name
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    return info


def _lean_members(stream: _Inflated) -> Iterator[Member]:
    first = True
    while True:
        block = stream.take(BLOCK)
        if not block:
            if first:
                raise tarfile.ReadError("empty file")
            return
        if len(block) < BLOCK:
            raise tarfile.ReadError("truncated header")
        if block == _ZEROS:
            return
        info = _plain_header(block)
        if info is None:  # tarfile reads this header and every one after it
            stream.give_back(BLOCK)
            yield from _tarfile_members(tarfile.open(fileobj=stream, mode="r|", tarinfo=_BoundedTarInfo))
            return
        first = False
        size = info.size if info.type in _REGULAR else 0  # tarfile skips no data after the other plain types
        left = [-(-size // BLOCK) * BLOCK]  # the data and its padding, not yet passed

        def read(size: int = size, left: list[int] = left) -> bytes:
            if left[0] < size:
                raise tarfile.StreamError("a member's data can be read once, before the next member")
            data = stream.take(size)
            if len(data) < size:
                raise tarfile.ReadError("unexpected end of data")
            left[0] -= size
            return data

        yield info, read
        if not stream.skip(left[0]):
            raise tarfile.ReadError("unexpected end of data")
