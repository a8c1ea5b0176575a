"""serve.spark on a local Spark bound to 127.0.0.1: the same scores, words and accounting as serve.batch."""

import csv
import json
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.spark

ROWS = [
    '{"id": "a", "text": "the plot was splendid", "label": "pos"}',
    "{broken",
    "",
    '{"id": "b", "text": "the music was dreadful", "label": 0}',
    '{"text": 5}',
    '{"id": "c", "text": "a long night, splendid and dreadful", "label": "maybe"}',
    '[1, 2]',
    '{"id": "d", "text": "dreadful night", "label": "neg"}',
    '{"text": "no id but splendid"}',
]


@pytest.fixture(scope="module")
def spark():
    from serve.jobs.spark import session

    s = session("local[2]")
    conf = dict(s.sparkContext.getConf().getAll())
    assert conf["spark.driver.host"] == "127.0.0.1" and conf["spark.driver.bindAddress"] == "127.0.0.1"
    assert conf["spark.ui.enabled"] == "false"
    yield s
    s.stop()


def batch_run(tiny_model_dir, src, out, *args):
    from serve.jobs.batch import main

    assert main([str(src), "-o", str(out), "--model", str(tiny_model_dir), "--quiet", *args]) == 0
    with open(out, newline="", encoding="utf-8") as f:
        scored = {r["id"]: r for r in csv.DictReader(f)}
    with open(f"{out}.rejected.csv", newline="", encoding="utf-8") as f:
        rejected = {r["where"].rsplit(":", 1)[1]: r["problem"] for r in csv.DictReader(f)}
    return scored, rejected


def spark_run(spark, tiny_model_dir, src, out, explain=0, **kwargs):
    import pyarrow.parquet as pq

    from serve.jobs.spark import SparkJob, run

    summary = run(spark, SparkJob(str(src), str(out), str(tiny_model_dir), None, explain, "running", 0.5, "parquet",
                                  None, True, **kwargs))
    scored = {r["id"]: r for r in pq.read_table(out).to_pylist()}
    rejected = {r["where"].rsplit(":", 1)[1]: r["problem"] for r in pq.read_table(out / "_rejected").to_pylist()}
    return summary, scored, rejected


def test_spark_equals_serve_batch_on_the_same_rows_with_bad_rows_mixed_in(spark, tiny_model_dir, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(ROWS) + "\n")
    want, want_rejected = batch_run(tiny_model_dir, src, tmp_path / "batch.csv", "--explain", "2")
    summary, got, got_rejected = spark_run(spark, tiny_model_dir, src, tmp_path / "out", explain=2)
    assert sorted(got) == sorted(want) == ["9", "a", "b", "d"]
    for rid, row in got.items():
        assert row["probability"] == pytest.approx(float(want[rid]["probability"]), abs=1e-6)
        assert row["label"] == want[rid]["label"] and row["true_label"] == want[rid]["true_label"]
        assert [w.split(":")[0] for w in row["top_words"].split()] == [
            w.split(":")[0] for w in want[rid]["top_words"].split()]
    assert got_rejected == want_rejected and set(got_rejected) == {"2", "5", "6", "7"}
    assert summary["rows_in"] == 8 == summary["scored"] + summary["rejected"]
    assert summary["metrics"]["n"] == 3 and summary["metrics"]["accuracy"] == 1.0


def test_int8_on_the_executors_scores_as_serve_batch_int8(spark, tmp_path):
    """--precision int8 reaches the executors (the committed model: the tiny one's int8 is fp32 to 1e-6).
    Dynamic quantization scales activations per batch and Spark's batches are not serve.batch's, so the two
    agree within int8's own error, not to 1e-6 as fp32 does."""
    from serve.runtime import DEFAULT_DIR

    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(ROWS) + "\n")
    want, _ = batch_run(DEFAULT_DIR, src, tmp_path / "batch.csv", "--precision", "int8")
    fp32, _ = batch_run(DEFAULT_DIR, src, tmp_path / "batch32.csv")
    _, got, _ = spark_run(spark, DEFAULT_DIR, src, tmp_path / "out", precision="int8")
    assert sorted(got) == sorted(want)
    apart = max(abs(got[r]["probability"] - float(want[r]["probability"])) for r in want)
    quantized = max(abs(float(want[r]["probability"]) - float(fp32[r]["probability"])) for r in want)
    assert quantized > 1e-5 and max(abs(got[r]["probability"] - float(fp32[r]["probability"])) for r in want) > 1e-5
    # int8's error depends on the CPU's integer kernels: ~1e-3 on Intel with VNNI, 0.044 on an AMD EPYC with
    # AVX2 and no VNNI (where its int8 is 0.065 from fp32 on single reviews). Either way
    # the labels agree and the scores are int8 approximations of the same model.
    assert apart < 0.1 and all(got[r]["label"] == want[r]["label"] for r in want)


def test_an_input_in_few_parts_is_spread_over_the_cores_and_a_large_one_keeps_its_split(spark):
    from pyspark.sql import functions as F

    from serve.jobs.spark import spread

    cores = spark.sparkContext.defaultParallelism
    one = spark.range(1000).coalesce(1)
    assert spread(spark, one).rdd.getNumPartitions() == 2 * cores
    many = spark.range(1000).repartition(2 * cores + 1)
    assert spread(spark, many).rdd.getNumPartitions() == 2 * cores + 1
    assert spread(spark, many, 3).rdd.getNumPartitions() == 3
    spread_rows = spread(spark, one).groupBy(F.spark_partition_id()).count().collect()
    assert max(r["count"] for r in spread_rows) - min(r["count"] for r in spread_rows) <= 1  # round robin


def test_csv_parquet_and_text_inputs(spark, tiny_model_dir, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "in.csv").write_text('id,review,label\nx1,"the plot, splendid",pos\nx2,,neg\nx3,"the music\nwas dreadful",0\n')
    pq.write_table(pa.table({"id": ["p1", "p2", None], "text": ["splendid", None, "dreadful night"],
                             "label": [1, 0, None]}), tmp_path / "in.parquet")
    (tmp_path / "in.txt").write_text("the plot was splendid\n\nthe music was dreadful\n")
    _, got, rejected = spark_run(spark, tiny_model_dir, tmp_path / "in.csv", tmp_path / "o1")
    assert sorted(got) == ["x1", "x3"] and got["x1"]["label"] == "pos" and got["x3"]["label"] == "neg"
    assert list(rejected.values()) == ["the text is empty"]  # as serve.batch says it
    summary, got, rejected = spark_run(spark, tiny_model_dir, tmp_path / "in.parquet", tmp_path / "o2")
    assert sorted(got) == ["3", "p1"] and summary["rows_in"] == 3 and len(rejected) == 1
    summary, got, rejected = spark_run(spark, tiny_model_dir, tmp_path / "in.txt", tmp_path / "o3")
    assert sorted(got) == ["1", "3"] and summary["rows_in"] == 2 and rejected == {}
    want, _ = batch_run(tiny_model_dir, tmp_path / "in.txt", tmp_path / "t.csv")
    assert got["3"]["probability"] == pytest.approx(float(want["3"]["probability"]), abs=1e-6)


def test_the_dataframe_function_for_notebooks(spark, tiny_model_dir):
    import pandas as pd

    from serve.jobs.spark import score_dataframe

    df = spark.createDataFrame(pd.DataFrame({"review": ["the plot was splendid", "", "the music was dreadful"],
                                             "id": ["r1", "r2", "r3"]}))
    rows = {r["id"] or "rejected": r for r in score_dataframe(df, tiny_model_dir, explain=1).collect()}
    assert rows["r1"]["label"] == "pos" and rows["r3"]["label"] == "neg"
    assert rows["r1"]["top_words"].startswith("splendid:+") and rows["rejected"]["problem"] == "the text is empty"
    # named by its Spark partition and place there, which Spark's row ids carry (no numbering pass)
    assert re.fullmatch(r"partition \d+, row \d+", rows["rejected"]["where"]), rows["rejected"]["where"]


def test_an_executor_refuses_a_damaged_model_or_one_that_is_not_the_drivers(spark, tiny_model_dir, tmp_path):
    import shutil

    from sentilens.artifact import Artifact
    from sentilens.errors import ModelError
    from serve.jobs.spark import score_dataframe, spark_error

    df = spark.createDataFrame([("the plot was splendid",)], "text string")
    damaged = tmp_path / "damaged_model"
    shutil.copytree(tiny_model_dir, damaged)
    (damaged / "vocab.txt").write_text("changed\n")
    good_sha = Artifact.load(tiny_model_dir).model_sha256
    for model, sha, message in ((tiny_model_dir, "0" * 64, "the driver's 000000000000"),
                                (damaged, good_sha, "vocab.txt: sha256 does not match metadata.json")):
        with pytest.raises(Exception) as caught:
            score_dataframe(df, model, expected_sha256=sha).collect()
        err = spark_error(caught.value)
        assert isinstance(err, ModelError)
        assert str(err).startswith("on an executor: ") and message in str(err) and "\n" not in str(err)


def test_the_command_refuses_a_damaged_model_or_an_existing_output_in_one_line(tiny_model_dir, tmp_path):
    import shutil

    from tests.conftest import ROOT

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    (model / "vocab.txt").write_text("changed\n")
    src = tmp_path / "in.jsonl"
    src.write_text(ROWS[0] + "\n")
    (tmp_path / "exists").mkdir()
    for out, message in ((tmp_path / "new", "vocab.txt: sha256 does not match metadata.json"),
                         (tmp_path / "exists", "already exists; choose a new folder")):
        good = str(model if "vocab" in message else tiny_model_dir)
        proc = subprocess.run([sys.executable, "-m", "serve.spark", str(src), "-o", str(out), "--model", good],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2
        assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and message in proc.stderr


def test_a_missing_input_or_a_bad_option_fails_before_spark_starts(tiny_model_dir, tmp_path, monkeypatch):
    """Checked in this process before any JVM: serve.spark's main never reaches session()."""
    import serve.jobs.spark as module

    monkeypatch.setattr(module, "session", lambda *a, **k: pytest.fail("Spark started"))
    for argv, code in (([str(tmp_path / "missing.parquet")], 2), ([str(tmp_path / "x.parquet"), "--partitions", "0"], 2),
                       ([str(tmp_path / "data-*")], 2)):
        out = tmp_path / f"out{len(argv)}"
        try:
            got = module.main([*argv, "-o", str(out), "--model", str(tiny_model_dir)])
        except SystemExit as stop:
            got = stop.code
        assert got == code


def test_the_command_end_to_end(tiny_model_dir, tmp_path):
    from tests.conftest import ROOT

    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(ROWS) + "\n")
    out = tmp_path / "scored"
    proc = subprocess.run([sys.executable, "-m", "serve.spark", str(src), "-o", str(out), "--model",
                           str(tiny_model_dir), "--format", "json", "--evaluate", "--master", "local[1]"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "rows in 8 = scored 4 + rejected 4" in proc.stdout and "accuracy 1.0000" in proc.stdout
    lines = [json.loads(line) for f in sorted(out.glob("part-*.json")) for line in f.read_text().splitlines()]
    assert sorted(r["id"] for r in lines) == ["9", "a", "b", "d"]


def test_every_guard_of_serve_batch_holds_in_spark_in_the_same_words(spark, tiny_model_dir, tmp_path):
    """The same rows scored, the same rows rejected for the same reason, every row accounted for."""
    from tests.hostile_files import hostile_files

    for src in hostile_files(tmp_path):
        want, want_rejected = batch_run(tiny_model_dir, src, tmp_path / f"{src.name}.batch.csv")
        summary, got, got_rejected = spark_run(spark, tiny_model_dir, src, tmp_path / f"{src.name}.out")
        assert sorted(got) == sorted(want), src.name
        assert got_rejected == want_rejected and got_rejected, src.name
        for rid, row in got.items():
            assert row["probability"] == pytest.approx(float(want[rid]["probability"]), abs=1e-6)
        with open(tmp_path / f"{src.name}.batch.csv", newline="", encoding="utf-8") as f:
            batch_rows = sum(1 for _ in csv.DictReader(f))  # repeated ids are rows of their own
        assert summary["scored"] == batch_rows and summary["rejected"] == len(want_rejected)
        assert summary["rows_in"] == summary["scored"] + summary["rejected"]
    assert len(got_rejected) == 2  # the binary text column: every row refused, not scored as base64


def test_a_file_the_readers_refuse_whole_fails_spark_in_one_line_as_it_fails_serve_batch(spark, tiny_model_dir,
                                                                                        tmp_path):
    from serve.jobs.batch import main
    from serve.jobs.spark import from_spark, spark_error

    src = tmp_path / "twice.csv"
    src.write_text("id,text,text,label\nx,splendid,dreadful,pos\n")
    with pytest.raises(Exception) as caught:
        spark_run(spark, tiny_model_dir, src, tmp_path / "out")
    assert from_spark(caught.value)
    message = str(spark_error(caught.value))
    assert "the header names 'text' more than once" in message and "\n" not in message
    assert main([str(src), "-o", str(tmp_path / "b.csv"), "--model", str(tiny_model_dir), "--quiet"]) == 2


def test_csv_output_neutralizes_formulas_as_serve_batch_does(spark, tiny_model_dir, tmp_path):
    from serve.jobs.spark import SparkJob, run

    src = tmp_path / "in.jsonl"
    ids = ["=HYPERLINK(\"http://127.0.0.1\")", "+1", "-1", "@x", "\t=1+1", "plain"]
    src.write_text("".join(json.dumps({"id": i, "text": "the plot was splendid"}) + "\n" for i in ids))
    want, _ = batch_run(tiny_model_dir, src, tmp_path / "batch.csv")
    run(spark, SparkJob(str(src), str(tmp_path / "out"), str(tiny_model_dir), None, 0, "running", 0.5, "csv", None, False))
    got = [r for f in sorted((tmp_path / "out").glob("part-*.csv"))
           for r in csv.DictReader(f.open(newline="", encoding="utf-8"))]
    assert sorted(r["id"] for r in got) == sorted(want) == sorted(["'" + i for i in ids[:5]] + ["plain"])
    run(spark, SparkJob(str(src), str(tmp_path / "raw"), str(tiny_model_dir), None, 0, "running", 0.5, "csv", None,
                        False, raw_csv=True))
    raw = [r for f in sorted((tmp_path / "raw").glob("part-*.csv")) for r in csv.DictReader(f.open(newline=""))]
    assert sorted(r["id"] for r in raw) == sorted(ids)  # nothing stripped, not even the tab


def test_a_text_file_too_large_for_one_task_is_refused_before_it_is_read(spark, tiny_model_dir, tmp_path, monkeypatch):
    import serve.jobs.spark as module

    src = tmp_path / "big.jsonl"
    src.write_text(ROWS[0] + "\n" * 200)
    monkeypatch.setattr(module, "MAX_FILE_BYTES", 100)
    for given in (src, tmp_path):  # the file, or the folder holding it
        with pytest.raises(module.DataError, match="big.jsonl: 0.0 GiB; a CSV, JSONL or TXT file is read whole"):
            module.read_input(spark, str(given), "json")
    with pytest.raises(module.DataError, match="no such file or folder"):
        module.read_input(spark, str(tmp_path / "missing.jsonl"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A Spark standalone cluster as deployed: pyspark's own Master and two Workers (one core each),
    every one bound to 127.0.0.1; stopped, all of them, at the end."""
    from serve.jobs.spark_local import standalone

    with standalone(tmp_path_factory.mktemp("cluster")) as url:
        yield url


@pytest.fixture(scope="module")
def connect(tmp_path_factory):
    """A Spark Connect server (pyspark's sbin/start-connect-server.sh) on 127.0.0.1."""
    from serve.jobs.spark_local import connect_server

    with connect_server(tmp_path_factory.mktemp("connect")) as url:
        yield url


def deployed_folder(tmp_path):
    """Three Parquet files of four rows in two row groups each: a struct id repeated across files, a
    null text, and a binary column beside the text (a text column of its own with --text-column blob)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "reviews"
    folder.mkdir()
    texts = ["the plot was splendid", "the music was dreadful", None, "a dreadful night, then splendid"]
    for part in range(3):
        ids = [{"part": part, "n": i} if i != 3 else {"part": -1, "n": 0} for i in range(4)]
        table = pa.table({"id": ids, "text": texts, "blob": [(t or "").encode() for t in texts]})
        pq.write_table(table, folder / f"part-{part}.parquet", row_group_size=2)
    return folder


def batch_of_folder(folder, tiny_model_dir, tmp_path, *args):
    """serve.batch on each file of the folder: (id, probability) pairs and the rejected rows' problems."""
    import pyarrow.parquet as pq

    from serve.jobs.batch import main

    scored, problems = [], []
    for src in sorted(folder.glob("*.parquet")):
        out = tmp_path / f"batch-{src.stem}.parquet"
        assert main([str(src), "-o", str(out), "--model", str(tiny_model_dir), "--quiet", *args]) == 0
        scored += [(r["id"], r["probability"]) for r in pq.read_table(out).to_pylist()]
        with open(f"{out}.rejected.csv", newline="", encoding="utf-8") as f:
            problems += [r["problem"] for r in csv.DictReader(f)]
    return sorted(scored), sorted(problems)


def spark_cli(tmp_path, folder, tiny_model_dir, *args):
    """serve.spark run as a user runs it: (exit code, stdout, stderr, scored pairs, rejected problems)."""
    import pyarrow.parquet as pq

    from tests.conftest import ROOT

    out = tmp_path / f"scored-{len(list(tmp_path.iterdir()))}"
    proc = subprocess.run([sys.executable, "-m", "serve.spark", str(folder), "-o", str(out), "--model",
                           str(tiny_model_dir), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    if proc.returncode:
        return proc.returncode, proc.stdout, proc.stderr, [], []
    scored = sorted((r["id"], r["probability"]) for r in pq.read_table(out).to_pylist())
    problems = sorted(r["problem"] for r in pq.read_table(out / "_rejected").to_pylist())
    return 0, proc.stdout, proc.stderr, scored, problems


def same_as_batch(got, want):
    assert [i for i, _ in got] == [i for i, _ in want]
    assert all(abs(p - q) <= 1e-6 for (_, p), (_, q) in zip(got, want))


def deployed_run_equals_batch(tmp_path, tiny_model_dir, *where):
    """The deployed folder through serve.spark on ``where`` (--master URL or --remote URL): every row once,
    equal to serve.batch to 1e-6; returns (Spark's scored rows and rejections, serve.batch's rejections)."""
    folder = deployed_folder(tmp_path)
    code, out, err, scored, problems = spark_cli(tmp_path, folder, tiny_model_dir, *where)
    assert code == 0, err[-2000:]
    assert "rows in 12 = scored 9 + rejected 3" in out
    want_scored, want_problems = batch_of_folder(folder, tiny_model_dir, tmp_path)
    same_as_batch(scored, want_scored)
    return folder, scored, problems, want_problems


def test_a_standalone_cluster_scores_a_parquet_folder_as_serve_batch_does(cluster, tiny_model_dir, tmp_path):
    """The model and the code reach the executors as archives (a local folder would not); every input row
    comes out once, scored or rejected, equal to serve.batch to 1e-6."""
    _, scored, problems, want_problems = deployed_run_equals_batch(tmp_path, tiny_model_dir, "--master", cluster)
    assert sum(i == '{"part": -1, "n": 0}' for i, _ in scored) == 3  # the struct id, as serve.batch writes it
    assert [p.split(": ", 1)[-1] for p in problems] == [p.split(": ", 1)[-1] for p in want_problems]


def test_spark_connect_scores_as_serve_batch_does_and_fails_in_one_line(connect, tiny_model_dir, tmp_path):
    """--remote sc://: the model and code go as session artifacts (addArtifacts); the same rows, scores and
    rejections as serve.batch, a binary text column refused row by row in serve.batch's words, and a
    Spark failure as Spark's error class and first line, exit 2."""
    folder, *_ = deployed_run_equals_batch(tmp_path, tiny_model_dir, "--remote", connect)
    code, out, err, scored, problems = spark_cli(tmp_path, folder, tiny_model_dir, "--remote", connect,
                                                 "--text-column", "blob")
    assert code == 0 and "rows in 12 = scored 0 + rejected 12" in out, err[-2000:]
    _, want_problems = batch_of_folder(folder, tiny_model_dir, tmp_path, "--text-column", "blob")
    assert set(problems) == set(want_problems) and len(set(problems)) == 1, (problems, want_problems)
    code, out, err, *_ = spark_cli(tmp_path, tmp_path / "missing.parquet", tiny_model_dir, "--remote", connect)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("error: Spark failed: [PATH_NOT_FOUND] Path does not exist") and "calling o" not in err


def test_a_remote_that_is_not_a_connect_address_is_refused_before_spark_starts(tiny_model_dir, tmp_path):
    from serve.jobs.spark import main

    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path / "x.parquet"), "-o", str(tmp_path / "out"), "--remote", "http://127.0.0.1:15002"])
    assert stop.value.code == 2
    with pytest.raises(SystemExit):
        main([str(tmp_path / "x.parquet"), "-o", str(tmp_path / "out"), "--remote", "sc://127.0.0.1:1",
              "--master", "local[1]"])


def test_the_format_of_a_folder_is_its_files_and_is_known_before_spark_starts(tmp_path):
    from serve.jobs.spark import DataError, input_format

    (tmp_path / "a").mkdir()
    for name in ("part-0.parquet", "part-1.parquet", "_SUCCESS", ".part-0.crc"):
        (tmp_path / "a" / name).write_text("")
    assert input_format(str(tmp_path / "a")) == "parquet"  # Spark's own markers do not count
    (tmp_path / "a" / "notes.csv").write_text("")
    with pytest.raises(DataError, match="a folder of .csv, .parquet; expected files of one format"):
        input_format(str(tmp_path / "a"))
    assert input_format(str(tmp_path / "a"), "csv") == "csv" and input_format("x/*.jsonl") == "json"
