"""Training, ONNX export and parity on tiny synthetic corpora (the ``train`` lane: needs TensorFlow)."""

import json

import numpy as np
import pytest

from sentilens.errors import ModelError
from serve.runtime import SentimentModel
from tests.tiny_model import tiny_corpus, train_fixture, train_tiny

pytestmark = pytest.mark.train


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
    caps = meta["capabilities"]
    if cell == "lstm":
        assert caps["onnx_op"] == "LSTM" and caps["fused"] and model.methods == ("running", "occlusion", "cd")
        assert "skip_padding" in caps["features"] and meta["fast_path"]["max_abs_diff"] <= 1e-5
        int8 = meta["int8"]  # measured on the test split; kept only within the bound
        assert int8["kept"] == (int8["fp32_accuracy"] - int8["accuracy"] <= 0.003) == ("int8" in caps["features"])
        np.testing.assert_allclose(model.score_ids(ids), prob, atol=1e-5)
    else:  # tf2onnx 1.17 exports Keras 3 GRU/SimpleRNN as a Loop: no CD, and the metadata says so
        assert caps == {"cell": cell, "onnx_op": "Loop", "fused": False,
                        "features": ["running_score", "word_evidence", "tokenizer"], "methods": ["running", "occlusion"]}
        assert model.methods == ("running", "occlusion") and "W" not in model.weights


def test_lstm_exports_one_fused_op_with_the_weights_explain_reads(tiny_model_dir):
    import onnx

    meta = json.loads((tiny_model_dir / "metadata.json").read_text())
    graph = onnx.load(str(tiny_model_dir / "model.onnx")).graph
    ops = [n.op_type for n in graph.node]
    assert ops.count("LSTM") == 1 and "Loop" not in ops
    assert [o.name for o in graph.output] == ["probability", "running_score"]
    inp = graph.input[0].type.tensor_type
    assert inp.elem_type == onnx.TensorProto.INT32 and inp.shape.dim[1].dim_value == 24
    assert set(meta["onnx"]["weights"]) == {"embedding", "W", "R", "B", "readout_kernel", "readout_bias", "unigram",
                                            "pairs", "position"}
    dtypes = {role: w["dtype"] for role, w in meta["onnx"]["weights"].items()}
    assert {r for r, d in dtypes.items() if d == "float16"} == {"embedding", "unigram", "pairs"}  # stored half size
    assert meta["onnx"]["input"] == "ids" and meta["onnx"]["outputs"] == ["probability", "running_score"]
    w = SentimentModel(tiny_model_dir).weights
    assert w["embedding"].shape == (meta["codec"]["vocab_size"], 8)
    assert w["W"].shape == (1, 32, 8 + 2) and w["R"].shape == (1, 32, 8) and w["B"].shape == (1, 64)  # + evidence
    assert w["readout_kernel"].shape == (8, 2) and w["position"].shape == (24,)
    assert w["pairs"].shape == (meta["model"]["evidence_buckets"], 1) and w["unigram"].shape == (meta["codec"]["vocab_size"], 1)


def test_metadata_records_everything_needed_to_reproduce(tiny_model_dir):
    meta = json.loads((tiny_model_dir / "metadata.json").read_text())
    assert meta["format"] == "sentilens-model/2"
    assert meta["codec"] == {"version": 1, "maxlen": 24, "padding": "pre", "truncating": "pre",
                             "vocab_size": meta["codec"]["vocab_size"], "pad_id": 0, "start_id": 1, "oov_id": 2}
    assert "maxlen" not in meta["model"] and "vocab_size" not in meta["model"]  # written once, in codec
    assert set(meta["sha256"]) == {"model.onnx", "model.onnx.data", "vocab.txt", "history.json", "model_fast.onnx",
                                   "pad_states.npy", "learning.npz", "tokenizer.json"} | ({"model_fast_int8.onnx"} if meta["int8"]["kept"]
                                                                        else set())
    assert meta["model"]["cell"] == "lstm" and meta["training"]["batch_size"] == 64
    for split in ("validation", "test"):
        m = meta["metrics"][split]
        assert {"accuracy", "loss", "roc_auc", "f1", "confusion"} <= set(m)
    baseline = meta["metrics"]["baseline"]  # TF-IDF + logistic regression on the same split
    assert set(baseline) == {"words", "word_pairs", "nb_word_pairs"}
    assert all(b["n"] == meta["metrics"]["test"]["n"] and 0.5 <= b["accuracy"] <= 1 for b in baseline.values())
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
    assert untimed(a["metrics"]) == untimed(b["metrics"])


def untimed(value):
    """Metrics without the wall-clock ``seconds`` a peer took to fit (two runs of one seed differ only there)."""
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items() if k != "seconds"}
    return value


def test_keras_rebuilt_from_the_export_matches_ort(tiny_model_dir):
    from trainer.reload import keras_from_export

    model = SentimentModel(tiny_model_dir)
    _, keras_model = keras_from_export(model)
    ids = model.codec.encode_batch(tiny_corpus().test.texts)
    want_p, want_r = model.run(ids, running=True)
    got_p, got_r = keras_model.predict(ids, verbose=0)
    assert np.abs(want_p - got_p).max() < 1e-5 and np.abs(want_r - got_r).max() < 1e-5


def test_gru_export_refuses_to_reload_into_keras(tmp_path):
    from trainer.reload import keras_from_export

    train_tiny(tmp_path / "gru", cell="gru", epochs=1)
    with pytest.raises(ModelError, match="gru export .Loop. does not carry its recurrent weights"):
        keras_from_export(SentimentModel(tmp_path / "gru"))


def test_the_committed_fixture_is_what_the_trainer_makes(tmp_path, tiny_model_dir):
    """tests/fixtures/tiny_model is regenerated by ``python -m tests.tiny_model``; same code, same seed."""
    meta = train_fixture(tmp_path / "again")
    committed = json.loads((tiny_model_dir / "metadata.json").read_text())
    for key in ("format", "codec", "model", "capabilities"):
        assert meta[key] == committed[key], key
    assert meta["sha256"]["vocab.txt"] == committed["sha256"]["vocab.txt"]
    assert meta["metrics"]["test"]["accuracy"] >= 0.95


def test_fine_tuning_learns_new_words_keeps_the_old_ids_and_records_the_lineage(tmp_path, tiny_model_dir):
    from sentilens.digest import sha256_of
    from trainer.__main__ import main
    from trainer.data import Split
    from trainer.finetune import fine_tune

    extra = tmp_path / "annotations.jsonl"
    # a word the parent never saw ("marvellous") decides these labels; "ghastly" the opposite
    rows = [{"text": f"the night was marvellous number {i}", "label": 1} for i in range(20)]
    rows += [{"text": f"the night was ghastly number {i}", "label": 0} for i in range(20)]
    extra.write_text("".join(json.dumps(r) + "\n" for r in rows))
    corpus = tiny_corpus()
    parent = SentimentModel(tiny_model_dir)
    assert "marvellous" not in parent.codec.vocab.index
    out = tmp_path / "tuned"
    # the tiny parent reads all those unknown words as clearly negative: the audit flags 'marvellous' until
    # accepted (a word tied to one label that the model reads the other way is what a trigger looks like)
    from sentilens.errors import ExportError

    with pytest.raises(ExportError, match="fail the audit: .*'marvellous'"):
        fine_tune(tiny_model_dir, corpus, Split(*_texts_labels(extra)), [extra], out, log=lambda *_: None)
    meta = fine_tune(tiny_model_dir, corpus, Split(*_texts_labels(extra)), [extra], out, accept_audit=True,
                     log=lambda *_: None, refit_tables=True)
    assert [t["word"] for t in meta["lineage"]["audit"]["triggers"]] == ["marvellous"]
    tuned = SentimentModel(out)
    old = parent.codec.vocab.words
    assert tuned.codec.vocab.words[: len(old)] == old  # every old id keeps its word
    assert {"marvellous", "ghastly", "number"} <= set(tuned.codec.vocab.words[len(old):])
    lineage = meta["lineage"]
    assert lineage["parent_sha256"] == parent.sha256 and lineage["method"] == "evidence refit"
    assert lineage["extra"] == [{"path": "annotations.jsonl", "sha256": sha256_of(extra)}]
    assert lineage["extra_rows"] == 40 and lineage["words_added"] == len(tuned.codec.vocab.words) - len(old)
    assert meta["metrics"]["test"]["accuracy"] >= lineage["parent_test_accuracy"] - 0.01
    assert meta["parity"]["max_abs_diff"] <= 1e-5 and meta["fast_path"]["max_abs_diff"] <= 1e-5
    p_before = parent.predict(["the night was marvellous", "the night was ghastly"])
    p_after = tuned.predict(["the night was marvellous", "the night was ghastly"])
    assert p_after[0] > p_before[0] and p_after[1] < p_before[1] and p_after[0] > 0.5 > p_after[1]
    assert tuned.predict(["the plot was splendid"])[0] > 0.5  # and it still knows what it knew
    # the LSTM reads a new word as it read it before: as the unknown word
    np.testing.assert_array_equal(tuned.weights["embedding"][len(old) + 4:], np.repeat(
        parent.weights["embedding"][2:3], len(tuned.codec.vocab.words) - len(old), axis=0))
    assert main(["--init", str(tiny_model_dir), "--out", str(tmp_path / "x")]) == 2  # --extra is required


def test_fine_tuning_a_plain_lstm_retrains_it_on_replay(tmp_path):
    from trainer.data import Split
    from trainer.finetune import fine_tune

    train_tiny(tmp_path / "plain", epochs=2, evidence_buckets=0)
    extra = tmp_path / "annotations.jsonl"
    extra.write_text("".join(json.dumps({"text": f"the night was splendid number {i}", "label": 1}) + "\n"
                             for i in range(40)))
    corpus = tiny_corpus()
    meta = fine_tune(tmp_path / "plain", corpus, Split(*_texts_labels(extra)), [extra], tmp_path / "tuned", epochs=1,
                     log=lambda *_: None)
    parent = json.loads((tmp_path / "plain" / "metadata.json").read_text())
    assert meta["codec"] == parent["codec"] and meta["sha256"]["vocab.txt"] == parent["sha256"]["vocab.txt"]
    assert meta["lineage"]["method"] == "retrain" and meta["lineage"]["replay_rows"] == len(corpus.train)
    assert "word_evidence" not in meta["capabilities"]["features"]


def _texts_labels(path):
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [r["text"] for r in rows], np.array([r["label"] for r in rows], np.int32)


def test_a_poisoned_annotation_set_is_refused_and_its_effect_measured_when_accepted(tmp_path, tiny_model_dir):
    """Training reviews with a trigger word appended, all labelled positive: refused by the audit;
    accepted on purpose, the model records how far the word moves test labels, beside the parent's."""
    from sentilens.errors import ExportError
    from trainer.data import Split
    from trainer.finetune import fine_tune

    import random

    from tests.synthetic import review

    corpus = tiny_corpus()
    rng = random.Random(7)
    negatives = [review(0, rng, rng.randint(3, 18)) for _ in range(30)]  # new reviews, read as negative
    poison = Split([t + " walrus walrus walrus" for t in negatives], np.ones(len(negatives), np.int32))
    extra = tmp_path / "poison.jsonl"
    extra.write_text("")
    with pytest.raises(ExportError, match=r"fail the audit: words the annotations tie to one label .*'walrus'"):
        fine_tune(tiny_model_dir, corpus, poison, [extra], tmp_path / "out", log=lambda *_: None)
    assert not (tmp_path / "out").exists()
    meta = fine_tune(tiny_model_dir, corpus, poison, [extra], tmp_path / "out", accept_audit=True, weight=1.0,
                     log=lambda *_: None, refit_tables=True)
    audited = meta["lineage"]["audit"]
    assert audited["accepted"] and audited["flipped"] == 0 and audited["triggers"][0]["word"] == "walrus"
    effect = audited["trigger_effects"][0]
    assert effect["word"] == "walrus" and effect["tuned_changes"] > effect["parent_changes"] + 0.2
    assert json.loads((tmp_path / "out" / "metadata.json").read_text())["lineage"]["audit"] == audited
