"""Batch scoring on Apache Spark: serve.batch's scoring, explanations and accounting, on the engine
that already holds the corpus.

    python -m serve.spark INPUT -o OUTPUT [--evaluate] [--explain K] [--text-column C]
                          [--master local[2] | --remote sc://HOST:PORT] [--model DIR] [--format parquet|csv|json]

INPUT is anything Spark reads (a CSV, JSONL, TXT or Parquet file, folder or glob, local or a
Hadoop-filesystem URL); OUTPUT is a folder of Parquet files (CSV or JSON on request) with the
input's id, the probability, the label (and the K words with ``--explain``); rejected rows go to
``OUTPUT/_rejected`` with where they were and why. As a library, ``score_dataframe`` takes a
Spark DataFrame and returns the scored one (notebooks, Databricks, pipelines).

Every row is turned into a record by ``sentilens.sources`` and scored by ``serve.scoring`` inside
``mapInPandas`` (Arrow), exactly as ``serve.batch`` does, so the two can never drift. The model
directory and our code reach the executors as zip archives (``addArchive``/``addPyFile``, or
``addArtifacts`` through Spark Connect), which every cluster manager delivers; each executor loads it once per
Python worker, validates it with ``sentilens.artifact`` and checks that its sha256 is the one the
driver expects. Never TensorFlow. Needs the spark extra (``pip install -e ".[spark]"``) and Java 17.

Spark itself (the session, shipping, its errors) is ``serve.jobs.spark_session``'s; this module keeps
the reading, the executors' scoring and the run together (~430 lines), as one path a row travels.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from explain.methods import DEFAULT_METHOD, METHODS, applicable, check_method
from sentilens.artifact import Artifact
from sentilens.cli import command, parser
from sentilens.errors import DataError, InputError, ModelError, SentilensError
from sentilens.labels import POS
from sentilens.settings import THRESHOLD
from sentilens.sources import ID_HELP, formats
from serve.runtime import DEFAULT_DIR
from sentilens.safe_csv import FORMULA_STARTS
from serve.runtime.rows import OUTPUT_COLUMNS, REJECT_COLUMNS
from serve.jobs.spark_session import from_spark, is_connect, session, ship, ship_code, spark_error

__all__ = ["EXAMPLES", "INPUT_FORMATS", "MAX_FILE_BYTES", "PARQUET_WHOLE_BYTES", "RESULT_SCHEMA", "RESULT_TYPES",
           "ROWS_PER_BATCH", "SparkJob",
           "check_file_sizes", "check_model", "input_format", "json_rows", "main", "neutralized", "parquet_rows",
           "private_output",
           "read_input", "reader_suffix", "rows_as_json", "run", "score_dataframe", "spread", "suffix_formats"]

RESULT_TYPES = {"id": "string", "probability": "double", "label": "string", "true_label": "string",
                "top_words": "string", "where": "string", "problem": "string"}
RESULT_SCHEMA = ", ".join(f"{c} {RESULT_TYPES[c]}" for c in OUTPUT_COLUMNS + REJECT_COLUMNS)


def suffix_formats() -> dict[str, str]:
    """Each suffix Spark reads -> the name of its reader, from the formats ``sentilens.sources`` registers."""
    return {s: f.spark for f in formats() if f.spark for s in (*f.suffixes, *f.spark_suffixes)}


def reader_suffix(fmt: str) -> str:
    """The suffix of the ``sentilens.sources`` reader that cuts files of Spark's format ``fmt`` into rows
    on the executors (Parquet is not cut so: Spark reads it in parts itself)."""
    return next(f.suffixes[0] for f in formats() if f.spark == fmt and f.text_rows is not None)


INPUT_FORMATS = tuple(dict.fromkeys(suffix_formats().values()))  # csv, json, text, parquet
ROWS_PER_BATCH = 10_000  # rows of a file handed on at a time
MAX_FILE_BYTES = 2**30  # such a file goes to one task whole (the JVM holds at most 2 GiB in one array)
PARQUET_WHOLE_BYTES = 64 * 2**20  # a Parquet file up to this size is read whole by serve.batch's reader (its budget)
_models: dict[tuple[str, str], object] = {}  # per Python worker: (path, sha256) -> SentimentModel


# ---- on the executors ------------------------------------------------------------------------

def _executor_model(name: str, sha256: str, precision: str = "fp32"):
    """The shipped model, loaded (and fully validated) once per Python worker, with as many ORT threads
    as the task has cores (``spark.task.cpus``, 1 unless set)."""
    key = (name, sha256, precision)
    if key not in _models:
        from pyspark import SparkFiles, TaskContext

        from serve.runtime import SentimentModel

        directory = Path(SparkFiles.get(name))
        task = TaskContext.get()
        model = SentimentModel(directory, threads=max(1, task.cpus() if task else 1), precision=precision)
        if model.sha256 != sha256:
            raise ModelError(f"{directory}: the executor's model has sha256 {model.sha256[:12]}..., the driver's "
                             f"{sha256[:12]}...; ship the same model")
        _models[key] = model
    return _models[key]


def _score_batches(batches, name: str, sha256: str, text_column: str | None, explain: int, method: str,
                   threshold: float, precision: str = "fp32"):
    """mapInPandas body: (where, json row, number[, problem]) in; RESULT_SCHEMA rows out. Rows our
    own readers built (``_problem`` present) are already checked; the rest Spark decoded."""
    import pandas as pd

    from sentilens.sources import build_record, json_record
    from serve.runtime.scoring import score_chunk

    def parse(raw: str, where: str, number: int, ours: bool):
        record = json_record(raw, text_column, where, str(number))
        if not ours and "\ufffd" in record.text:  # Spark decodes bad bytes as U+FFFD; serve.batch rejects them
            raise DataError(f"{where}: the text is not UTF-8")
        return record

    model = _executor_model(name, sha256, precision)
    for pdf in batches:
        records, rejected = [], []
        problems = pdf["_problem"] if "_problem" in pdf.columns else [None] * len(pdf)
        # rows our readers built, or (a Parquet input, part of it read by Spark) as each row says
        ours_each = pdf["_ours"] if "_ours" in pdf.columns else ["_problem" in pdf.columns] * len(pdf)
        for where, raw, number, known, ours in zip(pdf["_where"], pdf["_json"], pdf["_n"], problems, ours_each):
            if known is not None and known == known:  # (NaN: pandas' missing value)
                rejected.append((where, known))
                continue
            record, problem = build_record(where, lambda: parse(raw, where, number, bool(ours)))
            if problem is None:
                records.append(record)
            else:
                rejected.append((where, problem))
        scored = score_chunk(model, records, explain, method)
        rows = [d | dict.fromkeys(REJECT_COLUMNS) for d in scored.rows(threshold)]
        rows += [dict.fromkeys(OUTPUT_COLUMNS) | dict(zip(REJECT_COLUMNS, bad)) for bad in rejected]
        yield pd.DataFrame(rows, columns=list(OUTPUT_COLUMNS + REJECT_COLUMNS))


# ---- on the driver ---------------------------------------------------------------------------

def json_rows(df, text_column: str | None, where: str, as_text: bool = False, id_column: str | None = None):
    """(the column holding each row as one JSON object of its text, id and label columns, the text
    column), so that every format goes through the same record builder. A text column that is not text
    (binary, a number) is written as null and so rejected row by row, as serve.batch does, instead of
    being serialised as base64 or digits and scored. ``as_text``: the text goes under the key ``text``,
    as serve.batch's own readers write it on the executors. The id column (``id_column``, else the one
    ``pick_id_column`` finds, as serve.batch's readers pick it) goes under the key ``id``."""
    from pyspark.sql import functions as F

    from sentilens.sources import pick_id_column, pick_text_column

    column = pick_text_column(list(df.columns), text_column, where)
    ids = pick_id_column(list(df.columns), id_column, where) or "id"
    wanted = [c for c in dict.fromkeys([column, ids, "label"]) if c in df.columns]
    types = dict(df.dtypes)
    fields = [(F.lit(None).cast("string") if types[c] != "string" else F.col(c)).alias("text" if as_text else c)
              if c == column else F.col(c).alias("id") if c == ids else F.col(c) for c in wanted]
    return F.to_json(F.struct(*fields), {"ignoreNullFields": "false"}), column


def parquet_rows(spark, path: str, text_column: str | None = None, id_column: str | None = None):
    """Parquet as (_where, _json, _n, _problem, _ours) rows, and the text column to read them with.

    A file of up to ``PARQUET_WHOLE_BYTES`` is read on an executor by serve.batch's own reader
    (``sentilens.sources.file_rows``), with its decoding budget: 1,256 bytes can repeat one 3.9 M-character
    value in 200,000 rows, and Spark would decode and serialise every one. A larger file is read by Spark
    in parts, ``where`` the file and the row's position in it from Spark's file metadata (no numbering
    pass); a cell over ``MAX_RECORD_CHARS`` is rejected there, in the JVM, before it is serialised, with
    serve.batch's words."""
    from pyspark.sql import functions as F

    from sentilens.sources import MAX_RECORD_CHARS

    columns = ["_where", "_json", "_n", "_problem", "_ours"]
    ship_code(spark)
    listing = spark.read.format("binaryFile").load(path)  # the files spark.read.parquet reads, by size
    small = listing.filter(F.col("length") <= PARQUET_WHOLE_BYTES).select("path", "content")
    ours = small.mapInPandas(_reader(".parquet", text_column, ours=True, id_column=id_column), ", ".join(
        f"{c} {t}" for c, t in zip(columns, ("string", "string", "long", "string", "boolean"))))
    df = spark.read.parquet(path).filter(F.col("_metadata.file_size") > PARQUET_WHOLE_BYTES)
    raw, column = json_rows(df, text_column, path, as_text=True, id_column=id_column)
    n = F.col("_metadata.row_index") + 1
    too_long = F.when(F.length(F.col(column)) > MAX_RECORD_CHARS,
                      F.lit(f"the text is longer than {MAX_RECORD_CHARS:,} characters")) \
        if dict(df.dtypes)[column] == "string" else F.lit(None).cast("string")
    theirs = df.select(F.concat_ws(":", F.col("_metadata.file_name"), n.cast("string")).alias("_where"),
                       F.when(too_long.isNull(), raw).alias("_json"), n.alias("_n"), too_long.alias("_problem"),
                       F.lit(False).alias("_ours"))
    return ours.unionByName(theirs), "text"


def _reader(suffix: str, text_column: str | None, ours: bool | None = None, id_column: str | None = None):
    """mapInPandas body: (path, content) of whole files in; their rows, cut by serve.batch's own reader
    (``file_rows``), out as (_where, _json, _n, _problem[, _ours])."""
    def rows_of(batches):
        import pandas as pd

        from sentilens.sources import file_rows

        columns = ["_where", "_json", "_n", "_problem"] + (["_ours"] if ours is not None else [])
        extra = (ours,) if ours is not None else ()
        for files in batches:
            for uri, data in zip(files["path"], files["content"]):
                rows = []
                for row in file_rows(uri.rsplit("/", 1)[-1], bytes(data), suffix, text_column, id_column):
                    rows.append((*row, *extra))
                    if len(rows) == ROWS_PER_BATCH:
                        yield pd.DataFrame(rows, columns=columns)
                        rows = []
                if rows:
                    yield pd.DataFrame(rows, columns=columns)

    return rows_of


def rows_as_json(df, text_column: str | None = None, id_column: str | None = None):
    """Any DataFrame (a notebook's) -> ((_where, _json, _n) rows, the text column). A row is named by
    its file (when it came from one), Spark partition and position in it, which Spark's own row ids
    carry: no numbering pass over the data."""
    from pyspark.sql import functions as F

    raw, column = json_rows(df, text_column, "the input", id_column=id_column)
    ids = F.monotonically_increasing_id()  # the partition in the upper 31 bits, the row within it below
    n = ids.bitwiseAND(F.lit((1 << 33) - 1)) + 1
    place = F.concat(F.lit("partition "), F.shiftright(ids, 33).cast("string"), F.lit(", row "), n.cast("string"))
    file = F.regexp_extract(F.input_file_name(), r"([^/]*)$", 1)
    where = F.when(file != "", F.concat(file, F.lit(" "), place)).otherwise(place)
    return df.select(where.alias("_where"), raw.alias("_json"), n.alias("_n")), column


def score_dataframe(df, model_dir: str | Path = DEFAULT_DIR, text_column: str | None = None, explain: int = 0,
                    method: str = DEFAULT_METHOD, threshold: float = THRESHOLD, expected_sha256: str | None = None,
                    precision: str = "fp32", id_column: str | None = None):
    """The scored DataFrame (RESULT_SCHEMA: a row per input row; ``problem`` is null for scored rows).

    ``df`` holds the reviews (a text column, optional ``id`` and ``label``), or is what ``read_input``
    returns (rows that keep their file and line). The model directory is shipped to the executors;
    ``expected_sha256`` defaults to the sha256 of the driver's validated copy; ``precision="int8"`` scores
    with the int8 graph, as serve.batch's ``--precision int8``."""
    if explain < 0:
        raise InputError("explain must be >= 0")
    if expected_sha256 is None:
        expected_sha256 = check_model(model_dir, method, precision)
    else:
        check_method(method)  # the executors check it against their (verified) copy of the model
    name = ship(df.sparkSession, str(model_dir))
    rows = df
    if "_json" not in df.columns:
        rows, text_column = rows_as_json(df, text_column, id_column)

    def body(batches):
        return _score_batches(batches, name, expected_sha256, text_column, explain, method, threshold, precision)

    return rows.mapInPandas(body, RESULT_SCHEMA)


def check_model(model_dir: str | Path, method: str, precision: str = "fp32") -> str:
    """The driver's copy of the model validated (``method`` applicable to it, and the int8 graph present
    when asked for), as serve.batch checks them: returns its sha256, which every executor's copy must match."""
    from serve.runtime import SentimentModel

    art = Artifact.load(model_dir)
    check_method(method, applicable(art.capabilities.features, recorded=art.capabilities.methods))
    if precision != "fp32":
        SentimentModel(model_dir, threads=1, precision=precision)  # refuses a model without the int8 graph
    return art.model_sha256


def check_file_sizes(spark, path: str) -> None:
    """Each CSV/JSONL/TXT file reaches one task whole: refuse one over ``MAX_FILE_BYTES`` before any
    is read (Spark's own listing, without the contents, so any filesystem Spark reads, also through
    Spark Connect)."""
    from pyspark.errors import AnalysisException

    try:
        files = spark.read.format("binaryFile").load(path).select("path", "length").collect()
    except AnalysisException as err:
        if "PATH_NOT_FOUND" in str(err):
            raise DataError(f"{path}: no such file or folder") from None
        raise
    if not files:
        raise DataError(f"{path}: no such file or folder")
    for f in files:
        if f["length"] > MAX_FILE_BYTES:
            raise DataError(f"{f['path'].rsplit('/', 1)[-1]}: {f['length'] / 2**30:.1f} GiB; a CSV, JSONL or TXT "
                            f"file is read whole by one task, at most {MAX_FILE_BYTES / 2**30:.0f} GiB: split it, "
                            "or convert it to Parquet (python -m serve.convert), which Spark reads in parts")


def input_format(path: str, given: str | None = None) -> str:
    """The input's format, from ``--input-format``, the suffix, or (a local folder) the suffix its files
    share: checked before Spark starts."""
    known = suffix_formats()
    fmt = given or known.get(Path(path.rstrip("/*")).suffix.lower())
    folder = Path(path)
    if fmt is None and "://" not in path and folder.is_dir():
        suffixes = {f.suffix.lower() for f in folder.iterdir() if f.is_file() and not f.name.startswith(("_", "."))}
        found = {known.get(suffix) for suffix in suffixes}
        if len(found) == 1 and None not in found:
            return found.pop()
        raise DataError(f"{path}: a folder of {', '.join(sorted(suffixes)) or 'no files'}; expected files of one "
                        f"format, or pass --input-format ({', '.join(INPUT_FORMATS)})")
    if fmt is None:
        raise DataError(f"{path}: cannot tell the format; pass --input-format ({', '.join(INPUT_FORMATS)})")
    return fmt


def read_input(spark, path: str, fmt: str | None = None, text_column: str | None = None,
               id_column: str | None = None):
    """(rows, the text column to read them with). CSV, JSONL and TXT files are cut into rows on the
    executors by serve.batch's own readers (``sentilens.sources.file_rows``: one task per file, the
    same quoting, line bounds and bad-row rules, numbered by line): (_where, _json, _n, _problem).
    Parquet: see ``parquet_rows``."""
    fmt = input_format(path, fmt)
    if fmt == "parquet":
        return parquet_rows(spark, path, text_column, id_column)
    check_file_sizes(spark, path)
    ship_code(spark)
    files = spark.read.format("binaryFile").load(path).select("path", "content")
    if fmt == "text" and id_column is not None:
        raise DataError(f"{path}: a .txt file has no columns, so no id column {id_column!r}; its rows are numbered "
                        "by line")
    return files.mapInPandas(_reader(reader_suffix(fmt), text_column, id_column=id_column),
                             "_where string, _json string, _n long, _problem string"), "text"


def spread(spark, rows, partitions: int | None = None):
    """``rows`` over ``partitions`` parts, round robin; by default only when they arrive in fewer than two
    parts per core of the session (a file of a few Parquet row groups, a handful of CSV files), where
    Spark's own split leaves cores idle or unevenly loaded. A larger input keeps Spark's split."""
    if partitions:
        return rows.repartition(partitions)
    if is_connect(spark):  # no SparkContext to ask for the cores; --partitions sets it
        return rows
    cores = spark.sparkContext.defaultParallelism
    return rows.repartition(2 * cores) if rows.rdd.getNumPartitions() < 2 * cores else rows


def neutralized(df):
    """Every string cell that a spreadsheet would run as a formula (``serve.safe_csv.FORMULA_STARTS``)
    gets a leading apostrophe."""
    from pyspark.sql import functions as F

    starts = "^[" + re.escape("".join(FORMULA_STARTS)) + "]"
    return df.select(*[F.when(F.col(c).rlike(starts), F.concat(F.lit("'"), F.col(c))).otherwise(F.col(c)).alias(c)
                       if t == "string" else F.col(c) for c, t in df.dtypes])


@dataclass(frozen=True)
class SparkJob:
    """One scoring run: what to read (``src``, its ``input_format`` and ``text_column``), the model and how
    to score (``explain`` words by ``method``, ``threshold``, ``precision``; ``expected_sha256`` is the
    model the executors must find), and what to write (``out`` as ``out_format``, ``raw_csv``);
    ``partitions`` spreads a small input; ``evaluate`` adds the metrics of labelled rows."""

    src: str
    out: str
    model_dir: str = str(DEFAULT_DIR)
    text_column: str | None = None
    explain: int = 0
    method: str = DEFAULT_METHOD
    threshold: float = THRESHOLD
    out_format: str = "parquet"
    input_format: str | None = None
    evaluate: bool = False
    expected_sha256: str | None = None
    raw_csv: bool = False
    precision: str = "fp32"
    partitions: int | None = None
    id_column: str | None = None


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _local(out: str) -> Path | None:
    """The output as a local folder (a plain path or ``file:``), or None for another filesystem's."""
    if out.startswith("file:"):
        return Path(out.removeprefix("file:").removeprefix("//"))
    return None if "://" in out else Path(out)


@contextmanager
def private_output(out: str, local: bool = True) -> Iterator[str]:
    """Spark's save mode for ``out``, written with the modes serve.batch gives (0666/0777 less the caller's
    umask: 0600 files and 0700 folders under umask 077). Hadoop's local filesystem makes folders and files
    with the JVM's own modes (0755/0644 whatever the caller's umask), so a local output folder is made here
    first, with the caller's modes (nothing inside can be read by others while Spark writes), Spark writes
    into it, and every file and folder it made is given the caller's modes when it is done; a run that
    fails removes the folder it made. Elsewhere (HDFS...), Hadoop's ``fs.permissions.umask-mode`` is set
    to the caller's umask. ``local``: the session's paths are this machine's (not through Spark Connect)."""
    folder = _local(out) if local else None
    if folder is None:
        yield "error"  # (Spark Connect knows only this spelling of it)
        return
    try:
        folder.mkdir()
    except FileExistsError:
        raise DataError(f"{out}: already exists; choose a new folder (nothing was written)") from None
    try:
        yield "append"  # into the folder just made, empty
        umask = _umask()
        for place, folders, files in os.walk(folder):
            for name in folders:
                os.chmod(os.path.join(place, name), 0o777 & ~umask)
            for name in files:
                os.chmod(os.path.join(place, name), 0o666 & ~umask)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def run(spark, job: SparkJob) -> dict:
    """Score ``src`` into the folder ``out`` (and ``out/_rejected``); returns the summary."""
    from pyspark.sql import functions as F

    t0 = time.perf_counter()
    source, text_column = read_input(spark, job.src, job.input_format, job.text_column, job.id_column)
    source = spread(spark, source, job.partitions).persist()
    rows_in = source.count()
    result = score_dataframe(source, job.model_dir, text_column, job.explain, job.method, job.threshold,
                             job.expected_sha256, job.precision).persist()
    scored = result.filter(F.col("problem").isNull()).drop(*REJECT_COLUMNS)
    if not job.explain:
        scored = scored.drop("top_words")
    rejected = result.filter(F.col("problem").isNotNull()).select(*REJECT_COLUMNS)
    if job.out_format == "csv" and not job.raw_csv:  # what serve.batch's SafeWriter does, in Spark's terms
        scored, rejected = neutralized(scored), neutralized(rejected)
    with private_output(job.out, local=not is_connect(spark)) as mode:
        for frame, folder in ((scored, job.out), (rejected, f"{job.out.rstrip('/')}/_rejected")):
            (frame.write.format(job.out_format).mode(mode).option("header", True)
             .option("ignoreLeadingWhiteSpace", False).option("ignoreTrailingWhiteSpace", False)
             .option("fs.permissions.umask-mode", f"{_umask():03o}")  # Hadoop's own modes: the caller's umask
             .option("escape", "\"").save(folder))  # RFC 4180 quotes, as csv readers expect
    n_scored, n_rejected = scored.count(), rejected.count()
    seconds = time.perf_counter() - t0
    summary = {"input": job.src, "output": job.out, "rejected_file": f"{job.out.rstrip('/')}/_rejected",
               "rows_in": rows_in, "scored": n_scored, "rejected": n_rejected, "seconds": round(seconds, 3),
               "reviews_per_second": round(n_scored / seconds, 1)}
    if rows_in != n_scored + n_rejected:
        raise DataError(f"{job.src}: {rows_in:,} rows in but {n_scored:,} scored + {n_rejected:,} rejected")
    if job.evaluate:
        import numpy as np

        from sentilens.metrics import classification_report

        labelled = scored.filter(F.col("true_label") != "").select("true_label", "probability").toPandas()
        if len(labelled):
            summary["metrics"] = classification_report(np.asarray(labelled["true_label"] == POS, dtype=int),
                                                       labelled["probability"].to_numpy(), job.threshold)
    result.unpersist()
    source.unpersist()
    return summary


EXAMPLES = ("sentilens spark reviews.parquet -o scored/",
            "sentilens spark 'data/*.csv' -o scored/ --format csv --explain 3 --master local[4]",
            "sentilens spark hdfs://nn/reviews/ -o scored/ --remote sc://127.0.0.1:15002")


@command("python -m serve.spark")
def main(argv: list[str] | None = None) -> int:
    """Score reviews on Apache Spark: locally, on a standalone cluster or through Spark Connect."""
    from serve.jobs.batch import print_summary

    p = parser("python -m serve.spark", main.__doc__, EXAMPLES)
    p.allow_abbrev = False
    p.add_argument("input", help="CSV, JSONL, TXT or Parquet: a file, folder or glob, local or a Hadoop URL")
    p.add_argument("-o", "--output", required=True, help="folder to write (must not exist); rejected rows go to "
                                                         "OUTPUT/_rejected")
    p.add_argument("--format", default="parquet", choices=["parquet", "csv", "json"], help="output format")
    p.add_argument("--input-format", choices=INPUT_FORMATS, help="when the input's suffix does not say")
    p.add_argument("--text-column", help="column with the review (default: text or review)")
    p.add_argument("--id-column", help=ID_HELP)
    p.add_argument("--explain", type=int, default=0, metavar="K", help="add the K words that moved the score most")
    p.add_argument("--method", choices=list(METHODS), default=DEFAULT_METHOD, help="explanation method")
    p.add_argument("--evaluate", action="store_true", help="accuracy, ROC AUC, F1, confusion (labelled input)")
    p.add_argument("--raw-csv", action="store_true", help="with --format csv: write cells as they are, without "
                                                            "neutralizing spreadsheet formulas")
    p.add_argument("--threshold", type=float, default=THRESHOLD)
    p.add_argument("--precision", choices=["fp32", "int8"], default="fp32",
                   help="int8: the quantized graph, as serve.batch's (faster, within the export's stated bound)")
    p.add_argument("--partitions", type=int, metavar="N", help="spread the input over N parts (default: two per "
                   "core when it arrives in fewer; Spark's own split otherwise)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--master", default="local[2]", help="Spark master (default local[2], bound to 127.0.0.1)")
    where.add_argument("--remote", metavar="sc://HOST:PORT", help="a Spark Connect server to run on instead")
    p.add_argument("--model", default=str(DEFAULT_DIR), help="model directory, shipped to the executors")
    args = p.parse_args(argv)
    if args.explain < 0 or not 0.0 <= args.threshold <= 1.0 or (args.partitions is not None and args.partitions < 1):
        p.error("--explain must be >= 0, --threshold in [0, 1] and --partitions >= 1")
    if args.remote is not None and not re.fullmatch(r"sc://[^/:\s]+:\d{1,5}(/;[^\s]*)?", args.remote):
        p.error(f"--remote must be sc://HOST:PORT (got {args.remote!r})")
    expected = check_model(args.model, args.method, args.precision)  # a damaged model stops here, before Spark
    input_format(args.input, args.input_format)  # and an input we cannot read
    local = args.remote is None and "://" not in args.input and not any(c in args.input for c in "*?[{")
    if local and not Path(args.input).exists():  # through Spark Connect, paths are the server's
        raise DataError(f"{args.input}: no such file or folder")
    if "://" not in args.output and Path(args.output).exists():
        raise DataError(f"{args.output}: already exists; choose a new folder (nothing was written)")
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise DataError('Spark scoring needs the spark extra: pip install -e ".[spark]" (and Java 17)') from None
    spark = session(args.master, remote=args.remote)
    try:
        summary = run(spark, SparkJob(args.input, args.output, args.model, args.text_column, args.explain, args.method,
                                      args.threshold, args.format, args.input_format, args.evaluate, expected,
                                      args.raw_csv, args.precision, args.partitions, args.id_column))
    except SentilensError:
        raise
    except Exception as err:  # noqa: BLE001 - Spark's own errors: one line; anything else is a bug
        if not from_spark(err):
            raise
        raise spark_error(err) from None
    finally:
        spark.stop()
    print_summary(summary, args.evaluate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
