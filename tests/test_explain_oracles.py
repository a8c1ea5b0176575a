"""The fast explanations against the implementations they replaced (``explain.reference``), kept as
oracles: occlusion's shared-prefix replay and the reorganised contextual decomposition must give
today's scores to 1e-6 on the tiny model and on the committed one, on any review and any spans."""

import numpy as np
import pytest

from explain.attribution import forward
from explain.cd import LSTMWeights, cd_attribution, decompose
from explain.occlusion import occlusion
from explain.reference import cd_rowwise, decompose_rowwise, occlusion_batched
from explain.replay import Replay, occluded
from sentilens import lstm
from sentilens.codec import OOV
from serve.runtime import SentimentModel

# Our own words: long enough to be truncated by the tiny model, with repeats, unknown words and a
# word the codec reads as out-of-vocabulary already.
TEXTS = ["The story at night was splendid and the music long",
         "dreadful " * 3 + "zzzz splendid plot plot night",
         "x " * 40 + "splendid night",
         "splendid", "", "qqqq wwww",
         "the plot was long but the night was splendid and the story dreadful and long " * 3]


@pytest.fixture(scope="module", params=["tiny", "committed"])
def model(request, tiny_model_dir, committed_model_dir):
    return SentimentModel(tiny_model_dir if request.param == "tiny" else committed_model_dir)


@pytest.mark.parametrize("text", TEXTS)
def test_occlusion_replay_equals_scoring_every_variant_with_onnxruntime(model, text):
    fwd = forward(model, text)
    fast, oracle = occlusion(model, fwd), occlusion_batched(model, fwd)
    assert fast.tokens == oracle.tokens
    assert [s is None for s in fast.scores] == [s is None for s in oracle.scores]
    pairs = [(a, b) for a, b in zip(fast.scores, oracle.scores) if a is not None]
    assert max((abs(a - b) for a, b in pairs), default=0.0) <= 1e-6
    assert fast.baseline == pytest.approx(oracle.baseline, abs=1e-5)


def test_replay_any_positions_any_replacement_with_or_without_the_pad_table(model):
    fwd = forward(model, TEXTS[1])
    ids, read = fwd.enc.padded, fwd.read_positions
    r = Replay(model.weights)
    picked = [read[3], read[0], read[-1]]  # out of order: results follow the order asked
    for table in (model.pad_table, None):
        for replacement in (OOV, 5):
            variants = np.repeat(ids[None, :], len(picked), axis=0)
            variants[np.arange(len(picked)), picked] = replacement
            expect = model.run(variants).astype(np.float64)
            got = occluded(r, ids, picked, table, replacement=replacement)
            assert np.abs(got - expect).max() <= 1e-6
    with pytest.raises(ValueError, match="distinct"):
        occluded(r, ids, [read[0], read[0]], model.pad_table)


def test_replay_of_an_lstm_without_word_evidence_follows_the_onnx_recurrence(tiny_model_dir):
    """A plain LSTM readout (no evidence tables): the replay equals running each variant step by step
    with ``sentilens.lstm.step`` from the zero state, the recurrence's definition."""
    model = SentimentModel(tiny_model_dir)
    w = {k: v for k, v in model.weights.items() if k not in ("unigram", "pairs", "position")}
    w["W"] = model.weights["W"][..., : model.weights["embedding"].shape[-1]]  # it reads the embedding only
    w["readout_kernel"] = model.weights["readout_kernel"][:, :1]
    w["readout_bias"] = np.asarray(model.weights.get("readout_bias", np.zeros(2)), np.float32).reshape(-1)[:1]
    ids = model.codec.encode(TEXTS[0]).padded
    read = [int(p) for p in np.flatnonzero(ids > 1)]

    def score(row):
        W, R, B = (w[k][0].astype(np.float64) for k in ("W", "R", "B"))
        H = R.shape[-1]
        h, c = np.zeros(H), np.zeros(H)
        for i in row:
            h, c = lstm.step(W @ w["embedding"][i].astype(np.float64) + B[:4 * H] + B[4 * H:], R, h, c)
        logit = h @ w["readout_kernel"][:, 0].astype(np.float64) + float(w["readout_bias"][0])
        return 1 / (1 + np.exp(-logit))

    expect = []
    for p in read:
        row = ids.copy()
        row[p] = OOV
        expect.append(score(row))
    got = occluded(Replay(w), ids, read)
    assert np.abs(got - np.array(expect)).max() <= 1e-6


def test_occlusion_of_a_model_without_lstm_weights_scores_the_variants_with_onnxruntime(model):
    fwd = forward(model, TEXTS[0])

    class NoWeights:  # a model whose weights explain/ cannot replay (e.g. a GRU export)
        codec, pad_table = model.codec, None
        weights = {"embedding": model.weights["embedding"]}
        run, score_ids = model.run, model.score_ids

    a, b = occlusion(NoWeights(), fwd), occlusion_batched(model, fwd)
    assert a.scores == b.scores


@pytest.mark.parametrize("text", TEXTS)
def test_cd_equals_the_rowwise_oracle(model, text):
    """To 1e-6 in logit units, relative where the logit exceeds 1 (float32 carries 7 digits: the tiny
    model reaches logits of 20)."""
    fwd = forward(model, text)
    a, b = cd_attribution(model, fwd), cd_rowwise(model, fwd)
    tolerance = 1e-6 * max(1.0, abs(b.total))
    assert a.tokens == b.tokens and a.total == pytest.approx(b.total, abs=tolerance)
    pairs = [(x, y) for x, y in zip(a.scores, b.scores) if x is not None]
    assert max((abs(x - y) for x, y in pairs), default=0.0) <= tolerance


def test_cd_of_phrases_overlapping_empty_and_unsorted_equals_the_oracle(model):
    ids = model.codec.encode(TEXTS[-1]).padded
    T = len(ids)
    w = LSTMWeights(model.weights)
    spans = [(T - 9, T - 4), (T - 20, T - 14), (T - 3, T), (0, 0), (T - 12, T - 2), (T - 5, T - 4), (T, T),
             (T - 5, T - 4)]  # a repeated span too
    for table in (model.pad_table, None):
        rel, irr = decompose(w, ids, spans, table)
        rel0, irr0 = decompose_rowwise(w, ids, spans, table)
        tolerance = 1e-6 * max(1.0, float(np.abs(rel0 + irr0).max()))
        assert np.abs(rel - rel0).max() <= tolerance and np.abs(irr - irr0).max() <= tolerance
