"""explain/: identities, a model whose right answer is known, edge cases, alignment."""

import inspect

import numpy as np
import pytest

from explain.attribution import forward
from explain.cd import LSTMWeights, cd_attribution, decompose
from explain.methods import METHODS, applicable, attribute, check_method
from explain.occlusion import occlusion
from explain.running import running_score
from sentilens.codec import tokenize
from explain.encodings import encoding_view
from explain.neighbours import Neighbours
from serve.runtime import SentimentModel

POSITIVE = "The story at night was splendid and the music long"
NEGATIVE = "The story at night was dreadful and the music long"


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return SentimentModel(tiny_model_dir)


def logit(p):
    p = np.float64(p)
    return float(np.log(p) - np.log1p(-p))


@pytest.mark.parametrize("text", [POSITIVE, NEGATIVE, "", "splendid", "x " * 40 + "dreadful"])
def test_running_score_contributions_sum_exactly_to_final_minus_baseline(model, text):
    a = running_score(model, forward(model, text))
    seen = [s for s in a.scores if s is not None]
    assert a.total == pytest.approx(a.probability, abs=1e-7)
    assert sum(seen) == pytest.approx(a.total - a.baseline, abs=1e-6)
    # the baseline is the running score just before the first word read
    enc = model.codec.encode(text)
    _, running = model.run(enc.padded[None, :], running=True)
    read = enc.positions[enc.positions >= 0]
    if len(read) and read[0] > 0:
        assert a.baseline == pytest.approx(float(running[0, read[0] - 1]), abs=1e-7)


@pytest.mark.parametrize("text", [POSITIVE, NEGATIVE, "", "plot", "x " * 40 + "splendid night"])
def test_cd_reproduces_the_onnx_logit(model, text):
    a = cd_attribution(model, forward(model, text))
    # compared as probabilities: onnxruntime's float32 sigmoid is not precise enough to invert far in the tails
    assert 1 / (1 + np.exp(-a.total)) == pytest.approx(a.probability, abs=1e-6)
    w = LSTMWeights(model.weights)
    ids = model.codec.encode(text).padded
    for span in [(0, 0), (5, 9), (20, 24)]:
        rel, irr = decompose(w, ids, [span])
        assert float(rel[0] + irr[0]) + w.readout_bias == pytest.approx(a.total, abs=1e-6)


def test_occlusion_equals_scoring_each_variant_by_hand(model):
    a = occlusion(model, forward(model, POSITIVE))
    enc = model.codec.encode(POSITIVE)
    base = float(model.run(enc.padded[None, :])[0])
    for i in (0, 5, 9):
        variant = enc.padded.copy()
        variant[enc.positions[i]] = 2
        assert a.scores[i] == pytest.approx(base - float(model.run(variant[None, :])[0]), abs=1e-6)


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("text, word, sign", [(POSITIVE, "splendid", 1), (NEGATIVE, "dreadful", -1)])
def test_every_method_finds_the_decisive_word(model, method, text, word, sign):
    a = attribute(model, text, method)
    top_word, top_score = a.top(1)[0]
    assert top_word == word and np.sign(top_score) == sign
    normalized = a.normalized()
    assert max(abs(n) for n in normalized if n is not None) == pytest.approx(1.0)
    assert a.highlighted()[tokenize(text).index(word)][1] == pytest.approx(sign * 1.0)


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("text", ["", "!!! ???", "zzzz qqqq wwww", "日本語 ﬁlm café <script>x</script>"])
def test_edge_reviews_give_aligned_finite_scores(model, method, text):
    a = attribute(model, text, method)
    assert len(a.scores) == len(tokenize(text)) == len(a.tokens)
    assert all(s is None or np.isfinite(s) for s in a.scores)
    assert 0.0 < a.probability < 1.0
    d = a.to_dict()
    assert d["method"] == method and len(d["tokens"]) == len(a.tokens)


@pytest.mark.parametrize("method", list(METHODS))
def test_truncated_words_get_no_score_and_the_rest_align(model, method):
    maxlen = model.codec.maxlen
    words = ["plot"] * 30 + ["splendid"] + ["music"] * (maxlen - 4)
    a = attribute(model, " ".join(words), method)
    dropped = len(words) - maxlen
    assert a.scores[:dropped] == [None] * dropped and None not in a.scores[dropped:]
    assert a.tokens[a.scores.index(max(s for s in a.scores if s is not None))] == "splendid"


def test_neighbours_are_the_cosine_ranking(model):
    """By behaviour (explain.representation.word_behaviour), not raw embedding: tests/test_representation.py."""
    from explain.representation import word_behaviour

    nb = Neighbours(model)
    got = nb("splendid", k=5)
    emb = word_behaviour(model)[0].astype(np.float64)
    vocab = model.codec.vocab
    target = emb[vocab.index["splendid"]]
    sims = {w: float(emb[i] @ target / np.linalg.norm(emb[i]) / np.linalg.norm(target))
            for w, i in vocab.index.items() if w != "splendid"}
    want = sorted(sims.items(), key=lambda ws: -ws[1])[:5]
    assert [w for w, _ in got] == [w for w, _ in want]
    assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-5)
    with pytest.raises(KeyError, match="not among the model's"):
        nb("zzzzunknown")
    # ranked once and remembered: a table mixing remembered and new words equals a fresh one's
    words = ["splendid", "plot", "zzzzunknown", "dreadful", "night"]
    nb.table(words[:2], k=5)
    mixed, fresh = nb.table(words, k=5), Neighbours(model).table(words, k=5)
    assert mixed.keys() == fresh.keys() and mixed["zzzzunknown"] is None and nb("splendid", k=5) == got
    for word in ("splendid", "plot", "dreadful", "night"):  # (a product in another batch: float rounding)
        assert [w for w, _ in mixed[word]] == [w for w, _ in fresh[word]]
        assert [v for _, v in mixed[word]] == pytest.approx([v for _, v in fresh[word]], abs=1e-6)
    with pytest.raises(KeyError, match="type one word"):
        nb("two words")


def test_encoding_view_same_bag_different_order(model):
    a = encoding_view(model.codec, "the plot was splendid not dreadful")
    b = encoding_view(model.codec, "the plot was dreadful not splendid")
    assert a.bag_of_words == b.bag_of_words
    assert a.integer_encoding != b.integer_encoding
    # the pads as their count, then a row per position from the start marker on
    assert a.padding == model.codec.maxlen - 7 and len(a.padded) == 7
    assert [row["position"] for row in a.padded] == list(range(model.codec.maxlen - 7, model.codec.maxlen))
    kinds = [row["kind"] for row in a.padded]
    assert kinds[0] == "start" and "pad" not in kinds and a.padded[-1]["word"] == "dreadful"
    assert "read all of them" in a.notice


def test_encoding_view_marks_oov_and_truncation(model):
    words = [f"unknown{i}" for i in range(model.codec.maxlen + 10)]
    view = encoding_view(model.codec, " ".join(words))
    assert view.truncated == words[:10]  # the start marker goes too
    assert {row["kind"] for row in view.padded} == {"oov"}
    assert view.padded[0]["word"] == words[10]  # the original word, not "<oov>"
    assert view.notice.startswith(f"Your review has {len(words)} words; the model read only the last {model.codec.maxlen}")


def test_registry_entries_describe_each_method(model):
    assert list(METHODS) == ["running", "occlusion", "cd"] == list(model.methods)
    for name, m in METHODS.items():
        a = m.explain(model, forward(model, POSITIVE))
        assert a.method == name and a.space == m.space and m.label and m.summary
    assert applicable(["running_score"]) == ("running", "occlusion")  # a Loop export has no LSTM weights
    assert applicable(["running_score", "lstm_weights"], recorded=["cd", "running"]) == ("running", "cd")


def test_methods_reuse_the_callers_forward_pass(model):
    calls = []

    class Counting:
        codec, weights = model.codec, model.weights

        def run(self, ids, running=False):
            calls.append(len(ids))
            return model.run(ids, running)

    fwd = forward(model, POSITIVE)
    for name in METHODS:
        calls.clear()
        attribute(Counting(), POSITIVE, name, fwd=fwd)
        # none calls the model again: occlusion replays the fused LSTM's variants in numpy
        # (tests/test_explain_oracles.py covers the models it scores with onnxruntime instead)
        assert calls == []


def test_unknown_and_inapplicable_methods_are_refused_with_a_sentence():
    from sentilens.errors import InputError

    with pytest.raises(InputError, match="Unknown explanation method 'magic'; choose one of running, occlusion, cd"):
        check_method("magic")
    with pytest.raises(InputError, match="'cd' does not apply to this model; choose one of running, occlusion"):
        check_method("cd", ("running", "occlusion"))


def test_two_methods_are_compared_by_rank_correlation_top_words_and_direction():
    """explain/concordance.py: Spearman's rho as scipy computes it (ties averaged), the strongest words both
    name, and the share of words pushed the same way; unscored tokens are left out."""
    import random

    from scipy.stats import spearmanr

    from explain.concordance import concordance, spearman

    rng = random.Random(3)
    for _ in range(50):
        n = rng.randint(2, 40)
        a = [rng.choice([0.0, 0.5, -0.5, rng.uniform(-1, 1)]) for _ in range(n)]  # with ties
        b = [rng.uniform(-1, 1) for _ in range(n)]
        ours = spearman(a, b)
        theirs = spearmanr(a, b).statistic
        assert (ours is None and np.isnan(theirs)) or ours == pytest.approx(theirs, abs=1e-12)
    c = concordance([0.9, None, -0.1, 0.3, -0.8], [2.0, 1.0, 0.5, 0.1, -3.0], k=2)
    assert c.words == 4 and c.k == 2 and c.shared_top == [0, 4]
    assert c.rho == pytest.approx(spearmanr([0.9, -0.1, 0.3, -0.8], [2.0, 0.5, 0.1, -3.0]).statistic)
    assert c.same_sign == pytest.approx(3 / 4)  # -0.1 vs 0.5 disagree
    assert spearman([1.0], [2.0]) is None and spearman([1.0, 1.0], [1.0, 2.0]) is None
    assert concordance([None], [0.1]).words == 0


def test_the_method_shown_first_is_the_most_faithful_the_model_offers(tiny_model_dir):
    """Issue 34.7: ERASER's measures on the committed model put contextual decomposition first, then
    occlusion, then the running score (docs/results.md); a model without CD (GRU, SimpleRNN) opens on
    occlusion; /explain's default follows; batch stays on the cheapest."""
    from explain.methods import DEFAULT_METHOD, SHOWN_FIRST, shown_first
    from sentilens.errors import InputError
    from serve.app.api import build_api

    assert SHOWN_FIRST == ("cd", "occlusion", "running") and DEFAULT_METHOD == "running"
    assert shown_first(("running", "occlusion", "cd")) == "cd"
    assert shown_first(("running", "occlusion")) == "occlusion"
    with pytest.raises(InputError):
        shown_first(())
    import gradio as gr

    model = SentimentModel(tiny_model_dir)
    with gr.Blocks() as app:
        build_api(model)
    explain_fn = next(f.fn for f in app.fns.values() if f.api_name == "explain")
    assert inspect.signature(explain_fn).parameters["method"].default == shown_first(model.methods)
