"""The padding-skipping scorer: a second ONNX graph on the same weights that runs only a review's
real steps.

Pre-padding feeds the LSTM nothing but pad ids before the start marker, so its state after ``p``
pads is a fixed function of ``p``. ``pad_states`` tabulates it (``pad_states.npy``, [maxlen + 1,
2, units]), and ``model_fast.onnx`` starts each row from its own state (``initial_h``/``initial_c``)
and runs only its real steps (``sequence_lens``): Gather -> LSTM -> Dense -> sigmoid, reading the
very weights of ``model.onnx.data`` (external data at the same offsets: nothing is copied). The
runtime sorts a chunk by length and feeds rows of similar length together (``serve.runtime``).
The fast graph must equal the full one to ``PARITY_TOLERANCE`` on real reviews or nothing is written.

    python -m trainer.fastpath exported/ [--data ../shared/data/aclImdb_v1_labeled.tar.gz]

adds the fast path to an existing export (parity checked on every test review of ``--data``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from sentilens.artifact import FAST_FILES, INT8, INT8_FILES, SKIP_PADDING, Artifact
from sentilens.errors import ExportError, SentilensError

PARITY_TOLERANCE = 1e-5
OPSET = 17
INT8_MAX_ACCURACY_LOSS = 0.003  # the int8 scorer is kept only within 0.3 points of fp32 on the test split


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def pad_states(weights: dict[str, np.ndarray], maxlen: int) -> np.ndarray:
    """float32 [maxlen + 1, 2, H]: (h, c) after p pad ids from the zero state, p = 0..maxlen.

    The ONNX LSTM recurrence (gates i, o, f, c; Wb + Rb), in float32 like onnxruntime."""
    W, R, B = (weights[k][0].astype(np.float32) for k in ("W", "R", "B"))
    H = R.shape[-1]
    x = weights["embedding"][0].astype(np.float32)  # the pad id's embedding
    xw = W @ x + B[: 4 * H] + B[4 * H:]
    h, c = np.zeros(H, np.float32), np.zeros(H, np.float32)
    table = np.zeros((maxlen + 1, 2, H), np.float32)
    for p in range(1, maxlen + 1):
        gates = xw + R @ h
        i, o, f, g = (gates[k * H:(k + 1) * H] for k in range(4))
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        table[p, 0], table[p, 1] = h, c
    return table


def _external(art: Artifact, role: str) -> TensorProto:
    w = art.weights[role]
    tensor = TensorProto(name=role, data_type=TensorProto.FLOAT, dims=list(w.shape))
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", art.files["onnx_data"]), ("offset", str(w.offset)), ("length", str(w.length))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return tensor


def build_graph(art: Artifact) -> onnx.ModelProto:
    """ids [n, T] int32, initial_h/initial_c [1, n, H], sequence_lens [n] -> probability [n]."""
    H = art.architecture["units"]
    inits = [_external(art, r) for r in ("embedding", "W", "R", "B", "readout_kernel")]
    readout = "logit"
    nodes = [
        helper.make_node("Gather", ["embedding", "ids"], ["x_bte"]),
        helper.make_node("Transpose", ["x_bte"], ["x"], perm=[1, 0, 2]),
        helper.make_node("LSTM", ["x", "W", "R", "B", "sequence_lens", "initial_h", "initial_c"], ["", "Y_h"],
                         hidden_size=H),
        helper.make_node("Squeeze", ["Y_h", "axis0"], ["h"]),
        helper.make_node("MatMul", ["h", "readout_kernel"], ["logit"]),
    ]
    if "readout_bias" in art.weights:
        inits.append(_external(art, "readout_bias"))
        nodes.append(helper.make_node("Add", ["logit", "readout_bias"], ["logit_b"]))
        readout = "logit_b"
    nodes += [helper.make_node("Sigmoid", [readout], ["p"]),
              helper.make_node("Reshape", ["p", "flat"], ["probability"])]
    inits += [helper.make_tensor("axis0", TensorProto.INT64, [1], [0]),
              helper.make_tensor("flat", TensorProto.INT64, [1], [-1])]
    graph = helper.make_graph(
        nodes, "sentilens_fast",
        [helper.make_tensor_value_info("ids", TensorProto.INT32, ["n", "T"]),
         helper.make_tensor_value_info("initial_h", TensorProto.FLOAT, [1, "n", H]),
         helper.make_tensor_value_info("initial_c", TensorProto.FLOAT, [1, "n", H]),
         helper.make_tensor_value_info("sequence_lens", TensorProto.INT32, ["n"])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["n"])],
        initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="sentilens")


def add_fast_path(directory: str | Path, check_ids: np.ndarray) -> dict:
    """Write the fast graph and the pad-state table into an export, check it against the full
    graph on ``check_ids`` (int32 [n, maxlen]) and record it; returns the parity figures."""
    from serve.runtime import SentimentModel

    directory = Path(directory)
    art = Artifact.load(directory, complete=False)
    if not art.capabilities.fused or art.capabilities.cell != "lstm":
        raise ExportError(f"{directory}: the fast path needs a fused LSTM export, not {art.capabilities.onnx_op}")
    weights = art.read_weights()
    np.save(directory / FAST_FILES["pad_states"], pad_states(weights, art.codec.maxlen), allow_pickle=False)
    onnx.save_model(build_graph(art), str(directory / FAST_FILES["fast_onnx"]))
    art.files.update(FAST_FILES)
    if SKIP_PADDING not in art.capabilities.features:
        caps = art.capabilities
        art.capabilities = type(caps)(caps.cell, caps.onnx_op, caps.fused, caps.features + (SKIP_PADDING,),
                                      caps.methods)
    art.write(directory)
    model = SentimentModel(directory, complete=False)
    full, fast = model.run(check_ids), model.score_ids(check_ids)
    diff = float(np.abs(full - fast).max()) if len(check_ids) else 0.0
    if not diff <= PARITY_TOLERANCE:
        for name in FAST_FILES.values():
            (directory / name).unlink(missing_ok=True)
        raise ExportError(f"the padding-skipping graph disagrees with the full one by {diff:.2e} "
                          f"(> {PARITY_TOLERANCE}); not written")
    art.fast_path = {"reviews": int(len(check_ids)), "max_abs_diff": diff, "tolerance": PARITY_TOLERANCE}
    art.write(directory)
    return art.fast_path


def add_int8(directory: str | Path, ids: np.ndarray, labels: np.ndarray) -> dict:
    """Quantize the fast graph's LSTM and readout weights to int8 (onnxruntime dynamic quantization),
    measure it against fp32 on labelled ``ids`` and keep it only within ``INT8_MAX_ACCURACY_LOSS``.
    The embedding stays float and is read from ``model.onnx.data``, so the int8 file is tiny.
    Returns the measurement, recorded under ``int8`` in the metadata either way."""
    import tempfile

    from onnxruntime.quantization import QuantType, quantize_dynamic

    from sentilens.metrics import classification_report
    from serve.runtime import SentimentModel

    directory = Path(directory)
    art = Artifact.load(directory, complete=False)
    target = directory / INT8_FILES["fast_int8"]
    with tempfile.TemporaryDirectory() as tmp:
        quantize_dynamic(str(art.path("fast_onnx")), f"{tmp}/q.onnx", op_types_to_quantize=["LSTM", "MatMul"],
                         weight_type=QuantType.QInt8)
        proto = onnx.load(f"{tmp}/q.onnx")
    for i, tensor in enumerate(proto.graph.initializer):  # the float weights it left alone: read them in place
        if tensor.name in art.weights:
            proto.graph.initializer[i].CopyFrom(_external(art, tensor.name))
    onnx.save_model(proto, str(target))
    fp32 = SentimentModel(directory, complete=False).score_ids(ids)
    int8 = SentimentModel(directory, complete=False, precision="int8", int8_file=target).score_ids(ids)
    a, b = classification_report(labels, fp32), classification_report(labels, int8)
    result = {"reviews": int(len(ids)), "fp32_accuracy": a["accuracy"], "accuracy": b["accuracy"],
              "fp32_roc_auc": a["roc_auc"], "roc_auc": b["roc_auc"],
              "agreement": float(((fp32 >= 0.5) == (int8 >= 0.5)).mean()),
              "max_accuracy_loss": INT8_MAX_ACCURACY_LOSS}
    result["kept"] = bool(a["accuracy"] - b["accuracy"] <= INT8_MAX_ACCURACY_LOSS)
    caps = art.capabilities
    features = tuple(f for f in caps.features if f != INT8)
    if result["kept"]:
        art.files.update(INT8_FILES)
        features += (INT8,)
    else:
        target.unlink()
        art.files.pop("fast_int8", None)
    art.capabilities = type(caps)(caps.cell, caps.onnx_op, caps.fused, features, caps.methods)
    art.int8 = result
    art.write(directory)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m trainer.fastpath", description=__doc__.splitlines()[0])
    p.add_argument("model", help="an export directory (e.g. exported/)")
    p.add_argument("--data", help="aclImdb .tar.gz or folder whose test reviews check parity")
    p.add_argument("--reviews", type=int, help="check only the first N test reviews")
    p.add_argument("--int8", action="store_true", help="also quantize to int8 and measure it (needs --data)")
    args = p.parse_args(argv)
    try:
        from sentilens.codec import Codec
        from sentilens.sources import read_aclimdb

        art = Artifact.load(args.model)
        codec = Codec(art.vocabulary, art.codec.maxlen)
        records = [r for r in read_aclimdb(args.data, split="test")][: args.reviews] if args.data else []
        ids = codec.encode_batch([r.text for r in records])
        parity = add_fast_path(args.model, ids)
        if args.int8:
            if not records:
                raise ExportError("--int8 needs --data to measure the int8 scorer's accuracy")
            measured = add_int8(args.model, ids, np.array([r.label for r in records]))
            print(f"int8: accuracy {measured['accuracy']:.4f} vs fp32 {measured['fp32_accuracy']:.4f}, "
                  f"agreement {measured['agreement']:.4f}; {'kept' if measured['kept'] else 'not kept'}")
    except SentilensError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"fast path written to {args.model}: max |fast - full| {parity['max_abs_diff']:.1e} on "
          f"{parity['reviews']:,} reviews; {json.dumps({k: str(Path(args.model) / v) for k, v in FAST_FILES.items()})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
