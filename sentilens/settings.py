"""Configuration read once: every environment variable sentilens looks at, and shared constants.

Nothing else in the project reads ``os.environ``; entry points take their defaults from here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["DEFAULT_DB", "DEFAULT_HOST", "DEFAULT_PORT", "PROCESS_DEFAULTS", "Settings", "THRESHOLD",
           "apply_process_defaults", "spark_environment"]

THRESHOLD = 0.5  # P(positive) at or above which a review is called positive, everywhere
DEFAULT_DB = "annotations.sqlite3"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860

# Set for this process (and its children) unless the user chose a value, before numpy loads:
# small matrix products (explanations, one review) run fastest on one BLAS thread, and a
# multi-threaded OpenBLAS spinning beside onnxruntime's threads slows them 10-20x under load;
# TensorFlow's C++ start-up chatter is silenced unless asked for. Gradio's queue rebuilds a pandas
# summary of its last 10,000 events after every event, for a monitoring page sentilens does not use: a
# cost that grows with the events served (a third of a request's CPU under bench/load.py); it is kept
# over the last 1,000 events and refreshed every 1,000.
PROCESS_DEFAULTS = {"OPENBLAS_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
                    "GRADIO_ANALYTICS_CACHE_FREQUENCY": "1000", "GRADIO_ANALYTICS_MAX_EVENTS": "1000"}


def apply_process_defaults(environ: dict | None = None) -> None:
    env = os.environ if environ is None else environ
    for key, value in PROCESS_DEFAULTS.items():
        env.setdefault(key, value)


def spark_environment(local: bool) -> None:
    """Before a SparkSession starts: its Python workers run this interpreter (with our packages), and
    a local Spark binds to loopback only. A value the user set wins."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if local:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


@dataclass(frozen=True)
class Settings:
    """What the app reads from the environment (a Hugging Face Space has no command line)."""

    db: str = DEFAULT_DB  # SENTILENS_DB
    auth: str | None = None  # SENTILENS_AUTH: "user:password[,user:password...]"
    auth_file: str | None = None  # SENTILENS_AUTH_FILE: one user:password per line
    host: str = DEFAULT_HOST  # GRADIO_SERVER_NAME
    port: int = DEFAULT_PORT  # GRADIO_SERVER_PORT
    # Host names the app answers to besides loopback and the bound address: SENTILENS_ALLOWED_HOSTS
    # (comma-separated) and a Hugging Face Space's own SPACE_HOST. A request for any other name is
    # refused: a page on a rebinding domain cannot read or write through the visitor's browser.
    allowed_hosts: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        port = env.get("GRADIO_SERVER_PORT", "")
        return cls(
            db=env.get("SENTILENS_DB") or DEFAULT_DB,
            auth=env.get("SENTILENS_AUTH") or None,
            auth_file=env.get("SENTILENS_AUTH_FILE") or None,
            host=env.get("GRADIO_SERVER_NAME") or DEFAULT_HOST,
            port=int(port) if port.isdigit() else DEFAULT_PORT,
            allowed_hosts=tuple(h.strip() for h in (env.get("SENTILENS_ALLOWED_HOSTS", "") + ","
                                                     + env.get("SPACE_HOST", "")).split(",") if h.strip()),
        )
