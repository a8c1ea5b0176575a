"""Write a learned version: the parent's files with new evidence tables, checked before it exists.

The word and pair tables are ONNX external data at offsets the metadata records, read by all three
graphs (the full one, the padding-skipping one and its int8 twin), so a version is the parent's files
with those bytes replaced: no graph is rebuilt and the LSTM, the pad states and the int8 weights are
the parent's. The graph file gets a ``doc_string`` naming the new weights' sha256 (a field appended to
the protobuf), so the model's identity (``Artifact.model_sha256``) changes with its weights.

Before the folder appears under its name (it is built in a hidden staging folder beside it and
renamed), onnxruntime must equal the numpy reference (``serve.learn.states``) and the padding-skipping
graph the full one to ``PARITY_TOLERANCE``, the int8 scorer is measured again and dropped if it falls
more than its bound below fp32, the probes are recorded again, and the folder must load as serving
loads a model. A crash or kill leaves only the staging folder, which is never served.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sentilens.artifact import (INT8, INT8_FILES, INT8_MAX_ACCURACY_LOSS, PARITY_TOLERANCE, PROBES,
                               TOKENIZER_FILES, Artifact, CodecSpec, Weight)
from sentilens.codec import Vocabulary
from sentilens.digest import file_sha256
from sentilens.tokenizer_json import tokenizer_json
from sentilens.errors import ModelError
from sentilens.metrics import classification_report, int8_report
from serve.learn import prior
from serve.learn.onnx_patch import retarget_initializers, with_doc_string
from serve.learn.states import trace
from serve.runtime import SentimentModel

__all__ = ["staging_for", "write_version"]

REPLACED = ("unigram", "pairs")  # the tensors a learned version may change (those given are written)
GROWN = ("embedding", "unigram")  # ... and those that grow with the vocabulary (appended to the data file)
ALIGN = 64  # bytes: where an appended tensor starts


def staging_for(out: Path) -> Path:
    """The hidden folder a version is built in, beside where it will be."""
    return out.parent / f".{out.name}.partial"


def write_version(parent: SentimentModel, tables: dict[str, np.ndarray], out: str | Path, lineage: dict,
                  check_ids: np.ndarray, check_labels: np.ndarray, reference_ids: np.ndarray,
                  accept: Callable[[SentimentModel, dict], None] | None = None,
                  measured_on: str = "the test sample in learning.npz") -> Artifact:
    """Write ``parent`` with ``tables`` (float16, the parent's shapes) as the version ``out`` (which must
    not exist); ``reference_ids`` are checked against the numpy reference, ``check_ids``/``check_labels``
    measure it (``metrics.test``). ``accept(model, metrics)`` may refuse it by raising."""
    out = Path(out)
    if out.exists():
        raise ModelError(f"{out}: already exists; a version is never written over another")
    staging = staging_for(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:  # made exclusively: a second learner that picked the same name stops here, deleting nothing
        staging.mkdir()
    except FileExistsError:
        raise ModelError(f"{staging}: another learner is writing {out.name} (or was stopped while it did); "
                         "learn again for the next version") from None
    try:
        art = parent.artifact
        for name in art.files.values():
            shutil.copyfile(parent.directory / name, staging / name)
        weights, codec = art.weights, art.codec
        vocabulary = tables.get("vocabulary")
        growing = vocabulary is not None and vocabulary.size != art.codec.vocab_size
        if growing:
            weights, codec = _grow(staging, art, tables, vocabulary)
        _replace_tensors(staging / art.files["onnx_data"], weights,
                         {r: tables[r] for r in REPLACED if r in tables and not (growing and r in GROWN)})
        data_sha = file_sha256(staging / art.files["onnx_data"])
        graph = staging / art.files["onnx"]
        graph.write_bytes(with_doc_string(graph.read_bytes(), f"sentilens learned version; weights sha256 {data_sha}"))
        version = dataclasses.replace(art, directory=None, probes=None, lineage=lineage, metrics=None, parity=None,
                                      files=dict(art.files), sha256={}, weights=weights, codec=codec)
        version.write(staging)
        model = SentimentModel(staging, complete=False)
        reference = trace(model.weights, model.pad_table, reference_ids).logit
        full = model.run(reference_ids)
        fast = model.score_ids(reference_ids)
        diff = float(np.abs(full - 1.0 / (1.0 + np.exp(-reference))).max()) if len(reference_ids) else 0.0
        fast_diff = float(np.abs(full - fast).max()) if len(reference_ids) else 0.0
        if not (diff <= PARITY_TOLERANCE and fast_diff <= PARITY_TOLERANCE):
            raise ModelError(f"the learned version's graphs disagree with the reference ({diff:.1e}, fast path "
                             f"{fast_diff:.1e}; tolerance {PARITY_TOLERANCE}); nothing was written")
        version.parity = {"reviews": int(len(reference_ids)), "max_abs_diff": diff, "tolerance": PARITY_TOLERANCE,
                          "against": "numpy reference (serve.learn.states)"}
        version.fast_path = {"reviews": int(len(reference_ids)), "max_abs_diff": fast_diff,
                             "tolerance": PARITY_TOLERANCE}
        scores = model.score_ids(check_ids)
        version.metrics = {"test": classification_report(check_labels, scores) | {"measured_on": measured_on}}
        if (art.metrics or {}).get("baseline"):  # the peers, on the parent's test split, for the model card
            version.metrics["baseline"] = art.metrics["baseline"]
        version.probes = [float(p) for p in model.run(model.codec.encode_batch(list(PROBES)))]
        if INT8 in art.capabilities.features:
            _measure_int8(version, staging, check_ids, check_labels, scores)
        version.write(staging)
        served = SentimentModel(staging)  # loads as the app will, probes and all
        if accept is not None:
            accept(served, version.metrics["test"])
        if out.exists():  # made meanwhile by someone else: theirs stays, ours is not published
            raise ModelError(f"{out}: appeared while the version was written; nothing was replaced")
        os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    version.directory = out
    return version


def _replace_tensors(data: Path, weights: dict[str, Weight], tables: dict[str, np.ndarray]) -> None:
    with open(data, "r+b") as f:
        for role in tables:
            w = weights[role]
            table = np.asarray(tables[role])
            if table.shape != w.shape or table.dtype != np.dtype(w.dtype):
                raise ModelError(f"the learned {role} table is {list(table.shape)} {table.dtype}, the model's "
                                 f"{list(w.shape)} {w.dtype}")
            f.seek(w.offset)
            f.write(table.astype(table.dtype.newbyteorder("<")).tobytes())


def _grow(staging: Path, art: Artifact, tables: dict, vocabulary: Vocabulary) -> tuple[dict, CodecSpec]:
    """A vocabulary with words appended: the grown embedding and word tables go to the end of the external
    data (the parent's bytes stay, unused), all three graphs are pointed at them (``onnx_patch``), and the
    vocabulary and ``learning.npz`` (no training uses for the new words) follow."""
    data = staging / art.files["onnx_data"]
    weights = dict(art.weights)
    by_name, by_role = {}, {}
    size = data.stat().st_size
    with open(data, "ab") as f:
        offset = size + (-size % ALIGN)
        f.write(b"\0" * (offset - size))
        for role in GROWN:
            w = art.weights[role]
            table = np.ascontiguousarray(tables[role]).astype(np.dtype(w.dtype).newbyteorder("<"))
            if table.shape[1:] != w.shape[1:] or table.shape[0] != vocabulary.size:
                raise ModelError(f"the grown {role} table is {list(table.shape)}, expected {vocabulary.size} rows")
            f.write(table.tobytes())
            weights[role] = Weight(w.name, offset, table.nbytes, tuple(table.shape), w.dtype)
            by_name[w.name] = by_role[role] = (tuple(table.shape), offset, table.nbytes)
            pad = -table.nbytes % ALIGN
            f.write(b"\0" * pad)
            offset += table.nbytes + pad
    for role, changes in (("onnx", by_name), ("fast_onnx", by_role), ("fast_int8", by_role)):
        if role in art.files:
            path = staging / art.files[role]
            path.write_bytes(retarget_initializers(path.read_bytes(), changes))
    vocabulary.save(staging / art.files["vocabulary"])
    if TOKENIZER_FILES["tokenizer"] in art.files.values():  # the standard tokenizer of the grown vocabulary
        (staging / TOKENIZER_FILES["tokenizer"]).write_text(tokenizer_json(vocabulary.words), encoding="utf-8")
    if "learning" in art.files:
        path = staging / art.files["learning"]
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        added = vocabulary.size - art.codec.vocab_size
        for key in ("word_uses", "word_docs", "word_positive_docs"):
            arrays[key] = np.concatenate([arrays[key], np.zeros(added, arrays[key].dtype)])
        prior.write(path, arrays)
    return weights, dataclasses.replace(art.codec, vocab_size=vocabulary.size)


def _measure_int8(version: Artifact, staging: Path, ids: np.ndarray, labels: np.ndarray, fp32: np.ndarray) -> None:
    """The int8 scorer reads the new tables too; kept only within the parent's recorded bound of fp32."""
    bound = float((version.int8 or {}).get("max_accuracy_loss", INT8_MAX_ACCURACY_LOSS))
    int8 = SentimentModel(staging, complete=False, precision="int8").score_ids(ids)
    result = version.int8 = int8_report(labels, fp32, int8, bound)
    if not result["kept"]:
        caps = version.capabilities
        version.capabilities = type(caps)(caps.cell, caps.onnx_op, caps.fused,
                                          tuple(f for f in caps.features if f != INT8), caps.methods)
        version.files.pop("fast_int8", None)
        (staging / INT8_FILES["fast_int8"]).unlink()
