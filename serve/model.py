"""The runtime model: ``exported/`` loaded with onnxruntime, checked, ready to score text.

Imports numpy and onnxruntime only. Every file is checked against the sha256 recorded in
the metadata before use, and the metadata must come from this codec version, so a model
either loads exactly as it was trained or refuses with one line naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
import onnxruntime as ort

from explain.codec import CODEC_VERSION, Codec, Vocabulary

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "exported"
METADATA = "metadata.json"
FORMAT = "sentilens-model/1"
REQUIRED = ("files", "codec", "sha256", "onnx", "model")
BATCH = 512  # rows per ORT call: large enough to amortise the call, small enough for cache


class ModelError(RuntimeError):
    """``exported/`` is missing, damaged or from another codec: the message names the file."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_threads() -> int:
    """One ORT thread per available core (affinity-aware), at least one."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def read_metadata(directory: str | Path) -> dict:
    path = Path(directory) / METADATA
    if not path.is_file():
        raise ModelError(f"{path}: missing; train a model with `python -m trainer --out {directory}`")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"{path}: not sentilens model metadata (format should be {FORMAT!r})")
    missing = [key for key in REQUIRED if not isinstance(meta.get(key), dict)]
    if missing or not all(k in meta["codec"] for k in ("version", "maxlen", "vocab_size")):
        raise ModelError(f"{path}: incomplete (missing {', '.join(missing) or 'codec fields'}); retrain the model")
    return meta


class SentimentModel:
    """Scores reviews: text -> ids (the shared codec) -> onnxruntime -> probability."""

    def __init__(self, directory: str | Path = DEFAULT_DIR, threads: int | None = None):
        self.directory = Path(directory)
        self.meta = meta = read_metadata(self.directory)
        where = self.directory / METADATA
        codec = meta.get("codec", {})
        if codec.get("version") != CODEC_VERSION:
            raise ModelError(
                f"{where}: made with codec version {codec.get('version')}, this code encodes with "
                f"version {CODEC_VERSION}; retrain the model"
            )
        for name, want in meta["sha256"].items():
            path = self.directory / name
            if not path.is_file():
                raise ModelError(f"{path}: missing (listed in {METADATA})")
            if file_sha256(path) != want:
                raise ModelError(f"{path}: sha256 does not match {METADATA}; the file is damaged or was replaced")
        vocab = Vocabulary.load(self.directory / meta["files"]["vocabulary"])
        if vocab.size != codec["vocab_size"]:
            raise ModelError(
                f"{self.directory / meta['files']['vocabulary']}: {vocab.size} ids, "
                f"but {METADATA} says vocab_size {codec['vocab_size']}"
            )
        self.codec = Codec(vocab, int(codec["maxlen"]))
        self.threads = threads or default_threads()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        onnx_path = self.directory / meta["files"]["onnx"]
        try:
            self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - ORT raises several types for a bad graph
            raise ModelError(f"{onnx_path}: onnxruntime cannot load it ({str(err).splitlines()[0]})") from None
        outputs = [o.name for o in self.session.get_outputs()]
        if sorted(outputs) != ["probability", "running_score"]:
            raise ModelError(f"{onnx_path}: outputs are {outputs}, expected probability and running_score")

    @property
    def maxlen(self) -> int:
        return self.codec.maxlen

    @property
    def sha256(self) -> str:
        """Identity of the model: the graph's sha256, recorded with every annotation."""
        return self.meta["sha256"][self.meta["files"]["onnx"]]

    def run(self, ids: np.ndarray, running: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """int32 [n, maxlen] -> probability [n] (and running score [n, maxlen]), in ORT batches."""
        ids = np.ascontiguousarray(ids, dtype=np.int32)
        if ids.ndim != 2 or ids.shape[1] != self.maxlen:
            raise ValueError(f"ids must be [n, {self.maxlen}], got {list(ids.shape)}")
        names = ["probability", "running_score"] if running else ["probability"]
        parts = [self.session.run(names, {"ids": ids[i:i + BATCH]}) for i in range(0, len(ids), BATCH)]
        if not parts:
            empty = np.zeros((0,), np.float32)
            return (empty, np.zeros((0, self.maxlen), np.float32)) if running else empty
        probability = np.concatenate([p[0] for p in parts])
        if running:
            return probability, np.concatenate([p[1] for p in parts])
        return probability

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Probability that each review is positive."""
        return self.run(self.codec.encode_batch(texts))

    @cached_property
    def weights(self) -> dict[str, np.ndarray]:
        """The tensors explain/ needs, read from the ONNX external-data file (the bytes ORT runs)."""
        data = self.directory / self.meta["files"]["onnx_data"]
        out = {}
        for role, entry in self.meta["onnx"]["weights"].items():
            count = int(np.prod(entry["shape"]))
            out[role] = np.fromfile(data, dtype=entry["dtype"], count=count, offset=entry["offset"]).reshape(entry["shape"])
        return out
