"""Nothing a person made is lost (issue 33): each class of loss, fed to every entry point it concerns.

1. Every vote's note and rationale reaches the export (store, the Annotate tab, the /annotate API,
   read back by the trainer's ``--extra`` and learned from by ``trainer --init``).
2. A writer never deletes or replaces what it did not make in this run (``sentilens.staging``, the
   trainer, serve.batch and serve.convert).
3. A database that is not ours is refused before anything in it changes (the store, ``serve``).
4. Undo (and the queue's other read-modify-write steps) is atomic: concurrent sessions never mix
   one review with another's note (the store and the Annotate tab).
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import sqlite3
import sys
import threading
import time
from pathlib import Path

import pytest

from sentilens.errors import DataError
from serve.store.annotations import AnnotationStore, LeaseConflict
from serve.store.schema import APPLICATION_ID, SCHEMA_VERSION
from trainer.data import load_extra

REVIEWS = [(f"r{i}", f"the plot was {'splendid' if i % 2 else 'dreadful'} and long number {i}", None, 0.3 + i / 100)
           for i in range(12)]


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) -> sha256 of its bytes."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def exported(store: AnnotationStore, path: Path) -> dict[str, dict]:
    """``store`` exported to ``path``, read back (``read_export``)."""
    store.export(path)
    return read_export(path)


def read_export(path: Path) -> dict[str, dict]:
    """An export by id, with ``decisions`` and ``votes`` as JSON whatever the format."""
    if path.suffix == ".jsonl":
        return {r["id"]: r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())}
    rows = list(csv.DictReader(open(path, newline="", encoding="utf-8")))
    return {r["id"]: r | {"decisions": json.loads(r["decisions"]), "votes": json.loads(r["votes"])} for r in rows}


# ---- 1. every vote's note and rationale reaches the export ---------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_every_votes_note_and_rationale_reach_the_export_and_the_trainer_reads_it(tmp_path, suffix):
    store = AnnotationStore(tmp_path / "db.sqlite3", overlap=2)
    store.add_items(REVIEWS)
    store.decide("r1", "pos", "alice", "sha", note="the ending wins", rationale=["plot", "was", "splendid"],
                 rationale_tokens=[1, 2, 3])
    store.decide("r1", "pos", "bob", "sha")  # the last voter, with no note: Alice's work must stay
    store.decide("r2", "pos", "alice", "sha", note="sarcasm?", rationale=["dreadful"], rationale_tokens=[3])
    store.decide("r2", "neg", "bob", "sha", note="clearly negative", rationale=["dreadful"], rationale_tokens=[3])
    store.decide("r2", "neg", "lena", "sha", adjudicated=True)  # the lead settles it, with an empty note
    out = tmp_path / f"labels{suffix}"
    assert store.export(out) == (2, 0)
    rows = read_export(out)
    first = rows["r1"]
    assert first["annotator"] == "bob" and first["votes"] == {"alice": "pos", "bob": "pos"}  # meaning kept
    alice, bob = first["decisions"]
    assert (alice["annotator"], alice["label"], alice["note"], alice["rationale"], alice["rationale_tokens"]) == \
        ("alice", "pos", "the ending wins", ["plot", "was", "splendid"], [1, 2, 3])
    assert (bob["annotator"], bob["note"], bob["rationale"], bob["adjudicated"]) == ("bob", "", [], False)
    assert alice["created_at"].endswith("Z") and alice["model_sha"] == "sha"
    settled = rows["r2"]["decisions"]
    assert [(d["annotator"], d["label"], d["note"], d["adjudicated"]) for d in settled] == [
        ("alice", "pos", "sarcasm?", False), ("bob", "neg", "clearly negative", False), ("lena", "neg", "", True)]
    assert settled[0]["rationale"] == ["dreadful"]
    extra = load_extra([out], log=lambda _: None)  # python -m trainer --extra reads it as before
    assert sorted(zip(extra.texts, extra.labels.tolist())) == sorted([(REVIEWS[1][1], 1), (REVIEWS[2][1], 0)])


def test_with_no_overlap_an_earlier_annotators_work_stays_beside_the_correction(tmp_path):
    store = AnnotationStore(tmp_path / "db.sqlite3")
    store.add_items(REVIEWS)
    store.decide("r3", "pos", "alice", "sha", note="warm", rationale=["splendid"], rationale_tokens=[3])
    store.decide("r3", "neg", "bob", "sha")  # a correction: it settles the label, Alice's note stays
    row = exported(store, tmp_path / "e.jsonl")["r3"]
    assert row["label"] == 0 and [(d["annotator"], d["note"]) for d in row["decisions"]] == [("alice", "warm"),
                                                                                             ("bob", "")]
    store.undo("bob")  # undone work is history, not a vote
    row = exported(store, tmp_path / "e.jsonl")["r3"]
    assert row["label"] == 1 and [d["annotator"] for d in row["decisions"]] == ["alice"]


def test_the_annotate_tab_exports_every_annotators_rationale(tmp_path, tiny_model_dir):
    from serve.app.annotate_tab import AnnotateTab
    from serve.runtime import SentimentModel

    store = AnnotationStore(tmp_path / "db.sqlite3", overlap=2)
    store.add_items(REVIEWS[:2])
    tab = AnnotateTab(SentimentModel(tiny_model_dir), store, default_order="file", export_dir=tmp_path / "exports")
    for who, note, marked in (("alice", "three words", "[1, 2, 3]"), ("bob", "", "[]")):
        shown = tab.start("file", who, "", None)
        assert shown.item_id == "r0"
        tab.decide("neg", shown.item_id, note, marked, "file", who, None)
    rows = read_export(Path(tab.export("jsonl")))
    alice = rows["r0"]["decisions"][0]
    assert (alice["note"], alice["rationale"], alice["rationale_tokens"]) == ("three words", ["plot", "was",
                                                                                              "dreadful"], [1, 2, 3])


@pytest.mark.server
def test_notes_sent_through_the_annotate_api_by_two_voters_all_reach_the_export(tiny_model_dir, tmp_path):
    from gradio_client import Client

    from tests.servers import Server

    src, db = tmp_path / "queue.txt", tmp_path / "db.sqlite3"
    src.write_text("the plot was splendid\nthe music was dreadful\n")
    with Server("--model", str(tiny_model_dir), "--db", str(db), "--annotate", str(src), "--overlap", "2",
                log=tmp_path / "server.log") as s:
        c = Client(s.url, verbose=False)
        for who in ("alice", "bob"):
            item = c.predict(who, "file", api_name="/next_item")
            c.predict(item["item_id"], "pos", who, f"{who} was here", api_name="/annotate")
    rows = exported(AnnotationStore(db), tmp_path / "e.csv")
    (row,) = rows.values()
    assert [(d["annotator"], d["note"]) for d in row["decisions"]] == [("alice", "alice was here"),
                                                                      ("bob", "bob was here")]


# ---- 2. a writer never deletes or replaces what it did not make ------------------------------------------
@pytest.fixture
def earlier_export(tmp_path, tiny_model_dir) -> Path:
    """``exp/``: an earlier export (the tiny model), with the user's own ``exp.old/`` beside it."""
    exp = tmp_path / "exp"
    shutil.copytree(tiny_model_dir, exp)
    mine = tmp_path / "exp.old"
    mine.mkdir()
    (mine / "thesis.tex").write_text("\\chapter{Mine}")
    return exp


def write_stand_in(folder: Path, tiny_model_dir: Path) -> None:
    """What a run writes into its staging folder: here, the tiny model's files."""
    for p in tiny_model_dir.iterdir():
        shutil.copyfile(p, folder / p.name)


@pytest.mark.parametrize("exchange", [True, False], ids=["one-step swap", "two renames"])
def test_replacing_an_export_leaves_every_other_folder_and_no_temporary(earlier_export, tiny_model_dir, exchange,
                                                                       monkeypatch):
    from sentilens import staging

    real, swapped = staging._exchange, []
    monkeypatch.setattr(staging, "_exchange", lambda a, b: swapped.append(exchange and real(a, b)) or swapped[-1])
    parent = earlier_export.parent
    for name in (".exp-staging-x", ".exp-old-x", "exp.old.1", ".exp.partial"):  # names a writer might pick
        (parent / name).mkdir()
        (parent / name / "keep.txt").write_text(name)
    before = tree(parent)
    with staging.staged_dir(earlier_export) as folder:
        write_stand_in(folder, tiny_model_dir)
    after = tree(parent)
    assert {k: v for k, v in after.items() if not k.startswith("exp/")} == \
        {k: v for k, v in before.items() if not k.startswith("exp/")}  # exp.old/ and the rest: as they were
    assert tree(earlier_export) == tree(tiny_model_dir)
    assert swapped == [exchange and sys.platform == "linux"]  # the path this case is about was taken
    assert sorted(p.name for p in parent.iterdir()) == sorted([".exp-old-x", ".exp-staging-x", ".exp.partial", "exp",
                                                              "exp.old", "exp.old.1"])


def test_a_forged_metadata_never_makes_a_folder_an_export(tmp_path, tiny_model_dir):
    from sentilens.staging import check_folder, export_files, staged_dir

    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "thesis.tex").write_text("\\chapter{Years of work}")
    digest = hashlib.sha256((thesis / "thesis.tex").read_bytes()).hexdigest()
    forgeries = [{"files": {"onnx": "thesis.tex"}},  # names it, no sha256
                 {"files": {"onnx": "thesis.tex"}, "sha256": {"thesis.tex": digest}},  # even with a matching sha256
                 {"files": {"thesis": "thesis.tex"}, "sha256": {"thesis.tex": digest}}]  # under a role of its own
    for meta in forgeries:
        (thesis / "metadata.json").write_text(json.dumps(meta))
        before = tree(thesis)
        assert export_files(thesis) is None
        with pytest.raises(DataError, match="not an earlier export"):
            check_folder(thesis)
        with pytest.raises(DataError, match="not an earlier export"):
            with staged_dir(thesis) as folder:
                write_stand_in(folder, tiny_model_dir)
        assert tree(thesis) == before and sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]
    model = tmp_path / "model"  # a real export with one file of the user's added, or one listed file changed
    for change in ("added", "changed"):
        shutil.rmtree(model, ignore_errors=True)
        shutil.copytree(tiny_model_dir, model)
        (model / ("notes.txt" if change == "added" else "vocab.txt")).write_text("mine")
        assert export_files(model) is None


def test_a_folder_filled_while_the_run_works_is_left_as_it_is(tmp_path, tiny_model_dir):
    from sentilens.staging import staged_dir

    for start in ("new", "empty", "export"):
        target = tmp_path / start
        if start == "export":
            shutil.copytree(tiny_model_dir, target)
        elif start == "empty":
            target.mkdir()
        with pytest.raises((DataError, OSError)):
            with staged_dir(target) as folder:
                write_stand_in(folder, tiny_model_dir)
                target.mkdir(exist_ok=True)
                (target / "draft.txt").write_text("written during the run")  # not the run's
        assert (target / "draft.txt").read_text() == "written during the run"
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


@pytest.mark.parametrize("case", ["--out is --init", "--out inside --init", "--out holds --extra", "--out is --data",
                                  "--out is a link to --init"])
def test_the_trainer_refuses_an_out_that_is_in_or_holds_an_input(tmp_path, tiny_model_dir, case, capsys):
    from trainer.__main__ import main

    parent = tmp_path / "par"
    shutil.copytree(tiny_model_dir, parent)
    extra, data = tmp_path / "labels.csv", tmp_path / "train.csv"
    extra.write_text("text,label\nthe plot was splendid,1\n")
    data.write_text("text,label\nthe plot was splendid,1\nthe music was dreadful,0\n")
    out = {"--out is --init": parent, "--out inside --init": parent / "sub", "--out holds --extra": tmp_path,
           "--out is --data": data, "--out is a link to --init": tmp_path / "link"}[case]
    if case == "--out is a link to --init":
        out.symlink_to(parent)
    before = tree(tmp_path)
    assert main(["--init", str(parent), "--extra", str(extra), "--data", str(data), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ("the input" in err[0]), err
    assert tree(tmp_path) == before


def test_trainer_init_over_an_earlier_export_keeps_the_users_exp_old(earlier_export, tmp_path, tiny_model_dir,
                                                                   monkeypatch):
    """The issue's case end to end, with an export of the store (every vote's notes in it) as --extra:
    exit 0, exp/ is the new version, exp.old/ and its file are as they were, nothing else is left."""
    from serve.runtime import SentimentModel
    from tests.conftest import HEAVY
    from tests.test_learn import new_kind
    from tests.tiny_model import tiny_corpus
    from trainer.__main__ import main

    for name in HEAVY:  # the numpy learner: no TensorFlow
        monkeypatch.setitem(sys.modules, name, None)
    corpus = tiny_corpus()
    for name, split in (("train.csv", corpus.train), ("test.csv", corpus.test)):
        with open(tmp_path / name, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([("text", "label"), *zip(split.texts, split.labels)])
    texts, labels = new_kind(60)
    store = AnnotationStore(tmp_path / "db.sqlite3", overlap=2)
    store.add_items([(str(i), t, None, 0.5) for i, t in enumerate(texts)])
    for i, y in enumerate(labels):
        store.decide(str(i), "pos" if y else "neg", "alice", "sha", note=f"note {i}", rationale=["river"])
        store.decide(str(i), "pos" if y else "neg", "bob", "sha")
    store.export(tmp_path / "labels.csv")
    mine = tree(tmp_path / "exp.old")
    assert main(["--init", str(tiny_model_dir), "--extra", str(tmp_path / "labels.csv"), "--data",
                 str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv"), "--out", str(earlier_export)]) == 0
    assert tree(tmp_path / "exp.old") == mine
    assert SentimentModel(earlier_export).artifact.lineage["extra_rows"] == 60
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("job", ["serve.batch", "serve.convert"])
def test_batch_and_convert_leave_files_named_like_their_temporaries(tiny_model_dir, tmp_path, job):
    from serve.jobs.batch import main as batch
    from serve.jobs.convert import main as convert

    src = tmp_path / "in.txt"
    src.write_text("the plot was splendid\nthe music was dreadful\n")
    out = tmp_path / ("out.csv" if job == "serve.batch" else "out.parquet")
    out.write_text("precious")
    for name in (f".{out.name}.part", f".{out.name}.x.part", f"{out.name}.old", f"{out.name}.tmp", f".{out.name}"):
        (tmp_path / name).write_text(name)
    keep = {k: v for k, v in tree(tmp_path).items() if k not in (out.name, f"{out.name}.rejected.csv")}
    run = (lambda: batch([str(src), "-o", str(out), "--model", str(tiny_model_dir), "--quiet"])) \
        if job == "serve.batch" else (lambda: convert([str(src), "-o", str(out)]))
    assert run() == 0
    assert out.read_bytes() != b"precious"
    assert {k: v for k, v in tree(tmp_path).items() if k in keep} == keep
    assert set(tree(tmp_path)) - set(keep) <= {out.name, f"{out.name}.rejected.csv"}  # and no temporary
    same = tmp_path / "same.parquet"
    if job == "serve.convert":  # an output that is the input, by another spelling: refused, input kept
        shutil.copyfile(out, same)
        (tmp_path / "sub").mkdir()
        before = same.read_bytes()
        assert convert([str(same), "-o", str(tmp_path / "sub" / ".." / "same.parquet")]) == 2
        assert same.read_bytes() == before


# ---- 3. a database that is not ours is refused before anything changes ------------------------------------
def foreign(path: Path, kind: str) -> Path:
    """A SQLite file of another application (``kind`` says how it differs from ours)."""
    db = sqlite3.connect(path)
    if kind == "items and leases of its own":  # the issue's: leases keyed by item_id (ours once were) and items
        db.execute("CREATE TABLE leases (item_id TEXT PRIMARY KEY, tenant TEXT, rent REAL)")
        db.execute("CREATE TABLE items (sku TEXT PRIMARY KEY, price REAL)")
        db.execute("INSERT INTO items VALUES ('chair', 12.5)")
    elif kind == "our old leases beside a table of its own":
        db.execute("CREATE TABLE leases (item_id TEXT PRIMARY KEY, annotator TEXT NOT NULL, expires REAL NOT NULL)")
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    elif kind == "our tables and a view":
        db.execute("CREATE TABLE items (item_id TEXT PRIMARY KEY, text TEXT NOT NULL, text_hash TEXT NOT NULL, "
                   "given_label INTEGER, model_score REAL NOT NULL, position INTEGER NOT NULL)")
        db.execute("CREATE VIEW cheap AS SELECT * FROM items")
    elif kind == "an application_id of its own":
        db.execute("PRAGMA application_id = 1234")
        db.execute("CREATE TABLE notes (body TEXT)")
    elif kind == "a user_version of its own":
        db.execute("PRAGMA user_version = 7")
    elif kind == "ours, from a newer sentilens":
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    return path


FOREIGN = ["items and leases of its own", "our old leases beside a table of its own", "our tables and a view",
           "an application_id of its own", "a user_version of its own", "ours, from a newer sentilens"]


@pytest.mark.parametrize("kind", FOREIGN)
def test_a_database_that_is_not_ours_is_refused_before_anything_is_written(tmp_path, kind):
    path = foreign(tmp_path / "foreign.db", kind)
    before = path.read_bytes()
    with pytest.raises(DataError, match=r"foreign\.db: (not a sentilens annotation database|made by a newer)"):
        AnnotationStore(path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["foreign.db"]


@pytest.mark.parametrize("kind", FOREIGN[:2])
def test_serve_refuses_a_foreign_database_in_one_line_with_annotate_too(tmp_path, tiny_model_dir, capsys, kind):
    from serve.__main__ import main

    path = foreign(tmp_path / "foreign.db", kind)
    src = tmp_path / "queue.txt"
    src.write_text("the plot was splendid\n")
    before = path.read_bytes()
    assert main(["--model", str(tiny_model_dir), "--db", str(path), "--annotate", str(src), "--port", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {path}: not a sentilens annotation database"), err
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["foreign.db", "queue.txt"]


def test_new_empty_and_older_databases_of_ours_are_opened_and_marked(tmp_path):
    def mark(path: Path) -> tuple[int, int]:
        with sqlite3.connect(path) as db:
            return db.execute("PRAGMA application_id").fetchone()[0], db.execute("PRAGMA user_version").fetchone()[0]

    (tmp_path / "empty.db").write_bytes(b"")
    older = tmp_path / "older.db"
    with sqlite3.connect(older) as db:  # before the mark: our three tables, as the first versions made them
        db.executescript("""
            CREATE TABLE items (item_id TEXT PRIMARY KEY, text TEXT NOT NULL, text_hash TEXT NOT NULL,
                                given_label INTEGER, model_score REAL NOT NULL, position INTEGER NOT NULL);
            CREATE TABLE decisions (decision_id INTEGER PRIMARY KEY AUTOINCREMENT, item_id TEXT NOT NULL,
                text_hash TEXT NOT NULL, label TEXT NOT NULL, annotator TEXT NOT NULL, created_at REAL NOT NULL,
                model_sha TEXT NOT NULL, model_score REAL NOT NULL, note TEXT NOT NULL DEFAULT '',
                rationale TEXT NOT NULL DEFAULT '[]', undone INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE leases (item_id TEXT PRIMARY KEY, annotator TEXT NOT NULL, expires REAL NOT NULL);
            INSERT INTO items VALUES ('x', 'fine film', 'h', NULL, 0.8, 0);
            INSERT INTO decisions (item_id, text_hash, label, annotator, created_at, model_sha, model_score)
                VALUES ('x', 'h', 'pos', 'ann', 1.0, 's', 0.8);""")
    for name in ("new.db", "empty.db", "older.db"):
        store = AnnotationStore(tmp_path / name)
        assert mark(tmp_path / name) == (APPLICATION_ID, SCHEMA_VERSION)
        AnnotationStore(tmp_path / name)  # and again, marked
    assert [r["label"] for r in AnnotationStore(older).current_labels()] == ["pos"]
    assert store.undo("ann").item.text == "fine film"


# ---- 4. undo and the queue are atomic under concurrency ---------------------------------------------------
def hammer(n_threads: int, work) -> list:
    """Run ``work(k)`` in ``n_threads`` threads released at once; their results, in thread order."""
    start, results, errors = threading.Barrier(n_threads), [None] * n_threads, []

    def run(k: int) -> None:
        start.wait()
        try:
            results[k] = work(k)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return results


def decided_with_notes(path: Path) -> AnnotationStore:
    store = AnnotationStore(path)
    store.add_items(REVIEWS)
    for item_id, *_ in REVIEWS:
        store.decide(item_id, "pos", "ann", "sha", note=f"note of {item_id}", rationale=[item_id],
                     rationale_tokens=[int(item_id[1:])])
    return store


@pytest.mark.parametrize("trial", range(5))
def test_concurrent_undos_each_take_back_one_decision_with_its_own_review(tmp_path, trial):
    store = decided_with_notes(tmp_path / "db.sqlite3")

    def undo_all(k: int) -> list:
        own = AnnotationStore(store.path)  # a session of its own (a connection per call, as in the app)
        got = []
        while (undone := own.undo("ann")) is not None:
            got.append(undone)
        return got

    undone = [u for got in hammer(6, undo_all) for u in got]
    assert sorted(u.item_id for u in undone) == sorted(i for i, *_ in REVIEWS)  # each once, none twice
    for u in undone:
        assert u.item.item_id == u.item_id and u.item.text == dict((i, t) for i, t, *_ in REVIEWS)[u.item_id]
        assert (u.note, u.rationale, u.rationale_tokens) == (f"note of {u.item_id}", [u.item_id], [int(u.item_id[1:])])


@pytest.mark.parametrize("trial", range(5))
def test_two_sessions_pressing_undo_at_once_each_show_their_own_review_and_note(tmp_path, tiny_model_dir, trial):
    from serve.app.annotate_tab import AnnotateTab
    from serve.runtime import SentimentModel

    store = decided_with_notes(tmp_path / "db.sqlite3")
    tab = AnnotateTab(SentimentModel(tiny_model_dir), store, default_order="file")
    undo = store.undo

    def slow_undo(who: str):
        """The store's answer, then a pause (a busy server's): the window a second Undo needs to slip into."""
        undone = undo(who)
        time.sleep(0.02 * trial)
        return undone

    store.undo = slow_undo
    for _ in range(len(REVIEWS) // 2):
        shown = hammer(2, lambda k: tab.undo("file", "ann", None))
        assert shown[0].item_id != shown[1].item_id  # never the same review in both
        for s in shown:
            assert s.note == f"note of {s.item_id}" and f'data-item="{s.item_id}"' in s.page  # its own note


def test_concurrent_annotators_never_exceed_the_overlap_nor_lose_a_vote(tmp_path):
    store = AnnotationStore(tmp_path / "db.sqlite3", overlap=2)
    store.add_items(REVIEWS)

    def label_all(k: int) -> int:
        own, who, n = AnnotationStore(store.path, overlap=2), f"a{k}", 0
        while (item := own.next_item(who, "file")) is not None:
            try:
                own.decide(item.item_id, "pos", who, "sha", note=f"{who} on {item.item_id}")
                n += 1
            except LeaseConflict:
                own.release(who)
        return n

    done = hammer(6, label_all)
    votes = store.votes()
    assert sum(done) == sum(len(v) for v in votes.values()) == 2 * len(REVIEWS)  # every acknowledged vote kept
    assert all(len(v) == 2 for v in votes.values())  # never a third annotator on a review
    for row in store.current_labels():
        assert {d["note"] for d in row["decisions"]} == {f"{who} on {row['id']}" for who in row["votes"]}


def test_an_export_read_while_votes_land_is_one_consistent_moment(tmp_path):
    """The settled label, the votes and every decision's details come from one read transaction: an
    export taken while annotators vote never pairs a label with votes it was not settled from."""
    store = AnnotationStore(tmp_path / "db.sqlite3", overlap=2)
    store.add_items(REVIEWS)
    stop = threading.Event()

    def vote(k: int) -> None:
        own = AnnotationStore(store.path, overlap=2)
        for n in range(60):
            for item_id, *_ in REVIEWS:
                own.decide(item_id, "pos" if (n + k) % 2 else "neg", f"a{k}", "sha", note=f"{n}")
        stop.set()

    def read(k: int) -> int:
        seen = 0
        while not stop.is_set():
            for row in AnnotationStore(store.path, overlap=2).current_labels():
                kinds = set(row["votes"].values())
                assert row["label"] == (kinds.pop() if len(kinds) == 1 else "disputed")
                assert {d["annotator"]: d["label"] for d in row["decisions"]} == row["votes"]
                seen += 1
        return seen

    results = hammer(3, lambda k: vote(k) if k < 2 else read(k))
    assert results[2] > 0
