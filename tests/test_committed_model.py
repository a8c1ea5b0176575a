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
                                    "features": ["running_score", "lstm_weights", "skip_padding", "int8"],
                                    "methods": ["running", "occlusion", "cd"]}
    assert model.methods == ("running", "occlusion", "cd") and "W" in model.weights
    assert META["metrics"]["test"]["accuracy"] >= 0.88
    assert sum(f.stat().st_size for f in DEFAULT_DIR.iterdir()) < 8 * 1024 * 1024
    assert META["data"]["sha256"] == "dc2e64a8fc66d754d2db3653fb769c10bd0136bd14857b37f3d73cb9ce8dc386"


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="needs ../shared/data/aclImdb_v1_labeled.tar.gz (present in CI)")
def test_full_test_split_accuracy_matches_the_metadata():
    from sentilens.sources import read_aclimdb

    records = [r for r in read_aclimdb(SHARED_DATA) if r.split == "test"]
    assert len(records) == 25_000
    model = SentimentModel()
    p = model.predict([r.text for r in records])
    accuracy = float(((p >= 0.5) == np.array([r.label for r in records])).mean())
    full = model.run(model.codec.encode_batch([r.text for r in records[::10]]))
    assert np.abs(full - p[::10]).max() <= 1e-5  # predict skips the padding; the full graph agrees
    assert accuracy == pytest.approx(META["metrics"]["test"]["accuracy"], abs=0.002)
    assert accuracy >= 0.88


def test_same_words_in_another_order_change_the_prediction():
    """The Analyze tab's example pair: one bag of words, two integer encodings, two predictions."""
    from explain.encodings import encoding_view
    from serve.app import EXAMPLES

    a, b = EXAMPLES[-2], EXAMPLES[-1]
    model = SentimentModel()
    va, vb = encoding_view(model.codec, a), encoding_view(model.codec, b)
    assert va.bag_of_words == vb.bag_of_words and va.integer_encoding != vb.integer_encoding
    pa, pb = model.predict([a, b])
    assert (pa >= 0.5) != (pb >= 0.5)


def test_the_model_card_shows_the_baseline_beside_the_lstm(committed_model_dir):
    from serve.app import model_card

    card = model_card(SentimentModel(committed_model_dir))[0]
    baseline = META["metrics"]["baseline"]
    assert f"test accuracy {baseline['words']['accuracy']:.4f}" in card and "order-blind" in card
    assert f"test accuracy {baseline['word_pairs']['accuracy']:.4f}" in card
    assert baseline["word_pairs"]["accuracy"] > META["metrics"]["test"]["accuracy"]  # said honestly, in the README too
