"""Point external-data initializers of a serialized ONNX model at new bytes, without the ``onnx`` package.

Why: adding words grows the embedding and unigram tables ([20000, 64] -> [20150, 64]). The grown table is
appended at the end of the external data file, so every graph that references it must get the
initializer's new ``dims`` and its external_data ``offset`` and ``length``. The serving install has no
``onnx`` package (onnxruntime brings the ``protobuf`` runtime but no ONNX descriptors), so this edits the
protobuf wire format by hand: a field walker reads (number, wire type, value) and re-emits every field it
does not change as its original bytes, recomputing only the lengths of the messages that enclose a change
(ModelProto.graph -> its initializers and value infos). Node attributes, subgraphs, functions, metadata
and unknown fields are never parsed, so they cannot move.

Shapes: a graph ``input``, ``output`` or ``value_info`` entry named like a changed initializer (older
exports list initializers as graph inputs) gets its ``dim_value``s replaced; symbolic (``dim_param``) and
unknown dims fit any size and stay. The ``value_info`` of tensors the nodes compute from a changed
initializer (the int8 fast graph declares ``unigram_live`` [20000, 1], a Concat of it) loses its shape and
keeps its element type: recomputing it needs each op's shape rules, and onnxruntime refuses to load a graph
whose declared shape contradicts its own inference, while an absent shape is just inferred. Graph outputs
are the interface and are left as declared.
"""

from __future__ import annotations

import math
from collections import Counter
from operator import index

__all__ = ["retarget_initializers", "with_doc_string"]

# field numbers of onnx.proto
_MODEL_DOC_STRING = 6
_MODEL_GRAPH, _GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_VALUE_INFOS, _GRAPH_VALUE_INFO = 7, 1, 5, (11, 12, 13), 13
_NODE_INPUT, _NODE_OUTPUT = 1, 2
_T_DIMS, _T_DATA_TYPE, _T_NAME, _T_EXTERNAL_DATA, _T_DATA_LOCATION, _EXTERNAL = 1, 2, 8, 13, 14, 1
_VI_NAME, _VI_TYPE, _TYPE_TENSOR, _TENSOR_SHAPE, _SHAPE_DIM, _DIM_VALUE = 1, 2, 1, 2, 1, 1
# bytes per element of TensorProto.DataType (FLOAT, UINT8, INT8, UINT16, INT16, INT32, INT64, BOOL, FLOAT16,
# DOUBLE, UINT32, UINT64, COMPLEX64, COMPLEX128, BFLOAT16, the four FLOAT8s); others are not checked
_ITEMSIZE = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 14: 8, 15: 16, 16: 2,
             17: 1, 18: 1, 19: 1, 20: 1}

Field = tuple[int, int, "int | bytes", bytes]  # number, wire type, value (int or payload), the field's own bytes


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(buf) and shift < 70:
        byte = buf[pos]
        value, pos, shift = value | (byte & 0x7F) << shift, pos + 1, shift + 7
        if byte < 0x80:
            return value, pos
    raise ValueError("not a valid ONNX model: a protobuf varint is truncated or too long")


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # a negative int64 is written as ten bytes, as protobuf does
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


def _fields(buf: bytes) -> list[Field]:
    """The fields of one message, in file order; groups (wire types 3 and 4, unused by ONNX) are refused."""
    out, pos = [], 0
    while pos < len(buf):
        start = pos
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, end = _read_varint(buf, pos)
        else:
            if wire == 2:
                size, pos = _read_varint(buf, pos)
            elif wire in (1, 5):  # fixed64, fixed32
                size = 8 if wire == 1 else 4
            else:
                raise ValueError(f"not a valid ONNX model: protobuf wire type {wire} in field {number}")
            end = pos + size
            if end > len(buf):
                raise ValueError("not a valid ONNX model: a protobuf field runs past its message")
            value = buf[pos:end]
        out.append((number, wire, value, buf[start:end]))
        pos = end
    return out


def _ld(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _edit(payload: bytes, number: int, fn) -> bytes:
    """The message with each length-delimited field ``number`` replaced by ``fn(its payload)``."""
    return b"".join(_ld(n, fn(v)) if n == number and w == 2 else raw for n, w, v, raw in _fields(payload))


def _retarget_tensor(fields: list[Field], name: str, dims: tuple[int, ...], offset: int, length: int) -> bytes:
    if not any(n == _T_DATA_LOCATION and w == 0 and v == _EXTERNAL for n, w, v, _ in fields):
        raise ValueError(f"initializer {name!r} is not stored as external data")
    data_type = next((v for n, w, v, _ in fields if n == _T_DATA_TYPE and w == 0), 0)
    if data_type in _ITEMSIZE and math.prod(dims) * _ITEMSIZE[data_type] != length:
        raise ValueError(f"initializer {name!r}: {length} bytes do not hold dims {list(dims)}")
    packed = any(n == _T_DIMS and w == 2 for n, w, _, _ in fields)  # keep the original's encoding
    new_dims = (_ld(_T_DIMS, b"".join(map(_varint, dims))) if packed and dims
                else b"".join(_varint(_T_DIMS << 3) + _varint(d) for d in dims))
    wanted, seen = {b"offset": str(offset).encode(), b"length": str(length).encode()}, set()
    last_entry = max((i for i, f in enumerate(fields) if f[0] == _T_EXTERNAL_DATA), default=len(fields) - 1)
    out = [] if any(f[0] == _T_DIMS for f in fields) else [new_dims]
    for i, (number, wire, value, raw) in enumerate(fields):
        if number == _T_DIMS:  # all dims fields become one run, where the first one was
            out.append(new_dims)
            new_dims = b""
        elif number == _T_EXTERNAL_DATA and wire == 2:
            entry = _fields(value)  # StringStringEntryProto: key = 1, value = 2
            key = next((v for n, w, v, _ in entry if n == 1 and w == 2), None)
            if key in wanted:
                seen.add(key)
                raw = _ld(number, b"".join(r for n, _, _, r in entry if n != 2) + _ld(2, wanted[key]))
            out.append(raw)
        else:
            out.append(raw)
        if i == last_entry:  # an offset or length the original left out (0, the rest of the file)
            out += [_ld(_T_EXTERNAL_DATA, _ld(1, k) + _ld(2, v)) for k, v in wanted.items() if k not in seen]
    return b"".join(out)


def _reshape_value_info(info: bytes, name: str, dims: tuple[int, ...]) -> bytes:
    def shape(payload: bytes) -> bytes:
        fields = _fields(payload)
        if sum(f[0] == _SHAPE_DIM for f in fields) != len(dims):
            raise ValueError(f"graph declares {name!r} with another rank than the new dims {list(dims)}")
        new = iter(dims)
        return b"".join(_ld(n, dim(v, next(new))) if n == _SHAPE_DIM else raw for n, _, v, raw in fields)

    def dim(payload: bytes, value: int) -> bytes:  # only dim_value changes; dim_param / unknown fit already
        return b"".join(_varint(_DIM_VALUE << 3) + _varint(value) if n == _DIM_VALUE and w == 0 else raw
                        for n, w, _, raw in _fields(payload))

    return _edit(info, _VI_TYPE, lambda t: _edit(t, _TYPE_TENSOR, lambda tt: _edit(tt, _TENSOR_SHAPE, shape)))


def _forget_shape(info: bytes) -> bytes:
    """The value info without its tensor shape (the element type stays): a shape computed from the old table
    size would contradict onnxruntime's inference, which refuses to load the graph then."""
    drop = lambda tensor: b"".join(raw for n, _, _, raw in _fields(tensor) if n != _TENSOR_SHAPE)  # noqa: E731
    return _edit(info, _VI_TYPE, lambda t: _edit(t, _TYPE_TENSOR, drop))


def _downstream(graph: list[Field], names: set[bytes]) -> set[bytes]:
    """Names the graph's nodes compute, directly or not, from ``names`` (inputs and outputs named by the
    nodes; a subgraph's implicit reads of outer names are not followed)."""
    nodes = [_fields(v) for n, w, v, _ in graph if n == _GRAPH_NODE and w == 2]
    found, size = set(names), -1
    while size != len(found):  # ONNX keeps nodes sorted, so one pass is enough; loop in case they are not
        size = len(found)
        for node in nodes:
            if any(n == _NODE_INPUT and v in found for n, _, v, _ in node):
                found.update(v for n, w, v, _ in node if n == _NODE_OUTPUT and w == 2)
    return found - names


def retarget_initializers(model: bytes, changes: dict[str, tuple[tuple[int, ...], int, int]]) -> bytes:
    """ModelProto bytes with each named external-data initializer of the main graph given new
    (dims, offset, length), and the graph's declared shapes of those names following; every other
    field is kept as its original bytes. ValueError if a name is missing, repeated or not external."""
    wanted: dict[bytes, tuple[str, tuple[int, ...], int, int]] = {}
    for name, (dims, offset, length) in changes.items():
        dims, offset, length = tuple(index(d) for d in dims), index(offset), index(length)
        if min(dims, default=0) < 0 or offset < 0 or length < 0:
            raise ValueError(f"initializer {name!r}: dims, offset and length must not be negative")
        wanted[name.encode()] = (name, dims, offset, length)
    found: Counter[bytes] = Counter()

    def graph(payload: bytes) -> bytes:
        out, fields = [], _fields(payload)
        derived = _downstream(fields, set(wanted))
        for number, wire, value, raw in fields:
            if wire == 2 and number == _GRAPH_INITIALIZER:
                tensor = _fields(value)
                key = next((v for n, w, v, _ in tensor if n == _T_NAME and w == 2), None)
                if key in wanted:
                    found[key] += 1
                    raw = _ld(number, _retarget_tensor(tensor, *wanted[key]))
            elif wire == 2 and number in _GRAPH_VALUE_INFOS:
                key = next((v for n, w, v, _ in _fields(value) if n == _VI_NAME and w == 2), None)
                if key in wanted:
                    raw = _ld(number, _reshape_value_info(value, *wanted[key][:2]))
                elif key in derived and number == _GRAPH_VALUE_INFO:
                    raw = _ld(number, _forget_shape(value))
            out.append(raw)
        return b"".join(out)

    result = _edit(bytes(model), _MODEL_GRAPH, graph)
    for key, (name, *_) in wanted.items():
        if found[key] != 1:
            raise ValueError(f"initializer {name!r} is {'missing from' if not found[key] else 'repeated in'} the graph")
    return result


def with_doc_string(model: bytes, text: str) -> bytes:
    """``model`` with its ``doc_string`` set to ``text``: one field appended to the ModelProto (the last value
    of a field wins in protobuf), so a version whose weights changed gets a graph file, and an identity, of
    its own."""
    return model + _ld(_MODEL_DOC_STRING, text.encode("utf-8"))
