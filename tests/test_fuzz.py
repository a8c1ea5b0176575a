"""Property tests: any text encodes and explains without raising, ids in range, scores aligned."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explain.methods import METHODS, attribute
from sentilens.codec import Codec, Vocabulary, _TOKEN, standardize, tokenize
from serve.runtime import SentimentModel

FRAGMENTS = st.sampled_from(["<br />", "<b>", "</i>", "<script>alert(1)</script>", "&amp;", "&#39;", "**bold**",
                             "[link](http://x)", "`code`", "\x00", "\u200b", "\ufeff", "’", "don't", "'", "_"])
TEXTS = st.lists(st.one_of(st.text(max_size=60), FRAGMENTS, st.text(alphabet="ab'’ ", max_size=20)),
                 max_size=12).map("".join)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def tokenize_slow(text: str) -> list[str]:
    """The reference definition of ``tokenize`` (one regex over the standardized text): the oracle."""
    return _TOKEN.findall(standardize(text))


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return SentimentModel(tiny_model_dir)


# Text beyond ASCII: accented and combining letters, digits of other scripts, superscripts, Roman numerals,
# CJK, no-break and wide spaces, dashes, apostrophes of every kind, underscores.
UNICODE = st.text(alphabet=st.sampled_from(list("ae'’‘`ʼ éÉ\u0301ß²٣Ⅻ漢字\u00a0\u3000–—…_-.!ǅﬁ")), max_size=40)


@SETTINGS
@given(st.one_of(TEXTS, UNICODE))
def test_fast_tokenizer_equals_the_regex_definition(text):
    assert tokenize(text) == tokenize_slow(text)


@SETTINGS
@given(TEXTS)
def test_tokens_are_words_of_the_standardized_text(text):
    tokens = tokenize(text)
    assert all(_TOKEN.fullmatch(t) for t in tokens)
    assert all(t in standardize(text) for t in tokens)


@SETTINGS
@given(TEXTS, st.integers(1, 40))
def test_encoding_never_raises_and_stays_in_range(text, maxlen):
    codec = Codec(Vocabulary(["a", "b", "don't", "ab"]), maxlen)
    enc = codec.encode(text)
    batch = codec.encode_batch([text])
    assert enc.padded.shape == (maxlen,) and enc.padded.dtype == np.int32
    np.testing.assert_array_equal(batch[0], enc.padded)
    assert ((enc.padded >= 0) & (enc.padded < codec.vocab.size)).all()
    assert len(enc.positions) == len(enc.tokens) == len(enc.ids)
    for token_id, pos in zip(enc.ids, enc.positions):
        assert pos < 0 or enc.padded[pos] == token_id


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(TEXTS, st.sampled_from(list(METHODS)))
def test_explanations_align_with_tokens_for_any_text(model, text, method):
    a = attribute(model, text, method)
    assert a.tokens == tokenize(text)
    assert len(a.scores) == len(a.tokens)
    assert all(s is None or np.isfinite(s) for s in a.scores)


def test_one_megabyte_review_and_a_very_long_word(model):
    huge = ("word " * 200_000)[:1_000_000]
    assert model.codec.encode_batch([huge]).shape == (1, model.maxlen)
    a = attribute(model, huge, "running")
    assert sum(s is not None for s in a.scores) == model.maxlen
    long_word = "a" * 100_000
    assert tokenize(long_word) == [long_word]
    assert model.codec.encode(long_word).ids == [2]
