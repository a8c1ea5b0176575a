"""The review as written (serve/review_view.py) and the codec's spans behind it: every word found
where it was written, nothing of the review ever becomes markup, one colour scale that always
passes contrast, the unread start folded, and the Annotate handlers around it."""

import html
import itertools
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explain.attribution import forward
from explain.neighbours import Neighbours
from explain.running import running_score
from sentilens.codec import token_spans, tokenize
from sentilens.errors import InputError
from serve.app.palette import BLACK, DARK, NEGATIVE, POSITIVE, WHITE, contrast, shade
from serve.app.review_view import review_html
from serve.runtime import SentimentModel

# Text that exercises every path of the alignment: tags, entities, ligatures, fractions, combining
# marks, curly apostrophes, full-width letters, line breaks and lone markup characters.
PIECES = ["splendid", "the", "film", " ", "  ", "\n", "\n\n", ",", "!", "'", "don't", "<br />", "<i>", "</i>", "&amp;",
          "&eacute;", "&#39;", "&lt;b&gt;", "<", ">", "&", "ﬁne", "¼", "e\u0301", "\u2019s", "Ｆｕｌｌ", "㎯", "\u00a0",
          "<img src=x onerror=alert(1)>", '"', "dreadful", "ß", "İ"]
texts = st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=40).map("".join)


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return SentimentModel(tiny_model_dir)


@given(texts)
@settings(max_examples=400, deadline=None)
def test_spans_find_each_token_where_it_was_written(text):
    tokens = tokenize(text)
    spans = token_spans(text, tokens)
    if spans is None:
        return  # the view then shows the words themselves (tested below)
    assert len(spans) == len(tokens)
    assert all(0 <= a < b <= len(text) for a, b in spans)
    assert all(a1 <= a2 for (a1, _), (a2, _) in itertools.pairwise(spans))
    for token, (a, b) in zip(tokens, spans):
        assert token in tokenize(text[a:b]) or token in tokenize(html.unescape(text[a:b]))


def test_ordinary_reviews_always_align():
    for text in ["A film, I loved it!", "Don\u2019t go.<br /><br />It&#39;s dull &amp; long.", "Café ﬁlm e\u0301te\u0301",
                 "It's <b>great</b>; 10/10.", "Ｆｕｌｌ width"]:
        spans = token_spans(text)
        assert spans is not None and len(spans) == len(tokenize(text))
    assert [(a, b) for a, b in token_spans("Hi, there!")] == [(0, 2), (4, 9)]


class Tags(HTMLParser):
    """Every element and attribute of a page, and the text the person reads."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.text, self.skip = [], [], [], 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]
        classes = dict(attrs).get("class", "").split()
        if tag == "summary" or "sl-start" in classes or "sl-note" in classes:
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in ("summary", "p") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.text.append(data)


SAFE_TAGS = {"div", "p", "details", "summary", "button"}
SAFE_ATTRS = {"class", "data-mode", "data-nb", "type", "data-i", "data-w", "data-span", "tabindex", "style", "data-tip",
              "aria-label", "aria-pressed", "role", "aria-live", "hidden"}


@given(texts, st.sampled_from(["explain", "annotate"]))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_nothing_of_the_review_becomes_markup_and_all_of_it_is_shown(model, text, mode):
    fwd = forward(model, text)
    a = running_score(model, fwd)
    page = review_html(text, fwd.enc, a.scores, a.space, mode=mode, neighbours=Neighbours(model).table(fwd.enc.tokens),
                       maxlen=model.maxlen)
    parsed = Tags()
    parsed.feed(page)
    assert set(parsed.tags) <= SAFE_TAGS and set(parsed.attrs) <= SAFE_ATTRS
    shown = "".join(parsed.text)
    if token_spans(text) is not None:  # the review as written, line breaks for <br>
        assert shown == re.sub(r"<br\s*/?>", "\n", text, flags=re.IGNORECASE)
    else:
        assert shown.split() == tokenize(text)


def test_words_carry_exact_values_and_the_unread_start_is_folded(model):
    text = "The night was dreadful. " + "the river " * 20 + "and the ending was splendid!"
    fwd = forward(model, text)
    a = running_score(model, fwd)
    page = review_html(text, fwd.enc, a.scores, a.space, maxlen=model.maxlen)
    unread, _, read = page.partition("The model starts reading here")
    n_unread = fwd.enc.n_truncated
    assert n_unread > 0 and unread.count('class="sl-tok sl-not-read"') == n_unread and "<details" in unread
    assert read.count('class="sl-tok"') == len(fwd.enc.tokens) - n_unread == model.maxlen
    assert f"{n_unread} words at the start" in unread
    i = fwd.enc.tokens.index("splendid")
    tip = f"splendid: {a.scores[i] * 100:+.1f} points of P(positive)"
    assert tip in read and ("toward positive" if a.scores[i] > 0 else "toward negative") in read
    assert "dreadful: not read by the model" in unread
    short = forward(model, "splendid")
    one = review_html("splendid", short.enc, running_score(model, short).scores, maxlen=model.maxlen)
    assert "<details" not in one and "starts reading" not in one


def test_the_colour_scale_always_passes_contrast_and_keeps_its_meaning():
    def rgb(h):
        return tuple(int(h[i:i + 2], 16) for i in (1, 3, 5))

    for base in (WHITE, DARK):  # light and dark mode
        for score in np.linspace(-1, 1, 801):
            bg, fg = shade(float(score), base)
            assert contrast(rgb(bg), rgb(fg)) >= 4.5
        assert rgb(shade(0.0, base)[0]) == base  # no weight: the page itself
    assert contrast(POSITIVE, WHITE) >= 4.5 and contrast(NEGATIVE, WHITE) >= 4.5  # the badges and buttons
    blue, red = rgb(shade(0.9)[0]), rgb(shade(-0.9)[0])
    assert blue[2] > blue[0] and red[0] > red[2]
    assert rgb(shade(0.0)[0]) == WHITE and rgb(shade(0.0)[1]) == BLACK


def test_neighbour_table_matches_one_word_at_a_time(model):
    nb = Neighbours(model)
    table = nb.table(["splendid", "dreadful", "splendid", "zzz"], k=5)
    assert list(table) == ["splendid", "dreadful", "zzz"] and table["zzz"] is None
    for word in ("splendid", "dreadful"):
        assert [w for w, _ in table[word]] == [w for w, _ in nb(word, k=5)]
        assert [s for _, s in table[word]] == pytest.approx([s for _, s in nb(word, k=5)], abs=1e-3)


def test_running_points_are_word_numbers_with_their_words(model):
    from serve.app.analysis import running_points

    fwd = forward(model, "the night was splendid")
    points = running_points(fwd)
    assert [(p["word_number"], p["word"]) for p in points] == [(0, "(start)"), (1, "the"), (2, "night"), (3, "was"),
                                                               (4, "splendid")]
    assert points[-1]["score"] == pytest.approx(fwd.probability, abs=1e-6)
    long = forward(model, "the river " * 20)  # 40 words, the model reads the last 24: no start point
    points = running_points(long)
    assert points[0]["word_number"] == 17 and len(points) == model.maxlen


def test_annotate_handlers_keep_the_rationale_note_and_place(model, tmp_path):
    import gradio as gr

    from serve.app.annotate_intake import parse_rationale
    from serve.app.annotate_tab import AnnotateTab
    from serve.store.annotations import AnnotationStore

    store = AnnotationStore(tmp_path / "db.sqlite3")
    store.add_items([(f"f#{i}", text, None, p) for i, (text, p) in
                     enumerate([("The night was splendid!", 0.5), ("A dreadful film.", 0.6), ("the river", 0.9)])])
    tab = AnnotateTab(model, store, default_order="uncertain")
    first = tab.start("uncertain", "ann", "", None)
    assert first.item_id == "f#0" and 'data-mode="annotate"' in first.page and "sl-model-only" in first.page
    shown = tab.decide("pos", "f#0", "clear", json.dumps([3, 0, 3]), "uncertain", "ann", None)
    assert shown.item_id == "f#1"
    assert store.current_labels()[0]["rationale"] == json.dumps(["The", "splendid"])  # as written (issue 20.8)
    back = tab.undo("uncertain", "ann", None)
    assert back.item_id == "f#0" and back.note == "clear" and back.page.count('aria-pressed="true"') == 2
    shown = tab.next("uncertain", "ann", "f#0", [], None)
    assert shown[0] == "f#1" and shown[-1] == ["f#0"]  # Next moves on...
    shown = tab.next("uncertain", "ann", "f#1", shown[-1], None)
    assert shown[0] == "f#2" and shown[-1] == ["f#0", "f#1"]  # ...and on, not back and forth
    shown = tab.next("uncertain", "ann", "f#2", shown[-1], None)
    assert shown[0] in ("f#0", "f#1", "f#2") and shown[-1] == []  # all passed: round again
    assert tab.reorder("file", "ann", None).item_id == "f#0"  # a new order applies at once
    with pytest.raises(InputError, match="not in this review"):
        parse_rationale("[7]", 4)
    with pytest.raises(InputError, match="could not be read"):
        parse_rationale("[1,", 4)
    with pytest.raises(InputError, match="Type your name"):
        tab.decide("pos", "f#0", "", "[]", "uncertain", " ", None)
    nothing = (gr.skip(),) * 6  # every output left as it is
    assert tab.start("uncertain", "", "", None) == nothing  # no name: nothing happens, no error
    assert tab.start("uncertain", "ann", "f#0", None) == nothing  # an item on screen stays there
    assert store.next_item("ann", "file").item_id == "f#0"  # still leased to ann, not moved on


@pytest.mark.parametrize("text", ["\U0001f3ac\U0001f37f!!", "zzzz qqqq wwww", "Zzzz, QQQQ."])
def test_a_review_without_a_known_word_gets_no_verdict(model, text):
    """Emoji only, or only words outside the vocabulary: the page says the model knows none of them
    instead of a red or blue verdict, and still shows the score for what it is."""
    from serve.app.analysis import explain
    from serve.app.review_view import explained_html

    e = explain(model, text, "running")
    page = explained_html(e, "running")
    assert "No known words" in page and "sl-badge-unknown" in page
    assert "sl-badge-pos" not in page and "sl-badge-neg" not in page
    assert f"{e.fwd.probability:.1%} positive is what it gives" in page
    known = explained_html(explain(model, text + " splendid", "running"), "running")
    assert "No known words" not in known and "sl-badge-pos" in known


def test_tooltips_name_the_word_as_written(model):
    from serve.app.analysis import explain
    from serve.app.review_view import explained_html

    page = explained_html(explain(model, "The night was SPLENDID, really", "running"), "running")
    assert 'data-tip="SPLENDID: ' in page and 'data-w="splendid"' in page  # shown as typed; looked up as read


def test_the_legend_has_a_numeric_scale_in_the_methods_units(model):
    from serve.app.analysis import explain
    from serve.app.review_view import explained_html

    for method, unit in (("running", "points"), ("cd", "logit")):
        e = explain(model, "The night was splendid but the music dreadful", method)
        top = max(abs(v) for v in e.attribution.scores if v is not None)
        size = f"{top * 100:.1f} points" if unit == "points" else f"{top:.2f} logit"
        page = explained_html(e, method)
        assert f'<div class="sl-legend-scale"><span>&#x2212;{size}</span><span>0</span><span>+{size}</span>' in page
        assert f"full colour at &#xB1;{size}" in page


def test_each_words_span_is_where_it_is_written_and_what_if_pairs_the_words(model):
    """The what-if edits find a word by data-span: the slice of the review is the word as shown. The
    what-if table pairs the words that stayed and lists dropped and added ones (serve/whatif.py)."""
    import re

    from serve.app.analysis import explain
    from serve.app.whatif import what_if

    text = "What a film!\n\nThe cast is <b>superb</b>, I LOVED it."
    fwd = forward(model, text)
    page = review_html(text, fwd.enc, running_score(model, fwd).scores, "probability", maxlen=model.maxlen)
    found = re.findall(r'data-span="(\d+),(\d+)"[^>]*>([^<]*)</button>', page)
    assert len(found) == len(fwd.enc.tokens)
    assert all(text[int(a):int(b)] == shown for a, b, shown in found)
    summary, html_after, rows = what_if(explain(model, "The cast is superb, I loved it.", "running"),
                                        explain(model, "The cast is not superb, I loved it.", "running"), "running")
    assert "→" in summary and "points of P(positive)" in summary and 'class="sl-tok"' in html_after
    words = [r[0] for r in rows]
    assert "not (added)" in words and "superb" in words and not any("(removed)" in w for w in words)
    assert all(r[3] for r in rows)  # every row changed
