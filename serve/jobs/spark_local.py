"""Spark as deployed, on this machine: pyspark's own standalone Master and Workers (``bin/spark-class``)
and Spark Connect server (``sbin/start-connect-server.sh``), every one bound to 127.0.0.1 and stopped,
with all its children, when the ``with`` block ends. For trying the cluster path on one machine;
the tests and ``bench/spark.py`` use them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from sentilens.ports import free_port

__all__ = ["connect_server", "standalone"]


def _home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def _environment() -> dict[str, str]:
    return {**os.environ, "SPARK_HOME": str(_home()), "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable, "SPARK_NO_DAEMONIZE": "1"}


def _start(argv: list[str], log: Path) -> subprocess.Popen:
    """A process in its own group, so that stopping it stops the JVM a launcher script started."""
    return subprocess.Popen(argv, env=_environment(), stdout=subprocess.DEVNULL, stderr=open(log, "w"),
                            start_new_session=True)


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def _wait_for(what: str, logs: list[Path], procs: list[subprocess.Popen], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while sum(what in log.read_text(errors="replace") for log in logs) < len(logs):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise RuntimeError(f"Spark did not start: {logs[0].read_text(errors='replace')[-2000:]}")
        time.sleep(0.5)


@contextlib.contextmanager
def standalone(work: Path, workers: int = 2, cores: int = 1, memory: str = "1g") -> Iterator[str]:
    """A standalone cluster (a Master, ``workers`` Workers of ``cores`` cores); yields its ``spark://`` URL."""
    klass = str(_home() / "bin" / "spark-class")
    port = free_port()
    url = f"spark://127.0.0.1:{port}"
    work.mkdir(parents=True, exist_ok=True)
    procs = [_start([klass, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                     "--webui-port", str(free_port())], work / "master.log")]
    try:
        logs = []
        for i in range(workers):
            logs.append(work / f"worker{i}.log")
            procs.append(_start([klass, "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1",
                                 "--cores", str(cores), "--memory", memory, "--webui-port", str(free_port()),
                                 "--work-dir", str(work / f"worker{i}")], logs[-1]))
        _wait_for("Successfully registered with master", logs, procs)
        yield url
    finally:
        _stop(procs)


@contextlib.contextmanager
def connect_server(work: Path, master: str = "local[2]") -> Iterator[str]:
    """A Spark Connect server on ``master``; yields its ``sc://`` URL."""
    port = free_port()
    work.mkdir(parents=True, exist_ok=True)
    log = work / "connect.log"
    loopback = {"spark.connect.grpc.binding.address": "127.0.0.1", "spark.connect.grpc.binding.port": str(port),
                "spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1", "spark.ui.enabled": "false"}
    argv = [str(_home() / "sbin" / "start-connect-server.sh"), "--wait", "--master", master]
    for key, value in loopback.items():
        argv += ["--conf", f"{key}={value}"]
    procs = [_start(argv, log)]
    try:
        _wait_for("Spark Connect server started", [log], procs)
        yield f"sc://127.0.0.1:{port}"
    finally:
        _stop(procs)
