"""The Data tab's scoring and slicing (serve/data_tab.py), without a browser."""

import gradio as gr
import numpy as np
import pandas as pd
import pytest

from sentilens.errors import InputError
from serve.app.data_slices import confusion, from_batch_output, ordered, reliability, score_file, select, slice_stats
from serve.app.data_tab import DataTab
from serve.jobs.batch import score_file as batch_score_file
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
    assert all(isinstance(r, type(gr.skip())) for r in tab.view("all", "all", "all", "all", "", "(none)", "",
                                                                 "file order", 1, None))  # nothing loaded
    _, status, *rest = tab.load(None, None, "all", progress=None)
    assert status.startswith("Not loaded: Choose a file") and "Still showing" not in status
    assert all(isinstance(r, type(gr.skip())) for r in rest)  # nothing on screen changes
    _, status, *_ = tab.load(None, str(src), "all", progress=None)
    assert "Upload the serve&#46;batch output first" in status  # escaped for Markdown
    mine, status, column, summary, *_ = tab.load(str(src), None, "all", progress=None)
    assert "5 reviews scored" in status and column["choices"] == ["(none)", "genre"]
    assert "Slice: 5 reviews" in summary
    # a file refused after one was loaded leaves that one on screen, and says so
    bad = src.with_name("bad.csv")
    bad.write_text("id,probability,label,true_label,top_words\na,1.7,pos,pos,\n")
    kept, status, *rest = tab.load(str(bad), None, "all", current=mine, progress=None)
    assert "Not loaded: Line 2 of the serve&#46;batch output" in status and "Still showing d&#46;csv" in status
    assert kept is mine and all(isinstance(r, type(gr.skip())) for r in rest)
    # a new file is shown through the filters already set; a column it lacks is let go
    _, status, column, summary, *_ = tab.load(str(src), None, "all", "pos", "all", "all", "all", "", "genre",
                                              "drama", progress=None)
    assert column["value"] == "genre" and "Slice: 2 reviews" in summary
    with pytest.raises(InputError, match="1 to 5"):
        tab.open_row(9, mine)
    with pytest.raises(InputError, match="Load a labelled file first"):
        tab.open_row(2, None)  # each visitor sees their own file: another's is not theirs
    assert tab.open_row(2, mine) == "dull and long and boring"
    # a page past the end is the last page
    *_, page, pages = tab.view("all", "all", "all", "all", "", "(none)", "", "file order", 9, mine)
    assert page == 1 and pages == "Page 1 of 1"


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
    alone, status, column, *_ = tab.load(str(out), None, "all", progress=None)
    assert "serve.batch output" in status and "not scored again" in status and "second file" in status
    assert "top_words" not in column["choices"]  # free text: no use for "equals"
    with pytest.raises(InputError, match="has no text"):
        tab.open_row(1, alone)
    joined, status, *_ = tab.load(str(out), str(src), "all", progress=None)
    assert "texts from d&#46;csv for 5 of them" in status  # the name escaped for Markdown
    assert tab.open_row(2, joined) == "dull and long and boring"


def test_a_damaged_serve_batch_output_is_refused_with_its_line(tmp_path):
    out = tmp_path / "scored.csv"
    out.write_text("id,probability,label,true_label,top_words\na,0.9,pos,pos,\nb,1.7,pos,neg,\n")
    with pytest.raises(InputError, match="Line 3 of the serve.batch output"):
        from_batch_output(out, None, None)
    out.write_text("id,probability,label,true_label,top_words\na,0.9,maybe,pos,\n")
    with pytest.raises(InputError, match="Line 2"):
        from_batch_output(out, None, None)


def test_repeated_ids_get_no_text_rather_than_someone_elses(scored, tmp_path):
    """Joining by id cannot tell which text belongs to an id that repeats (in the output or in the file it
    scored): those rows are left without a text and counted, never given another review's."""
    model, src, _ = scored
    out = tmp_path / "scored.csv"
    batch_score_file(model, src, out, progress=False)
    lines = out.read_text().splitlines()
    lines[2] = "a" + lines[2][1:]  # row b now claims a's id
    out.write_text("\n".join(lines) + "\n")
    joined = from_batch_output(out, src, None)
    f = joined.frame
    assert list(f["text"][:2]) == ["", ""] and joined.repeated == 2
    assert list(f["text"][2:]) == list(pd.read_csv(src)["text"][2:])


def test_a_file_of_unreadable_rows_says_why(tiny_model_dir, tmp_path):
    src = tmp_path / "latin1.csv"
    src.write_bytes("id,text,label\na,caf\xe9 au lait was fine,pos\n".encode("latin-1"))
    with pytest.raises(InputError, match="no row could be read .1 row; the first: .*UTF-8"):
        score_file(SentimentModel(tiny_model_dir), src, None)


def test_the_confusion_cells_count_the_slice_before_its_label_and_result(scored):
    """A cell sets the true label and right/wrong; the four cells keep their counts under the other filters,
    so choosing one does not zero the rest."""
    model, src, _ = scored
    tab = DataTab(model)
    mine, *_ = tab.load(str(src), None, "all", progress=None)
    everything = tab.view("all", "all", "all", "all", "", "(none)", "", "file order", 1, mine)
    one_cell = tab.view("pos", "right", "all", "all", "", "(none)", "", "file order", 1, mine)
    assert [b["value"] for b in everything[2:6]] == [b["value"] for b in one_cell[2:6]]
    assert "Slice: " in one_cell[0] and "of 5" in one_cell[0]


def _output(tmp_path, header: list[str], rows: list[list[str]], name: str = "scored.csv"):
    out = tmp_path / name
    out.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    return out


def test_a_file_column_named_like_ours_is_renamed_not_mixed_in(scored, tmp_path):
    """A file's own column called predicted, p, text, words, right, confidence, row or true would overwrite or
    break the tab's (wrong accuracy, or a crash): it is kept under a name of its own, in every way a file
    arrives (scored here, or a serve.batch output, or the file that output scored)."""
    model, src, direct = scored
    clashing = ["p", "predicted", "confidence", "right", "words", "row", "true"]
    table = pd.read_csv(src)
    for name in clashing:
        table[name] = "x"
    table.to_csv(src, index=False)
    s = score_file(model, src, None)
    assert s.columns == ["genre", *(f"{c} (file)" for c in clashing)]
    for col in ("p", "predicted", "right", "words", "confidence"):
        assert list(s.frame[col].astype(str)) == list(direct.frame[col].astype(str))
    assert (s.frame["predicted (file)"] == "x").all()
    # a serve.batch output with the same clashes, and "text" too
    out = tmp_path / "scored.csv"
    batch_score_file(model, src, out, progress=False)
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    for name in ["text (file)", "text", "p", "predicted"]:
        written[name] = "y"
    written = written.drop(columns=["text"])  # a text column would make it a file of reviews, not an output
    written["words"] = "z"
    written.to_csv(out, index=False)
    joined = from_batch_output(out, src, None)
    f = joined.frame
    assert list(f["right"].astype(str)) == list(direct.frame["right"].astype(str))
    assert list(f["text"]) == list(direct.frame["text"])
    assert {"p (file)", "predicted (file)", "text (file)", "words (file)"} <= set(joined.columns)
    tab = DataTab(model)
    current, status, *rest = tab.load(str(out), str(src), "all", progress=None)
    *_, table_update, _, _ = tab.view("all", "all", "all", "all", "", "(none)", "", "file order", 1, current)
    headings = list(table_update["value"]["headers"])
    assert len(headings) == len(set(headings))  # every heading once: no file column shadows ours


def test_a_serve_batch_output_is_bounded_like_any_upload(scored, tmp_path):
    """2,000 extra columns (the browser hung on them), a 5,000-character id: an output is read through the
    same bounds as every other upload, 20 columns of its own, ids of at most 1,000 characters, and a long id
    is shortened in the table."""
    model, _, _ = scored
    header = ["id", "probability", "label", "true_label", *(f"c{i}" for i in range(2000))]
    rows = [[f"r{n}", "0.9", "pos", "pos", *(str(i) for i in range(2000))] for n in range(3)]
    out = _output(tmp_path, header, rows)
    s = from_batch_output(out, None, None)
    assert s.columns == [f"c{i}" for i in range(20)] and len(s.frame) == 3
    long_id = "i" * 999
    out = _output(tmp_path, header[:4], [[long_id, "0.2", "neg", "neg"]])
    current, *_ = DataTab(model).load(str(out), None, "all", progress=None)
    *_, table_update, _, _ = DataTab(model).view("all", "all", "all", "all", "", "(none)", "", "file order", 1,
                                                 current)
    shown = table_update["value"]["data"][0][1]  # the id column
    assert len(shown) == 80 and shown.endswith("…")
    out = _output(tmp_path, header[:4], [["a", "0.2", "neg", "neg"], ["i" * 1001, "0.2", "neg", "neg"]])
    with pytest.raises(InputError, match="Line 3 of the serve.batch output: the id is longer than 1,000"):
        from_batch_output(out, None, None)


@pytest.mark.parametrize("lines, why", [
    (['{"id": "a", "probability": 0.9, "label": "pos", "true_label": "pos"}', '[1, 2]'],
     "Line 2 of the serve.batch output cannot be read: expected a JSON object per line, got list"),
    (['{"id": "a", "probability": 0.9, "label": "pos", "true_label": "pos"}', '"just text"'],
     "Line 2 .* expected a JSON object per line, got str"),
    (['{"id": "a", "probability": true, "label": "pos", "true_label": "pos"}'], "Line 1 .* is not one serve.batch"),
    (['{"id": "a", "probability": NaN, "label": "pos", "true_label": "pos"}'], "Line 1 .* NaN is not a JSON value"),
    (['{"id": "a", "probability": 0.5, "label": "pos", "true_label": null}', '{"id": "b", "probability": 0.5}'],
     "Line 2 .* is not one serve.batch"),
    (['{"id": "a", "probability": 0.5, "label": "pos", "true_label": null}', '{"id": "a", "id": "b"}'],
     "Line 2 .* the key 'id' is given more than once"),
    (['{"id": null, "probability": 0.5, "label": "pos", "true_label": null}'], "Line 1 .* has no id"),
    # from an attack: an OverflowError, two TypeErrors and a lone surrogate got through as other exceptions
    (['{"id": "a", "probability": 1' + "0" * 400 + ', "label": "pos", "true_label": ""}'], "Line 1 .* is not one"),
    (['{"id": "a", "probability": 0.5, "label": ["pos"], "true_label": ""}'], "Line 1 .* is not one"),
    (['{"id": "a", "probability": 0.5, "label": {"pos": 1}, "true_label": ""}'], "Line 1 .* is not one"),
    (['{"id": "a", "probability": 0.5, "label": "pos", "true_label": ["neg"]}'], "Line 1 .* is not one"),
    (['{"id": "\\ud800x", "probability": 0.5, "label": "pos", "true_label": ""}'], "Line 1 .* the id is not UTF-8"),
])
def test_a_jsonl_output_that_serve_batch_did_not_write_is_refused_with_its_line(tmp_path, lines, why):
    out = tmp_path / "scored.jsonl"
    out.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=why):
        from_batch_output(out, None, None)


def test_a_jsonl_outputs_ids_are_text_as_the_readers_keep_them(tmp_path):
    """An id that is a JSON object or number is shown as compact JSON (as serve.batch writes it), not as
    Python's repr; a repeated CSV header is refused instead of renamed probability.1."""
    out = tmp_path / "scored.jsonl"
    out.write_text('{"id": {"x": 1}, "probability": 0.5, "label": "pos", "true_label": ""}\n'
                   '{"id": 7, "probability": 0, "label": "neg", "true_label": "neg"}\n')
    assert list(from_batch_output(out, None, None).frame["id"]) == ['{"x": 1}', "7"]
    out = _output(tmp_path, ["id", "probability", "label", "true_label", "probability"], [["a", "0.5", "pos", "", "1"]])
    with pytest.raises(InputError, match="the header names 'probability' more than once"):
        from_batch_output(out, None, None)


def test_the_status_names_this_visitors_file_not_whoever_sent_it_first(scored, tmp_path):
    """The scored-file cache is shared by content: the status and the table name the file this visitor sent."""
    model, src, _ = scored
    tab = DataTab(model)
    first, status, *_ = tab.load(str(src), None, "all", progress=None)
    other = tmp_path / "mine.csv"
    other.write_bytes(src.read_bytes())
    second, status, *_ = tab.load(str(other), None, "all", progress=None)
    assert second.frame is first.frame  # the same scores, from the cache
    assert "mine&#46;csv" in status and "d&#46;csv" not in status and second.name == "mine.csv"
    out = tmp_path / "scored.csv"
    batch_score_file(model, src, out, progress=False)
    tab.load(str(out), str(src), "all", progress=None)
    _, status, *_ = tab.load(str(out), str(other), "all", progress=None)
    assert "texts from mine&#46;csv" in status


def test_the_slice_on_screen_runs_counterfactuals_and_goes_to_annotate(scored):
    """Issue 34 (points 3 and 5): the generators run over the slice the filters set, their edits in a table
    with the flipped share per generator; "Send to Annotate" hands over the same slice with an upload's ids."""
    model, src, _ = scored
    tab = DataTab(model, annotating=True)
    mine, status, *_ = tab.load(str(src), None, "all", progress=None)
    assert "ids from the column &#39;id&#39;" in status  # escaped for Markdown
    drama = ("all", "all", "all", "all", "", "genre", "drama", mine)
    summary, table = tab.counterfactuals(["negate", "drop"], *drama, progress=lambda *a, **k: None)
    edited_rows = {r[0] for r in table["value"]["data"]}
    assert edited_rows <= {1, 3} and edited_rows  # rows a and c, by their number in the table
    assert "Counterfactuals of 2 reviews" in summary and "flipped" in summary
    sent = tab.send(*drama)
    assert sent["source"] == f"d.csv@{mine.digest}" and sent["of"] == 2
    assert [(r[0], r[2], r[4]) for r in sent["rows"]] == [("a", 1, (("genre", "drama"),)), ("c", 1, (("genre", "drama"),))]
    with pytest.raises(InputError, match="Load a labelled file"):
        tab.send("all", "all", "all", "all", "", "(none)", "", None)
