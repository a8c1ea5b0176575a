"""The Data tab's scoring and slicing (serve/data_tab.py), without a browser."""

import numpy as np
import pandas as pd
import pytest

from sentilens.errors import InputError
from serve.data_tab import DataTab, confusion, from_batch_output, ordered, reliability, score_file, select, slice_stats
from serve.batch import score_file as batch_score_file
from serve.runtime import SentimentModel


@pytest.fixture()
def scored(tmp_path, tiny_model_dir):
    src = tmp_path / "d.csv"
    rows = [("a", "a splendid moving film", 1, "drama"), ("b", "dull and long and boring", 0, "comedy"),
            ("c", "boring but splendid", 1, "drama"), ("d", "long long long " * 40, 0, ""), ("e", "fine", "", "x")]
    src.write_text("id,text,label,genre\n" + "\n".join(f"{i},{t},{lab},{g}" for i, t, lab, g in rows) + "\n")
    model = SentimentModel(tiny_model_dir)
    return model, src, score_file(model, src, None)


def test_a_file_is_scored_with_what_each_slice_needs(scored):
    model, src, s = scored
    f = s.frame
    assert list(f["id"]) == list("abcde") and s.columns == ["genre"]
    p = model.predict(list(f["text"]))
    assert np.allclose(f["p"], p, atol=1e-6)  # the model's own scores
    assert list(f["predicted"]) == [int(x >= 0.5) for x in p]
    assert np.allclose(f["confidence"], np.maximum(p, 1 - p))
    assert pd.isna(f["right"].iloc[4]) and f["words"].iloc[3] == 120
    assert list(f["genre"].fillna("")) == ["drama", "comedy", "drama", "", "x"]


def test_slices_combine_their_filters(scored):
    _, _, s = scored
    f = s.frame
    ids = lambda **kw: list(f[select(f, **kw)]["id"])  # noqa: E731
    assert ids(label="pos") == ["a", "c"] and ids(label="neg") == ["b", "d"]
    right = list(f[f["right"].fillna(False).astype(bool)]["id"])
    assert ids(result="right") == right and sorted(ids(result="wrong") + right) == list("abcd")
    assert ids(word="BORING") == ["b", "c"] and ids(word="bor") == []  # whole words, any case
    assert ids(word="boring", label="pos") == ["c"]
    assert ids(column="genre", value="Drama") == ["a", "c"]
    assert ids(length=">=600") == [] and ids(length="100-300") == ["d"]
    assert len(ids(confidence="<60%")) + len(ids(confidence="60-80%")) + len(ids(confidence="80-95%")) \
        + len(ids(confidence=">=95%")) == 5


def test_a_slices_numbers_by_hand():
    f = pd.DataFrame({"label": [1, 1, 0, 0, None], "p": [0.9, 0.3, 0.2, 0.65, 0.5]})
    f["predicted"] = (f["p"] >= 0.5).astype(int)
    f["confidence"] = np.maximum(f["p"], 1 - f["p"])
    f["right"] = pd.array([True, False, True, False, pd.NA], dtype="boolean")
    f["words"] = [1, 2, 3, 4, 5]
    s = slice_stats(f)
    assert (s["count"], s["labelled"], s["accuracy"]) == (5, 4, 0.5)
    # bins: 0.9 -> 9 (truth 1), 0.3 -> 3 (1), 0.2 -> 2 (0), 0.65 -> 6 (0): |0.9-1| + |0.3-1| + |0.2-0| + |0.65-0|, / 4
    assert s["ece"] == pytest.approx((0.1 + 0.7 + 0.2 + 0.65) / 4)
    assert confusion(f) == {("pos", "right"): 1, ("pos", "wrong"): 1, ("neg", "right"): 1, ("neg", "wrong"): 1}
    points = reliability(f)
    assert len(points[points["series"] == "this slice"]) == 4
    assert list(ordered(f, "wrong and confident first").index[:2]) == [1, 3]  # the wrong ones, surest (0.7) first
    assert list(ordered(f, "least confident first").index[:1]) == [4]


def test_the_tab_refuses_what_it_cannot_do(scored, tiny_model_dir):
    model, src, _ = scored
    tab = DataTab(model)
    with pytest.raises(InputError, match="Load a labelled file first"):
        tab.view("all", "all", "all", "all", "", "(none)", "", "file order", 1)
    with pytest.raises(InputError, match="Choose a file"):
        tab.load(None, None, "all", progress=None)
    with pytest.raises(InputError, match="serve.batch output first"):
        tab.load(None, str(src), "all", progress=None)
    status, column, summary, *_ = tab.load(str(src), None, "all", progress=None)
    assert "5 reviews scored" in status and column["choices"] == ["(none)", "genre"]
    assert "Slice: 5 reviews" in summary
    with pytest.raises(InputError, match="1 to 5"):
        tab.open_row(9)
    assert tab.open_row(2)[1] == "dull and long and boring"


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_serve_batch_output_is_sliced_as_scored_with_its_texts_joined_by_id(scored, tiny_model_dir, tmp_path,
                                                                               suffix):
    """Issue 21.1: a serve.batch output (no text column) is read with the scores it holds, not scored again;
    the file it scored adds the texts and columns by id; without it the text-free rows say why they cannot open."""
    model, src, direct = scored
    out = tmp_path / f"scored{suffix}"
    batch_score_file(model, src, out, explain=2, progress=False)
    alone = from_batch_output(out, None, None)
    f = alone.frame
    assert list(f["id"]) == list("abcde") and "top_words" in alone.columns
    assert np.allclose(f["p"], direct.frame["p"], atol=1e-6)  # serve.batch rounds to 6 digits
    assert list(f["predicted"]) == list(direct.frame["predicted"])
    assert list(f["label"].astype("Float64").fillna(-1)) == [1, 0, 1, 0, -1]
    assert list(f["right"].fillna(False)) == list(direct.frame["right"].fillna(False))
    assert (f["text"] == "").all() and f["words"].isna().all()
    assert list(f[select(f, length="all")]["id"]) == list("abcde") and f[select(f, length="<100 words")].empty
    joined = from_batch_output(out, src, None)
    assert joined.matched == 5 and list(joined.frame["text"]) == list(direct.frame["text"])
    assert "genre" in joined.columns and list(joined.frame["words"]) == list(direct.frame["words"])
    tab = DataTab(model)
    status, *_ = tab.load(str(out), None, "all", progress=None)
    assert "serve.batch output" in status and "not scored again" in status and "second file" in status
    with pytest.raises(InputError, match="has no text"):
        tab.open_row(1)
    status, *_ = tab.load(str(out), str(src), "all", progress=None)
    assert "texts from d&#46;csv for 5 of them" in status  # the name escaped for Markdown
    assert tab.open_row(2)[1] == "dull and long and boring"


def test_a_damaged_serve_batch_output_is_refused_with_its_line(tmp_path):
    out = tmp_path / "scored.csv"
    out.write_text("id,probability,label,true_label,top_words\na,0.9,pos,pos,\nb,1.7,pos,neg,\n")
    with pytest.raises(InputError, match="Line 3 of the serve.batch output"):
        from_batch_output(out, None, None)
    out.write_text("id,probability,label,true_label,top_words\na,0.9,maybe,pos,\n")
    with pytest.raises(InputError, match="Line 2"):
        from_batch_output(out, None, None)
