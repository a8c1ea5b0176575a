"""The padding-skipping scorer equals the full graph on every shape of row (committed tiny model)."""

import numpy as np
import pytest

from sentilens.codec import OOV, START
from serve.runtime import SentimentModel


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    m = SentimentModel(tiny_model_dir)
    assert m.fast is not None
    return m


def test_every_number_of_pads_and_truncated_rows(model):
    rng = np.random.default_rng(0)
    maxlen, vocab = model.maxlen, model.codec.vocab.size
    rows = []
    for words in range(0, maxlen + 6):  # 0 words (start only) .. longer than maxlen (no start, no pads)
        seq = [START] + rng.integers(OOV, vocab, size=words).tolist()
        rows.append(seq[-maxlen:])
    ids = np.zeros((len(rows), maxlen), np.int32)
    for i, seq in enumerate(rows):
        ids[i, maxlen - len(seq):] = seq
    ids = ids[rng.permutation(len(ids))]  # order must not matter
    np.testing.assert_allclose(model.score_ids(ids), model.run(ids), atol=1e-6)


def test_real_text_and_batches_larger_than_one_group(model):
    from tests.tiny_model import tiny_corpus

    texts = tiny_corpus().test.texts * 20
    ids = model.codec.encode_batch(texts)
    np.testing.assert_allclose(model.score_ids(ids), model.run(ids), atol=1e-6)
    np.testing.assert_allclose(model.predict(texts[:3]), model.run(ids[:3]), atol=1e-6)
    assert model.score_ids(ids[:0]).shape == (0,)


@pytest.mark.train  # trainer side (imports onnx)
def test_the_pad_table_is_the_state_after_each_number_of_pads(tiny_model_dir):
    from trainer.fastpath import pad_states

    model = SentimentModel(tiny_model_dir)
    table = pad_states(model.weights, model.maxlen)
    # float32 on another CPU's kernels (the table was exported on an Intel machine): 1.8e-7 apart on an AMD EPYC
    np.testing.assert_allclose(table, model.pad_table, atol=1e-6)
    assert not table[0].any() and table.shape == (model.maxlen + 1, 2, model.artifact.architecture["units"])


def test_int8_is_served_only_when_the_export_kept_it(tiny_model_dir, committed_model_dir):
    fp32, int8 = SentimentModel(committed_model_dir), SentimentModel(committed_model_dir, precision="int8")
    measured = int8.artifact.int8
    assert measured["kept"] and measured["fp32_accuracy"] - measured["accuracy"] <= measured["max_accuracy_loss"]
    texts = ["A warm, funny and beautifully acted film.", "Dull, long and badly written.",
             "I expected to hate it, but the second half won me over."] * 30
    a, b = fp32.predict(texts), int8.predict(texts)
    # int8 error depends on the CPU's integer kernels: 0.065 at most here on an AMD EPYC (AVX2), under 0.05
    # on the Intel machines before; the labels agree on both.
    assert ((a >= 0.5) == (b >= 0.5)).all() and np.abs(a - b).max() < 0.1 and not np.array_equal(a, b)
    assert SentimentModel(tiny_model_dir).artifact.int8["kept"]


def test_int8_is_refused_when_the_export_measured_it_too_inaccurate(tiny_model_dir, tmp_path):
    """An export whose int8 scorer lost more than the bound keeps the measurement but not the scorer."""
    import hashlib
    import json
    import shutil

    from sentilens.errors import ModelError

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    (model / "model_fast_int8.onnx").unlink()
    meta = json.loads((model / "metadata.json").read_text())
    meta["files"].pop("fast_int8")
    meta["sha256"].pop("model_fast_int8.onnx")
    meta["capabilities"]["features"].remove("int8")
    meta["int8"] |= {"accuracy": 0.95, "fp32_accuracy": 1.0, "kept": False}
    (model / "metadata.json").write_text(json.dumps(meta))
    assert hashlib.sha256((model / "model.onnx").read_bytes()).hexdigest() == meta["sha256"]["model.onnx"]
    assert SentimentModel(model).precision == "fp32"
    with pytest.raises(ModelError, match=r"has no int8 scorer \(its accuracy 0.9500 was more than 0.003 below fp32"):
        SentimentModel(model, precision="int8")


@pytest.mark.train  # builds a graph with onnx
def test_an_earlier_batch_major_fast_graph_still_scores_the_same(tiny_model_dir, tmp_path):
    """Exports made before the fast graph went time-major feed ids [n, T]: the runtime reads the
    graph's own input shape and feeds either layout."""
    import shutil

    import onnx
    from onnx import helper

    from sentilens.artifact import Artifact

    out = tmp_path / "model"
    shutil.copytree(tiny_model_dir, out)
    art = Artifact.load(out, complete=False)
    proto = onnx.load(str(out / "model_fast.onnx"), load_external_data=False)
    inputs = {"ids", "positions"}
    for node in proto.graph.node:  # every reader of ids/positions reads the time-major transpose instead
        node.input[:] = [f"{name}_tn" if name in inputs else name for name in node.input]
    for value in proto.graph.input:
        if value.name in inputs:
            dims = value.type.tensor_type.shape.dim
            dims[0].dim_param, dims[1].dim_param = "n", "T"
            proto.graph.node.insert(0, helper.make_node("Transpose", [value.name], [f"{value.name}_tn"], perm=[1, 0]))
    onnx.save_model(proto, str(out / "model_fast.onnx"))
    art.write(out)  # records the new file's sha256
    old = SentimentModel(out)
    assert not old._fast_time_major and SentimentModel(tiny_model_dir)._fast_time_major
    from tests.tiny_model import tiny_corpus

    ids = old.codec.encode_batch(tiny_corpus().test.texts)
    np.testing.assert_allclose(old.score_ids(ids), SentimentModel(tiny_model_dir).score_ids(ids), atol=1e-6)
