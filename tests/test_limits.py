"""Trust, round two: limits checked before the expensive step, on every entry point; nothing
destroyed; only the hosts we serve. Each test feeds one class of payload to every reader of it."""

import http.client
import io
import json
import os
import shutil
import signal
import tarfile
import time

import pytest

from sentilens.errors import DataError, InputError, ModelError
from sentilens.archive import MAX_TAR_HEADER_BYTES
from sentilens.sources import Limits, read_any
from tests.synthetic import review

LIMITS = Limits(max_total_bytes=128 * 2**20, max_members=100_000)


def archive(path, members):
    """A .tar.gz of (TarInfo, bytes) members."""
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def member(name, text=b"splendid night"):
    return tarfile.TarInfo(name), text


@pytest.mark.parametrize("kind", ["gnu long name", "pax header"])
def test_a_huge_tar_header_is_refused_before_it_is_read(tmp_path, kind):
    """tarfile reads a long-name or pax header whole before anything else looks at it."""
    big = "a" * (20 * 2**20)
    path = tmp_path / "bomb.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.GNU_FORMAT if kind == "gnu long name" else tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("aclImdb/train/pos/" + big + "_9.txt" if kind == "gnu long name" else
                               "aclImdb/train/pos/1_9.txt")
        if kind == "pax header":
            info.pax_headers = {"comment": big}
        data = b"splendid"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    assert path.stat().st_size < 200_000  # 20 MB of header in a small file
    for limits in (None, LIMITS):  # the batch scorer (no caps) and the app's uploads alike
        t0 = time.perf_counter()
        with pytest.raises(DataError, match=f"a header of .* bytes \\(the limit is {MAX_TAR_HEADER_BYTES:,}\\)"):
            list(read_any(path, limits=limits))
        assert time.perf_counter() - t0 < 2


def test_links_devices_and_folders_with_a_review_name_are_rejected_and_counted(tmp_path):
    link = tarfile.TarInfo("aclImdb/train/pos/2_9.txt")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hard = tarfile.TarInfo("aclImdb/train/neg/3_1.txt")
    hard.type, hard.linkname = tarfile.LNKTYPE, "aclImdb/train/pos/1_9.txt"
    fifo = tarfile.TarInfo("aclImdb/test/neg/4_2.txt")
    fifo.type = tarfile.FIFOTYPE
    path = tmp_path / "links.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.addfile(*_data(member("aclImdb/train/pos/1_9.txt")))
        for info in (link, hard, fifo):
            tar.addfile(info)
    from sentilens.sources import Tally

    bad, tally = [], Tally()
    records = list(read_any(path, on_bad_row=lambda where, problem: bad.append(problem), tally=tally))
    assert [r.id for r in records] == ["train/pos/1_9"]
    assert sorted(bad) == ["a device or pipe in the archive, not a file", "a hard link in the archive, not a file",
                           "a symbolic link in the archive, not a file"]
    assert tally.rows_in == len(records) + len(bad)


def _data(pair):
    info, data = pair
    info.size = len(data)
    return info, io.BytesIO(data)


def test_an_archive_over_the_upload_limits_adds_nothing_to_the_queue(tiny_model_dir, tmp_path):
    """Refused from its headers before the first review is queued: no half-loaded file."""
    from serve.app.annotate_intake import load_reviews
    from serve.store.annotations import AnnotationStore
    from serve.runtime import SentimentModel
    from serve.app.uploads import LIMITS as UPLOAD_LIMITS

    path = tmp_path / "many.tar.gz"
    n = UPLOAD_LIMITS.max_members + 1
    with tarfile.open(path, "w:gz") as tar:
        for i in range(n):
            info = tarfile.TarInfo(f"aclImdb/train/pos/{i}_9.txt")
            data = f"review {i} splendid".encode()
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    store = AnnotationStore(tmp_path / "db.sqlite3")
    with pytest.raises(InputError, match=f"more than {UPLOAD_LIMITS.max_members:,} files"):
        load_reviews(store, SentimentModel(tiny_model_dir), path)
    assert store.next_item("ann", "file") is None


def test_repeated_ids_never_collide_with_ids_the_file_has(tiny_model_dir, tmp_path):
    from serve.app.annotate_intake import load_reviews
    from serve.store.annotations import AnnotationStore
    from serve.runtime import SentimentModel

    src = tmp_path / "ids.csv"
    src.write_text("id,text\n1,the plot was splendid\n1~2,the music was dreadful\n1,the night was splendid\n"
                   "2,\n")
    store = AnnotationStore(tmp_path / "db.sqlite3")
    report = load_reviews(store, SentimentModel(tiny_model_dir), src)
    assert "3 new in the queue" in report and "1 repeated id kept apart (first: 1~3)" in report
    assert "the review is empty" in report or "the text is empty" in report
    seen = set()
    while (item := store.next_item("ann", "file")) is not None:
        seen.add(item.item_id.partition("#")[2])
        store.decide(item.item_id, "pos", "ann", "sha")
    assert seen == {"1", "1~2", "1~3"}


@pytest.mark.parametrize("lines", [2_000, 4_000, 8_000, 16_000])
def test_unclosed_quotes_cost_linear_time(tmp_path, lines):
    """Every line opens a quote that never closes: each is rejected, and each line is read at most twice."""
    from sentilens.sources import read_table

    path = tmp_path / "quotes.csv"
    path.write_text("id,text\n" + 'x","\n' * lines)
    calls = []
    import sentilens.sources.lines as sources

    real = sources._physical_lines

    def counted(f):
        for item in real(f):
            calls.append(1)
            yield item

    sources._physical_lines = counted
    try:
        bad = []
        assert list(read_table(path, on_bad_row=lambda w, p: bad.append(p))) == []
    finally:
        sources._physical_lines = real
    assert len(bad) == lines and len(calls) == lines + 1  # each physical line is read from the file once


def test_a_chunk_holds_at_most_its_share_of_text():
    from sentilens.sources import Record
    from serve.runtime.scoring import chunks

    big = [Record(str(i), "x" * 3_000_000, None, str(i)) for i in range(20)]
    sizes = [sum(len(r.text) for r in c) for c in chunks(iter(big), size=2048, max_chars=16 * 2**20)]
    assert max(sizes) <= 16 * 2**20 and sum(len(c) for c in chunks(iter(big))) == 20
    lone = [Record("1", "y" * 20_000_000, None, "1")]
    assert [len(c) for c in chunks(iter(lone))] == [1]  # one record longer than the cap is a chunk of its own


def test_a_vocabulary_the_codec_cannot_produce_is_refused(tiny_model_dir, tmp_path):
    """CRLF line ends (the sha256 updated to match) load no more: every word would be unknown."""
    import hashlib

    from serve.runtime import SentimentModel

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    vocab = model / "vocab.txt"
    vocab.write_bytes(vocab.read_bytes().replace(b"\n", b"\r\n"))
    meta = json.loads((model / "metadata.json").read_text())
    meta["sha256"]["vocab.txt"] = hashlib.sha256(vocab.read_bytes()).hexdigest()
    (model / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=r"vocab.txt: line 1 .* is not a word the codec makes"):
        SentimentModel(model)


def test_files_that_each_pass_their_sha256_but_do_not_belong_together_are_refused(tiny_model_dir, tmp_path):
    """The sha256 map is in the metadata it checks: rewritten with it, swapped weights pass every hash.
    The probe reviews, scored at export, do not."""
    import hashlib

    import numpy as np

    from serve.runtime import SentimentModel

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    data = model / "model.onnx.data"
    meta = json.loads((model / "metadata.json").read_text())
    w = meta["onnx"]["weights"]["readout_kernel"]
    raw = bytearray(data.read_bytes())
    kernel = np.frombuffer(bytes(raw[w["offset"]:w["offset"] + w["length"]]), dtype=w["dtype"]) * -1
    raw[w["offset"]:w["offset"] + w["length"]] = kernel.astype(w["dtype"]).tobytes()
    data.write_bytes(bytes(raw))
    meta["sha256"]["model.onnx.data"] = hashlib.sha256(bytes(raw)).hexdigest()
    (model / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="probe reviews .* do not belong together"):
        SentimentModel(model)


@pytest.mark.server
def test_a_request_for_another_host_is_refused(tiny_model_dir, tmp_path):
    """DNS rebinding: a page on attacker.example resolving to 127.0.0.1 must read and write nothing."""
    from tests.servers import Server

    with Server("--model", str(tiny_model_dir), "--db", str(tmp_path / "db.sqlite3"),
                "--allowed-host", "reviews.example.org") as server:
        for host, status in (("rebind.attacker.example", 400), (f"127.0.0.1:{server.port}", 200),
                             (f"localhost:{server.port}", 200), ("reviews.example.org", 200)):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request("GET", "/config", headers={"Host": host})
            response = conn.getresponse()
            body = response.read()
            assert response.status == status, (host, response.status)
            if status == 400:
                assert b"review" not in body.lower()
            conn.close()


@pytest.mark.server
def test_a_stopped_conversion_leaves_no_temporary(tmp_path):
    """SIGTERM to serve.convert: the existing output is untouched and nothing is left beside it."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    pytest.importorskip("pyarrow")
    src = tmp_path / "in.txt"
    src.write_text("".join(review(1, __import__("random").Random(i), 200) + "\n" for i in range(40_000)))
    out = tmp_path / "out.parquet"
    out.write_bytes(b"old")
    os.chmod(out, 0o600)
    proc = subprocess.Popen([sys.executable, "-m", "serve.convert", str(src), "-o", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob(".out.parquet.*.part")):
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM and "stopped by SIGTERM" in err
    assert out.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.parquet"]


def test_a_replaced_output_keeps_its_permissions(tmp_path):
    from sentilens.staging import staged

    out = tmp_path / "scores.csv"
    out.write_text("old")
    os.chmod(out, 0o600)
    with staged(out) as (f,):
        f.write(b"new")
    assert out.read_text() == "new" and (out.stat().st_mode & 0o777) == 0o600


def test_the_trainer_refuses_an_out_folder_holding_other_files(tmp_path):
    """Before any work: --out must be new, empty or an earlier export."""
    from trainer.__main__ import main

    out = tmp_path / "mine"
    (out / "sub").mkdir(parents=True)
    (out / "notes.txt").write_text("keep me")
    (out / "sub" / "data.csv").write_text("keep me too")
    assert main(["--data", str(tmp_path / "missing.tar.gz"), "--out", str(out)]) == 2
    assert (out / "notes.txt").read_text() == "keep me" and (out / "sub" / "data.csv").read_text() == "keep me too"
    from sentilens.staging import check_folder, is_export
    from tests.conftest import ROOT

    assert is_export(ROOT / "exported")
    check_folder(ROOT / "exported")  # an earlier export may be replaced
    with pytest.raises(DataError, match="holds files that are not an earlier export"):
        check_folder(out)


@pytest.mark.parametrize("kind", ["a folder", "not a database"])
def test_a_db_that_is_not_one_is_one_line(tiny_model_dir, tmp_path, capsys, kind):
    from serve.__main__ import main

    db = tmp_path / "notadb.csv"
    if kind == "a folder":
        db.mkdir()
    else:
        db.write_text("id,text\n1,this is not sqlite\n" * 100)
    assert main(["--model", str(tiny_model_dir), "--db", str(db), "--port", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {db}: ")
    if kind == "not a database":
        assert db.read_text().startswith("id,text")  # untouched


def test_a_lone_surrogate_in_a_note_is_a_sentence_not_a_crash(tmp_path):
    from serve.store.annotations import AnnotationStore

    store = AnnotationStore(tmp_path / "db.sqlite3")
    store.add_items([("f#1", "the plot was splendid", 1, 0.9)])
    with pytest.raises(InputError, match="note holds characters that are not text"):
        store.decide("f#1", "pos", "ann", "sha", note="meh\ud800")
    assert store.decide("f#1", "pos", "ann", "sha", note="meh") > 0
