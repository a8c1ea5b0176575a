"""Training, ONNX export, parity and the checks on exported/, on tiny synthetic corpora."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from serve.model import ModelError, SentimentModel
from tests.conftest import ROOT, tiny_corpus, train_tiny


@pytest.mark.parametrize("cell", ["lstm", "gru", "simplernn"])
def test_each_cell_trains_one_epoch_and_exports_with_parity(tmp_path, cell):
    meta = train_tiny(tmp_path / "m", cell=cell, epochs=1)
    assert meta["parity"]["max_abs_diff"] <= 1e-5 and meta["parity"]["reviews"] == 60
    model = SentimentModel(tmp_path / "m")
    ids = model.codec.encode_batch(tiny_corpus().test.texts)
    prob, running = model.run(ids, running=True)
    assert prob.shape == (len(ids),) and running.shape == (len(ids), 24)
    np.testing.assert_array_equal(prob, running[:, -1])  # the last running score is the probability
    assert ((prob > 0) & (prob < 1)).all()
    # dynamic batch dimension
    assert model.run(ids[:1]).shape == (1,) and model.run(ids[:0]).shape == (0,)
    assert {"embedding", "readout_kernel"} <= set(model.weights)


def test_lstm_exports_one_fused_op_with_the_weights_explain_reads(tiny_model_dir):
    import onnx

    meta = json.loads((tiny_model_dir / "metadata.json").read_text())
    graph = onnx.load(str(tiny_model_dir / "model.onnx")).graph
    ops = [n.op_type for n in graph.node]
    assert ops.count("LSTM") == 1 and "Loop" not in ops
    assert [o.name for o in graph.output] == ["probability", "running_score"]
    inp = graph.input[0].type.tensor_type
    assert inp.elem_type == onnx.TensorProto.INT32 and inp.shape.dim[1].dim_value == 24
    assert set(meta["onnx"]["weights"]) == {"embedding", "W", "R", "B", "readout_kernel", "readout_bias"}
    w = SentimentModel(tiny_model_dir).weights
    assert w["embedding"].shape == (meta["codec"]["vocab_size"], 8)
    assert w["W"].shape == (1, 32, 8) and w["R"].shape == (1, 32, 8) and w["B"].shape == (1, 64)


def test_metadata_records_everything_needed_to_reproduce(tiny_model_dir):
    meta = json.loads((tiny_model_dir / "metadata.json").read_text())
    assert meta["codec"] == {"version": 1, "maxlen": 24, "padding": "pre", "truncating": "pre",
                             "vocab_size": meta["codec"]["vocab_size"], "pad_id": 0, "start_id": 1, "oov_id": 2}
    assert set(meta["sha256"]) == {"model.onnx", "model.onnx.data", "vocab.txt"}
    assert meta["model"]["cell"] == "lstm" and meta["training"]["batch_size"] == 64
    for split in ("validation", "test"):
        m = meta["metrics"][split]
        assert {"accuracy", "loss", "roc_auc", "f1", "confusion"} <= set(m)
    assert set(meta["versions"]) >= {"tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "numpy"}
    history = json.loads((tiny_model_dir / "history.json").read_text())
    assert len(history["loss"]) == meta["training"]["epochs_run"] == 25


def test_tiny_model_learns_the_decisive_word(tiny_model_dir):
    meta = json.loads((tiny_model_dir / "metadata.json").read_text())
    assert meta["metrics"]["test"]["accuracy"] >= 0.95
    model = SentimentModel(tiny_model_dir)
    p = model.predict(["the plot was splendid", "the plot was dreadful"])
    assert p[0] > 0.8 and p[1] < 0.2


def test_same_seed_same_model(tmp_path):
    a = train_tiny(tmp_path / "a", epochs=2)
    b = train_tiny(tmp_path / "b", epochs=2)
    # identical weights and vocabulary (graph node names carry Keras' per-process layer counters)
    assert a["sha256"]["model.onnx.data"] == b["sha256"]["model.onnx.data"]
    assert a["sha256"]["vocab.txt"] == b["sha256"]["vocab.txt"]
    assert a["metrics"] == b["metrics"]


@pytest.fixture
def model_copy(tiny_model_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    return copy


def test_changed_onnx_file_is_refused_by_sha(model_copy):
    data = bytearray((model_copy / "model.onnx.data").read_bytes())
    data[10] ^= 0xFF
    (model_copy / "model.onnx.data").write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"model.onnx.data: sha256 does not match metadata.json"):
        SentimentModel(model_copy)


def test_other_codec_version_and_vocab_size_are_refused(model_copy):
    meta_path = model_copy / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps(meta | {"codec": meta["codec"] | {"version": 99}}))
    with pytest.raises(ModelError, match="codec version 99"):
        SentimentModel(model_copy)
    meta_path.write_text(json.dumps(meta | {"codec": meta["codec"] | {"vocab_size": 7}}))
    with pytest.raises(ModelError, match=r"vocab.txt: \d+ ids, but metadata.json says vocab_size 7"):
        SentimentModel(model_copy)


def test_missing_model_dir_names_the_trainer(tmp_path):
    with pytest.raises(ModelError, match=r"metadata.json: missing; train a model with"):
        SentimentModel(tmp_path)


def test_scoring_never_imports_tensorflow(tiny_model_dir):
    code = (
        "import sys; from serve.model import SentimentModel; "
        f"m = SentimentModel({str(tiny_model_dir)!r}); m.predict(['fine', 'awful']); m.weights; "
        "m2 = SentimentModel(); print(m2.predict(['a lovely film'])[0]); "
        "bad = [k for k in sys.modules if k.split('.')[0] in ('tensorflow', 'keras', 'tf2onnx', 'onnx')]; "
        "assert not bad, bad"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert 0.0 <= float(out.stdout) <= 1.0


def test_keras_rebuilt_from_the_export_matches_ort(tiny_model_dir):
    from trainer.reload import keras_from_export

    model = SentimentModel(tiny_model_dir)
    _, keras_model = keras_from_export(model)
    ids = model.codec.encode_batch(tiny_corpus().test.texts)
    want_p, want_r = model.run(ids, running=True)
    got_p, got_r = keras_model.predict(ids, verbose=0)
    assert np.abs(want_p - got_p).max() < 1e-5 and np.abs(want_r - got_r).max() < 1e-5
