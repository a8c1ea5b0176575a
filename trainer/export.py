"""Keras -> ONNX with tf2onnx, laid out so that the serving side needs no ONNX library.

The graph keeps one fused recurrent op, a dynamic batch dimension, an int32 ``ids``
input ``[batch, maxlen]`` and two outputs: ``probability [batch]`` and
``running_score [batch, maxlen]``. Weights are stored as ONNX external data in one raw
file beside the graph; the offsets of the tensors explain/ needs (embedding, recurrent
and readout weights) are recorded in the metadata, so numpy reads exactly the bytes
onnxruntime runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import tensorflow as tf
import tf2onnx
from onnx import numpy_helper

from sentilens.artifact import INPUT, OUTPUTS, Weight
from sentilens.errors import ExportError
from trainer.cells import Cell

OPSET = 17


def to_onnx(export_model, maxlen: int) -> onnx.ModelProto:
    spec = [tf.TensorSpec([None, maxlen], tf.int32, name=INPUT)]

    @tf.function(input_signature=spec)
    def serve(ids):
        probability, running = export_model(ids, training=False)
        return dict(zip(OUTPUTS, (probability, running)))

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=spec, opset=OPSET)
    return proto


def _readout(graph: onnx.GraphProto, inits: dict) -> tuple[str, str | None]:
    """Walk back from the Sigmoid to the Dense's MatMul kernel and (unless folded away as zero) its Add bias."""
    producer = {out: n for n in graph.node for out in n.output}
    sigmoids = [n for n in graph.node if n.op_type == "Sigmoid"]
    if len(sigmoids) != 1:
        raise ExportError(f"expected one Sigmoid readout, found {len(sigmoids)}")
    kernel = bias = None
    node = producer.get(sigmoids[0].input[0])
    while node is not None and node.op_type in ("Reshape", "Add", "MatMul"):
        consts = [i for i in node.input if i in inits]
        if node.op_type == "Add" and consts:
            bias = consts[0]
        if node.op_type == "MatMul":
            kernel = consts[0] if consts else None
            break
        node = producer.get(node.input[0])
    if kernel is None:
        raise ExportError("cannot find the readout Dense kernel behind the Sigmoid")
    return kernel, bias


def weight_roles(proto: onnx.ModelProto, cell: Cell) -> tuple[dict[str, str], str]:
    """Name of the initializer behind each weight explain/ reads, and the recurrent op found.

    embedding: the Gather table; W, R, B: the fused recurrent op's weights (ONNX layout);
    readout_kernel, readout_bias: the Dense layer (the bias is absent when it is exactly zero).
    A cell that ``must_fuse`` fails the export unless there is exactly one fused op and no Loop.
    """
    graph = proto.graph
    inits = {t.name: t for t in graph.initializer}
    fused = [list(n.input) for n in graph.node if n.op_type == cell.onnx_op]
    loops = sum(n.op_type == "Loop" for n in graph.node)
    if cell.must_fuse and (len(fused) != 1 or loops):
        raise ExportError(f"expected one fused {cell.onnx_op} op and no Loop, found {len(fused)} "
                          f"{cell.onnx_op} and {loops} Loop")
    op = cell.onnx_op if len(fused) == 1 and not loops else "Loop"
    roles = dict(zip(("W", "R", "B"), fused[0][1:4])) if op == cell.onnx_op else {}
    tables = [n.input[0] for n in graph.node
              if n.op_type == "Gather" and n.input[0] in inits and len(inits[n.input[0]].dims) == 2]
    if len(tables) != 1:
        raise ExportError(f"expected one embedding Gather, found {len(tables)}")
    roles["embedding"] = tables[0]
    roles["readout_kernel"], bias = _readout(graph, inits)
    if bias is not None:
        roles["readout_bias"] = bias
    return roles, op


def save(proto: onnx.ModelProto, cell: Cell, onnx_path: Path, data_name: str) -> tuple[dict[str, Weight], str]:
    """Write the graph, with the weights explain/ reads moved into ``data_name``; return their index
    and the recurrent op found.

    Only those tensors go external: onnxruntime must see small shape constants inline.
    """
    outputs = [o.name for o in proto.graph.output]
    if sorted(outputs) != sorted(OUTPUTS):
        raise ExportError(f"outputs are {outputs}, expected {list(OUTPUTS)}")
    roles, op = weight_roles(proto, cell)
    by_name = {t.name: t for t in proto.graph.initializer}
    index, offset = {}, 0
    with open(onnx_path.parent / data_name, "wb") as data:
        for role, name in roles.items():
            tensor = by_name[name]
            array = numpy_helper.to_array(tensor)
            raw = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
            data.write(raw)
            index[role] = Weight(name, offset, len(raw), tuple(array.shape), array.dtype.name)
            tensor.ClearField("raw_data")
            for field in ("float_data", "int32_data", "int64_data", "double_data"):
                tensor.ClearField(field)
            tensor.data_location = onnx.TensorProto.EXTERNAL
            del tensor.external_data[:]
            for key, value in (("location", data_name), ("offset", str(offset)), ("length", str(len(raw)))):
                entry = tensor.external_data.add()
                entry.key, entry.value = key, value
            offset += len(raw)
    onnx.save_model(proto, str(onnx_path))
    # The index must point at the very bytes onnx reads back.
    full = onnx.load_model(str(onnx_path))
    loaded = {t.name: numpy_helper.to_array(t) for t in full.graph.initializer}
    for role, entry in index.items():
        raw = np.fromfile(onnx_path.parent / data_name, dtype=entry.dtype,
                          count=int(np.prod(entry.shape)), offset=entry.offset).reshape(entry.shape)
        if not np.array_equal(raw, loaded[entry.name]):
            raise ExportError(f"weight index for {role} does not match the saved tensor")
    return index, op
