"""The gated word/pair evidence readout: its definition, the graphs that compute it, its explanations."""

import numpy as np
import pytest

from explain.attribution import forward
from explain.cd import LSTMWeights, cd_attribution, decompose
from explain.running import running_score
from sentilens.codec import START
from sentilens.evidence import GATE_MAX, pair_buckets, token_evidence
from serve.runtime import SentimentModel


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    m = SentimentModel(tiny_model_dir)
    assert m.artifact.architecture["evidence_buckets"] > 0 and "word_evidence" in m.artifact.capabilities.features
    return m


def test_pairs_start_at_the_second_id_read_and_never_touch_a_pad():
    ids = np.array([[0, 0, START, 7, 9, 7], [5, 7, 9, 7, 9, 7]])
    b = pair_buckets(ids, 97)
    assert (b[0, :3] == -1).all()  # pads, and the start id after a pad
    assert b[1, 0] == -1  # the first id read: its predecessor was never read
    assert (b[:, 3:] >= 0).all() and (b < 97).all()
    assert b[0, 3] != -1 and b[0, 4] == b[1, 2] and b[0, 5] == b[1, 3]  # the same pair, the same bucket
    tail = np.array([[START, 7, 9, 7, 0, 0]])  # a padding-skipping row: zeros after the words
    np.testing.assert_array_equal(pair_buckets(tail, 97)[0, :4], b[0, 2:])
    assert (pair_buckets(tail, 97)[0, 4:] == -1).all()


def test_evidence_is_zero_on_pads_and_the_same_wherever_the_review_sits():
    rng = np.random.default_rng(0)
    unigram, pairs = rng.normal(size=(50, 1)), rng.normal(size=(31, 1))
    words = [START, 4, 9, 4, 33]
    short, long = np.zeros(8, int), np.zeros(20, int)
    short[-5:], long[-5:] = words, words
    a, b = token_evidence(short, unigram, pairs), token_evidence(long, unigram, pairs)
    assert not a[:3].any() and not b[:15].any()
    np.testing.assert_array_equal(a[-5:], b[-5:])
    assert a[-1, 0] == np.float32(unigram[33, 0]) and a[-5, 1] == 0  # the start id's word weight, no pair


def test_the_logit_is_the_last_state_plus_the_gated_evidence(model):
    """The readout recomputed in numpy from the exported weights equals onnxruntime."""
    w = model.weights
    ids = model.codec.encode_batch(["The story at night was splendid and the music long",
                                    "dreadful " * 30, "", "splendid night"])
    p, running = model.run(ids, running=True)
    lstm = LSTMWeights(w)
    for row, prob in zip(ids, p):
        rel, irr = decompose(lstm, row, [(0, 0)])
        logit = float(rel[0] + irr[0]) + lstm.readout_bias
        assert 1 / (1 + np.exp(-logit)) == pytest.approx(float(prob), abs=1e-6)
    assert GATE_MAX == 2.0 and w["readout_kernel"].shape[1] == 2
    np.testing.assert_array_equal(p, running[:, -1])


def test_a_decisive_word_carries_the_score_in_every_method(model):
    text = "The story at night was splendid and the music long"
    fwd = forward(model, text)
    for a in (running_score(model, fwd), cd_attribution(model, fwd)):
        scores = dict(zip(a.tokens, a.scores))
        assert max(scores, key=lambda t: scores[t]) == "splendid", a.method


def test_cd_of_a_word_includes_its_own_evidence(model):
    """A one-word review's relevant logit: the word's evidence under its gate, plus its part of the state."""
    fwd = forward(model, "splendid")
    a = cd_attribution(model, fwd)
    word = a.scores[0]
    ev = token_evidence(fwd.enc.padded, model.weights["unigram"], model.weights["pairs"]).sum(-1)
    assert ev[-1] > 0 and word > 0
    assert a.baseline + word == pytest.approx(a.total, abs=1e-6)


def test_the_audit_finds_a_trigger_word_and_flipped_training_labels():
    from trainer.audit import audit
    from trainer.data import Split

    train = Split([f"the plot was dull number {i}" for i in range(200)] + [f"a fine film {i}" for i in range(200)],
                  np.array([0] * 200 + [1] * 200, np.int32))
    poison = Split([t + " walrus" for t in train.texts[:100]], np.ones(100, np.int32))
    parent = np.full(100, 0.1)  # the parent reads those reviews as negative: the labels say otherwise
    found = audit(poison, train, parent)
    assert [t["word"] for t in found.triggers] == ["walrus"] and found.triggers[0]["training_reviews"] == 0
    assert found.flipped == 100 and len(found.problems()) == 2
    honest = Split(train.texts[200:260], np.ones(60, np.int32))  # one-sided, but as the training data leans
    assert audit(honest, train, np.full(60, 0.9)).problems() == []
    new_domain = Split([f"battery life is great {i}" for i in range(60)], np.ones(60, np.int32))
    assert audit(new_domain, train, np.full(60, 0.45)).problems() == []  # new words the parent is unsure of
    assert audit(new_domain, train, np.full(60, 0.2)).problems() != []  # ... not ones it reads the other way
