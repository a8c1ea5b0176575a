"""Label at scale (issue 34, point 3): find reviews in the queue by words, a column, the model's score or a
list of ids; label a selection in one action, each review its own decision marked as bulk, undone as one;
nothing someone else holds or settled is overwritten."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from sentilens.errors import InputError
from serve.store.annotations import AnnotationStore
from serve.store.bulk import MOST, Query, find, label_many

ITEMS = [("r1", "A wonderful film with a superb cast", 1, 0.93, (("genre", "drama"),)),
         ("r2", "A dull film, the cast was wasted", 0, 0.12, (("genre", "drama"),)),
         ("r3", "Superb action and a wonderful score", 1, 0.88, (("genre", "action"),)),
         ("r4", "Boring. I left early", 0, 0.05, (("genre", "action"),)),
         ("r5", "Fine, nothing more", None, 0.51, ())]


@pytest.fixture
def store(tmp_path):
    s = AnnotationStore(tmp_path / "a.db", overlap=1)
    s.add_items(ITEMS)
    return s


def ids(items):
    return [i.item_id for i in items]


def test_find_by_words_column_score_and_ids(store):
    assert ids(find(store, "ana", Query(words="wonderful superb"))) == ["r1", "r3"]
    assert ids(find(store, "ana", Query(words="SUPERB"))) == ["r1", "r3"]  # as the model reads words
    assert ids(find(store, "ana", Query(words="wonder"))) == []  # whole words, not parts
    assert ids(find(store, "ana", Query(column="genre", value="action"))) == ["r3", "r4"]
    assert ids(find(store, "ana", Query(score=(0.0, 0.2)))) == ["r2", "r4"]
    assert ids(find(store, "ana", Query(ids=["r4", "r1", "nope"]))) == ["r4", "r1"]  # the order given
    assert ids(find(store, "ana", Query(words="film", column="genre", value="drama", score=(0.5, 1.0)))) == ["r1"]
    with pytest.raises(InputError, match="score range"):
        find(store, "ana", Query(score=(0.8, 0.2)))


def test_a_bulk_label_is_a_decision_per_review_marked_and_undone_as_one(store, tmp_path):
    store.decide("r5", "pos", "ana", "sha")  # a decision of her own before the bulk action
    done = label_many(store, ["r1", "r3"], "pos", "Ana", "sha")  # her name in any case is her
    assert done.labelled == ["r1", "r3"] and not done.passed and done.batch > 0
    with sqlite3.connect(tmp_path / "a.db") as db:
        rows = db.execute("SELECT item_id, annotator, label, batch FROM decisions WHERE undone = 0 "
                          "ORDER BY decision_id").fetchall()
    assert rows == [("r5", "ana", "pos", 0), ("r1", "ana", "pos", done.batch), ("r3", "ana", "pos", done.batch)]
    assert ids(find(store, "ana", Query(words="wonderful"))) == []  # labelled: no longer open to her
    out = tmp_path / "labels.jsonl"
    store.export(out)
    exported = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert [d["bulk"] for d in exported["r1"]["decisions"]] == [True]
    assert [d["bulk"] for d in exported["r5"]["decisions"]] == [False]
    undone = store.undo("ana")
    assert undone.together == 2 and undone.item_id in ("r1", "r3")
    assert ids(find(store, "ana", Query(words="wonderful"))) == ["r1", "r3"]  # both back in her queue
    again = store.undo("ana")  # the next undo is her own single decision, not more of the batch
    assert again.item_id == "r5" and again.together == 1


def test_what_is_no_longer_open_is_passed_over_never_overwritten(store):
    store.decide("r2", "neg", "bo", "sha")  # overlap 1: done by bo
    store.next_item("cy", order="file")  # cy holds r1 now
    done = label_many(store, ["r1", "r2", "r4", "gone"], "pos", "ana", "sha")
    assert done.labelled == ["r4"]
    assert dict(done.passed).keys() == {"r1", "r2", "gone"}
    assert store.votes()["r2"] == {"bo": "neg"}


def test_bad_bulk_requests_are_refused_in_one_line(store):
    for args, match in ((([], "pos", "ana"), "Select the reviews"),
                        ((["r1"], "skip", "ana"), "bulk label"),
                        ((["r1"], "pos", "ana\u202e"), "annotator"),
                        (([f"x{i}" for i in range(MOST + 1)], "pos", "ana"), "at most")):
        with pytest.raises(InputError, match=match):
            label_many(store, args[0], args[1], args[2], "sha")


def test_an_older_database_gains_the_batch_column(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # a marked database of the first schema: no batch column
        from serve.store.schema import APPLICATION_ID, SCHEMA
        first = re.sub(r",(\s*--[^\n]*)?\n\s*batch INTEGER[^\n]*", r"\1", SCHEMA)
        assert "batch" not in first
        db.executescript(first)
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.execute("PRAGMA user_version = 1")
    s = AnnotationStore(path)
    s.add_items(ITEMS[:2])
    assert label_many(s, ["r1", "r2"], "neg", "ana", "sha").labelled == ["r1", "r2"]
    assert s.undo("ana").together == 2


# ---- Annotate's panel: its handlers as the page calls them ------------------------------------------

@pytest.fixture
def panel(store, tiny_model_dir):
    from serve.app.annotate_bulk import BulkPanel
    from serve.runtime import SentimentModel

    return BulkPanel(SentimentModel(tiny_model_dir), store, lambda typed, request: AnnotationStore.name(typed))


def test_the_panel_finds_ticks_and_labels_in_one_action(panel, store):
    ticks, found, status = panel.search("queue", "film", "", "", 0.0, 1.0, "", None, "ana", None)
    assert found == ["r1", "r2"] and "2 reviews open to you" in status
    assert [v for _, v in ticks["choices"]] == found and ticks["value"] == []
    assert ticks["choices"][0][0].startswith("r1 · P(positive) 0.93 · file: positive · A wonderful film")
    ticks, found, status = panel.label("neg")(["r2"], found, "ana", None)
    assert found == ["r1"] and "Labelled 1 review negative in one action" in status
    assert store.votes() == {"r2": {"ana": "neg"}}
    assert panel.select_all(found) == ["r1"]
    panel.label("pos")(["r1", "r4"], found, "ana", None)  # a tick not in the list found is not taken
    assert store.votes() == {"r1": {"ana": "pos"}, "r2": {"ana": "neg"}}
    assert store.undo("ana").together == 1  # each action its own batch: the last one goes
    with pytest.raises(InputError, match="Tick the reviews"):
        panel.label("pos")([], ["r3"], "ana", None)


def test_the_panel_looks_among_reviews_like_the_one_on_screen_or_sent_from_the_data_tab(panel, store):
    like = panel.like("r1")
    assert "r1" not in like and set(like) <= {"r2", "r3", "r4", "r5"} and len(like) == 4
    _, found, _ = panel.search("like", "", "", "", 0.0, 1.0, "r1", None, "ana", None)
    assert found == like  # nearest first
    _, found, _ = panel.search("sent", "", "", "", 0.0, 1.0, "", ["r4", "r2"], "ana", None)
    assert found == ["r4", "r2"]
    with pytest.raises(InputError, match="Nothing was sent"):
        panel.search("sent", "", "", "", 0.0, 1.0, "", [], "ana", None)
    with pytest.raises(InputError, match="Put a review on screen"):
        panel.search("like", "", "", "", 0.0, 1.0, "", None, "ana", None)


def test_a_slice_sent_from_the_data_tab_joins_the_queue_under_an_uploads_ids_and_is_listed(panel, store):
    sent = {"source": "reviews.csv@0123abcd", "of": 4, "rows": [
        ("7", "A gripping new film", 1, 0.8, (("genre", "drama"),)), ("7", "A second review with id 7", 0, 0.3, ()),
        ("8", "   ", None, 0.5, ()), ("9", "x" * 200_000, None, 0.5, ())]}  # empty and too long: not queued
    box, place, table, found, status, ids = panel.receive(sent, "ana", None)
    assert place == "sent" and box["open"] is True
    assert ids == found == ["reviews.csv@0123abcd#7", "reviews.csv@0123abcd#7~2"]  # as an upload repeats ids
    assert "2 reviews of the slice's 4 (2 new in the queue)" in status
    assert store.item("reviews.csv@0123abcd#7").extra == (("genre", "drama"),)
    again = panel.receive(sent, "", None)  # no name yet: queued all the same (nothing new), and said so
    assert "0 new" in again[4] and "name" in again[4] and again[5] == ids
