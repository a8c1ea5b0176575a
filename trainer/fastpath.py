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

import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from sentilens.cli import command, parser
from sentilens import lstm
from sentilens.artifact import (FAST_FILES, INT8, INT8_FILES, INT8_MAX_ACCURACY_LOSS, OPSET, PARITY_TOLERANCE,
                               SKIP_PADDING, WORD_EVIDENCE, Artifact)
from sentilens.evidence import GATE_MAX, PAIR_MULTIPLIERS
from sentilens.errors import ExportError

__all__ = ["EXAMPLES", "add_fast_path", "add_int8", "build_graph", "main", "pad_states"]



def pad_states(weights: dict[str, np.ndarray], maxlen: int) -> np.ndarray:
    """float32 [maxlen + 1, 2, H]: (h, c) after p pad ids from the zero state, p = 0..maxlen.

    The ONNX LSTM recurrence (gates i, o, f, c; Wb + Rb), in float32 like onnxruntime."""
    W, R, B = (weights[k][0].astype(np.float32) for k in ("W", "R", "B"))
    H = R.shape[-1]
    x = np.zeros(W.shape[-1], np.float32)  # the pad id's embedding (and no evidence on a pad)
    x[: weights["embedding"].shape[-1]] = weights["embedding"][0]
    xw = W @ x + B[: 4 * H] + B[4 * H:]
    h, c = np.zeros(H, np.float32), np.zeros(H, np.float32)
    table = np.zeros((maxlen + 1, 2, H), np.float32)
    for p in range(1, maxlen + 1):
        h, c = lstm.step(xw, R, h, c)
        table[p, 0], table[p, 1] = h, c
    return table


def _external(art: Artifact, role: str) -> TensorProto:
    w = art.weights[role]
    dtype = {"float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16}[w.dtype]
    tensor = TensorProto(name=role, data_type=dtype, dims=list(w.shape))
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", art.files["onnx_data"]), ("offset", str(w.offset)), ("length", str(w.length))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return tensor


def build_graph(art: Artifact) -> onnx.ModelProto:
    """Time-major, as the LSTM op reads: ids [T, n] int32, initial_h/initial_c [1, n, H],
    sequence_lens [n] (and, with word evidence, positions [T, n] int64: where each step sits in the
    padded review) -> probability [n]. Feeding [T, n] saves two [T, n, *] transposes a batch."""
    H = art.architecture["units"]
    evidence = WORD_EVIDENCE in art.capabilities.features
    inits = [_external(art, r) for r in ("embedding", "W", "R", "B", "readout_kernel")]
    inits += [helper.make_tensor("axis0", TensorProto.INT64, [1], [0]),
              helper.make_tensor("axis1", TensorProto.INT64, [1], [1]),
              helper.make_tensor("flat", TensorProto.INT64, [1], [-1])]
    if evidence:  # slice bounds and axes of the evidence and gate nodes
        inits += [helper.make_tensor("zero", TensorProto.INT64, [1], [0]),
                  helper.make_tensor("one", TensorProto.INT64, [1], [1]),
                  helper.make_tensor("two", TensorProto.INT64, [1], [2])]
    inputs = [helper.make_tensor_value_info("ids", TensorProto.INT32, ["T", "n"]),
              helper.make_tensor_value_info("initial_h", TensorProto.FLOAT, [1, "n", H]),
              helper.make_tensor_value_info("initial_c", TensorProto.FLOAT, [1, "n", H]),
              helper.make_tensor_value_info("sequence_lens", TensorProto.INT32, ["n"])]
    # The lookup table is built from initializers only, so onnxruntime folds it once at load: a float32
    # table (and, with evidence, the word's own score as one more column) instead of a cast per batch.
    if evidence:
        E = art.weights["embedding"].shape[-1]
        inputs.append(helper.make_tensor_value_info("positions", TensorProto.INT64, ["T", "n"]))
        inits += [_external(art, r) for r in ("unigram", "pairs", "position")]
        inits += [helper.make_tensor("pad_row", TensorProto.FLOAT16, [1, 1], [0.0]),  # a pad carries no evidence
                  helper.make_tensor("no_end", TensorProto.INT64, [1], [np.iinfo(np.int64).max]),
                  helper.make_tensor("embed_dim", TensorProto.INT64, [1], [E]),
                  helper.make_tensor("embed_end", TensorProto.INT64, [1], [E + 1])]
        nodes = [helper.make_node("Slice", ["unigram", "one", "no_end", "axis0"], ["unigram_words"]),
                 helper.make_node("Concat", ["pad_row", "unigram_words"], ["unigram_live"], axis=0),
                 helper.make_node("Concat", ["embedding", "unigram_live"], ["table16"], axis=1),
                 helper.make_node("Cast", ["table16"], ["table"], to=TensorProto.FLOAT),
                 helper.make_node("Gather", ["table", "ids"], ["x_word"]),  # [T, n, E + 1]
                 helper.make_node("Slice", ["x_word", "embed_dim", "embed_end", "two"], ["word"])]
        nodes += _evidence_nodes(art)
        nodes.append(helper.make_node("Concat", ["x_word", "pair"], ["x_with"], axis=-1))
        lstm_input = "x_with"
    else:
        nodes = [helper.make_node("Cast", ["embedding"], ["table"], to=TensorProto.FLOAT),
                 helper.make_node("Gather", ["table", "ids"], ["x_emb"])]
        lstm_input = "x_emb"
    nodes += [
        helper.make_node("LSTM", [lstm_input, "W", "R", "B", "sequence_lens", "initial_h", "initial_c"],
                         ["Y" if evidence else "", "Y_h"], hidden_size=H),
        helper.make_node("Squeeze", ["Y_h", "axis0"], ["h"]),
        helper.make_node("MatMul", ["h", "readout_kernel"], ["logit"]),
    ]
    readout = "logit"
    if "readout_bias" in art.weights:
        inits.append(_external(art, "readout_bias"))
        nodes.append(helper.make_node("Add", ["logit", "readout_bias"], ["logit_b"]))
        readout = "logit_b"
    if evidence:  # the last state's logit (column 0) plus the gated evidence (column 1 gates) of every step
        inits += [helper.make_tensor("gate_max", TensorProto.FLOAT, [], [GATE_MAX])]
        nodes += [
            helper.make_node("Slice", [readout, "zero", "one", "axis1"], ["state_logit2"]),  # [n, 1]
            helper.make_node("Reshape", ["state_logit2", "flat"], ["state_logit"]),
            helper.make_node("Slice", ["readout_kernel", "one", "two", "axis1"], ["gate_kernel"]),  # [H, 1]
            helper.make_node("Squeeze", ["Y", "axis1"], ["Y_tnh"]),
            helper.make_node("MatMul", ["Y_tnh", "gate_kernel"], ["gate_in"]),  # [T, n, 1]
            helper.make_node("Squeeze", ["gate_in", "two"], ["gate_pre"]),
            helper.make_node("Gather", ["position", "positions"], ["gate_bias"]),
        ]
        gate_z = "gate_zp"
        nodes.append(helper.make_node("Add", ["gate_pre", "gate_bias"], [gate_z]))
        if "readout_bias" in art.weights:
            nodes += [helper.make_node("Slice", ["readout_bias", "one", "two", "axis0"], ["gate_b"]),
                      helper.make_node("Add", [gate_z, "gate_b"], ["gate_z"])]
            gate_z = "gate_z"
        nodes += [
            helper.make_node("Sigmoid", [gate_z], ["gate_s"]),
            helper.make_node("Mul", ["gate_s", "gate_max"], ["gate"]),
            helper.make_node("Add", ["word", "pair"], ["evidence3"]),
            helper.make_node("Squeeze", ["evidence3", "two"], ["evidence"]),
            helper.make_node("Mul", ["gate", "evidence"], ["counted"]),
            helper.make_node("ReduceSum", ["counted", "axis0"], ["gated"], keepdims=0),  # over time: [n]
            helper.make_node("Add", ["state_logit", "gated"], ["total"]),
        ]
        readout = "total"
    nodes += [helper.make_node("Sigmoid", [readout], ["p"]),
              helper.make_node("Reshape", ["p", "flat"], ["probability"])]
    graph = helper.make_graph(nodes, "sentilens_fast", inputs,
                              [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["n"])],
                              initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="sentilens")


def _evidence_nodes(art: Artifact) -> list[onnx.NodeProto]:
    """The pair half of ``sentilens.evidence.token_evidence`` on the time-major tail ids: ``pair``
    [T, n, 1] float32 (a pair needs the previous step, one row up; the word's own score comes with
    its embedding row)."""
    a, b = PAIR_MULTIPLIERS
    buckets = art.architecture["evidence_buckets"]
    consts = {"mul_prev": a, "mul_cur": b, "buckets": buckets, "zero_id": 0}
    art_consts = [helper.make_tensor(name, TensorProto.INT64, [], [value]) for name, value in consts.items()]
    nodes = [helper.make_node("Constant", [], [t.name], value=t) for t in art_consts]
    nodes += [
        helper.make_node("Constant", [], ["last_but_one"], value=helper.make_tensor("v", TensorProto.INT64, [1], [-1])),
        helper.make_node("Constant", [], ["shift"], value=helper.make_tensor("v", TensorProto.INT64, [4], [1, 0, 0, 0])),
        helper.make_node("Cast", ["ids"], ["cur"], to=TensorProto.INT64),
        helper.make_node("Slice", ["cur", "zero", "last_but_one", "axis0"], ["cur_head"]),
        helper.make_node("Pad", ["cur_head", "shift"], ["prev"]),
        helper.make_node("Mul", ["prev", "mul_prev"], ["prev_m"]),
        helper.make_node("Mul", ["cur", "mul_cur"], ["cur_m"]),
        helper.make_node("Add", ["prev_m", "cur_m"], ["pair_key"]),
        helper.make_node("Mod", ["pair_key", "buckets"], ["bucket"]),
        helper.make_node("Equal", ["cur", "zero_id"], ["cur_pad"]),
        helper.make_node("Not", ["cur_pad"], ["cur_live_b"]),
        helper.make_node("Cast", ["cur_live_b"], ["cur_live2"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["cur_live2", "two"], ["cur_live"]),
        helper.make_node("Equal", ["prev", "zero_id"], ["prev_pad"]),
        helper.make_node("Not", ["prev_pad"], ["prev_live_b"]),
        helper.make_node("Cast", ["prev_live_b"], ["prev_live2"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["prev_live2", "two"], ["prev_live"]),
        helper.make_node("Gather", ["pairs", "bucket"], ["pair16"]),
        helper.make_node("Cast", ["pair16"], ["pair_raw"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["pair_raw", "cur_live"], ["pair_cur"]),
        helper.make_node("Mul", ["pair_cur", "prev_live"], ["pair"]),
    ]
    return nodes


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

    from sentilens.metrics import int8_report
    from serve.runtime import SentimentModel

    directory = Path(directory)
    art = Artifact.load(directory, complete=False)
    target = directory / INT8_FILES["fast_int8"]
    caps = art.capabilities
    if art.files.pop("fast_int8", None):  # measured again from scratch: forget the previous int8 scorer
        art.capabilities = type(caps)(caps.cell, caps.onnx_op, caps.fused, tuple(f for f in caps.features if f != INT8),
                                      caps.methods)
        art.write(directory)
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
    result = int8_report(labels, fp32, int8, INT8_MAX_ACCURACY_LOSS)
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


EXAMPLES = ("sentilens fastpath exported --data ../shared/data/aclImdb_v1_labeled.tar.gz --int8",)


@command("python -m trainer.fastpath")
def main(argv: list[str] | None = None) -> int:
    """Add the padding-skipping graph (and with --int8 its quantized twin) to an export."""
    p = parser("python -m trainer.fastpath", main.__doc__, EXAMPLES)
    p.add_argument("model", help="an export directory (e.g. exported/)")
    p.add_argument("--data", help="aclImdb .tar.gz or folder whose test reviews check parity")
    p.add_argument("--reviews", type=int, help="check only the first N test reviews")
    p.add_argument("--int8", action="store_true", help="also quantize to int8 and measure it (needs --data)")
    args = p.parse_args(argv)
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
    print(f"fast path written to {args.model}: max |fast - full| {parity['max_abs_diff']:.1e} on "
          f"{parity['reviews']:,} reviews; {json.dumps({k: str(Path(args.model) / v) for k, v in FAST_FILES.items()})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
