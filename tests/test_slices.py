"""Issue 34.4 and 34.6, without a browser: the Data tab's numeric filters, decision threshold, saved slices
compared side by side, readable numbers and plain text, the reliability plot's empty tenths, and a second
model's numbers beside the first's (``serve.app.data_slices``, ``serve.app.data_tab``)."""

import random
import re

import numpy as np
import pandas as pd
import pytest

from sentilens.errors import InputError
from sentilens.labels import POS, VALUE, label_of
from serve.app.data_slices import (B, MAX_SAVED, Range, at_threshold, bins, check_threshold, compare_slices,
                                   confusion, number_text, ordered, plain_text, save_slice, score_file, select,
                                   slice_stats)
from serve.app.data_tab import DataTab, filters_of
from serve.app.reliability_plot import reliability_svg
from serve.runtime import SentimentModel
from tests.synthetic import review


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """60 labelled reviews of our own words (with <br /> in them), 10 without a label."""
    rng = random.Random(3)
    path = tmp_path_factory.mktemp("slices") / "reviews.csv"
    rows = [(f"r{i}", review(i % 2, rng, rng.randint(3, 40)), ("pos", "neg")[i % 2 == 0]) for i in range(60)]
    rows += [(f"u{i}", review(None, rng, 5), "") for i in range(10)]
    pd.DataFrame(rows, columns=["id", "text", "label"]).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def two(labelled, tiny_model_dir, committed_model_dir):
    """The file scored by A (the tiny model) and B (the committed one)."""
    a, b = SentimentModel(tiny_model_dir), SentimentModel(committed_model_dir)
    return a, b, score_file(a, labelled, None, other=b)


def test_the_threshold_decides_through_the_one_label_rule(two):
    """Every label at a threshold is ``label_of``'s, for A and B; accuracy and the confusion matrix follow it;
    the loaded frame (shared by every visitor) is left as it was."""
    _, _, s = two
    before = s.frame.copy()
    for t in (0.2, 0.5, 0.8):
        f = at_threshold(s.frame, t)
        for suffix in ("", B):
            expected = [VALUE[label_of(p, t)] for p in f["p" + suffix]]
            assert list(f["predicted" + suffix]) == expected
            assert np.allclose(f["confidence" + suffix], np.where(np.array(expected) == 1, f["p" + suffix],
                                                                     1 - f["p" + suffix]))
        labelled = f[f["label"].notna()]
        right = (labelled["label"].astype(int) == labelled["predicted"]).mean()
        assert slice_stats(f)["accuracy"] == pytest.approx(right)
        cells = confusion(f)
        assert cells[(POS, "right")] == int(((labelled["label"] == 1) & (labelled["predicted"] == 1)).sum())
        assert sum(cells.values()) == len(labelled)
    pd.testing.assert_frame_equal(s.frame, before)
    accuracies = {t: slice_stats(at_threshold(s.frame, t))["accuracy"] for t in (0.05, 0.5, 0.95)}
    assert len(set(accuracies.values())) > 1  # the threshold moves the metric on this file
    for bad in (0, 1, 1.5, -0.1, "x"):
        with pytest.raises(InputError, match="between 0 and 1"):
            check_threshold(bad)


def test_numeric_filters_are_inclusive_ranges_with_open_ends(two):
    _, _, s = two
    f = s.frame
    ids = lambda **kw: set(f[select(f, **kw)]["id"])  # noqa: E731
    assert ids(p=Range(0.3, 0.7)) == set(f[(f["p"] >= 0.3) & (f["p"] <= 0.7)]["id"])
    assert ids(confident=Range(0.9, None)) == set(f[f["confidence"] >= 0.9]["id"])
    assert ids(words=Range(None, 10)) == set(f[f["words"] <= 10]["id"])
    edge = float(f["p"].iloc[0])
    assert "r0" in ids(p=Range(edge, edge))  # both ends are in
    # with a label and a result: wrong and confident at once (a fixed band could not say it)
    wrong_sure = ids(result="wrong", confident=Range(0.6, 1))
    assert wrong_sure == set(f[(f["right"] == False) & (f["confidence"] >= 0.6)]["id"])  # noqa: E712
    # the boxes as the tab reads them: empty is open, nonsense is one line
    assert filters_of(p_low=None, p_high=0.4)["p"] == Range(None, 0.4)
    with pytest.raises(InputError, match="P.positive.: the lower end .0.8. is above the upper end .0.2."):
        filters_of(p_low=0.8, p_high=0.2)
    with pytest.raises(InputError, match="Confidence: give numbers from 0 to 1"):
        filters_of(conf_low=1.5)
    with pytest.raises(InputError, match="Length in words: give numbers from 0 or more"):
        filters_of(words_low=-3)


def test_a_review_without_text_has_no_length_to_filter(two):
    _, _, s = two
    f = s.frame.copy()
    f.loc[0, "text"] = ""
    f.loc[0, "words"] = pd.NA
    assert "r0" not in set(f[select(f, words=Range(0, None))]["id"])
    assert "r0" in set(f[select(f)]["id"])


def test_the_reliability_plot_shows_an_empty_tenth_empty():
    """Reviews only at the ends of P(positive): the middle tenths are empty, drawn with no point and no line
    across them, and named in the caption; the SVG is one image with a text alternative."""
    f = pd.DataFrame({"p": [0.02, 0.15, 0.18, 0.85, 0.97, 0.99], "label": [0, 0, 1, 1, 1, 1]})
    got = bins(f)
    assert [b.count for b in got] == [1, 2, 0, 0, 0, 0, 0, 0, 1, 2]
    assert got[1].mean == pytest.approx(0.165) and got[1].share == 0.5 and got[4].mean is None
    svg = reliability_svg([("A", got)])
    assert svg.count("<polyline") == 2  # two runs (0-0.2 and 0.8-1.0), never one line across the gap
    assert svg.count('class="sl-rel-point sl-rel-a"') == 4
    assert "empty (no point, no line): 0.2-0.3, 0.3-0.4, 0.4-0.5, 0.5-0.6, 0.6-0.7, 0.7-0.8" in svg
    assert re.search(r'<svg [^>]*role="img" aria-label="Reliability', svg)
    assert "aria-" not in re.sub(r'<svg [^>]*>', "", svg)  # no ARIA attribute on an element without its role
    empty = reliability_svg([("A", []), ("B", [])])
    assert "A: no labelled review in the slice" in empty and "<circle" not in empty


def test_numbers_are_readable_and_never_rounded_onto_certainty():
    assert number_text(0.99996) == "> 0.9999" and number_text(0.00002) == "< 0.0001"
    assert number_text(1.0) == "1.0000" and number_text(0.0) == "0.0000" and number_text(0.51234) == "0.5123"
    assert number_text(None) == "" and number_text(float("nan")) == ""


def test_a_review_in_the_table_is_text_without_markup():
    assert plain_text("Great fun.<br /><br />The cast &amp; crew <i>shine</i>") == "Great fun. The cast & crew shine"
    long = "word " * 100
    cut = plain_text(long, 20)
    assert len(cut) == 20 and cut.endswith("…")
    assert "<" not in plain_text("<b>" * 300 + "x")


def test_saved_slices_are_compared_side_by_side(two):
    """Named slices keep their filters; their numbers are select + slice_stats on the frame on screen (at the
    threshold), for A and B; a name taken again replaces, and the list is bounded."""
    _, _, s = two
    negatives = filters_of(label="neg")
    sure = filters_of(conf_low=0.9)
    saved = save_slice(save_slice([], "negatives", negatives), "  sure  ", sure)
    assert [x.name for x in saved] == ["negatives", "sure"]
    for t in (0.5, 0.7):
        f = at_threshold(s.frame, t)
        rows = compare_slices(f, saved)
        for row, filters in zip(rows, (negatives, sure)):
            part = f[select(f, **filters)]
            assert {k: row[k] for k in ("count", "accuracy", "ece")} == \
                {k: slice_stats(part)[k] for k in ("count", "accuracy", "ece")}
            assert row["accuracy B"] == slice_stats(part, B)["accuracy"] and row["ece B"] == slice_stats(part, B)["ece"]
    assert len(save_slice(saved, "sure", negatives)) == 2  # replaced, not added
    with pytest.raises(InputError, match="name first"):
        save_slice(saved, "   ", negatives)
    many = []
    for i in range(MAX_SAVED):
        many = save_slice(many, f"s{i}", negatives)
    with pytest.raises(InputError, match=f"At most {MAX_SAVED}"):
        save_slice(many, "one more", negatives)


def test_the_whole_slice_sorts_by_a_column(two):
    _, _, s = two
    f = s.frame
    assert list(ordered(f, "P(positive), highest first")["p"]) == sorted(f["p"], reverse=True)
    assert list(ordered(f, "P(positive), lowest first")["p"]) == sorted(f["p"])
    words = list(ordered(f, "shortest first")["words"].dropna())
    assert words == sorted(words)


def _summary_share(summary: str, after: str) -> float:
    return float(re.search(after + r" \*\*([\d.]+)%\*\*", summary).group(1)) / 100


def test_the_tab_with_a_second_model_shows_both_per_slice(two, labelled):
    """--compare: the Data tab scores the file with both models; each slice's summary, its saved-slice row and
    the table give B's numbers beside A's, at the threshold on screen."""
    a, b, direct = two
    tab = DataTab(a, b)
    current, status, _, summary, plot, *cells, slices, table, page, pages = tab.load(str(labelled), None, "all",
                                                                                       progress=None)
    assert "by both models" in status
    assert np.allclose(current.frame["p" + B], b.predict(list(current.frame["text"])), atol=1e-6)
    f = current.frame
    assert _summary_share(summary, "Accuracy") == pytest.approx(slice_stats(f)["accuracy"], abs=5e-4)
    assert _summary_share(summary, "accuracy") == pytest.approx(slice_stats(f, B)["accuracy"], abs=5e-4)
    assert table["value"]["headers"][9:11] == ["B P(positive)", "B right"]
    assert 'data-series="B"' in plot
    # a threshold moves A's and B's numbers, the confusion cells and the table's "predicted"
    out = tab.view("all", "all", "all", "all", "", "(none)", "", "file order", 1, current, 0.8)
    at = at_threshold(f, 0.8)
    assert _summary_share(out[0], "Accuracy") == pytest.approx(slice_stats(at)["accuracy"], abs=5e-4)
    assert _summary_share(out[0], "accuracy") == pytest.approx(slice_stats(at, B)["accuracy"], abs=5e-4)
    assert [c["value"] for c in out[2:6]] == [f"{n:,} {key[1]}" for key, n in
                                              ((k, confusion(at)[k]) for k in (("pos", "right"), ("pos", "wrong"),
                                                                               ("neg", "wrong"), ("neg", "right")))]
    data = out[7]["value"]["data"]
    assert [r[3] for r in data] == [("negative", "positive")[p >= 0.8] for p in f["p"][:50]]
    # saved slices, compared with B's columns
    saved = tab.save("short", [], "all", "all", "all", "all", "", "(none)", "", words_high=10)[0]
    out = tab.view("all", "all", "all", "all", "", "(none)", "", "file order", 1, current, 0.5, saved=saved)
    compared = out[6]
    assert compared["visible"] and compared["value"]["headers"] == ["slice", "reviews", "accuracy",
                                                                   "mean confidence", "ECE", "B accuracy", "B ECE"]
    short = f[f["words"] <= 10]
    assert compared["value"]["data"][1][:2] == ["short", len(short)]
    assert compared["value"]["metadata"]["display_value"][1][2] == f"{slice_stats(short)['accuracy']:.1%}"


def test_the_table_keeps_numbers_and_shows_them_readably(two, labelled, tiny_model_dir):
    a, _, _ = two
    tab = DataTab(a)
    current, *_ = tab.load(str(labelled), None, "all", progress=None)
    current.frame.loc[0, "p"] = 0.99996  # a sure review, as the 25,000 test reviews have many
    out = tab.view("all", "all", "all", "all", "", "(none)", "", "file order", 1, current)
    table = out[7]
    value, shown = table["value"], table["value"]["metadata"]["display_value"]
    assert value["data"][0][4] == 0.99996 and shown[0][4] == "> 0.9999"  # sorts by value, shows no "1"
    assert all("<br" not in row[8] for row in shown) and all("<br" not in row[8] for row in value["data"])
    assert table["datatype"][:9] == ["number", "str", "str", "str", "number", "number", "str", "number", "str"]
