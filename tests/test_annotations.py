"""The SQLite annotation store: queue orders, history, undo, resume, two writers."""

import multiprocessing as mp

import pytest

from serve.annotations import AnnotationStore
from trainer.data import load_extra

ITEMS = [("a", "so so", None, 0.52), ("b", "great", 1, 0.97), ("c", "awful", 1, 0.03),
         ("d", "meh", 0, 0.40), ("e", "fine", None, 0.80)]


@pytest.fixture
def store(tmp_path):
    s = AnnotationStore(tmp_path / "ann.sqlite3")
    assert s.add_items(ITEMS) == 5
    return s


def order_of(store, order, annotator="ann"):
    seen = []
    while (item := store.next_item(annotator, order)) is not None:
        seen.append(item.item_id)
        store.decide(item.item_id, "skip", annotator, "sha")
    return seen


def test_queue_orders(tmp_path):
    for order, want in [("uncertain", ["a", "d", "e", "b", "c"]), ("errors", ["c", "d", "b", "a", "e"]),
                        ("file", ["a", "b", "c", "d", "e"])]:
        s = AnnotationStore(tmp_path / f"{order}.sqlite3")
        s.add_items(ITEMS)
        assert order_of(s, order) == want


def test_reloading_the_same_items_adds_nothing(store):
    assert store.add_items(ITEMS) == 0
    assert store.progress()["total"] == 5


def test_decisions_keep_history_and_undo_returns_the_item(store):
    first = store.next_item("ann", "file")
    store.decide(first.item_id, "pos", "ann", "sha1", note="clear")
    assert store.next_item("ann", "file").item_id == "b"
    assert store.undo("ann") == "a"
    assert store.next_item("ann", "file").item_id == "a"  # the undone item comes back first
    store.decide("a", "neg", "ann", "sha1")
    store.decide("a", "pos", "other", "sha1")  # re-annotation by someone else
    hist = store.history("a")
    assert [(h["label"], h["undone"]) for h in hist] == [("pos", True), ("neg", False), ("pos", False)]
    assert [r["label"] for r in store.current_labels()] == ["pos"]


def test_progress_and_agreement(store):
    store.decide("b", "pos", "ann", "s")  # agrees with 0.97
    store.decide("c", "pos", "ann", "s")  # disagrees with 0.03
    store.decide("d", "skip", "ann", "s")
    p = store.progress()
    assert p == {"total": 5, "done": 3, "labelled": 2, "skipped": 1, "agreement": 0.5}


def test_queue_resumes_after_restart(tmp_path):
    path = tmp_path / "ann.sqlite3"
    s = AnnotationStore(path)
    s.add_items(ITEMS)
    s.decide(s.next_item("ann", "file").item_id, "pos", "ann", "sha")
    s.decide(s.next_item("ann", "file").item_id, "neg", "ann", "sha")
    again = AnnotationStore(path)
    assert again.next_item("ann", "file").item_id == "c"
    assert again.progress()["done"] == 2


def test_two_annotators_get_different_items(store):
    a, b = store.next_item("alice", "file"), store.next_item("bob", "file")
    assert a.item_id != b.item_id
    assert store.next_item("alice", "file").item_id == a.item_id  # her lease is still hers


def test_export_is_training_data(store, tmp_path):
    store.decide("b", "pos", "ann", "s")
    store.decide("c", "neg", "ann", "s", rationale=["awful"])
    store.decide("d", "skip", "ann", "s")
    for suffix in (".csv", ".jsonl"):
        out = tmp_path / f"export{suffix}"
        assert store.export(out) == 2
        extra = load_extra([out])
        assert extra.texts == ["great", "awful"] and extra.labels.tolist() == [1, 0]


def _writer(path, name, n, queue):
    s = AnnotationStore(path)
    acked = []
    for i in range(n):
        s.decide(f"item{i}", "pos" if i % 2 else "neg", name, "sha")
        acked.append(i)
    queue.put((name, len(acked)))


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / "ann.sqlite3"
    s = AnnotationStore(path)
    s.add_items([(f"item{i}", f"text {i}", None, 0.5) for i in range(200)])
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(path, name, 200, q)) for name in ("p1", "p2")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert sorted(q.get(timeout=5) for _ in procs) == [("p1", 200), ("p2", 200)]
    import sqlite3

    db = sqlite3.connect(path)
    assert db.execute("SELECT annotator, COUNT(*) FROM decisions GROUP BY annotator").fetchall() == [("p1", 200), ("p2", 200)]
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_load_reviews_scores_queues_and_reports_bad_rows(tiny_model_dir, tmp_path):
    from serve.annotate_tab import load_reviews, md_literal
    from serve.runtime import SentimentModel

    src = tmp_path / "up<b>load.csv"
    src.write_text("text,label\nthe plot was splendid,pos\n,neg\nthe music was dreadful,maybe\nthe night,\n")
    store = AnnotationStore(tmp_path / "db.sqlite3")
    seen = []
    report = load_reviews(store, SentimentModel(tiny_model_dir), src, progress=lambda f, desc: seen.append(f))
    assert report.startswith("Loaded up<b>load.csv: 2 reviews, 2 new in the queue; 2 rows skipped (first: ")
    assert "the text is empty" in report and seen == [0.0]
    item = store.next_item("ann", "file")
    assert item.item_id == "up<b>load.csv#2" and item.given_label == 1 and item.model_score > 0.5
    assert md_literal(item.item_id) == "up&lt;b&gt;load.csv&#35;2"  # inert inside Markdown
