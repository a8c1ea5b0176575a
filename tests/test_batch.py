"""serve.batch on every input kind, with bad rows, on the tiny model."""

import csv
import json
import subprocess
import sys

import pytest

from serve.batch import main
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
