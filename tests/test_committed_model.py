"""The committed exported/ model, scored through onnxruntime on the real test split."""

import json

import numpy as np
import pytest

from serve.runtime import DEFAULT_DIR, SentimentModel
from tests.conftest import SHARED_DATA

META = json.loads((DEFAULT_DIR / "metadata.json").read_text())


def test_committed_model_is_complete_and_small():
    model = SentimentModel()
    assert META["parity"]["max_abs_diff"] <= 1e-5 and META["parity"]["reviews"] >= 1000
    assert META["capabilities"] == {"cell": "lstm", "onnx_op": "LSTM", "fused": True,
                                    "features": ["running_score", "lstm_weights", "word_evidence", "skip_padding",
                                                 "int8", "learn", "tokenizer"],
                                    "methods": ["running", "occlusion", "cd"]}
    assert model.methods == ("running", "occlusion", "cd") and "W" in model.weights
    assert META["metrics"]["test"]["accuracy"] >= 0.916
    # 8 MiB for the model and what learning needs, plus the 0.3 MB of tokenizer.json that lets any runtime
    # of Hugging Face tokenizers (Python, Rust, JavaScript) feed it without this project
    assert sum(f.stat().st_size for f in DEFAULT_DIR.iterdir()) < 8.4 * 1024 * 1024
    assert META["data"]["sha256"] == "dc2e64a8fc66d754d2db3653fb769c10bd0136bd14857b37f3d73cb9ce8dc386"


def test_full_test_split_accuracy_matches_the_metadata():
    from sentilens.sources import read_aclimdb

    if not SHARED_DATA.exists():
        pytest.skip(f"needs the aclImdb archive at {SHARED_DATA} (../shared beside the checkout, as in CI)")
    records = [r for r in read_aclimdb(SHARED_DATA) if r.split == "test"]
    assert len(records) == 25_000
    model = SentimentModel()
    p = model.predict([r.text for r in records])
    accuracy = float(((p >= 0.5) == np.array([r.label for r in records])).mean())
    full = model.run(model.codec.encode_batch([r.text for r in records[::10]]))
    assert np.abs(full - p[::10]).max() <= 1e-5  # predict skips the padding; the full graph agrees
    assert accuracy == pytest.approx(META["metrics"]["test"]["accuracy"], abs=0.002)
    assert accuracy >= 0.916
    best_peer = max(b["accuracy"] for b in META["metrics"]["baseline"].values())
    assert accuracy > best_peer  # above every simple peer fitted on the same split


def test_same_words_in_another_order_change_the_prediction():
    """The Analyze tab's example pair: one bag of words, two integer encodings, two predictions."""
    from explain.encodings import encoding_view
    from serve.app.analyze_tab import EXAMPLES

    a, b = EXAMPLES[-2], EXAMPLES[-1]
    model = SentimentModel()
    va, vb = encoding_view(model.codec, a), encoding_view(model.codec, b)
    assert va.bag_of_words == vb.bag_of_words and va.integer_encoding != vb.integer_encoding
    pa, pb = model.predict([a, b])
    assert pa >= 0.5 > pb  # what it turned out to be decides, as a reader would say


def test_the_model_card_shows_the_peers_beside_the_model(committed_model_dir):
    from serve.app import model_card
    from serve.app.ui_safety import md_literal

    model = SentimentModel(committed_model_dir)
    card = model_card.baseline_table(model)
    rows = [line for line in card.splitlines() if line.startswith("| ") and "test accuracy" not in line]
    assert len(rows) == 1 + len(META["metrics"]["baseline"]) == 4
    assert rows[0].startswith("| this model (lstm weighing word and word-pair evidence in context) | "
                              f"{META['metrics']['test']['accuracy']:.4f} |")
    for row, peer in zip(rows[1:], META["metrics"]["baseline"].values()):
        assert row.startswith(f"| {md_literal(peer['model'])} | {peer['accuracy']:.4f} |")  # text from metadata: inert
    assert "order-blind" in card and "this model is" in card and "points more accurate than the best of them" in card


def test_the_model_card_numbers_come_from_the_confusion_matrix(committed_model_dir):
    from serve.app import model_card

    c = META["metrics"]["test"]["confusion"]
    rows = {r[0]: r for r in model_card.per_class(c)["data"]}
    assert rows["positive"][1] == f"{c['tp'] / (c['tp'] + c['fp']):.3f}"  # precision
    assert rows["positive"][2] == f"{c['tp'] / (c['tp'] + c['fn']):.3f}"  # recall
    assert rows["negative"][2] == f"{c['tn'] / (c['tn'] + c['fp']):.3f}"
    table = model_card.confusion_table(c)
    assert all(h.strip() for h in table["headers"])  # no empty header
    assert table["data"][0][1] == f"{c['tn']:,} ({c['tn'] / (c['tn'] + c['fp']):.1%})"
    model = SentimentModel(committed_model_dir)
    failures = model_card.failure_table(model)  # scored live: says what this model does
    for (text, truth, _), p in zip(model_card.FAILURE_EXAMPLES, model.predict([t for t, _, _ in model_card.FAILURE_EXAMPLES])):
        said = "positive" if p >= 0.5 else "negative"
        assert f"| {truth} | {said}{'' if said == truth else ' (wrong)'}, {p:.0%} positive |" in failures
    accuracy, loss = model_card.curves(model)
    assert {r[1] for r in accuracy} == {r[1] for r in loss} == {"training", "validation"}
    assert max(r[2] for r in accuracy) <= 1 and len(accuracy) == len(loss)
