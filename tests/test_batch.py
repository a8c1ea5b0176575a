"""serve.batch on every input kind, with bad rows, on the tiny model."""

import csv
import json
import subprocess
import sys

import pytest

from serve.jobs.batch import main
from tests.conftest import ROOT


def run(tiny_model_dir, *args):
    return main([*args, "--model", str(tiny_model_dir), "--quiet"])


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_csv_with_labels_scores_every_row_and_evaluates(tiny_model_dir, tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text("id,review,label\nr1,The plot was splendid,pos\nr2,The plot was dreadful,neg\nr3,\"Long\nnight, splendid\",1\n")
    out = tmp_path / "out.csv"
    assert run(tiny_model_dir, str(src), "-o", str(out), "--evaluate") == 0
    rows = read_csv(out)
    assert [r["id"] for r in rows] == ["r1", "r2", "r3"]
    assert [r["label"] for r in rows] == ["pos", "neg", "pos"] == [r["true_label"] for r in rows]
    assert all(0 < float(r["probability"]) < 1 for r in rows)
    printed = capsys.readouterr().out
    assert "rows in 3 = scored 3 + rejected 0" in printed
    assert "accuracy 1.0000" in printed and "actual pos" in printed


def test_bad_rows_go_to_a_side_file_with_line_numbers(tiny_model_dir, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"text": "splendid night"}\n{broken\n{"text": ""}\n{"review": 3}\n'
                    b'{"text": "caf\xe9 dreadful"}\n{"text": "fine", "label": "meh"}\n{"text": "dreadful plot"}\n')
    out = tmp_path / "out.jsonl"
    assert run(tiny_model_dir, str(src), "-o", str(out)) == 0
    scored = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in scored] == ["1", "7"]
    rejected = read_csv(tmp_path / "out.jsonl.rejected.csv")
    assert [r["where"].rsplit(":", 1)[1] for r in rejected] == ["2", "3", "4", "5", "6"]
    problems = [r["problem"] for r in rejected]
    assert problems[0].startswith("not valid JSON") and problems[1] == "the text is empty"
    assert problems[2] == "'review' is missing or not a string" and problems[3] == "the text is not UTF-8"
    assert "label 'meh'" in problems[4]
    assert "rows in 7 = scored 2 + rejected 5" in capsys.readouterr().out


def test_txt_and_aclimdb_inputs_and_explain_column(tiny_model_dir, tmp_path, acl_tar):
    txt = tmp_path / "in.txt"
    txt.write_text("the plot was splendid\n\nthe music was dreadful\n")
    out = tmp_path / "txt.csv"
    assert run(tiny_model_dir, str(txt), "-o", str(out), "--explain", "2") == 0
    rows = read_csv(out)
    assert [r["id"] for r in rows] == ["1", "3"]
    assert rows[0]["top_words"].split()[0].startswith("splendid:+")
    assert rows[1]["top_words"].split()[0].startswith("dreadful:-")
    out = tmp_path / "acl.csv"
    assert run(tiny_model_dir, str(acl_tar), "-o", str(out)) == 0
    rows = read_csv(out)
    assert len(rows) == 12 and rows[0]["id"].startswith("test/neg/")


def test_many_rows_stream_in_chunks(tiny_model_dir, tmp_path):
    src = tmp_path / "big.txt"
    src.write_text("".join(("the plot was splendid\n", "dreadful\n")[i % 2] for i in range(5000)))
    out = tmp_path / "big.csv"
    assert run(tiny_model_dir, str(src), "-o", str(out)) == 0
    rows = read_csv(out)
    assert len(rows) == 5000 and rows[4999]["id"] == "5000"
    assert {r["label"] for r in rows[::2]} == {"pos"} and {r["label"] for r in rows[1::2]} == {"neg"}


@pytest.mark.server
@pytest.mark.parametrize("args, message", [
    (["missing.csv", "-o", "out.csv"], "missing.csv: no such file"),
    (["in.csv", "-o", "out.xlsx"], "--output must end in .csv, .jsonl or .parquet"),
    (["in.csv", "-o", "out.csv", "--text-column", "body"], "no column 'body'"),
    (["in.csv", "-o", "out.csv", "--threads", "0"], "--threads >= 1"),
])
def test_wrong_arguments_exit_non_zero_with_a_clear_message(tiny_model_dir, tmp_path, args, message):
    (tmp_path / "in.csv").write_text("text\nsplendid\n")
    proc = subprocess.run([sys.executable, "-m", "serve.batch", *args, "--model", str(tiny_model_dir), "--quiet"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_split_scores_one_aclimdb_split_and_refuses_tables(tiny_model_dir, tmp_path, acl_tar, capsys):
    out = tmp_path / "test.csv"
    assert run(tiny_model_dir, str(acl_tar), "-o", str(out), "--split", "test", "--evaluate") == 0
    rows = read_csv(out)
    assert len(rows) == 6 and all(r["id"].startswith("test/") for r in rows)
    assert "rows in 6 = scored 6 + rejected 0" in capsys.readouterr().out
    (tmp_path / "in.txt").write_text("splendid\n")
    assert run(tiny_model_dir, str(tmp_path / "in.txt"), "-o", str(out), "--split", "test") == 2
    assert "--split applies to aclImdb" in capsys.readouterr().err


@pytest.mark.server
@pytest.mark.parametrize("kind", ["jsonl", "tar"])
def test_a_large_input_is_read_in_a_process_of_its_own_with_the_same_result(tiny_model_dir, tmp_path, acl_tar,
                                                                           monkeypatch, kind):
    """Inputs past PROCESS_FROM_BYTES are read and encoded in a child process (serve/reader_process.py, so
    the reader does not hold the interpreter lock ORT's caller needs): the scores, the rejected rows and
    their order, and rows in = scored + rejected are the same as with the reading thread; the chunks are
    larger (8,192) and the first small, which changes nothing in the output."""
    from serve.runtime import reader_process

    if kind == "jsonl":
        src = tmp_path / "in.jsonl"
        lines = []
        for i in range(5000):
            lines.append(b'{"id": "r%d", "text": "a splendid plot %d", "label": %d}' % (i, i, i % 2) if i % 97
                         else b'{"text": "caf\xe9 broken"}' if i % 2 else b"{broken")
        src.write_bytes(b"\n".join(lines) + b"\n")
    else:
        src = acl_tar
    outputs = {}
    for name, threshold in (("thread", 1 << 60), ("process", 0)):
        monkeypatch.setattr(reader_process, "PROCESS_FROM_BYTES", threshold)
        out = tmp_path / f"{name}.csv"
        assert run(tiny_model_dir, str(src), "-o", str(out), "--evaluate") == 0
        outputs[name] = (out.read_text(), (tmp_path / f"{name}.csv.rejected.csv").read_text())
    assert outputs["thread"] == outputs["process"]
    scored, rejected = outputs["process"]
    if kind == "jsonl":
        assert scored.count("\n") - 1 + rejected.count("\n") - 1 == 5000 and rejected.count("\n") - 1 == 52


@pytest.mark.server
def test_the_reading_process_fails_as_the_thread_does_and_is_gone_after(tiny_model_dir, tmp_path, monkeypatch,
                                                                       capsys):
    """A source that breaks off mid-way fails the run with the reader's own one-line error, whichever side
    reads it, leaves no output, and leaves no process behind."""
    import gzip
    import io
    import tarfile

    from serve.runtime import reader_process

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for i in range(50):
            info = tarfile.TarInfo(f"aclImdb/test/pos/{i}_9.txt")
            data = b"a splendid film " * 40
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    src = tmp_path / "cut.tar.gz"
    src.write_bytes(gzip.compress(raw.getvalue()[: 512 * 60 + 700]))  # ends inside a member's data
    errors = {}
    for name, threshold in (("thread", 1 << 60), ("process", 0)):
        monkeypatch.setattr(reader_process, "PROCESS_FROM_BYTES", threshold)
        out = tmp_path / f"{name}.csv"
        assert run(tiny_model_dir, str(src), "-o", str(out)) == 2
        errors[name] = capsys.readouterr().err.strip()
        assert not out.exists() and not (tmp_path / f"{name}.csv.rejected.csv").exists()
    assert errors["thread"] == errors["process"]
    assert "not a readable .tar.gz (unexpected end of data)" in errors["process"] and "\n" not in errors["process"]
    children = subprocess.run(["pgrep", "-f", "serve.reader_process"], capture_output=True, text=True).stdout
    assert children.strip() == ""


@pytest.mark.server
@pytest.mark.parametrize("words", [1, 300_000])
def test_a_reading_process_that_dies_is_reported(tiny_model_dir, tmp_path, monkeypatch, words):
    """A child that ends without its last message (killed, out of memory) stops the run with a reason,
    never a result short of rows; so does one gone before it took its arguments (300,000 words do not fit
    the pipe: writing them broke it, and CI once saw that race as a BrokenPipeError)."""
    from sentilens.codec import Codec, Vocabulary
    from sentilens.errors import SentilensError
    from sentilens.sources import Tally
    from serve.runtime import reader_process

    src = tmp_path / "in.txt"
    src.write_text("a splendid plot\n" * 10)
    monkeypatch.setattr(reader_process.sys, "executable", "/bin/false")
    with pytest.raises(SentilensError, match="the reading process stopped before the end of .*in.txt"):
        list(reader_process.encoded_chunks(src, None, None, Codec(Vocabulary([f"w{i}" for i in range(words)]), 5),
                                           lambda *a: None, Tally()))


@pytest.mark.server
def test_a_relative_path_means_the_same_file_to_the_reading_process(tiny_model_dir, tmp_path, monkeypatch):
    """From an attack: the reading process started in the project's folder, so a relative input named like a
    project file (requirements.txt) scored the project's file, and any other one was "no such file"."""
    from serve.runtime import reader_process

    monkeypatch.setattr(reader_process, "PROCESS_FROM_BYTES", 0)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "requirements.txt").write_text("a splendid plot\na dreadful plot\n")
    assert run(tiny_model_dir, "requirements.txt", "-o", "out.csv") == 0
    assert [r["id"] for r in read_csv(tmp_path / "out.csv")] == ["1", "2"]
