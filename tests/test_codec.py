import random

import numpy as np
import pytest

from sentilens.codec import OOV, PAD, START, Codec, Vocabulary, pad, standardize, tokenize


def test_standardize_strips_markup_and_normalises():
    assert tokenize("Great<br /><br />FILM&amp;music") == ["great", "film", "music"]
    assert tokenize("I <b>loved</b> it") == ["i", "loved", "it"]
    # NFKC folds ligatures and full-width letters; casefold handles German sharp s
    assert tokenize("The ﬁlm was ＧＯＯＤ, STRASSE Straße") == ["the", "film", "was", "good", "strasse", "strasse"]
    assert standardize("Don’t") == "don't"


def test_tokenize_keeps_inner_apostrophes_and_drops_punctuation():
    assert tokenize("Don't stop -- it's the director's cut!!! 10/10 'quoted'") == [
        "don't", "stop", "it's", "the", "director's", "cut", "10", "10", "quoted"]
    assert tokenize("snake_case café naïve 日本語") == ["snake", "case", "café", "naïve", "日本語"]
    assert tokenize("") == []
    assert tokenize("?!... <br />") == []


@pytest.mark.train  # compares with Keras
def test_pad_matches_keras_pad_sequences_on_random_cases():
    import keras

    rng = random.Random(0)
    for _ in range(300):
        maxlen = rng.randint(1, 12)
        seqs = [[rng.randint(1, 99) for _ in range(rng.randint(0, 20))] for _ in range(rng.randint(1, 6))]
        np.testing.assert_array_equal(pad(seqs, maxlen), keras.utils.pad_sequences(seqs, maxlen=maxlen))


def test_vocabulary_ranks_by_frequency_ties_alphabetical_and_caps():
    vocab = Vocabulary.from_token_lists(map(tokenize, ["b a c", "a b", "d a", "e"]), vocab_size=4 + 3)
    assert vocab.words == ["a", "b", "c"]  # a:3, b:2, then c/d/e tie at 1 -> alphabetical, capped
    assert vocab.index == {"a": 4, "b": 5, "c": 6}
    assert vocab.size == 7
    assert [vocab.word(i) for i in range(7)] == ["<pad>", "<start>", "<oov>", "<unused>", "a", "b", "c"]
    with pytest.raises(ValueError):
        Vocabulary.from_token_lists([["a"]], vocab_size=4)


def test_vocabulary_round_trips_through_a_file(tmp_path):
    from sentilens.artifact import read_vocabulary

    vocab = Vocabulary(["the", "café", "don't", "日本語"])
    vocab.save(tmp_path / "v.txt")
    assert read_vocabulary(tmp_path / "v.txt").words == vocab.words
    Vocabulary([]).save(tmp_path / "e.txt")
    assert read_vocabulary(tmp_path / "e.txt").size == 4


@pytest.fixture
def codec():
    return Codec(Vocabulary(["good", "bad", "movie"]), maxlen=6)


def test_encode_pads_at_front_with_start_and_oov(codec):
    enc = codec.encode("Good movie, unknownword!")
    assert enc.tokens == ["good", "movie", "unknownword"]
    assert enc.ids == [4, 6, OOV]
    np.testing.assert_array_equal(enc.padded, [PAD, PAD, START, 4, 6, OOV])
    np.testing.assert_array_equal(enc.positions, [3, 4, 5])
    assert enc.n_truncated == 0 and enc.first_position == 2


def test_encode_truncates_at_front_and_reports_dropped_words(codec):
    enc = codec.encode("bad bad movie good good movie bad good")  # 8 words, room for 6
    np.testing.assert_array_equal(enc.padded, [6, 4, 4, 6, 5, 4])  # the last 6 words, start id dropped
    np.testing.assert_array_equal(enc.positions, [-1, -1, 0, 1, 2, 3, 4, 5])
    assert enc.n_truncated == 2 and enc.first_position == 0
    # exactly maxlen-1 words: the start id still fits
    np.testing.assert_array_equal(codec.encode("good bad movie good bad").padded, [START, 4, 5, 6, 4, 5])


def test_empty_and_all_oov_texts(codec):
    np.testing.assert_array_equal(codec.encode("").padded, [0, 0, 0, 0, 0, START])
    np.testing.assert_array_equal(codec.encode("zzz qqq").padded, [0, 0, 0, START, OOV, OOV])
    assert codec.encode("!!!").tokens == []


@pytest.mark.train  # compares with Keras
def test_batch_encoding_equals_single_encoding_and_keras_padding():
    import keras

    rng = random.Random(3)
    words = ["good", "bad", "movie", "plot", "x"]
    codec = Codec(Vocabulary(words[:3]), maxlen=7)
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 15))) for _ in range(200)]
    batch = codec.encode_batch(texts)
    assert batch.dtype == np.int32 and batch.shape == (200, 7)
    for text, row in zip(texts, batch):
        np.testing.assert_array_equal(row, codec.encode(text).padded)
    reference = keras.utils.pad_sequences([[START] + codec.ids(tokenize(t)) for t in texts], maxlen=7)
    np.testing.assert_array_equal(batch, reference)
