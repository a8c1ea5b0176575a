"""One line, never garbage (issue 33): each class of payload fed to every entry point it concerns.

- text encodings: a byte-order mark names UTF-8, UTF-16 or UTF-32 and the file reads as the same rows as
  its UTF-8 twin; NUL-bearing text without a mark is refused whole in one line, a NUL later in a file
  rejects its row (serve.batch, serve.convert, serve.compare, the Annotate, Data and Compare uploads,
  the rows Spark's executors cut, the trainer's readers);
- lone surrogates: typed text (Analyze, /predict, /explain) is refused in one sentence; in files (TXT,
  CSV, JSONL ``\\ud800``) the row is rejected; the codec itself treats one as a separator;
- ids: a column named review_id, reviewId, ID... is the id everywhere, ``--id-column`` names another, and
  the uploads say which column they took;
- a full disk (ENOSPC faked at the writer) and an unwritable folder: one line, exit 2, files unchanged,
  no temporary left, no traceback later;
- serve.spark under umask 077 writes 0600 files in 0700 folders, as serve.batch does;
- serve.convert without pyarrow says in one line which extra to install;
- a 200 MiB Parquet cell is refused from its page sizes, never decoded (memory measured in a child).
"""

from __future__ import annotations

import codecs
import csv
import errno
import gc
import io
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from sentilens.errors import DataError, InputError

REVIEWS = [("r1", "the plot was splendid", "pos"), ("r2", "a dreadful night", "neg"), ("r3", "splendid café", "pos")]
BOMS = {"utf-8-sig": b"", "utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE,
        "utf-32-le": codecs.BOM_UTF32_LE, "utf-32-be": codecs.BOM_UTF32_BE}


def table(kind: str, id_name: str = "id") -> str:
    """The three reviews as a CSV, JSONL or TXT text."""
    if kind == "csv":
        return f"{id_name},text,label\n" + "".join(f"{i},{t},{y}\n" for i, t, y in REVIEWS)
    if kind == "jsonl":
        return "".join(json.dumps({id_name: i, "text": t, "label": y}) + "\n" for i, t, y in REVIEWS)
    return "".join(f"{t}\n" for _, t, _ in REVIEWS)


def encoded(text: str, encoding: str) -> bytes:
    return BOMS[encoding] + text.encode(encoding)  # utf-8-sig writes its own mark


def batch(model_dir: Path, src: Path, out: Path, *args: str) -> tuple[list[dict], list[dict]]:
    from serve.jobs.batch import main

    assert main([str(src), "-o", str(out), "--model", str(model_dir), "--quiet", *args]) == 0
    with open(out, newline="", encoding="utf-8") as f:
        scored = list(csv.DictReader(f))
    with open(f"{out}.rejected.csv", newline="", encoding="utf-8") as f:
        return scored, list(csv.DictReader(f))


def spark_rows(src: Path, **kwargs) -> list[tuple[str, str | None, str | None]]:
    """What Spark's executors make of the file: serve.batch's readers over its bytes (``file_rows``)."""
    from sentilens.sources import file_rows

    return [(where.rsplit(":", 1)[1], json.loads(row)["id"] if row else None, problem)
            for where, row, _, problem in file_rows(src.name, src.read_bytes(), src.suffix, **kwargs)]


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err


# ---- text encodings ------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", list(BOMS))
@pytest.mark.parametrize("kind", ["csv", "jsonl", "txt"])
def test_a_byte_order_mark_names_the_encoding_at_every_entry_point(tiny_model_dir, tmp_path, kind, encoding):
    """Before: a UTF-16 TXT had its line 1 rejected and two NUL-interleaved garbage rows scored, exit 0."""
    from serve.app.annotate_intake import load_reviews
    from serve.app.data_slices import score_file
    from serve.app.uploads import read_upload
    from serve.jobs.compare import compare
    from serve.runtime import SentimentModel
    from serve.store.annotations import AnnotationStore
    from sentilens.sources import read_table

    plain, src = tmp_path / f"plain.{kind}", tmp_path / f"marked.{kind}"
    plain.write_text(table(kind), encoding="utf-8")
    src.write_bytes(encoded(table(kind), encoding))
    want, _ = batch(tiny_model_dir, plain, tmp_path / "plain.out.csv")
    got, rejected = batch(tiny_model_dir, src, tmp_path / "marked.out.csv")
    assert rejected == [] and got == want and len(got) == 3
    texts = [t for _, t, _ in REVIEWS]
    assert [r.text for r in read_table(src)] == texts  # what the trainer and every reader read
    assert [(n, i) for n, i, _ in spark_rows(src)] == [(n, i) for n, i, _ in spark_rows(plain)]
    model = SentimentModel(tiny_model_dir)
    assert [r.text for r in read_upload(src, on_bad_row=lambda w, p: pytest.fail(p))] == texts
    assert list(score_file(model, src, None).frame["text"]) == texts  # the Data tab
    assert "3 reviews" in load_reviews(AnnotationStore(tmp_path / "a.sqlite3"), model, src)
    assert compare(model, model, src, read=read_upload)["reviews"] == 3  # the Compare upload


def test_an_aclimdb_member_is_decoded_by_the_same_rule(tmp_path):
    from sentilens.sources import read_aclimdb
    from tests.synthetic import write_aclimdb

    tree = write_aclimdb(tmp_path, per_folder=1)
    marked, nul = next((tree / "train" / "pos").iterdir()), next((tree / "train" / "neg").iterdir())
    marked.write_bytes(encoded("a splendid film", "utf-16-le"))
    nul.write_bytes("a dreadful film".encode("utf-16-le"))  # no mark: NUL bytes
    problems: list[tuple[str, str]] = []
    records = read_aclimdb(tree, on_bad_row=lambda w, p: problems.append((w, p)))
    texts = {r.where.rsplit("/", 1)[1]: r.text for r in records}
    assert texts[marked.name] == "a splendid film" and nul.name not in texts
    assert [(w.rsplit("/", 1)[1], p.split(",")[0]) for w, p in problems] == [(nul.name, "holds NUL bytes")]


def test_nul_text_without_a_mark_is_refused_in_one_line_everywhere(tiny_model_dir, tmp_path, capsys):
    from serve.app.annotate_intake import load_reviews
    from serve.app.data_slices import score_file
    from serve.app.uploads import read_upload
    from serve.jobs.batch import main as batch_main
    from serve.jobs.compare import main as compare_main
    from serve.jobs.convert import main as convert_main
    from serve.runtime import SentimentModel
    from serve.store.annotations import AnnotationStore
    from sentilens.sources import read_table
    from trainer.data import load_extra

    model = SentimentModel(tiny_model_dir)
    for name in ("bare16.txt", "bare16.csv", "bare32.jsonl", "binary.txt"):
        src = tmp_path / name
        data = {"bare16.txt": table("txt").encode("utf-16-le"), "bare16.csv": table("csv").encode("utf-16-be"),
                "bare32.jsonl": table("jsonl").encode("utf-32-le"),
                "binary.txt": b"splendid\n\x89PNG\r\n\x1a\n\0\0\0\rIHDR"}[name]
        src.write_bytes(data)
        out = tmp_path / f"{name}.out.csv"
        assert batch_main([str(src), "-o", str(out), "--model", str(tiny_model_dir), "--quiet"]) == 2
        assert "holds NUL bytes" in one_line(capsys) and not out.exists()
        assert convert_main([str(src), "-o", str(tmp_path / f"{name}.parquet")]) == 2
        assert "holds NUL bytes" in one_line(capsys)
        assert compare_main([str(tiny_model_dir), str(tiny_model_dir), str(src)]) == 2
        assert "holds NUL bytes" in one_line(capsys)
        for read in (lambda: list(read_table(src)), lambda: spark_rows(src), lambda: load_extra([src])):
            with pytest.raises(DataError, match="holds NUL bytes"):
                read()
        for upload in (lambda: list(read_upload(src, lambda w, p: None)), lambda: score_file(model, src, None),
                       lambda: load_reviews(AnnotationStore(tmp_path / f"{name}.sqlite3"), model, src)):
            with pytest.raises(InputError, match="holds NUL bytes"):
                upload()


def test_a_nul_later_in_a_file_rejects_its_row(tiny_model_dir, tmp_path):
    src = tmp_path / "late.csv"
    rows = "".join(f"r{i},splendid {i}\n" for i in range(6000))  # past the first 64 KB
    src.write_bytes(f"id,text\n{rows}bad,dread\0ful\nlast,dreadful\n".encode())
    scored, rejected = batch(tiny_model_dir, src, tmp_path / "late.out.csv")
    assert len(scored) == 6001 and scored[-1]["id"] == "last"
    assert [(r["where"].rsplit(":", 1)[1], r["problem"]) for r in rejected] == [
        ("6002", "the text holds a NUL character, so it is not text")]
    assert spark_rows(src)[-2][2] == "the text holds a NUL character, so it is not text"


# ---- lone surrogates -----------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["a splendid \ud800 film", "\udcff", "dreadful\ud83d", "nul\0here"])
def test_typed_text_with_a_lone_surrogate_or_a_nul_is_one_sentence(tiny_model_dir, text):
    """Before: Analyze dropped its response (the surrogate could not be encoded back to the page)."""
    from serve.app.analysis import explain, predict
    from serve.runtime import SentimentModel

    model = SentimentModel(tiny_model_dir)
    for call in (lambda: predict(model, text), lambda: explain(model, text)):  # /predict, /explain, Analyze
        with pytest.raises(InputError, match="not text"):
            call()


def test_analyze_and_the_api_answer_a_lone_surrogate_in_one_sentence(tiny_model_dir):
    gr = pytest.importorskip("gradio")
    from serve.app.analyze_tab import AnalyzeHandlers
    from serve.app.ui_safety import user_errors
    from serve.runtime import SentimentModel

    handlers = AnalyzeHandlers(SentimentModel(tiny_model_dir), None)
    with pytest.raises(gr.Error) as err:
        user_errors(handlers.analyze)("a splendid \ud800 film", "running")
    assert "not text" in str(err.value) and "Traceback" not in str(err.value)


def test_lone_surrogates_in_files_reject_their_row_and_the_codec_never_crashes(tiny_model_dir, tmp_path):
    from sentilens.codec import tokenize

    files = {  # name: (bytes, the id scored, the rows rejected)
        "s.jsonl": (b'{"id": "a", "text": "splendid \\ud800"}\n{"id": "b", "text": "dreadful"}\n'
                    b'{"id": "c\\udfff", "text": "splendid"}\n', "b", {"1": "the text", "3": "the id"}),
        "s.csv": (b"id,text\na,splendid \xed\xa0\x80\nb,dreadful\n", "b", {"2": "the text"}),  # U+D800 as WTF-8
        "s.txt": (b"splendid \xff\ndreadful\n", "2", {"1": "the text"}),
    }
    for name, (data, kept, refused) in files.items():
        src = tmp_path / name
        src.write_bytes(data)
        scored, rejected = batch(tiny_model_dir, src, tmp_path / f"{name}.out.csv")
        assert [r["id"] for r in scored] == [kept], name
        assert {r["where"].rsplit(":", 1)[1]: r["problem"] for r in rejected} == \
            {line: f"{what} is not UTF-8" for line, what in refused.items()}, name
        assert {n: p for n, _, p in spark_rows(src) if p} == {n: f"{w} is not UTF-8" for n, w in refused.items()}
    # the codec's rule, were a surrogate ever to reach it: a separator, as any other non-letter
    assert tokenize("ab\ud800cd") == ["ab", "cd"] and tokenize("\udcff") == []


def test_a_lone_surrogate_in_a_name_is_refused_or_left_out(tiny_model_dir, tmp_path, capsys):
    """A column's name: in a CSV header the file is refused in one line; a JSONL key that is not the text's is
    left out of the row's other columns (the row itself is fine); an annotator's name: one sentence."""
    from serve.app.uploads import read_upload
    from sentilens.names import person_name
    from serve.jobs.batch import main as batch_main

    header = tmp_path / "h.csv"
    header.write_bytes(b"id,text,n\xffote\n1,splendid,x\n")
    assert batch_main([str(header), "-o", str(tmp_path / "h.out.csv"), "--model", str(tiny_model_dir), "--quiet"]) == 2
    assert "header is not UTF-8" in one_line(capsys)
    keys = tmp_path / "k.jsonl"
    keys.write_text('{"id": "a", "text": "splendid", "no\\ud800te": "x", "note": "kept"}\n', encoding="utf-8")
    assert [r.extra for r in read_upload(keys, lambda w, p: pytest.fail(p))] == [(("note", "kept"),)]
    with pytest.raises(InputError, match="lone surrogates"):
        person_name("an\ud800", "annotator name")


# ---- ids -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("id_name", ["review_id", "reviewId", "ID", "uid", "Key"])
def test_a_common_id_column_name_is_the_id_at_every_entry_point(tiny_model_dir, tmp_path, id_name):
    """Before: a CSV whose id column was review_id got row numbers as ids."""
    pq = pytest.importorskip("pyarrow.parquet")
    from serve.app.annotate_intake import load_reviews
    from serve.app.data_slices import score_file
    from serve.app.uploads import id_note, read_upload
    from serve.jobs.compare import compare
    from serve.jobs.convert import main as convert
    from serve.runtime import SentimentModel
    from serve.store.annotations import AnnotationStore

    ids = [i for i, _, _ in REVIEWS]
    model = SentimentModel(tiny_model_dir)
    for kind in ("csv", "jsonl"):
        src = tmp_path / f"ids.{kind}"
        src.write_text(table(kind, id_name), encoding="utf-8")
        scored, _ = batch(tiny_model_dir, src, tmp_path / f"{kind}.out.csv")
        assert [r["id"] for r in scored] == ids
        assert [i for _, i, _ in spark_rows(src)] == ids
        assert [r.id for r in read_upload(src, lambda w, p: None)] == ids
        assert list(score_file(model, src, None).frame["id"]) == ids
        assert id_note(src) == f"ids from the column {id_name!r}"
        store = AnnotationStore(tmp_path / f"{kind}.sqlite3")
        load_reviews(store, model, src)
        with store._connect() as db:
            assert [r[0].partition("#")[2] for r in db.execute("SELECT item_id FROM items ORDER BY rowid")] == ids
        assert {c["id"] for c in compare(model, model, src)["changed"]} <= set(ids)
        # the column is not kept twice: it is the id, not one of the row's other columns
        assert all(name != id_name for r in read_upload(src, lambda w, p: None) for name, _ in r.extra)
        out = tmp_path / f"{kind}.parquet"
        assert convert([str(src), "-o", str(out)]) == 0
        assert pq.read_table(out).column("id").to_pylist() == ids
        scored, _ = batch(tiny_model_dir, out, tmp_path / f"{kind}.pq.out.csv")  # and back through Parquet
        assert [r["id"] for r in scored] == ids


def test_id_column_names_another_column_or_fails_in_one_line(tiny_model_dir, tmp_path, capsys):
    from serve.app.uploads import id_note
    from serve.jobs.convert import main as convert

    src = tmp_path / "named.csv"
    src.write_text("id,isbn,text\n1,x-1,splendid\n2,x-2,dreadful\n", encoding="utf-8")
    scored, _ = batch(tiny_model_dir, src, tmp_path / "named.out.csv", "--id-column", "isbn")
    assert [r["id"] for r in scored] == ["x-1", "x-2"]
    assert [i for _, i, _ in spark_rows(src, id_column="isbn")] == ["x-1", "x-2"]
    none = tmp_path / "none.csv"
    none.write_text("text\nsplendid\n", encoding="utf-8")
    assert [r["id"] for r in batch(tiny_model_dir, none, tmp_path / "none.out.csv")[0]] == ["2"]
    assert id_note(none) == "ids are line numbers, the file has no id column"
    from serve.jobs.batch import main as batch_main

    assert batch_main([str(src), "-o", str(tmp_path / "x.csv"), "--model", str(tiny_model_dir), "--id-column",
                       "nope"]) == 2
    assert "no id column 'nope'" in one_line(capsys)
    assert convert([str(src), "-o", str(tmp_path / "x.parquet"), "--id-column", "nope"]) == 2
    assert "no id column 'nope'" in one_line(capsys)
    txt = tmp_path / "t.txt"
    txt.write_text("splendid\n", encoding="utf-8")
    assert batch_main([str(txt), "-o", str(tmp_path / "t.csv"), "--model", str(tiny_model_dir), "--id-column",
                       "id"]) == 2
    assert "has no columns" in one_line(capsys)


# ---- a full disk ---------------------------------------------------------------------------------

class FullDisk(io.RawIOBase):
    """A staged output on a disk that fills after ``room`` bytes: every write past it fails with ENOSPC."""

    def __init__(self, f, room: int):
        self.f, self.room = f, room

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        if len(b) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(b)
        return self.f.write(b)

    def fileno(self) -> int:
        return self.f.fileno()

    def close(self) -> None:
        self.f.close()
        super().close()


@pytest.mark.parametrize("at", ["start", "middle", "end"])  # the end: a Parquet footer, the last CSV bytes
def test_a_full_disk_is_one_line_and_leaves_everything_as_it_was(tiny_model_dir, tmp_path, capsys, monkeypatch, at):
    pytest.importorskip("pyarrow")
    import sentilens.staging as staging
    from serve.jobs.batch import main as batch_main
    from serve.jobs.compare import main as compare_main
    from serve.jobs.convert import main as convert_main

    src = tmp_path / "in.csv"
    src.write_text("id,text\n" + "".join(f"r{i},the plot was splendid {i} times\n" for i in range(3000)),
                   encoding="utf-8")
    jobs = {"scores.csv": lambda out: batch_main([str(src), "-o", str(out), "--model", str(tiny_model_dir), "--quiet"]),
            "scores.parquet": lambda out: batch_main([str(src), "-o", str(out), "--model", str(tiny_model_dir),
                                                      "--quiet"]),
            "converted.parquet": lambda out: convert_main([str(src), "-o", str(out)]),
            "changed.csv": lambda out: compare_main([str(tiny_model_dir), str(tiny_model_dir), str(src), "-o",
                                                     str(out)])}
    unraisable: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: unraisable.append(repr(u.exc_value)))
    real = os.fdopen
    (tmp_path / "free").mkdir()
    for name, job in jobs.items():
        assert job(tmp_path / "free" / name) == 0  # how much it writes with room to spare
        size = (tmp_path / "free" / name).stat().st_size
        room = {"start": 0, "middle": size // 2, "end": size - 4}[at]
        out = tmp_path / name
        out.write_bytes(b"what was there before")
        monkeypatch.setattr(staging.os, "fdopen", lambda fd, mode: FullDisk(real(fd, mode), room))
        capsys.readouterr()
        code = job(out)
        monkeypatch.setattr(staging.os, "fdopen", real)
        gc.collect()  # a writer left open would write into its removed temporary here
        assert code == 2, name
        assert "No space left on device" in one_line(capsys), name
        assert out.read_bytes() == b"what was there before", name
        assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == sorted(
            ["in.csv", *(n for n in jobs if (tmp_path / n).exists())]), name  # no temporary left beside it
    assert unraisable == []


def test_an_unwritable_folder_is_one_line(tiny_model_dir, tmp_path, capsys, monkeypatch):
    """As a user who may not write there (faked: the tests may run as root, who may write anywhere)."""
    import sentilens.staging as staging
    from serve.jobs.batch import main as batch_main
    from serve.jobs.compare import main as compare_main
    from serve.jobs.convert import main as convert_main

    def refused(dir, prefix, suffix):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dir))

    monkeypatch.setattr(staging.tempfile, "mkstemp", lambda dir, prefix, suffix: refused(dir, prefix, suffix))
    src = tmp_path / "in.csv"
    src.write_text("id,text\n1,splendid\n", encoding="utf-8")
    out = tmp_path / "out"
    for job in (lambda: batch_main([str(src), "-o", f"{out}.csv", "--model", str(tiny_model_dir), "--quiet"]),
                lambda: convert_main([str(src), "-o", f"{out}.parquet"]),
                lambda: compare_main([str(tiny_model_dir), str(tiny_model_dir), str(src), "-o", f"{out}.csv"])):
        assert job() == 2
        assert f"{tmp_path}: Permission denied" in one_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


# ---- serve.spark's modes -------------------------------------------------------------------------

@pytest.mark.spark
def test_spark_writes_private_modes_under_umask_077_as_serve_batch_does(tiny_model_dir, tmp_path):
    """Before: serve.spark wrote 0755 folders and 0644 files under umask 077 (serve.batch: 0600). The input is
    a UTF-16 CSV whose ids are in review_id, so Spark's end of the encoding and id rules shows here too."""
    pq = pytest.importorskip("pyarrow.parquet")
    from serve.jobs.spark import SparkJob, run, session

    src = tmp_path / "in.csv"
    src.write_bytes(encoded(table("csv", "review_id") + "r4,\n", "utf-16-le"))
    spark = session("local[2]")
    old = os.umask(0o077)
    try:
        summary = run(spark, SparkJob(str(src), str(tmp_path / "scored"), str(tiny_model_dir)))
        scored, _ = batch(tiny_model_dir, src, tmp_path / "batch.csv")
    finally:
        os.umask(old)
        spark.stop()
    assert (summary["rows_in"], summary["scored"], summary["rejected"]) == (4, 3, 1)
    assert sorted(pq.read_table(tmp_path / "scored").column("id").to_pylist()) == sorted(r["id"] for r in scored) == \
        ["r1", "r2", "r3"]
    modes = {p.relative_to(tmp_path).as_posix(): stat.S_IMODE(p.stat().st_mode)
             for p in [tmp_path / "scored", *(tmp_path / "scored").rglob("*")]}
    assert {m for p, m in modes.items() if (tmp_path / p).is_dir()} == {0o700}, modes
    assert {m for p, m in modes.items() if (tmp_path / p).is_file()} == {0o600}, modes
    assert stat.S_IMODE((tmp_path / "batch.csv").stat().st_mode) == 0o600


# ---- Parquet in the serving install --------------------------------------------------------------

def test_convert_without_pyarrow_names_the_extra_in_one_line(tmp_path, capsys, monkeypatch):
    from serve.jobs.convert import main as convert_main

    src = tmp_path / "in.csv"
    src.write_text("id,text\n1,splendid\n", encoding="utf-8")
    for name in ("pyarrow", "pyarrow.parquet"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails, as in the serving install
    assert convert_main([str(src), "-o", str(tmp_path / "out.parquet")]) == 2
    assert 'pip install -e ".[spark]"' in one_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


# ---- a 200 MiB Parquet cell ----------------------------------------------------------------------

def test_parquet_page_headers_are_read_as_pyarrow_wrote_them(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from sentilens.sources.parquet_pages import pages

    path = tmp_path / "pages.parquet"
    texts = [f"review {i} " * (i % 50) for i in range(20_000)]
    for dictionary in (True, False):
        for version in ("1.0", "2.0"):
            pq.write_table(pa.table({"text": texts}), path, use_dictionary=dictionary, data_page_size=64 * 1024,
                           data_page_version=version, write_statistics=True, row_group_size=7_000)
            meta = pq.ParquetFile(path).metadata
            for g in range(meta.num_row_groups):
                chunk = meta.row_group(g).column(0)
                start = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
                with open(path, "rb") as f:
                    found = list(pages(f, start, chunk.total_compressed_size))
                data = [p for p in found if p.kind in (0, 3)]
                assert len(data) > 1 and sum(p.values for p in data) == meta.row_group(g).num_rows
                assert any(p.kind == 2 for p in found) == chunk.has_dictionary_page


@pytest.mark.server
def test_a_200_mib_parquet_cell_is_refused_from_its_page_sizes_without_being_decoded(tiny_model_dir, tmp_path):
    """Before: serve.batch peaked at 0.9 GB decoding the cell only to refuse it by its length."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from tests.test_exhaustion import peak_mb, rejected_rows

    big = "x" * (200 * 2**20)
    for dictionary in (True, False):
        path = tmp_path / f"cell{dictionary}.parquet"
        with pq.ParquetWriter(path, pa.schema([("id", pa.string()), ("text", pa.string())]), compression="zstd",
                              use_dictionary=dictionary) as writer:
            writer.write_table(pa.table({"id": ["a", "b", "c"], "text": ["fine", big, "also fine"]}))
            writer.write_table(pa.table({"id": ["d"], "text": ["the plot was splendid"]}))  # read as always
        out = tmp_path / f"out{dictionary}.csv"
        peak, result = peak_mb(f"from serve.jobs.batch import main\nout['code'] = main([{str(path)!r}, '-o', "
                               f"{str(out)!r}, '--model', {str(tiny_model_dir)!r}, '--quiet'])")
        assert result["code"] == 0 and peak < 400, peak
        with open(out, newline="", encoding="utf-8") as f:
            assert [r["id"] for r in csv.DictReader(f)] == ["d"]
        problems = [(r["where"].rsplit(":", 1)[1], r["problem"]) for r in rejected_rows(out)]
        assert [n for n, _ in problems] == ["1", "2", "3"] and all("its page sizes say so" in p for _, p in problems)


def test_the_app_says_in_one_sentence_when_the_server_disk_fails():
    """A full or unwritable disk under an app handler (an export, an upload's copy) is one sentence with the
    system's reason, never "Something went wrong" nor a traceback."""
    import errno

    import gradio as gr

    from serve.app.ui_safety import user_errors

    def export():
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(gr.Error) as caught:
        user_errors(export)()
    assert "No space left on device" in caught.value.message and "went wrong" not in caught.value.message
