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

from sentilens.artifact import INPUT, OPSET, OUTPUTS, Weight
from sentilens.errors import ExportError
from trainer.cells import Cell

__all__ = ["keras_weights", "round_to_half", "save", "store_half", "to_onnx", "weight_roles"]


def to_onnx(export_model, maxlen: int) -> onnx.ModelProto:
    spec = [tf.TensorSpec([None, maxlen], tf.int32, name=INPUT)]

    @tf.function(input_signature=spec)
    def serve(ids):
        probability, running = export_model(ids, training=False)
        return dict(zip(OUTPUTS, (probability, running)))

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=spec, opset=OPSET)
    return proto


def keras_weights(export_model) -> dict[str, np.ndarray]:
    """The tensors explain/ reads, by role, as Keras holds them (the recurrent weights aside: the
    fused op stores them in its own layout and is found by its inputs)."""
    roles = {"embedding": ("embedding", 0), "readout_kernel": ("readout", 0), "readout_bias": ("readout", 1),
             "unigram": ("word_evidence", 0), "pairs": ("word_evidence", 1), "position": ("gate", 0)}
    layers = {layer.name: layer for layer in export_model.layers}
    return {role: np.asarray(layers[name].get_weights()[k]) for role, (name, k) in roles.items() if name in layers}


def weight_roles(proto: onnx.ModelProto, cell: Cell, known: dict[str, np.ndarray]) -> tuple[dict[str, str], str]:
    """Name of the initializer behind each weight explain/ reads, and the recurrent op found.

    W, R, B: the fused recurrent op's inputs (ONNX layout). Every other role is the one initializer
    holding exactly the Keras tensor ``known[role]``; a bias may be absent (tf2onnx drops an all-zero
    one). A cell that ``must_fuse`` fails the export unless there is one fused op and no Loop.
    """
    graph = proto.graph
    fused = [list(n.input) for n in graph.node if n.op_type == cell.onnx_op]
    loops = sum(n.op_type == "Loop" for n in graph.node)
    if cell.must_fuse and (len(fused) != 1 or loops):
        raise ExportError(f"expected one fused {cell.onnx_op} op and no Loop, found {len(fused)} "
                          f"{cell.onnx_op} and {loops} Loop")
    op = cell.onnx_op if len(fused) == 1 and not loops else "Loop"
    roles = dict(zip(("W", "R", "B"), fused[0][1:4])) if op == cell.onnx_op else {}
    arrays = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for role, want in known.items():
        found = [name for name, got in arrays.items()
                 if got.dtype == want.dtype and got.size == want.size and np.array_equal(got.reshape(want.shape), want)]
        if len(found) > 1 and len({arrays[n].shape for n in found}) == 1 and not want.any():
            found = found[:1]  # equal all-zero tensors: any one serves
        if not found and role == "readout_bias":
            continue
        if len(found) != 1:
            raise ExportError(f"cannot find the {role} weights in the ONNX graph ({len(found)} candidates)")
        roles[role] = found[0]
    return roles, op


def round_to_half(export_model) -> None:
    """Round the embedding to float16 values in Keras, so that the export can store it as float16
    (half the size; ``store_half``) and Keras and onnxruntime still compute with the same numbers."""
    layer = export_model.get_layer("embedding")
    layer.set_weights([w.astype(np.float16).astype(np.float32) for w in layer.get_weights()])


def store_half(proto: onnx.ModelProto, name: str) -> None:
    """Store initializer ``name`` as float16 and widen each lookup of it back to float32 (a Cast after
    the Gather). Its values must already be float16 numbers (``round_to_half``): nothing changes."""
    graph = proto.graph
    tensor = next(t for t in graph.initializer if t.name == name)
    array = numpy_helper.to_array(tensor)
    half = array.astype(np.float16)
    if not np.array_equal(half.astype(array.dtype), array):
        raise ExportError(f"{name}: not float16 values; round the weights before the export")
    tensor.CopyFrom(numpy_helper.from_array(half, name))
    nodes = list(graph.node)
    del graph.node[:]
    for node in nodes:  # (appending copies a node: rename the output first)
        if node.op_type == "Gather" and node.input[0] == name and name not in node.input[1:]:
            wide = node.output[0]
            node.output[0] = wide + "_half"
            graph.node.extend([node, onnx.helper.make_node("Cast", [node.output[0]], [wide], to=onnx.TensorProto.FLOAT)])
        elif name in node.input:
            raise ExportError(f"{name} is read by a {node.op_type} node, not only looked up; cannot store it as float16")
        else:
            graph.node.append(node)


def save(proto: onnx.ModelProto, cell: Cell, known: dict[str, np.ndarray], onnx_path: Path,
         data_name: str) -> tuple[dict[str, Weight], str]:
    """Write the graph, with the weights explain/ reads moved into ``data_name``; return their index
    and the recurrent op found.

    Only those tensors go external: onnxruntime must see small shape constants inline.
    """
    outputs = [o.name for o in proto.graph.output]
    if sorted(outputs) != sorted(OUTPUTS):
        raise ExportError(f"outputs are {outputs}, expected {list(OUTPUTS)}")
    roles, op = weight_roles(proto, cell, known)
    if "embedding" in roles:
        store_half(proto, roles["embedding"])
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
