"""The one representation behind the Data tab's map, "more like this" and word neighbours
(explain/representation.py): the numpy LSTM it runs is the model, batched equals one by one, a review's
nearest include its near-duplicates, and words are neighbours by what the model does with them."""

import random

import numpy as np
import pytest

from explain.neighbours import Neighbours
from explain.representation import (KINDS, ReviewIndex, _runner, nearest, project, represent, unit_rows,
                                    word_behaviour)
from serve.runtime import SentimentModel

# our own words, never IMDB text
WORDS = ("the film story plot acting actor music scene camera ending script night city long short cast "
         "funny warm dull slow sharp tense quiet loud bright dark great fine poor weak strong lovely "
         "boring brilliant awful wonderful clumsy moving silly clever tired fresh").split()


def reviews(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 60))) for _ in range(n)]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return SentimentModel(tiny_model_dir)


@pytest.fixture(scope="module")
def committed(committed_model_dir):
    return SentimentModel(committed_model_dir)


@pytest.mark.parametrize("which", ["tiny", "committed"])
def test_the_numpy_run_is_the_model(request, which):
    """The state the representation reads is the model's: its readout equals onnxruntime's score, on empty,
    one-word, truncated (longer than maxlen) and ordinary reviews alike."""
    model = request.getfixturevalue(which)
    texts = ["", "splendid", "dreadful plot", "word " * (model.maxlen + 7) + "splendid", *reviews(40, seed=3)]
    ids = model.codec.encode_batch(texts)
    _, logit, _, _ = _runner(model).scan(ids)
    assert 1 / (1 + np.exp(-logit)) == pytest.approx(model.run(ids), abs=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_batched_equals_one_by_one(committed, kind):
    texts = ["", "fine", *reviews(30, seed=1), "great " * 1200]
    ids = committed.codec.encode_batch(texts)
    together = represent(committed, ids, kind)
    alone = np.concatenate([represent(committed, ids[i:i + 1], kind) for i in range(len(texts))])
    shuffled = np.random.default_rng(0).permutation(len(texts))
    assert together.shape[0] == len(texts) and np.isfinite(together).all()
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_allclose(represent(committed, ids[shuffled], kind), together[shuffled], atol=1e-5)
    with pytest.raises(ValueError, match="kind must be one of"):
        represent(committed, ids, "raw")


def test_a_reviews_nearest_include_its_near_duplicates(committed):
    """Among 300 reviews, one written again with a word changed, or with its sentences' punctuation and
    case changed, is among the 3 nearest of the original, for every original tried."""
    texts = reviews(300, seed=2)
    rng = random.Random(5)
    originals = [i for i in range(len(texts)) if len(texts[i].split()) >= 12][:10]
    for i in originals:
        words = texts[i].split()
        words[rng.randrange(len(words))] = rng.choice(WORDS)
        texts.append(" ".join(words))
        texts.append(texts[i].upper().replace(" ", ", ", 2) + "!")
    index = ReviewIndex(committed, texts, labels=[i % 2 for i in range(len(texts))])
    for n, i in enumerate(originals):
        near = {r["row"] for r in index.like_row(i, k=3)}
        assert {300 + 2 * n, 301 + 2 * n} <= near, (i, near)
    # "more like this" from the text: the review itself is left out, the rest carry label and score
    found = index.like_text(texts[originals[0]], k=4)
    assert originals[0] not in {r["row"] for r in found} and 300 in {r["row"] for r in found}
    assert all(r["label"] in (0, 1) and 0 <= r["score"] <= 1 for r in found)
    assert [r["similarity"] for r in found] == sorted((r["similarity"] for r in found), reverse=True)
    assert found[0]["score"] == pytest.approx(float(committed.predict([found[0]["text"]])[0]), abs=1e-5)
    # a text not in the index is represented on the fly and finds the original
    fresh = index.like_text(texts[originals[1]] + " fine", k=3)
    assert originals[1] in {r["row"] for r in fresh}


def test_word_neighbours_by_behaviour(committed):
    """A strong word's neighbours push the score the way it does; raw embedding distance does not do that
    (the issue: "superb" -> keenan, appearances, containing, ...)."""
    unit, effect = word_behaviour(committed)
    vocab = committed.codec.vocab
    emb = unit_rows(committed.weights["embedding"].astype(np.float32))
    for word, sign in (("superb", 1), ("wonderful", 1), ("awful", -1), ("boring", -1)):
        w = vocab.index[word]
        assert np.sign(effect[w]) == sign
        nb = Neighbours(committed)(word, k=10)
        ids = [vocab.index[n] for n, _ in nb]
        assert (np.sign(effect[ids]) == sign).mean() >= 0.9, (word, nb)
        by_embedding, _ = nearest(emb, emb[w], 10, exclude=w)
        assert (np.sign(effect[by_embedding]) == sign).mean() < (np.sign(effect[ids]) == sign).mean()
        # the ranking is the cosine of the behaviour vectors
        sims = unit[ids] @ unit[w]
        assert [s for _, s in nb] == pytest.approx(list(sims), abs=1e-5)


def test_the_map_projection(committed):
    """Two principal axes of a centred sample: deterministic, the first spreading the reviews most, and a
    sample of the rows gives nearly the axes of all of them."""
    vectors = represent(committed, committed.codec.encode_batch(reviews(400, seed=4)))
    xy = project(vectors)
    assert xy.shape == (400, 2) and np.isfinite(xy).all()
    np.testing.assert_array_equal(xy, project(vectors))
    assert xy[:, 0].var() >= xy[:, 1].var() > 0
    sampled = project(vectors, sample=300)
    for axis in range(2):
        assert abs(np.corrcoef(sampled[:, axis], xy[:, axis])[0, 1]) > 0.95
    assert project(np.zeros((0, 8))).shape == (0, 2)


def test_the_maps_payload_and_selection_round_trip(tiny):
    """What the page receives (serve.app.data_map.packed) decodes to the points sent, and what it sends back
    (a bit mask) to exactly the points chosen; anything else is refused in one line."""
    import base64

    from sentilens.errors import InputError
    from serve.app.data_map import packed, selected, start_of

    rng = np.random.default_rng(0)
    n = 1003
    xy, p = rng.random((n, 2)), rng.random(n)
    label = rng.integers(-1, 2, n).astype(np.int8)
    texts = [start_of(f"Row {i}<br />with\x1fcontrol\tand   space " * 20) for i in range(n)]
    v = packed(xy, label, (p >= 0.5).astype(np.int8), p, np.arange(1, n + 1), texts, "note")
    back = lambda key, dt: np.frombuffer(base64.b64decode(v[key]), np.dtype(dt).newbyteorder("<"))  # noqa: E731
    assert v["n"] == n and np.abs(back("x", "u2") / 65535 - xy[:, 0]).max() < 1e-4
    assert np.abs(back("p", "u2") / 65535 - p).max() < 1e-4
    assert (back("label", "i1") == label).all() and (back("row", "i4") == np.arange(1, n + 1)).all()
    assert v["text"].split("\x1f") == texts and all(len(t) <= 160 and "<br" not in t for t in texts)
    chosen = np.sort(rng.choice(n, 77, replace=False))
    bits = np.zeros(-(-n // 8) * 8, np.uint8)
    bits[chosen] = 1
    mask = base64.b64encode(np.packbits(bits).tobytes()).decode()
    assert (selected({"mask": mask, "n": n}, n) == chosen).all()
    assert len(selected({"mask": "", "n": 0}, n)) == 0  # cleared
    for bad in ({"mask": mask, "n": n - 1}, {"mask": "not base64!", "n": n}, {"rows": [1, 2]}, None,
                {"mask": base64.b64encode(b"\xff" * 126).decode(), "n": n}):  # bits past the last point
        with pytest.raises(InputError, match="does not belong to the map"):
            selected(bad, n)


def test_more_like_this_over_a_loaded_file(tiny, tmp_path):
    """Analyze's "more like this" (serve.app.analyze_tab.similar_rows) over a Data tab file: the nearest
    reviews with the file's row numbers, labels and scores; no file or no review is one clear line."""
    from sentilens.errors import InputError
    from serve.app.analyze_tab import similar_rows
    from serve.app.data_slices import score_file

    rng = random.Random(1)
    lines = ["text,label"]
    for i in range(60):
        label = i % 2
        lines.append(" ".join(rng.choice(["plot", "music", "night", "city"]) for _ in range(8)) + (
            " splendid" if label else " dreadful") + f",{label}")
    path = tmp_path / "ours.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    scored = score_file(tiny, path, None)
    update, texts = similar_rows(tiny, scored.frame["text"][6], scored)
    rows = update["value"]["data"]
    assert len(rows) == len(texts) == 10 and 7 not in [r[0] for r in rows]  # itself (row 7) left out
    for number, _, label, score, start in rows:
        assert label == ("positive" if scored.frame["label"][number - 1] == 1 else "negative")
        assert float(score) == pytest.approx(scored.frame["p"][number - 1], abs=1e-3)
        assert start == " ".join(scored.frame["text"][number - 1].split())
    assert sum(r[2] == "negative" for r in rows) >= 8  # a "dreadful" review's nearest are mostly negative
    with pytest.raises(InputError, match="Load a labelled file in the Data tab first"):
        similar_rows(tiny, "splendid", None)
    with pytest.raises(InputError, match="Type or paste a review first"):
        similar_rows(tiny, "  ", scored)
