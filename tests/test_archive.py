"""sentilens/archive.py: the lean tar reader gives what tarfile gives, member for member, on archives of
every format tarfile writes, and refuses what tarfile refuses."""

import gzip
import io
import tarfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentilens.archive import MAX_TAR_HEADER_BYTES, tar_members
from sentilens.errors import DataError
from sentilens.sources import read_aclimdb

FORMATS = {"ustar": tarfile.USTAR_FORMAT, "gnu": tarfile.GNU_FORMAT, "pax": tarfile.PAX_FORMAT}


def _tar(entries: list[tuple[str, str, bytes]], fmt: int) -> bytes:
    """A tar of (kind, name, data) entries; kind is file, dir, symlink, hardlink or fifo."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for kind, name, data in entries:
            info = tarfile.TarInfo(name)
            info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                         "hardlink": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE}[kind]
            if kind in ("symlink", "hardlink"):
                info.linkname = "aclImdb/test/pos/0_9.txt"
            info.size = len(data) if kind == "file" else 0
            tar.addfile(info, io.BytesIO(data) if kind == "file" else None)
    return buf.getvalue()


def _as_tarfile_reads(path) -> list[tuple]:
    with tarfile.open(path, "r:*") as tar:
        return [(m.name, m.size, m.type, m.isfile(), tar.extractfile(m).read() if m.isfile() else None) for m in tar]


def _as_we_read(path) -> list[tuple]:
    return [(m.name, m.size, m.type, m.isfile(), read() if m.isfile() else None) for m, read in tar_members(path)]


names = st.text(st.characters(min_codepoint=32, max_codepoint=0x24F, exclude_characters="/\\\0"), min_size=1,
                max_size=60)
entries = st.lists(st.tuples(st.sampled_from(["file", "file", "file", "dir", "symlink", "hardlink", "fifo"]),
                             st.lists(names, min_size=1, max_size=4).map("/".join),
                             st.binary(max_size=1500)), max_size=12)


@settings(max_examples=150, deadline=None)
@given(entries=entries, fmt=st.sampled_from(list(FORMATS)), parts=st.integers(1, 3))
def test_every_member_as_tarfile_reads_it(tmp_path_factory, entries, fmt, parts):
    """Names up to 240 characters (GNU long names, pax headers), non-ASCII names, folders, links and
    fifos, empty and odd-sized files, and a gzip file in several parts: the same members, in order, with
    the same bytes."""
    raw = _tar(entries, FORMATS[fmt])
    cut = [len(raw) * i // parts for i in range(parts + 1)]
    path = tmp_path_factory.mktemp("t") / "a.tar.gz"
    path.write_bytes(b"".join(gzip.compress(raw[a:b]) for a, b in zip(cut, cut[1:])))
    assert _as_we_read(path) == _as_tarfile_reads(path)


def test_skipped_members_and_zero_padding_after_the_gzip_data(tmp_path):
    raw = _tar([("file", f"aclImdb/test/pos/{i}_9.txt", b"good film " * (i * 37)) for i in range(40)],
               tarfile.GNU_FORMAT)
    path = tmp_path / "a.tar.gz"
    path.write_bytes(gzip.compress(raw) + bytes(1000))
    expected = _as_tarfile_reads(path)
    got = [(m.name, read()) for i, (m, read) in enumerate(tar_members(path)) if i % 3 == 0]  # most never read
    assert got == [(name, data) for i, (name, _, _, _, data) in enumerate(expected) if i % 3 == 0]


@pytest.mark.parametrize("damage, why", [
    (lambda gz, raw: gz[: len(gz) // 2], "ends before its compressed data|unexpected end of data"),
    (lambda gz, raw: gzip.compress(raw[:1024]) + b"garbage" + gzip.compress(raw[1024:]),
     "not a gzip file after its first part"),
    (lambda gz, raw: gz[:10] + bytes(b ^ 0x55 for b in gz[10:40]) + gz[40:], "damaged compressed data|invalid"),
    (lambda gz, raw: gzip.compress(raw[:700]), "unexpected end of data"),  # a member's data cut short
    (lambda gz, raw: gzip.compress(raw[:512 + 1024 + 300]), "truncated header|unexpected end of data"),
    (lambda gz, raw: gzip.compress(b""), "empty file"),
])
def test_a_damaged_archive_is_refused_as_a_whole(tmp_path, damage, why):
    """Damage anywhere stops the read with tarfile's error type, said in one line by the readers."""
    raw = _tar([("file", "aclImdb/test/pos/1_9.txt", b"x" * 1000), ("file", "aclImdb/test/neg/2_1.txt", b"y" * 99)],
               tarfile.USTAR_FORMAT)
    path = tmp_path / "a.tar.gz"
    path.write_bytes(damage(gzip.compress(raw), raw))
    with pytest.raises((tarfile.TarError, EOFError, OSError), match=why):
        _as_we_read(path)
    with pytest.raises(DataError, match="not a readable .tar.gz"):
        list(read_aclimdb(path))


def test_a_bad_checksum_mid_archive_is_refused_not_taken_as_the_end(tmp_path):
    """tarfile ends an archive quietly at a damaged header after the first; reviews would be lost without a
    word. Here tarfile is handed that header and refuses it."""
    raw = bytearray(_tar([("file", "aclImdb/test/pos/1_9.txt", b"x" * 10), ("file", "aclImdb/test/pos/2_9.txt",
                                                                             b"z" * 10)], tarfile.USTAR_FORMAT))
    raw[1024 + 10] ^= 1  # the second header's name
    path = tmp_path / "a.tar.gz"
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(tarfile.ReadError, match="bad checksum"):
        _as_we_read(path)


def test_a_huge_long_name_header_is_refused_before_it_is_read(tmp_path):
    """The bound on GNU long-name and pax headers holds when tarfile takes over from the lean reader."""
    raw = _tar([("file", "aclImdb/test/pos/1_9.txt", b"x"), ("file", "a" * (MAX_TAR_HEADER_BYTES + 10), b"y")],
               tarfile.GNU_FORMAT)
    path = tmp_path / "a.tar.gz"
    path.write_bytes(gzip.compress(raw))
    with pytest.raises(tarfile.HeaderError, match="a header of"):
        _as_we_read(path)


@pytest.mark.parametrize("mode", ["w", "w:bz2", "w:xz"])
def test_archives_not_gzip_are_read_by_tarfile(tmp_path, mode):
    path = tmp_path / "a.tar.gz"
    with tarfile.open(path, mode) as tar:
        info = tarfile.TarInfo("aclImdb/test/pos/1_9.txt")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"good"))
    assert _as_we_read(path) == _as_tarfile_reads(path) == [("aclImdb/test/pos/1_9.txt", 4, b"0", True, b"good")]


def _header(name: bytes, size: bytes, kind: bytes = b"0", prefix: bytes = b"", magic: bytes = b"") -> bytes:
    """One 512-byte header written by hand (fields tarfile would not write), its checksum made right."""
    block = bytearray(512)
    block[0:len(name)] = name
    block[100:108] = b"0000644\0"
    block[124:136] = size.ljust(11, b" ")[:11] + b"\0"
    block[136:148] = b"00000000000\0"
    block[156:157] = kind
    block[257:257 + len(magic)] = magic
    block[345:345 + len(prefix)] = prefix
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def _gz(*parts: bytes) -> bytes:
    return gzip.compress(b"".join(parts) + bytes(1024))


def _pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % 512)


WHY = {"negative": "negative size", "handover then bad": "damaged header", "sparse": "sparse file",
       "chain": "chained too deeply"}


def test_hand_made_headers_hold_or_are_refused_in_one_line(tmp_path):
    """From an attack on the lean reader: a negative size (tarfile reads that header forever), a prefix
    without the ustar magic (tarfile joins it; the lean reader dropped it and lost the review), a bad
    header after tarfile took over (tarfile ends quietly there), a sparse file and a chain of long-name
    headers (tarfile's IndexError and RecursionError) are each the same members as tarfile or one line."""
    review = _pad(b"a great movie")
    cases = {
        "negative": _gz(_header(b"aclImdb/test/pos/1_9.txt", b"-1000"), review),
        "prefix": _gz(_header(b"1_9.txt", b"%o" % 13, prefix=b"aclImdb/test/pos"), review),
        "handover then bad": _gz(_header(b"././@LongLink", b"%o" % 27, kind=b"L"),
                                 _pad(b"aclImdb/test/pos/" + b"1" * 9 + b"_9.txt"),
                                 _header(b"x", b"%o" % 13), review,
                                 _header(b"aclImdb/test/pos/2_9.txt", b"%o" % 13)[:-1] + b"!", review),
        "sparse": _gz(_header(b"aclImdb/test/pos/1_9.txt", b"%o" % 13, kind=b"S"), review),
        "chain": _gz(*[_header(b"././@LongLink", b"%o" % 20, kind=b"L") + _pad(b"aclImdb/test/pos/1_9.txt")
                       for _ in range(3000)]),
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}.tar.gz"
        path.write_bytes(data)
        if name == "prefix":
            assert [m.name for m, _ in tar_members(path)] == [n for n, *_ in _as_tarfile_reads(path)] == \
                ["aclImdb/test/pos/1_9.txt"]
            assert [r.text for r in read_aclimdb(path)] == ["a great movie"]
            continue
        with pytest.raises(DataError, match=f"not a readable .tar.gz \\(.*{WHY[name]}") as err:
            list(read_aclimdb(path))
        assert "\n" not in str(err.value), name
