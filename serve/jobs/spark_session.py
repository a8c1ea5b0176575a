"""Spark itself for ``serve.jobs.spark``: a session bound to loopback (or a Spark Connect client), our
code and the model shipped to the executors as zip archives, and Spark's errors turned into one line.
It changes when Spark or a cluster manager does; the scoring in ``serve.jobs.spark`` does not."""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

from sentilens.digest import file_sha256
from sentilens.errors import DataError, InputError, ModelError, SentilensError
from sentilens.settings import spark_environment

__all__ = ["CODE", "ROOT", "from_spark", "is_connect", "session", "ship", "ship_code", "spark_error", "spark_message"]

ROOT = Path(__file__).resolve().parents[2]
CODE = ("sentilens", "explain", "serve")  # what the executors run (no TensorFlow side)
_OUR_ERROR = re.compile(r"(?:sentilens\.errors\.)?(ModelError|DataError|InputError): ([^\n]+)")
_bundles: Path | None = None  # the driver's folder of zips for the executors (see _zip)


def session(master: str = "local[2]", app_name: str = "sentilens", remote: str | None = None):
    """A SparkSession with no web UI; with a local master, or a cluster's master on loopback
    (``spark://127.0.0.1:7077``), the driver binds only to 127.0.0.1. With ``remote``
    (``sc://HOST:PORT``) a Spark Connect client instead: the server runs the driver."""
    from pyspark.sql import SparkSession

    if remote:
        spark_environment(False)
        return SparkSession.builder.remote(remote).getOrCreate()
    host = re.sub(r"^[a-z]+://", "", master).split(",")[0].rsplit(":", 1)[0]
    local = master.startswith("local") or host in ("127.0.0.1", "localhost")
    spark_environment(local)
    builder = (SparkSession.builder.master(master).appName(app_name)
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false"))
    if local:
        builder = (builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1"))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("OFF")  # our errors come as one line of ours
    return spark


def is_connect(spark) -> bool:
    """Whether ``spark`` is a Spark Connect client (no SparkContext: artifacts go through the session)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def ship(spark, model_dir: str) -> str:
    """Send the model directory and our code to the executors through Spark; returns the name the
    executors find the model under. Both go as zip archives (``addArchive`` and ``addPyFile``, or
    ``addArtifacts`` through Spark Connect), which every cluster manager delivers; executors need only
    the spark extra's libraries, not this project."""
    ship_code(spark)
    model = Path(model_dir)
    files = sorted(f for f in model.iterdir() if f.is_file())
    contents = hashlib.sha256("".join(f"{f.name}:{file_sha256(f)}\n" for f in files).encode()).hexdigest()
    name = f"sentilens-model-{contents[:16]}"  # the executors validate it in full (against the driver's sha256)
    holder = _holder(spark)
    shipped = getattr(holder, "_sentilens_models", set())
    if name not in shipped:  # an archive reaches executors under every cluster manager (a local folder does not)
        archive = f"{_zip(name, [(f, f.name) for f in files])}#{name}"
        if is_connect(spark):
            spark.addArtifacts(archive, archive=True)
        else:
            holder.addArchive(archive)
        holder._sentilens_models = shipped | {name}
    return name


def ship_code(spark) -> None:
    """Our serving packages to the executors, once per SparkContext (or Connect session)."""
    holder = _holder(spark)
    if not getattr(holder, "_sentilens_code", False):
        code = str(_zip("sentilens_code", [(file, file.relative_to(ROOT).as_posix()) for package in CODE
                                           for file in sorted((ROOT / package).rglob("*.py"))]))
        if is_connect(spark):
            spark.addArtifacts(code, pyfile=True)
        else:
            holder.addPyFile(code)
        holder._sentilens_code = True


def _holder(spark):
    """What keeps a session's shipped artifacts: the SparkContext (shared by its sessions), or the
    Connect session itself."""
    return spark if is_connect(spark) else spark.sparkContext


def _zip(name: str, entries: list[tuple[Path, str]]) -> Path:
    """``entries`` (file, name in the archive) as ``name``.zip in this process's bundle folder, which
    Spark serves to the executors for as long as the process runs and which goes with the process."""
    global _bundles
    if _bundles is None:
        import atexit
        import shutil
        import tempfile

        _bundles = Path(tempfile.mkdtemp(prefix="sentilens-spark-"))
        atexit.register(shutil.rmtree, _bundles, ignore_errors=True)
    bundle = _bundles / f"{name}.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        for file, arcname in entries:
            zf.write(file, arcname)
    return bundle


def from_spark(err: Exception) -> bool:
    """Spark's or the JVM's error, or ours raised on an executor; not a bug in this process or
    on an executor (those keep their traceback)."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException, PythonException

    if isinstance(err, PythonException):
        return bool(_OUR_ERROR.findall(str(err)))
    return isinstance(err, (PySparkException, Py4JError))


def spark_error(err: Exception) -> SentilensError:
    """One line back: our error raised on an executor (it arrives wrapped in a Java stack trace), or
    Spark's own as its error class and first message line (never py4j's "calling o82.addFile")."""
    found = _OUR_ERROR.findall(str(err))
    if found:
        kind, message = found[-1]
        return {"ModelError": ModelError, "DataError": DataError, "InputError": InputError}[kind](
            f"on an executor: {message.strip()}")
    return DataError(f"Spark failed: {spark_message(err)[:300]}")


def spark_message(err: Exception) -> str:
    """Spark's error class and the first line of its message, from a pyspark error (classic or Connect)
    or from the Java exception py4j wraps."""
    from pyspark.errors import PySparkException

    text, condition = str(err), None
    if isinstance(err, PySparkException):
        condition, text = err.getCondition(), err.getMessage() or text
    elif getattr(err, "java_exception", None) is not None:  # py4j's Py4JJavaError: the Java side's own words
        java = err.java_exception
        text = str(java.getMessage() or java.toString())
        try:
            condition = java.getCondition()  # Spark's own exceptions (SparkThrowable) carry their class
        except Exception:  # noqa: BLE001 - any other Java exception has none
            condition = None
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(err).__name__)
    first = re.sub(r"^(?:\[[A-Z_.]+\] )", "", first) if condition else first
    return f"[{condition}] {first}" if condition else first
