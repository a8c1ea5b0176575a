"""The runtime model: an exported model loaded with onnxruntime, checked, ready to score text.

Imports numpy and onnxruntime only (and the explanation registry, to know which methods apply). ``sentilens.artifact`` validates the directory before any
byte is used; here the ONNX session is opened and its input and outputs are checked against
the metadata, so a model either loads exactly as it was trained or refuses with one line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
import onnxruntime as ort

from explain.methods import applicable
from sentilens.artifact import (INPUT, INT8, OUTPUTS, PROBE_TOLERANCE, PROBES, SKIP_PADDING, WORD_EVIDENCE,
                               Artifact)
from sentilens.codec import Codec
from sentilens.errors import ModelError

__all__ = ["BATCH", "DEFAULT_DIR", "FAST_BATCH", "SentimentModel", "default_threads"]

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "exported"
BATCH = 512  # rows per ORT call: large enough to amortise the call, small enough for cache
FAST_BATCH = 256  # rows of similar length per call of the padding-skipping graph


def default_threads() -> int:
    """One ORT thread per available core (affinity-aware), at least one."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class SentimentModel:
    """Scores reviews: text -> ids (the shared codec) -> onnxruntime -> probability."""

    def __init__(self, directory: str | Path = DEFAULT_DIR, threads: int | None = None, complete: bool = True,
                 precision: str = "fp32", int8_file: Path | None = None):
        """``precision="int8"`` scores with the int8 padding-skipping graph, which the export keeps only
        within its accuracy bound (``int8`` in the metadata); explanations always use fp32."""
        self.directory = Path(directory)
        self.artifact = art = Artifact.load(self.directory, complete=complete)
        self.codec = Codec(art.vocabulary, art.codec.maxlen)
        self.threads = threads or default_threads()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        # Idle ORT threads spin by default; with two sessions (the full graph and the padding-skipping
        # one, which an explanation calls in turn) the spinning pool starves the other: 40 ms for an
        # occlusion instead of 22 (bench/explain.py). Waiting threads sleep instead.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        onnx_path = art.path("onnx")
        try:
            self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - ORT raises several types for a bad graph
            raise ModelError(f"{onnx_path}: onnxruntime cannot load it ({str(err).splitlines()[0][:300]})") from None
        self._check_graph(onnx_path)
        self.fast = self.pad_table = None
        self.precision = precision
        if precision not in ("fp32", "int8"):
            raise ModelError(f"precision must be fp32 or int8, not {precision!r}")
        if precision == "int8" and int8_file is None and INT8 not in art.capabilities.features:
            measured = art.int8 or {}
            why = (f"its accuracy {measured['accuracy']:.4f} was more than {measured['max_accuracy_loss']:.3f} below "
                   f"fp32's {measured['fp32_accuracy']:.4f}" if measured else "it was exported without one")
            raise ModelError(f"{self.directory / 'metadata.json'}: this model has no int8 scorer ({why}); "
                             "use --precision fp32")
        if SKIP_PADDING in art.capabilities.features:
            fast = int8_file or (art.path("fast_int8") if precision == "int8" else art.path("fast_onnx"))
            self._open_fast_path(options, fast)
        if not self.methods:
            raise ModelError(f"{self.directory / 'metadata.json'}: capabilities.methods names no explanation "
                             "method this code knows")
        if art.probes is not None:
            self._check_probes(art.probes)

    def _check_probes(self, recorded: list) -> None:
        """The model must score the probe reviews as it did at export: every file passing its sha256 is not
        enough when the sha256 map itself was rewritten, or the files come from different exports."""
        got = self.run(self.codec.encode_batch(list(PROBES)))
        worst = float(np.abs(got - np.asarray(recorded, np.float32)).max())
        if not worst <= PROBE_TOLERANCE:
            raise ModelError(f"{self.directory}: scores its probe reviews up to {worst:.3f} away from what the export "
                             "recorded; its files do not belong together (vocabulary, weights or graph replaced)")

    def _check_graph(self, onnx_path: Path) -> None:
        outputs = [o.name for o in self.session.get_outputs()]
        if sorted(outputs) != sorted(OUTPUTS):
            raise ModelError(f"{onnx_path}: outputs are {outputs}, expected {' and '.join(OUTPUTS)}")
        inputs = self.session.get_inputs()
        shape = inputs[0].shape if len(inputs) == 1 else None
        if len(inputs) != 1 or inputs[0].name != INPUT or inputs[0].type != "tensor(int32)" or len(shape) != 2:
            raise ModelError(f"{onnx_path}: expected one int32 input {INPUT!r} [batch, maxlen]")
        if shape[1] != self.maxlen:
            raise ModelError(f"{onnx_path}: the graph reads {shape[1]} ids per review, but metadata.json "
                             f"says maxlen {self.maxlen}")

    def _open_fast_path(self, options: ort.SessionOptions, path: Path) -> None:
        table = self.artifact.path("pad_states")
        try:
            self.fast = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            self.pad_table = np.load(table, allow_pickle=False)
        except Exception as err:  # noqa: BLE001 - a bad graph or array: one line
            raise ModelError(f"{path}: the padding-skipping scorer cannot load ({str(err).splitlines()[0][:300]})") \
                from None
        self._fast_positions = WORD_EVIDENCE in self.artifact.capabilities.features
        want = {"ids", "initial_h", "initial_c", "sequence_lens"} | ({"positions"} if self._fast_positions else set())
        if {i.name for i in self.fast.get_inputs()} != want:
            raise ModelError(f"{path}: the padding-skipping graph's inputs are not {', '.join(sorted(want))}")
        # today's graph reads ids time-major [T, n], as the LSTM op does; earlier exports read [n, T]
        self._fast_time_major = next(i for i in self.fast.get_inputs() if i.name == "ids").shape[0] == "T"
        units = self.artifact.architecture["units"]
        if self.pad_table.shape != (self.maxlen + 1, 2, units) or self.pad_table.dtype != np.float32:
            raise ModelError(f"{table}: shape {list(self.pad_table.shape)} {self.pad_table.dtype}, expected "
                             f"[{self.maxlen + 1}, 2, {units}] float32")

    @property
    def maxlen(self) -> int:
        return self.codec.maxlen

    @property
    def sha256(self) -> str:
        """Identity of the model: the graph's sha256, recorded with every annotation."""
        return self.artifact.model_sha256

    @cached_property
    def methods(self) -> tuple[str, ...]:
        """Explanation methods recorded at export that this code knows and whose needs the model meets."""
        caps = self.artifact.capabilities
        return applicable(caps.features, recorded=caps.methods)

    def run(self, ids: np.ndarray, running: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """int32 [n, maxlen] -> probability [n] (and running score [n, maxlen]), in ORT batches."""
        ids = np.ascontiguousarray(ids, dtype=np.int32)
        if ids.ndim != 2 or ids.shape[1] != self.maxlen:
            raise ValueError(f"ids must be [n, {self.maxlen}], got {list(ids.shape)}")
        names = list(OUTPUTS) if running else [OUTPUTS[0]]
        parts = [self.session.run(names, {INPUT: ids[i:i + BATCH]}) for i in range(0, len(ids), BATCH)]
        if not parts:
            empty = np.zeros((0,), np.float32)
            return (empty, np.zeros((0, self.maxlen), np.float32)) if running else empty
        probability = np.concatenate([p[0] for p in parts])
        if running:
            return probability, np.concatenate([p[1] for p in parts])
        return probability

    def score_ids(self, ids: np.ndarray) -> np.ndarray:
        """Probabilities of padded ids [n, maxlen], equal to ``run`` (to 1e-5, checked at export) but
        running only each row's real steps when the export has the padding-skipping graph: rows are
        sorted by length and scored in groups, each starting from the LSTM state after its pads."""
        ids = np.ascontiguousarray(ids, dtype=np.int32)
        if self.fast is None or len(ids) == 0:
            return self.run(ids)
        if ids.ndim != 2 or ids.shape[1] != self.maxlen:
            raise ValueError(f"ids must be [n, {self.maxlen}], got {list(ids.shape)}")
        # the start id or a word is != 0; an all-zero row (argmax 0) counts as maxlen steps, like the full graph
        lengths = (self.maxlen - np.argmax(ids != 0, axis=1)).astype(np.int32)
        order = np.argsort(lengths, kind="stable")
        out = np.empty(len(ids), np.float32)
        for start in range(0, len(ids), FAST_BATCH):
            rows = order[start:start + FAST_BATCH]
            n, width = lengths[rows], int(lengths[rows].max())
            steps = np.arange(width)
            real = steps[None, :] < n[:, None]
            cols = np.where(real, (self.maxlen - n)[:, None] + steps[None, :], 0)
            tail = np.where(real, np.take_along_axis(ids[rows], cols, axis=1), 0).astype(np.int32)
            state = self.pad_table[self.maxlen - n]  # [rows, 2, H]: after this row's pads
            if self._fast_time_major:
                tail, cols = np.ascontiguousarray(tail.T), cols.T
            feed = {"ids": tail, "initial_h": state[None, :, 0], "initial_c": state[None, :, 1], "sequence_lens": n}
            if self._fast_positions:
                feed["positions"] = np.ascontiguousarray(cols, dtype=np.int64)
            out[rows] = self.fast.run(["probability"], feed)[0]
        return out

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Probability that each review is positive."""
        return self.score_ids(self.codec.encode_batch(texts))

    @cached_property
    def weights(self) -> dict[str, np.ndarray]:
        """The tensors explain/ needs, read from the ONNX external-data file (the bytes ORT runs)."""
        return self.artifact.read_weights()
