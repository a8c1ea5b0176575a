"""The SQLite annotation store: queue orders, history, undo, resume, two writers."""

import multiprocessing as mp

import pytest

from serve.store.annotations import AnnotationStore, LeaseConflict
from trainer.data import load_extra

ITEMS = [("a", "so so", None, 0.52), ("b", "great", 1, 0.97), ("c", "awful", 1, 0.03),
         ("d", "meh", 0, 0.40), ("e", "fine", None, 0.80)]


def history(store, item_id: str) -> list[dict]:
    """Every decision on an item in order, undone ones too: the store's audit trail, read directly."""
    with store._connect() as db:
        rows = db.execute("SELECT label, annotator, created_at, undone FROM decisions WHERE item_id = ? "
                          "ORDER BY decision_id", (item_id,)).fetchall()
    return [{"label": a, "annotator": b, "created_at": c, "undone": bool(d)} for a, b, c, d in rows]


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
    store.decide("b", "neg", "ann", "sha1", note="meh", rationale=["dull"], rationale_tokens=[3])
    undone = store.undo("ann")  # what was entered comes back with it
    assert (undone.item_id, undone.label, undone.note, undone.rationale, undone.rationale_tokens) == \
        ("b", "neg", "meh", ["dull"], [3])
    assert store.next_item("ann", "file").item_id == "b"
    store.release("ann")
    assert store.undo("ann").item_id == "a"
    assert store.next_item("ann", "file").item_id == "a"  # the undone item comes back first
    store.decide("a", "neg", "ann", "sha1")
    store.decide("a", "pos", "other", "sha1")  # re-annotation by someone else
    hist = history(store, "a")
    assert [(h["label"], h["undone"]) for h in hist] == [("pos", True), ("neg", False), ("pos", False)]
    assert [r["label"] for r in store.current_labels()] == ["pos"]


def test_next_passes_over_the_item_on_screen_and_a_release_gives_it_back(store):
    first = store.next_item("ann", "file")
    assert store.next_item("ann", "file").item_id == first.item_id  # still leased to them
    second = store.next_item("ann", "file", exclude=[first.item_id])
    assert second.item_id != first.item_id
    assert store.next_item("bob", "file").item_id == first.item_id  # no longer leased: free for others
    store.release("bob")
    for item in "abcde":  # everything else decided: the passed item comes back rather than nothing
        if item not in (first.item_id, second.item_id):
            store.decide(item, "pos", "ann", "s")
    store.decide(second.item_id, "pos", "ann", "s")
    assert store.next_item("ann", "file", exclude=[first.item_id]).item_id == first.item_id


def test_progress_and_agreement(store):
    store.decide("b", "pos", "ann", "s")  # agrees with 0.97
    store.decide("c", "pos", "ann", "s")  # disagrees with 0.03
    store.decide("d", "skip", "ann", "s")
    p = store.progress()
    assert p == {"total": 5, "done": 3, "labelled": 2, "skipped": 1, "agreement": 0.5}


def test_each_annotator_sees_their_own_counts(store):
    """Issue 20.4: the queue's progress is shared, the counts under 'mine' are the annotator's own (their
    latest live decision per item), with how many fell in the last hour."""
    import time

    store.decide("b", "pos", "ann", "s")  # agrees with 0.97
    store.decide("c", "pos", "ann", "s")  # disagrees with 0.03
    store.decide("c", "neg", "ann", "s")  # ann changes their mind: the latest counts
    store.decide("d", "skip", "bob", "s")
    store.decide("b", "neg", "bob", "s")  # bob disagrees with ann (and the model) on b
    now = time.time()
    ann, bob = store.progress("ann", now=now), store.progress("bob", now=now)
    assert ann["total"] == bob["total"] == 5 and ann["done"] == bob["done"] == 3  # the queue: b, c, d
    assert ann["mine"] == {"pos": 1, "neg": 1, "labelled": 2, "skipped": 0, "agreement": 1.0, "last_hour": 2}
    assert bob["mine"] == {"pos": 0, "neg": 1, "labelled": 1, "skipped": 1, "agreement": 0.0, "last_hour": 2}
    assert store.progress("ann", now=now + 7200)["mine"]["last_hour"] == 0
    assert store.progress("carol")["mine"]["labelled"] == 0 and "mine" not in store.progress()
    store.undo("ann")  # ann's 'neg' on c is taken back: their 'pos' on c is live again
    assert store.progress("ann", now=now)["mine"] == {"pos": 2, "neg": 0, "labelled": 2, "skipped": 0,
                                                      "agreement": 0.5, "last_hour": 2}


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


def test_export_is_training_data_with_skips_iso_times_and_rationale_lists(store, tmp_path):
    import csv
    import json
    from datetime import datetime

    store.decide("b", "pos", "ann", "s")
    store.decide("c", "neg", "ann", "s", rationale=["awful"], rationale_tokens=[0])
    store.decide("d", "skip", "ann", "s", note="not sure")
    logged = []
    for suffix in (".csv", ".jsonl"):
        out = tmp_path / f"export{suffix}"
        assert store.export(out) == (2, 1)
        extra = load_extra([out], log=logged.append)
        assert extra.texts == ["great", "awful"] and extra.labels.tolist() == [1, 0]
    assert logged == [f"--extra export{s}: left out 1 row without a label (skipped while annotating, or votes that "
                      "disagree and no adjudication)"
                      for s in (".csv", ".jsonl")]
    rows = [json.loads(line) for line in open(tmp_path / "export.jsonl")]
    assert [(r["label"], r["status"]) for r in rows] == [(1, "labelled"), (0, "labelled"), (None, "skipped")]
    assert rows[1]["rationale"] == ["awful"] and rows[1]["rationale_tokens"] == [0]
    assert rows[2]["note"] == "not sure"
    for r in rows:
        assert r["created_at"].endswith("Z") and datetime.fromisoformat(r["created_at"]).tzinfo is not None
    table = list(csv.DictReader(open(tmp_path / "export.csv", newline="")))
    assert [(r["label"], r["status"]) for r in table] == [("1", "labelled"), ("0", "labelled"), ("", "skipped")]
    assert json.loads(table[1]["rationale"]) == ["awful"]


def test_an_older_database_gains_the_rationale_tokens_column(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite3"
    old_schema = SCHEMA_BEFORE_TOKENS
    sqlite3.connect(path).executescript(old_schema)
    s = AnnotationStore(path)
    s.add_items([("x", "fine film", None, 0.8)])
    s.decide("x", "pos", "ann", "sha", rationale=["fine"], rationale_tokens=[0])
    assert s.undo("ann").rationale_tokens == [0]


SCHEMA_BEFORE_TOKENS = """
CREATE TABLE decisions (decision_id INTEGER PRIMARY KEY AUTOINCREMENT, item_id TEXT NOT NULL, text_hash TEXT NOT NULL,
  label TEXT NOT NULL, annotator TEXT NOT NULL, created_at REAL NOT NULL, model_sha TEXT NOT NULL,
  model_score REAL NOT NULL, note TEXT NOT NULL DEFAULT '', rationale TEXT NOT NULL DEFAULT '[]',
  undone INTEGER NOT NULL DEFAULT 0);
"""


def _writer(path, name, n, queue):
    s = AnnotationStore(path)
    acked = []
    for i in range(n):
        s.decide(f"item{i}", "pos" if i % 2 else "neg", name, "sha")
        acked.append(i)
    queue.put((name, len(acked)))


@pytest.mark.server
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
    from sentilens.digest import file_sha256
    from serve.app.annotate_intake import load_reviews
    from serve.runtime import SentimentModel
    from serve.app.ui_safety import md_literal

    src = tmp_path / "up<b>load.csv"
    src.write_text("text,label\nthe plot was splendid,pos\n,neg\nthe music was dreadful,maybe\nthe night,\n")
    store = AnnotationStore(tmp_path / "db.sqlite3")
    seen = []
    report = load_reviews(store, SentimentModel(tiny_model_dir), src, progress=lambda f, desc: seen.append(f))
    assert report.startswith("Loaded up<b>load.csv: 2 reviews (ids are line numbers, the file has no id column), "
                             "2 new in the queue; 2 rows skipped (first: ")
    assert "the text is empty" in report and seen == [(0, None), (2, None)]  # before reading, after each chunk
    item = store.next_item("ann", "file")
    assert item.item_id == f"up<b>load.csv@{file_sha256(src)[:8]}#2"
    assert item.given_label == 1 and item.model_score > 0.5
    literal = md_literal(item.item_id)  # inert inside Markdown: only entities, letters and digits
    assert literal.startswith("up&#60;b&#62;load&#46;csv@") and not set("<>[]()!`*_") & set(literal)


@pytest.fixture
def model(tiny_model_dir):
    from serve.runtime import SentimentModel

    return SentimentModel(tiny_model_dir)


def test_repeated_ids_in_one_upload_are_kept_apart_and_reported(model, tmp_path):
    from serve.app.annotate_intake import load_reviews

    src = tmp_path / "dups.csv"
    src.write_text("id,text\na,the plot was splendid\na,the music was dreadful\nb,the night\na,long story\n")
    store = AnnotationStore(tmp_path / "db.sqlite3")
    report = load_reviews(store, model, src)
    assert "4 reviews (ids from the column 'id'), 4 new in the queue; 2 repeated ids kept apart (first: a~2)" in report
    texts = sorted(i.text for i in iter(lambda: _take(store), None))
    assert texts == ["long story", "the music was dreadful", "the night", "the plot was splendid"]


def _take(store):
    item = store.next_item("ann", "file")
    if item is not None:
        store.decide(item.item_id, "skip", "ann", "sha")
    return item


def test_two_uploads_with_one_name_never_merge_and_a_reload_adds_nothing(model, tmp_path):
    from serve.app.annotate_intake import load_reviews

    store = AnnotationStore(tmp_path / "db.sqlite3")
    first, second = tmp_path / "a" / "reviews.txt", tmp_path / "b" / "reviews.txt"
    for path, text in ((first, "the plot was splendid\n"), (second, "the music was dreadful\n")):
        path.parent.mkdir()
        path.write_text(text)
    assert "1 new in the queue" in load_reviews(store, model, first)
    assert "1 new in the queue" in load_reviews(store, model, second)
    assert "0 new in the queue" in load_reviews(store, model, first)  # the same file again
    assert sorted(i.text for i in iter(lambda: _take(store), None)) == ["the music was dreadful",
                                                                        "the plot was splendid"]


def test_annotate_respects_another_annotators_lease(store):
    from serve.store.annotations import LeaseConflict

    item = store.next_item("alice", "file")
    with pytest.raises(LeaseConflict, match="being labelled by 'alice'"):
        store.decide(item.item_id, "pos", "bob", "sha")
    assert store.decide(item.item_id, "pos", "alice", "sha") == 1  # her own lease
    assert history(store, item.item_id)[0]["annotator"] == "alice"


def test_export_neutralizes_formulas_unless_raw(tmp_path):
    import csv

    s = AnnotationStore(tmp_path / "ann.sqlite3")
    s.add_items([("=1+1", "=HYPERLINK(\"http://127.0.0.1/x\") great", 1, 0.9)])
    s.decide("=1+1", "pos", "@ann", "sha", note="-note")
    s.export(tmp_path / "safe.csv")
    s.export(tmp_path / "raw.csv", raw_csv=True)
    safe = list(csv.DictReader(open(tmp_path / "safe.csv", newline="")))[0]
    raw = list(csv.DictReader(open(tmp_path / "raw.csv", newline="")))[0]
    assert (safe["id"], safe["text"][:2], safe["annotator"], safe["note"]) == ("'=1+1", "'=", "'@ann", "'-note")
    assert (raw["id"], raw["annotator"]) == ("=1+1", "@ann")


def test_export_works_wherever_the_database_lives(model, tmp_path):
    import tempfile

    from serve.app.annotate_tab import AnnotateTab

    far = tmp_path / "somewhere" / "else"
    far.mkdir(parents=True)
    store = AnnotationStore(far / "db.sqlite3")
    store.add_items([("x", "the plot was splendid", None, 0.9)])
    store.decide("x", "pos", "ann", "sha")
    out = AnnotateTab(model, store).export("jsonl")
    assert out.startswith(tempfile.gettempdir()) and out.endswith(".jsonl")
    assert '"label": 1' in open(out).read()
    again = AnnotateTab(model, store).export("jsonl")
    assert again != out and open(again).read() == open(out).read()  # a file of its own per export


BOMB = """
import resource, sys, tarfile, io
from pathlib import Path
sys.path.insert(0, {root!r})
from serve.app.annotate_intake import load_reviews
from serve.store.annotations import AnnotationStore
from serve.runtime import SentimentModel
from sentilens.errors import SentilensError

class Zeros(io.RawIOBase):
    def __init__(self, n): self.left = n
    def readable(self): return True
    def readinto(self, b):
        k = min(len(b), self.left); b[:k] = bytes(k); self.left -= k; return k

bomb = Path({tmp!r}) / "bomb.tar.gz"
with tarfile.open(bomb, "w:gz", compresslevel=9) as tar:
    info = tarfile.TarInfo("aclImdb/train/pos/0_9.txt"); info.size = 400 * 2**20
    tar.addfile(info, io.BufferedReader(Zeros(info.size), 1 << 20))
model = SentimentModel({model!r})
store = AnnotationStore(Path({tmp!r}) / "db.sqlite3")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load_reviews(store, model, bomb)
    print("loaded")
except SentilensError as err:
    print(str(err))
print(bomb.stat().st_size, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


@pytest.mark.server
def test_a_small_archive_that_unpacks_to_400_mb_is_refused_with_flat_memory(tiny_model_dir, tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = BOMB.format(root=str(ROOT), tmp=str(tmp_path), model=str(tiny_model_dir))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    message, sizes = out.stdout.strip().splitlines()
    compressed, grew_mb = map(int, sizes.split())
    assert compressed < 1_000_000
    assert "unpacks to more than 128 MB; the limit is 128 MB" in message
    assert grew_mb < 50  # nothing of the 400 MB was held


def test_exports_carry_the_files_own_id_and_the_rationale_as_written(tmp_path, tiny_model_dir):
    """Issue 20.8: ``source_id`` beside the queue's key, and the marked words as the review wrote them."""
    import json

    from serve.app.annotate_tab import AnnotateTab
    from serve.store.annotations import source_id
    from serve.runtime import SentimentModel

    store = AnnotationStore(tmp_path / "ann.sqlite3")
    key = "my#file@name.csv@0123abcd#row #7"
    store.add_items([(key, "Loved it. Truly GREAT fun!", None, 0.9)])
    tab = AnnotateTab(SentimentModel(tiny_model_dir), store)
    tab.decide("pos", key, "", json.dumps([0, 3]), "file", "ann", None)
    out = tmp_path / "export.jsonl"
    store.export(out)
    row = json.loads(out.read_text())
    assert (row["id"], row["source_id"]) == (key, "row #7")
    assert row["rationale"] == ["Loved", "GREAT"] and row["rationale_tokens"] == [0, 3]
    assert source_id("reviews.csv@adb6ca1b#r16~2") == "r16~2" and source_id("plain") == "plain"


def test_overlap_hands_each_review_to_k_annotators_and_a_lead_settles_disagreements(tmp_path):
    """Issue 20.6: with overlap 2 a review goes to two different annotators (at once, too), never to a
    third; the queue finishes reviews that have a vote first; it is done at two votes; a disagreement
    stays 'disputed' until a lead settles it, and exports carry every vote and the settled label."""
    import json

    store = AnnotationStore(tmp_path / "ann.sqlite3", overlap=2)
    store.add_items(ITEMS)
    a1, b1 = store.next_item("ana", "file"), store.next_item("bo", "file")
    assert a1.item_id == b1.item_id == "a"  # both hold it: it needs two votes
    assert store.next_item("cy", "file").item_id == "b"  # two holders already: not a third
    store.decide("a", "pos", "ana", "s")
    store.decide("a", "neg", "bo", "s")
    assert store.next_item("ana", "file").item_id == "b"  # cy holds b: one place left
    with pytest.raises(LeaseConflict, match="being labelled by"):
        store.decide("b", "pos", "dee", "s")  # both places are held
    store.release("ana")
    store.decide("b", "pos", "cy", "s")
    # most uncertain first would be d (0.40) before b (0.97), but b has a vote: it is finished first
    assert store.next_item("ana", "uncertain").item_id == "b"
    store.decide("b", "pos", "ana", "s")
    p = store.progress("ana")
    assert (p["done"], p["total"]) == (2, 5) and p["mine"]["labelled"] == 2
    assert p["left_for_me"] == 3 and store.progress("eve")["left_for_me"] == 3  # c, d, e (a and b have 2 votes)
    assert "left_for_me" not in AnnotationStore(tmp_path / "one.sqlite3").progress("ana")  # no overlap: the queue says it
    assert [(i.item_id, v) for i, v in store.disagreements()] == [("a", {"ana": "pos", "bo": "neg"})]
    labels = {r["id"]: r for r in store.current_labels()}
    assert labels["a"]["label"] == "disputed" and labels["b"]["label"] == "pos"
    out = tmp_path / "export.jsonl"
    assert store.export(out) == (1, 1)
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert rows["a"]["status"] == "disputed" and rows["a"]["label"] is None
    assert rows["a"]["votes"] == {"ana": "pos", "bo": "neg"} and rows["a"]["adjudicated"] is None
    store.decide("a", "neg", "lead", "s", adjudicated=True)  # the lead settles it; it is not a vote
    assert store.disagreements() == [] and store.progress("lead")["mine"]["labelled"] == 0
    assert store.export(out) == (2, 0)
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert (rows["a"]["label"], rows["a"]["status"], rows["a"]["adjudicated"]) == (0, "labelled", "neg")
    assert rows["a"]["votes"] == {"ana": "pos", "bo": "neg"}
    assert store.next_item("eve", "file").item_id == "c"  # a settled review is not handed out again
    with pytest.raises(ValueError):
        store.decide("c", "skip", "lead", "s", adjudicated=True)  # a lead settles with a label


def test_an_overlap_outside_1_to_20_is_refused_and_old_leases_are_migrated(tmp_path):
    import sqlite3

    from sentilens.errors import InputError

    for bad in (0, 21):
        with pytest.raises(InputError, match="1 to 20"):
            AnnotationStore(tmp_path / "x.sqlite3", overlap=bad)
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # the lease table before overlaps: one holder per review
        db.execute("CREATE TABLE leases (item_id TEXT PRIMARY KEY, annotator TEXT NOT NULL, expires REAL NOT NULL)")
    s = AnnotationStore(path, overlap=2)
    s.add_items(ITEMS)
    assert s.next_item("ana", "file").item_id == s.next_item("bo", "file").item_id == "a"


def test_team_tab_handlers_summarise_open_and_settle(tmp_path, tiny_model_dir):
    """The Team tab's handlers without a browser: the summary before and after votes, a disputed review
    opened with its votes and the model's colours, and a lead's name required to settle it."""
    from sentilens.errors import InputError
    from serve.runtime import SentimentModel
    from serve.app.team_tab import TeamTab

    store = AnnotationStore(tmp_path / "ann.sqlite3", overlap=2)
    store.add_items(ITEMS)
    tab = TeamTab(SentimentModel(tiny_model_dir), store)
    text, *_ = tab.summary()
    assert "Krippendorff's alpha (nominal, everyone): **n/a** over 0 reviews" in text and "0 reviews to settle" in text
    for who, label in (("ana", "pos"), ("bo", "neg")):
        store.decide("b", label, who, "s")
    text, pairs, people, pick, _, _ = tab.summary()
    assert "1 review to settle" in text and pick["choices"] == [("b (ana: positive, bo: negative)", "b")]
    assert pairs["value"] == [["ana", "bo", 1, "0.00"]]  # one review, opposite labels: no better than chance
    votes, page = tab.open("b")
    assert "ana: **positive**" in votes and "bo: **negative**" in votes and 'class="sl-tok"' in page
    with pytest.raises(InputError, match="no longer in the queue"):
        tab.open("nope")
    import gradio as gr

    with pytest.warns(UserWarning, match="lead first"):  # a toast in the app; every output left as it was
        assert tab.settle("pos")("b", "  ", None) == (gr.skip(),) * 6
    text, *_ = tab.settle("pos")("b", "lena", None)
    assert "0 reviews to settle" in text and store.adjudications() == {"b": ("pos", "lena")}


def test_the_files_other_columns_are_shown_with_the_item_and_carried_into_exports(tmp_path, tiny_model_dir):
    """Issue 20.7: columns beyond id/text/label (here from a CSV loaded into Annotate) come with each item
    and into both export formats, after ours; one named like ours is prefixed, never overwriting it."""
    import csv
    import json

    from serve.app.annotate_intake import load_reviews
    from serve.app.annotate_tab import AnnotateTab
    from serve.runtime import SentimentModel

    src = tmp_path / "meta.csv"
    src.write_text("id,text,label,year,status,genre\nm1,A fine film,,2001,draft,drama\nm2,Dull,,,,comedy\n")
    store = AnnotationStore(tmp_path / "ann.sqlite3")
    model = SentimentModel(tiny_model_dir)
    load_reviews(store, model, src)
    tab = AnnotateTab(model, store, default_order="file")
    shown = tab.start("file", "ann", "", None)
    assert "year: **2001**" in shown.caption and "status: **draft**" in shown.caption and "genre: **drama**" in shown.caption
    tab.decide("pos", shown.item_id, "", "[]", "file", "ann", None)
    second = store.next_item("ann", "file")
    assert second.extra == (("genre", "comedy"),)
    store.decide(second.item_id, "neg", "ann", "s")
    out = tmp_path / "e.jsonl"
    store.export(out)
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert (rows[0]["year"], rows[0]["file_status"], rows[0]["genre"], rows[0]["status"]) == ("2001", "draft", "drama",
                                                                                            "labelled")
    assert rows[1]["year"] is None and rows[1]["genre"] == "comedy"
    store.export(tmp_path / "e.csv")
    table = list(csv.DictReader(open(tmp_path / "e.csv", newline="")))
    assert list(table[0])[-3:] == ["year", "file_status", "genre"] and table[1]["genre"] == "comedy"
    old = AnnotationStore(tmp_path / "ann.sqlite3")  # opening again keeps them
    assert old.item(second.item_id).extra == (("genre", "comedy"),)


def test_guidelines_are_read_as_text_with_html_shown_not_run(tmp_path, capsys):
    from serve.__main__ import main
    from serve.app.annotate_intake import MAX_GUIDELINES_BYTES, read_guidelines
    from sentilens.errors import DataError

    good = tmp_path / "g.md"
    good.write_text("**Bold** & <b>raw</b>")
    assert read_guidelines(good) == "**Bold** &amp; &lt;b&gt;raw&lt;/b&gt;"
    (tmp_path / "bin.md").write_bytes(b"\xff\xfe rules")
    (tmp_path / "big.md").write_text("x" * (MAX_GUIDELINES_BYTES + 1))
    for name, said in (("bin.md", "not UTF-8"), ("big.md", "over 200,000 bytes"), ("none.md", "cannot read")):
        with pytest.raises(DataError, match=said):
            read_guidelines(tmp_path / name)
    # the command refuses before loading anything, with one line
    assert main(["--guidelines", str(tmp_path / "none.md"), "--db", str(tmp_path / "db.sqlite3")]) == 2
    assert "cannot read the guidelines" in capsys.readouterr().err
