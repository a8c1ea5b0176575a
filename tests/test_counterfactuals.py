"""Counterfactuals in batch (issue 34, point 5): negation kept as written, three generators over many
reviews, each edit scored, and the share that flipped per generator."""

from __future__ import annotations

import pytest

from explain.counterfactuals import GENERATORS, flipped_share, generate, negate_at, strongest_words
from sentilens.labels import label_of
from serve.runtime import SentimentModel


def negated(text: str, word: str) -> str:
    start = text.index(word)
    return negate_at(text, start, start + len(word))


@pytest.mark.parametrize("text, word, expected", [
    ("It wasn't great.", "great", "It was great."),  # the contraction keeps its verb
    ("It wasn\u2019t great.", "great", "It was great."),  # a typographic apostrophe is the same
    ("I can't recommend it", "recommend", "I can recommend it"),
    ("They won't disappoint", "disappoint", "They will disappoint"),
    ("Not good at all", "good", "Good at all"),
    ("It is not good", "good", "It is good"),
    ("It was never boring", "never", "It was boring"),  # a negation itself is taken away
    ("It isn't bad", "isn't", "It is bad"),
    ("The cast is superb", "superb", "The cast is not superb"),
    ("Great film.", "Great", "Not great film."),
    ("Fine. Great film.", "Great", "Fine. Not great film."),
])
def test_negation_keeps_the_words_as_written(text, word, expected):
    assert negated(text, word) == expected


def test_negating_twice_gives_the_review_back():
    for text, word in (("The cast is superb", "superb"), ("It was dull", "dull")):
        once = negated(text, word)
        assert once != text
        assert negated(once, word) == text


def test_a_span_outside_the_text_is_refused():
    with pytest.raises(ValueError):
        negate_at("short", 3, 30)


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return SentimentModel(tiny_model_dir)


def test_every_generator_edits_the_strongest_word_and_scores_the_edit(model):
    texts = ["a wonderful film, I loved it", "a dull and boring film", "the plot was fine", ""]
    edits = generate(model, texts)
    assert {e.generator for e in edits} == set(GENERATORS)
    assert all(e.index in (0, 1, 2) for e in edits)  # the empty review has no word to edit
    for e in edits:
        original = texts[e.index]
        assert e.text != original and e.word in original
        assert e.before == pytest.approx(float(model.predict([original])[0]), abs=1e-6)
        assert e.after == pytest.approx(float(model.predict([e.text])[0]), abs=1e-6)
        assert e.flipped == (label_of(e.after) != label_of(e.before))
        if e.generator == "drop":
            assert e.word not in e.text.split()
    positive, negative = strongest_words(model)
    for e in edits:
        if e.generator == "opposite":  # the new word comes from the model's own list of the other direction
            new_words = set(e.text.lower().replace(",", " ").split()) - set(texts[e.index].lower().replace(",", " ").split())
            assert new_words <= set(positive) | set(negative)


def test_batch_equals_one_by_one(model):
    texts = ["a wonderful film, I loved it", "a dull and boring film", "the acting was not good"]
    together = generate(model, texts, ("negate", "drop"))
    alone = [e for i, t in enumerate(texts) for e in generate(model, [t], ("negate", "drop"))]
    assert [(e.generator, e.text) for e in together] == [(e.generator, e.text) for e in alone]
    assert [e.after for e in together] == pytest.approx([e.after for e in alone], abs=1e-6)


def test_the_flipped_share_counts_per_generator(model):
    edits = generate(model, ["a wonderful film, I loved it", "a dull and boring film"])
    share = flipped_share(edits)
    for g, value in share.items():
        mine = [e for e in edits if e.generator == g]
        assert value == sum(e.flipped for e in mine) / len(mine)


def test_an_unknown_generator_is_refused(model):
    with pytest.raises(ValueError, match="unknown generator"):
        generate(model, ["fine"], ("shuffle",))


def test_a_data_slice_gets_its_edits_and_the_share_that_flipped(model):
    """The Data tab's run over a slice: every edit a row (row number, generator, scores), the largest change
    first, the flipped share per generator in the summary; a slice without text is refused in one line."""
    import pandas as pd

    from sentilens.errors import InputError
    from serve.app.data_counterfactuals import counterfactual_table

    part = pd.DataFrame({"row": [4, 9, 12], "text": ["a wonderful film, I loved it", "a dull and boring film",
                                                     "the plot was fine"]})
    summary, table = counterfactual_table(model, part, ["negate", "drop"])
    edits = generate(model, part["text"].tolist(), ("negate", "drop"))
    assert len(table) == len(edits) and {r[0] for r in table} <= {4, 9, 12}
    changes = [abs(float(r[5].split()[0])) for r in table]
    assert changes == sorted(changes, reverse=True)
    for g, share in flipped_share(edits).items():
        assert f"**{g}** flipped {share:.1%}" in summary
    with pytest.raises(InputError, match="generator"):
        counterfactual_table(model, part, [])
    with pytest.raises(InputError, match="no review text"):
        counterfactual_table(model, pd.DataFrame({"row": [1], "text": [None]}), ["drop"])
