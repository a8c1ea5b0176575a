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
    np.testing.assert_allclose(table, model.pad_table, atol=1e-7)
    assert not table[0].any() and table.shape == (model.maxlen + 1, 2, model.artifact.architecture["units"])
