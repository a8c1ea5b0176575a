"""serve.learn.onnx_patch: a grown external-data table is appended to the data file and the graphs are
pointed at it, on the protobuf wire format (the serving install has no ``onnx``).

The tiny models are built with ``onnx`` (skipped without it); the committed models need only onnxruntime."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnxruntime as ort
import pytest

from serve.learn.onnx_patch import retarget_initializers


@pytest.fixture
def onnx():
    return pytest.importorskip("onnx", reason="builds its test models with the onnx package (the trainer extra)")


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


def _session(path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _external(onnx, name: str, shape, offset: int, length: int, location: str = "tiny.onnx.data"):
    tensor = onnx.TensorProto(name=name, data_type=onnx.TensorProto.FLOAT, dims=shape,
                              data_location=onnx.TensorProto.EXTERNAL)
    for key, value in (("location", location), ("offset", str(offset)), ("length", str(length))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return tensor


def _tiny(onnx, directory, table: np.ndarray, extra_graph=(), **model_fields):
    """ids int64 [n] -> Gather(emb [V, 4], external at offset 16 of tiny.onnx.data) -> out [n, 4]."""
    from onnx import helper

    (directory / "tiny.onnx.data").write_bytes(b"\x7f" * 16 + table.tobytes())
    graph = helper.make_graph(
        [helper.make_node("Gather", ["emb", "ids"], ["out"])], "tiny",
        [helper.make_tensor_value_info("ids", onnx.TensorProto.INT64, ["n"])],
        [helper.make_tensor_value_info("out", onnx.TensorProto.FLOAT, ["n", 4])],
        [_external(onnx, "emb", table.shape, 16, table.nbytes)])
    for field, values in extra_graph:
        getattr(graph, field).extend(values)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8, **model_fields)


def _append(directory, grown: np.ndarray) -> tuple[int, int]:
    data = directory / "tiny.onnx.data"
    offset = data.stat().st_size
    with data.open("ab") as f:
        f.write(grown.tobytes())
    return offset, grown.nbytes


def _expected(model, name: str, dims, offset: int, length: int):
    """The original proto with exactly the fields a retarget changes set the way it should."""
    out = type(model)()
    out.CopyFrom(model)
    tensor = next(t for t in out.graph.initializer if t.name == name)
    del tensor.dims[:]
    tensor.dims.extend(dims)
    for entry in tensor.external_data:
        entry.value = {"offset": str(offset), "length": str(length)}.get(entry.key, entry.value)
    return out


def test_a_grown_table_appended_to_the_data_file_is_read_by_onnxruntime(onnx, tmp_path):
    table = np.arange(5 * 4, dtype=np.float32).reshape(5, 4)
    model = _tiny(onnx, tmp_path, table)
    (tmp_path / "tiny.onnx").write_bytes(model.SerializeToString())
    ids = np.array([0, 4, 2, 2], np.int64)
    np.testing.assert_array_equal(_session(tmp_path / "tiny.onnx").run(None, {"ids": ids})[0], table[ids])
    with pytest.raises(Exception, match="out of"):  # onnxruntime refuses an id past the table
        _session(tmp_path / "tiny.onnx").run(None, {"ids": np.array([6], np.int64)})

    grown = np.concatenate([table, -np.arange(3 * 4, dtype=np.float32).reshape(3, 4) - 1])
    offset, length = _append(tmp_path, grown)
    patched = retarget_initializers(model.SerializeToString(), {"emb": (grown.shape, offset, length)})
    (tmp_path / "tiny.onnx").write_bytes(patched)
    ids = np.array([0, 4, 5, 7, 6, 2], np.int64)
    np.testing.assert_array_equal(_session(tmp_path / "tiny.onnx").run(None, {"ids": ids})[0], grown[ids])


def test_nothing_but_the_changed_fields_moves(onnx, tmp_path):
    from onnx import helper

    table = np.ones((5, 4), np.float32)
    branch = helper.make_graph([helper.make_node("Identity", ["emb"], ["y"])], "branch", [],
                               [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
                               [helper.make_tensor("emb", onnx.TensorProto.FLOAT, [1], [2.0])])  # a subgraph's own emb
    extra = [("node", [helper.make_node("If", ["cond"], ["z"], then_branch=branch, else_branch=branch),
                       helper.make_node("Identity", ["emb"], ["copy"]), helper.make_node("Abs", ["copy"], ["abs"])]),
             ("input", [helper.make_tensor_value_info("cond", onnx.TensorProto.BOOL, [])]),
             ("value_info", [helper.make_tensor_value_info("emb", onnx.TensorProto.FLOAT, [5, "width"]),
                             helper.make_tensor_value_info("z", onnx.TensorProto.FLOAT, [5]),
                             helper.make_tensor_value_info("abs", onnx.TensorProto.FLOAT, [5, 4])]),
             ("initializer", [_external(onnx, "other", [5, 4], 16, 80), helper.make_tensor("k", 7, [2], [3, 4])])]
    model = _tiny(onnx, tmp_path, table, extra, doc_string="why", producer_name="test")
    helper.set_model_props(model, {"a": "b"})
    patched = retarget_initializers(model.SerializeToString(), {"emb": ((150, 4), 12345678901, 2400)})

    expected = _expected(model, "emb", [150, 4], 12345678901, 2400)
    expected.graph.value_info[0].type.tensor_type.shape.dim[0].dim_value = 150  # "width" stays symbolic
    expected.graph.value_info[2].type.tensor_type.ClearField("shape")  # computed from emb: left to inference
    assert onnx.load_model_from_string(patched) == expected
    assert patched == expected.SerializeToString()  # same field order: only the values and lengths changed
    # an unknown field (a newer onnx's, say) is carried through where it was
    unknown = _varint(99 << 3) + _varint(7)
    with_unknown = model.SerializeToString() + unknown
    assert retarget_initializers(with_unknown, {"emb": ((150, 4), 12345678901, 2400)}) == patched + unknown


def test_dims_keep_their_encoding_packed_or_not(onnx, tmp_path):
    table = np.arange(5 * 4, dtype=np.float32).reshape(5, 4)
    model = _tiny(onnx, tmp_path, table)
    tensor = model.graph.initializer.pop()
    unpacked = tensor.SerializeToString()  # onnx.proto is proto2: repeated int64 dims are written unpacked
    assert unpacked.startswith(b"\x08\x05\x08\x04")
    del tensor.dims[:]
    packed = b"\x0a\x02\x05\x04" + tensor.SerializeToString()  # field 1, length-delimited: varints 5, 4
    graph = model.graph.SerializeToString()
    model.ClearField("graph")
    grown = np.concatenate([table, np.full((295, 4), 7.0, np.float32)])  # 300 rows: a two-byte varint
    offset, length = _append(tmp_path, grown)
    for encoding, want in ((unpacked, b"\x08\xac\x02\x08\x04"), (packed, b"\x0a\x03\xac\x02\x04")):
        model_bytes = model.SerializeToString() + b"\x3a" + _varint(len(graph) + len(encoding) + 2) + graph \
            + b"\x2a" + _varint(len(encoding)) + encoding  # graph (7) with the initializer (5) appended
        assert list(onnx.load_model_from_string(model_bytes).graph.initializer[0].dims) == [5, 4]
        patched = retarget_initializers(model_bytes, {"emb": ((300, 4), offset, length)})
        assert want in patched and list(onnx.load_model_from_string(patched).graph.initializer[0].dims) == [300, 4]
        (tmp_path / "tiny.onnx").write_bytes(patched)
        ids = np.array([299, 0, 5], np.int64)
        np.testing.assert_array_equal(_session(tmp_path / "tiny.onnx").run(None, {"ids": ids})[0], grown[ids])


def test_refusals(onnx, tmp_path):
    from onnx import helper

    table = np.ones((5, 4), np.float32)
    inline = helper.make_tensor("inline", onnx.TensorProto.FLOAT, [2], [1.0, 2.0])
    model = _tiny(onnx, tmp_path, table, [("initializer", [inline, _external(onnx, "ranked", [5, 4], 16, 80)]),
                                          ("value_info", [helper.make_tensor_value_info("ranked", 1, [5, 4, 1])]),
                                          ("initializer", [_external(onnx, "twice", [5, 4], 16, 80)] * 2)])
    raw = model.SerializeToString()
    cases = {"missing": {"nope": ((5, 4), 0, 80)}, "not stored as external": {"inline": ((2,), 0, 8)},
             "repeated": {"twice": ((5, 4), 0, 80)}, "do not hold": {"emb": ((6, 4), 16, 80)},
             "negative": {"emb": ((-1, 4), 16, 80)},
             "another rank": {"ranked": ((6, 4), 16, 96)}}  # its declared shape [5, 4, 1] cannot follow [6, 4]
    for message, changes in cases.items():
        with pytest.raises(ValueError, match=message):
            retarget_initializers(raw, changes)
    with pytest.raises(ValueError, match="not a valid ONNX model"):
        retarget_initializers(raw[:-3], {"emb": ((5, 4), 16, 80)})
    assert retarget_initializers(raw, {}) == raw


# ---- the committed model: the three graphs over one external data file -------------------------------
def _fast_feed(ids: np.ndarray, length: int, pad_table: np.ndarray) -> dict:
    """The padding-skipping graph's inputs for rows [n, maxlen] that all hold ``length`` real ids
    (as serve.runtime.SentimentModel.score_ids feeds one group)."""
    n, maxlen = ids.shape
    state = np.repeat(pad_table[maxlen - length][None], n, axis=0)  # [n, 2, H]: after this many pads
    positions = np.repeat((maxlen - length + np.arange(length))[:, None], n, axis=1).astype(np.int64)
    return {"ids": np.ascontiguousarray(ids[:, maxlen - length:].T), "initial_h": state[None, :, 0],
            "initial_c": state[None, :, 1], "sequence_lens": np.full(n, length, np.int32), "positions": positions}


def test_the_committed_graphs_read_grown_tables(committed_model_dir, tmp_path):
    grown_dir, ref_dir = tmp_path / "grown", tmp_path / "ref"
    shutil.copytree(committed_model_dir, grown_dir)
    weights = json.loads((grown_dir / "metadata.json").read_text())["onnx"]["weights"]
    data = grown_dir / "model.onnx.data"
    old = data.read_bytes()
    tables, changes_full, changes_fast = {}, {}, {}
    for role in ("embedding", "unigram"):
        w = weights[role]
        table = np.frombuffer(old[w["offset"]:w["offset"] + w["length"]], w["dtype"]).reshape(w["shape"])
        new = np.repeat(table[2:3], 10, axis=0) if role == "embedding" else np.zeros((10, 1), table.dtype)
        tables[role] = grown = np.concatenate([table, new])
        offset = data.stat().st_size
        with data.open("ab") as f:
            f.write(grown.tobytes())
        changes_full[w["name"]] = changes_fast[role] = (grown.shape, offset, grown.nbytes)
    vocab = len(tables["embedding"]) - 10
    same = {w["name"]: (w["shape"], w["offset"], w["length"]) for w in map(weights.get, ("embedding", "unigram"))}
    full_graph = (committed_model_dir / "model.onnx").read_bytes()
    assert retarget_initializers(full_graph, same) == full_graph  # the old values: the very same bytes
    for graph, changes in (("model.onnx", changes_full), ("model_fast.onnx", changes_fast),
                           ("model_fast_int8.onnx", changes_fast)):
        (grown_dir / graph).write_bytes(retarget_initializers((grown_dir / graph).read_bytes(), changes))
    assert data.read_bytes()[:len(old)] == old

    # the reference: the original model with unigram[2] zeroed, so a lone new word scores exactly as 2 there
    ref_dir.mkdir()
    shutil.copy(committed_model_dir / "model.onnx", ref_dir)
    ref = bytearray(old)
    ref[weights["unigram"]["offset"] + 4:weights["unigram"]["offset"] + 6] = b"\0\0"
    (ref_dir / "model.onnx.data").write_bytes(bytes(ref))

    maxlen, length, n = 1000, 12, 32
    rng = np.random.default_rng(0)
    old_ids = np.zeros((n, maxlen), np.int32)
    old_ids[:, -length:] = np.concatenate([np.ones((n, 1)), rng.integers(2, vocab, (n, length - 1))], axis=1)
    new_ids = old_ids.copy()
    new_ids[:, -length + 1:] = np.where(rng.random((n, length - 1)) < 0.3,
                                        rng.integers(vocab, vocab + 10, (n, length - 1)), old_ids[:, -length + 1:])
    original, grown = _session(committed_model_dir / "model.onnx"), _session(grown_dir / "model.onnx")
    before = original.run(None, {"ids": old_ids})
    for a, b in zip(before, grown.run(None, {"ids": old_ids})):
        np.testing.assert_array_equal(a, b)  # both outputs: probability and running score
    with pytest.raises(Exception, match="out of"):
        original.run(None, {"ids": new_ids})
    lone = np.zeros((10, maxlen), np.int32)
    lone[:, -1] = np.arange(vocab, vocab + 10)  # no start id, no pair: the word's own row and weight only
    as_two = np.where(lone > 0, 2, 0).astype(np.int32)
    np.testing.assert_array_equal(grown.run(None, {"ids": lone})[0],
                                  _session(ref_dir / "model.onnx").run(None, {"ids": as_two})[0])
    full = grown.run(["probability"], {"ids": new_ids})[0]

    pad_table = np.load(grown_dir / "pad_states.npy")
    for graph, tolerance in (("model_fast.onnx", 1e-5), ("model_fast_int8.onnx", 0.1)):
        fast, was = _session(grown_dir / graph), _session(committed_model_dir / graph)
        feed = _fast_feed(old_ids, length, pad_table)
        np.testing.assert_array_equal(fast.run(["probability"], feed)[0], was.run(["probability"], feed)[0])
        got = fast.run(["probability"], _fast_feed(new_ids, length, pad_table))[0]
        np.testing.assert_allclose(got, full, atol=tolerance)  # the int8 bound is tests/test_fastpath.py's
