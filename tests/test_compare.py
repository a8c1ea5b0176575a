"""serve.compare: two models on the same reviews, accuracy of each, agreement and what changed."""

import csv
import re

import gradio as gr
import pytest

from serve.jobs.compare import compare, main
from serve.runtime import SentimentModel


def test_a_model_against_itself_agrees_everywhere(tiny_model_dir, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id,text,label\na,the plot was splendid,pos\nb,the music was dreadful,neg\nc,,pos\n")
    model = SentimentModel(tiny_model_dir)
    s = compare(model, model, src)
    assert s["reviews"] == 2 and s["rejected"] == 1 and s["agreement"] == 1.0 and s["changed"] == []
    assert s["a"] == s["b"] and s["fixed"] == s["broken"] == 0


def test_two_models_with_their_own_vocabularies(tiny_model_dir, committed_model_dir, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    rows = ['{"text": "A warm, funny and beautifully acted film.", "label": "pos"}',
            '{"text": "the plot was splendid", "label": "pos"}',
            '{"text": "the music was dreadful", "label": "neg"}',
            '{"text": "=cmd dreadful and dull", "label": "neg", "id": "=x"}',
            '{"text": "Dull, long and badly written; I was bored.", "label": "neg"}']
    src.write_text("\n".join(rows) + "\n")
    out = tmp_path / "changed.csv"
    assert main([str(tiny_model_dir), str(committed_model_dir), str(src), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("5 reviews (0 rows could not be read); the two models agree on ")
    assert "a: " in printed and "b: " in printed and "became right" in printed
    s = compare(SentimentModel(tiny_model_dir), SentimentModel(committed_model_dir), src)
    with open(out, newline="") as f:
        written = list(csv.DictReader(f))
    assert [r["id"] for r in written] == [("'" + c["id"]) if c["id"].startswith("=") else c["id"]
                                          for c in s["changed"]]
    assert s["fixed"] - s["broken"] == round((s["b"]["accuracy"] - s["a"]["accuracy"]) * 5)


def test_the_compare_tab_handlers(tiny_model_dir, committed_model_dir, tmp_path):
    import pytest

    from sentilens.errors import InputError
    from serve.store.annotations import AnnotationStore
    from serve.app.compare_tab import CompareTab

    store = AnnotationStore(tmp_path / "db.sqlite3")
    tab = CompareTab(SentimentModel(tiny_model_dir), SentimentModel(committed_model_dir), store)
    assert tab.methods == ("running", "occlusion", "cd")
    words_a, words_b, diff, summary = tab.one("The plot was splendid!", "running")
    for page in (words_a, words_b):  # each in the Analyze tab's view: verdict, legend, the review as written
        assert "sl-verdict" in page and "toward positive" in page and page.count('class="sl-tok"') == 4
        assert "</button>!</div>" in page  # the punctuation is kept
    assert "sl-badge-pos" in words_a and summary.startswith("A: **")
    with pytest.raises(InputError, match="Nothing labelled yet"):
        tab.on_annotations()
    store.add_items([("x#1", "the music was dreadful", 0, 0.1), ("x#2", "[a](http://127.0.0.1/x) splendid", 1, 0.9)])
    store.decide("x#1", "neg", "ann", "sha")
    store.decide("x#2", "pos", "ann", "sha")
    report, changed = tab.on_annotations()
    assert report.startswith("**2 reviews** from the annotations") and "Right on the 2 labelled reviews: A **" in report
    assert re.search(r"A \*\*[0-2] of 2\*\* \(\d+\.\d%\), B \*\*[0-2] of 2\*\*", report)
    assert changed["visible"] == bool(changed["value"]["data"])  # the table only when a label changed
    assert changed["value"]["headers"] == ["id", "A", "B", "true label", "review"]
    assert "same model" not in report and "same model" not in summary
    assert tab.rerun("  ", "cd") == (gr.update(),) * 4  # no review: nothing changes
    assert "Contextual decomposition" in tab.rerun("The plot was splendid!", "cd")[0]  # the legend names it
    src = tmp_path / "[x](y).csv"
    src.write_text("text,label\nthe plot was splendid,pos\n")
    report, _ = tab.on_file(str(src))
    assert "[x](y)" not in report and "&#91;x&#93;" in report  # the file name is inert in Markdown


def test_comparing_a_model_with_itself_says_so(tiny_model_dir, tmp_path):
    from serve.app.compare_tab import CompareTab

    tab = CompareTab(SentimentModel(tiny_model_dir), SentimentModel(tiny_model_dir))
    assert tab.same_model and "the same model" in tab.one("The plot was splendid!", "running")[3]
    src = tmp_path / "r.csv"
    src.write_text("text,label\nthe plot was splendid,pos\nthe music was dreadful,pos\n")
    report, changed = tab.on_file(str(src))
    assert "A **1 of 2** (50.0%), B **1 of 2** (50.0%)" in report and "the same model" in report
    assert changed["visible"] is False  # nothing changed label: no empty table


def test_the_app_gets_a_compare_tab_with_a_second_model(tiny_model_dir, committed_model_dir, tmp_path):
    from sentilens.settings import Settings
    from serve.__main__ import make_app

    app, _ = make_app(str(tiny_model_dir), settings=Settings(db=str(tmp_path / "db.sqlite3")),
                      compare_dir=str(committed_model_dir))
    props = [c.get("props", {}) for c in app.get_config_file()["components"]]
    assert "Compare" in [p.get("label") for p in props] and {"cmp-a", "cmp-b"} <= {p.get("elem_id") for p in props}


def test_an_output_that_is_the_data_is_refused_and_the_data_kept(tiny_model_dir, tmp_path, capsys):
    """`compare -o` on the data file itself (issue 33: it overwrote the input with the changed rows)."""
    from serve.jobs.compare import main

    data = tmp_path / "reviews.csv"
    data.write_text("text,label\na superb film,1\nawful and dull,0\n")
    before = data.read_text()
    for spelling in (str(data), str(tmp_path / "." / "reviews.csv")):
        assert main([str(tiny_model_dir), str(tiny_model_dir), str(data), "-o", spelling]) == 2
        assert data.read_text() == before and capsys.readouterr().err.startswith("error: ")
    out = tmp_path / "changed.csv"
    assert main([str(tiny_model_dir), str(tiny_model_dir), str(data), "-o", str(out)]) == 0
    assert out.read_text().startswith("id,probability_a,probability_b,true_label,text")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["changed.csv", "reviews.csv"]


def test_both_sides_share_one_colour_scale_and_an_a_minus_b_row(tiny_model_dir, committed_model_dir):
    """Issue 34.6: A and B coloured on one scale (both legends print the larger strongest contribution, and a
    word of the same value gets the same shade on both sides), and a per-word A - B row; Analyze alone keeps
    its own scale."""
    from serve.app.analysis import explain
    from serve.app.compare_tab import CompareTab, difference
    from serve.app.review_view import explained_html, scale_text, top_of

    a, b = SentimentModel(committed_model_dir), SentimentModel(tiny_model_dir)
    tab = CompareTab(a, b)
    text = "The plot was splendid and the acting superb."
    for method in tab.methods:
        ea, eb = explain(a, text, method), explain(b, text, method)
        top = max(top_of(ea), top_of(eb))
        assert top_of(ea) != top_of(eb)  # two scales before (35.9 and 25.4 points in the issue)
        words_a, words_b, diff, _ = tab.one(text, method)
        size = scale_text(top, ea.attribution.space)
        for side in (words_a, words_b):
            assert f"<span>+{size}</span>" in side and f"full colour at &#xB1;{size}" in side
        # the colour of a word is its value over the shared top: the same in a view drawn alone at that top
        assert explained_html(ea, method, tab.neighbours[0], top) == words_a
        assert explained_html(eb, method, tab.neighbours[1], top) == words_b
        # the side with the weaker strongest word is paler than Analyze draws it alone, on its own scale
        weaker, shown, nb = (ea, words_a, tab.neighbours[0]) if top_of(ea) < top_of(eb) else \
            (eb, words_b, tab.neighbours[1])
        alone = explained_html(weaker, method, nb)
        assert alone != shown and f"+{scale_text(top_of(weaker), weaker.attribution.space)}" in alone
        d = difference(ea, eb)
        assert d == pytest.approx([x - y for x, y in zip(ea.attribution.scores, eb.attribution.scores)])
        tips = re.findall(r'data-tip="([^"]*)"', diff)
        assert len(tips) == 8 and all(": A - B " in t for t in tips)
        biggest = max(range(8), key=lambda i: abs(d[i]))
        assert ("A more toward positive" if d[biggest] > 0 else "A more toward negative") in tips[biggest]
        assert "A more positive than B" in diff and scale_text(max(abs(x) for x in d), ea.attribution.space) in diff


def test_no_a_minus_b_when_the_models_read_different_words(tiny_model_dir):
    from types import SimpleNamespace

    from serve.app.compare_tab import difference, difference_html

    def explained(tokens):
        return SimpleNamespace(fwd=SimpleNamespace(enc=SimpleNamespace(tokens=tokens)),
                               attribution=SimpleNamespace(space="probability", scores=[0.1] * len(tokens)))

    assert difference(explained(["a", "b"]), explained(["a", "c"])) is None
    assert "different words" in difference_html(explained(["a", "b"]), explained(["a", "c"]), "running")
