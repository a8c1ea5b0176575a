"""Learning in the loop without TensorFlow (serve.learn): a version from labels, checked, served,
rolled back, and safe against a learner that is killed. Served from the tiny fixture."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from sentilens.errors import ExportError, InputError
from serve.learn import prior
from serve.learn.learner import learn
from serve.learn.registry import BASE, Registry
from serve.learn.served import ServedModel
from serve.learn.states import trace
from serve.learn.version import staging_for
from serve.runtime import SentimentModel
from tests.conftest import HEAVY, ROOT
from tests.synthetic import FILLER


def new_kind(n: int, seed: int = 0) -> tuple[list[str], list[int]]:
    """Reviews of a kind the tiny model never saw: filler, where 'river' says positive and 'boat' negative
    (in its training reviews both were filler, of no label)."""
    rng = random.Random(seed)
    filler = [w for w in FILLER if w not in ("river", "boat")]
    texts, labels = [], []
    for i in range(n):
        y = i % 2
        words = [rng.choice(filler) for _ in range(rng.randint(3, 9))] + ["river" if y else "boat"]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(y)
    return texts, labels


def test_a_learned_version_matches_its_reference_keeps_every_graph_and_records_its_lineage(tmp_path, tiny_model_dir):
    parent = SentimentModel(tiny_model_dir)
    texts, labels = new_kind(60)
    learned = learn(parent, texts, labels, tmp_path / "v1")
    version = SentimentModel(tmp_path / "v1")  # the artifact contract's every check, probes included
    assert version.sha256 != parent.sha256  # a new identity for new weights
    assert set(version.artifact.files) == set(parent.artifact.files)
    ids = version.codec.encode_batch(texts)
    reference = 1 / (1 + np.exp(-trace(version.weights, version.pad_table, ids).logit))
    assert np.abs(version.run(ids) - reference).max() <= 1e-5
    assert np.abs(version.score_ids(ids) - version.run(ids)).max() <= 1e-5
    lineage = version.artifact.lineage
    assert lineage["parent_sha256"] == parent.sha256 and lineage["labels"] == 60
    assert len(lineage["labels_sha256"]) == 64 and lineage["imdb"]["after"] == learned.summary["imdb"]["after"]
    assert set(lineage["held_out"]) >= {"before", "after", "folds"}
    for name in ("W", "R", "B", "embedding", "readout_kernel", "position"):  # only the evidence tables change
        assert np.array_equal(version.weights[name], parent.weights[name])


def test_labels_move_the_model_on_reviews_they_did_not_include(tmp_path, tiny_model_dir):
    parent = SentimentModel(tiny_model_dir)
    texts, labels = new_kind(60, seed=1)
    unseen, truth = new_kind(40, seed=2)
    learned = learn(parent, texts, labels, tmp_path / "v1")
    version = SentimentModel(tmp_path / "v1")
    before = ((parent.predict(unseen) >= 0.5) == np.array(truth)).mean()
    after = ((version.predict(unseen) >= 0.5) == np.array(truth)).mean()
    assert after >= before + 0.3  # 0.2 -> 0.75 when written
    assert learned.summary["held_out"]["after"] > learned.summary["held_out"]["before"]


def test_too_few_labels_one_label_only_and_forgetting_are_refused_and_write_nothing(tmp_path, tiny_model_dir,
                                                                                     monkeypatch):
    parent = SentimentModel(tiny_model_dir)
    texts, labels = new_kind(60)
    with pytest.raises(InputError, match="at least"):
        learn(parent, texts[:5], labels[:5], tmp_path / "few")
    with pytest.raises(InputError, match="both positive and negative"):
        learn(parent, texts[1::2], labels[1::2], tmp_path / "one")
    monkeypatch.setattr("serve.learn.learner.MAX_FORGETTING", -1.0)  # any version now "forgets"
    with pytest.raises(ExportError, match="refused"):
        learn(parent, texts, labels, tmp_path / "v1")
    assert not (tmp_path / "v1").exists() and not staging_for(tmp_path / "v1").exists()
    assert not any(p.name.startswith(("few", "one")) for p in tmp_path.iterdir())


def test_versions_survive_a_restart_switch_what_is_served_and_roll_back(tmp_path, tiny_model_dir):
    registry = Registry.beside(tmp_path / "a.sqlite3", tiny_model_dir)
    served = ServedModel(SentimentModel(tiny_model_dir))
    texts, labels = new_kind(60)
    learn(served.current, texts, labels, registry.new_path(), lineage={"parent_version": BASE})
    assert registry.all() == [BASE, "v1"] and registry.current() == BASE
    served.switch(registry.use("v1"), "v1")
    assert served.sha256 == SentimentModel(tmp_path / "a.sqlite3.versions" / "v1").sha256
    again = Registry.beside(tmp_path / "a.sqlite3", tiny_model_dir)  # a restart reads what was in use
    assert again.current() == "v1" and again.info("v1").parent == BASE
    served.switch(again.use(BASE), BASE)  # rollback
    assert served.sha256 == SentimentModel(tiny_model_dir).sha256 and again.current() == BASE
    with pytest.raises(InputError, match="no version"):
        again.use("../v1")


@pytest.mark.server
def test_a_learner_killed_while_writing_leaves_the_served_model_and_the_versions_as_they_were(tmp_path,
                                                                                             tiny_model_dir):
    registry = Registry.beside(tmp_path / "a.sqlite3", tiny_model_dir)
    marker = tmp_path / "writing"
    texts, labels = new_kind(60)
    child = f"""
import pathlib, time, sys
sys.path.insert(0, {str(ROOT)!r})
import serve.learn.version as v
from serve.learn.learner import learn
from serve.learn.registry import Registry
from serve.runtime import SentimentModel
real = v._measure_int8
def slow(*a, **k):
    pathlib.Path({str(marker)!r}).write_text("now")
    time.sleep(60)
v._measure_int8 = slow
registry = Registry.beside({str(tmp_path / "a.sqlite3")!r}, {str(tiny_model_dir)!r})
learn(SentimentModel({str(tiny_model_dir)!r}), {texts!r}, {labels!r}, registry.new_path())
"""
    proc = subprocess.Popen([sys.executable, "-c", child])
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, "the learner ended before it started writing"
        assert time.monotonic() < deadline, "the learner never reached the writing stage"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert staging_for(registry.folder / "v1").exists()  # killed mid-write: only the hidden staging folder
    assert registry.names() == [] and registry.current() == BASE
    assert registry.next_name() == "v2"  # the killed one's number is not reused while its folder lies there
    learn(SentimentModel(tiny_model_dir), texts, labels, registry.new_path())
    assert registry.names() == ["v2"]


def test_trainer_init_learns_with_tensorflow_unimportable(tmp_path, tiny_model_dir, monkeypatch):
    from tests.tiny_model import tiny_corpus
    from trainer.__main__ import main

    for name in HEAVY:
        monkeypatch.setitem(sys.modules, name, None)
    corpus = tiny_corpus()
    for name, split in (("train.csv", corpus.train), ("test.csv", corpus.test)):
        with open(tmp_path / name, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["text", "label"])
            w.writerows(zip(split.texts, split.labels))
    texts, labels = new_kind(60)
    extra = tmp_path / "labels.jsonl"
    extra.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(texts, labels)))
    assert main(["--init", str(tiny_model_dir), "--extra", str(extra), "--data", str(tmp_path / "train.csv"),
                 "--test", str(tmp_path / "test.csv"), "--out", str(tmp_path / "tuned")]) == 0
    tuned = SentimentModel(tmp_path / "tuned")
    assert tuned.artifact.lineage["method"].startswith("evidence refit in numpy")
    assert tuned.artifact.metrics["test"]["n"] == len(corpus.test)
    assert "tensorflow" not in {m for m, v in sys.modules.items() if v is not None}


def test_the_app_learns_uses_and_rolls_back_a_version_and_reranks_the_queue(tmp_path, tiny_model_dir):
    from serve.__main__ import make_app

    texts, labels = new_kind(80)
    queue = tmp_path / "queue.csv"
    with open(queue, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "text"])
        w.writerows(enumerate(texts))
    app, _ = make_app(str(tiny_model_dir), db=str(tmp_path / "a.sqlite3"), annotate=str(queue))
    assert {"learn", "versions", "use_version"} <= {getattr(fn, "api_name", None) for fn in app.fns.values()}
    from serve.store.annotations import AnnotationStore
    from serve.app.learn_panel import LearnPanel

    store = AnnotationStore(tmp_path / "a.sqlite3")
    served = ServedModel(SentimentModel(tiny_model_dir))
    panel = LearnPanel(served, store, Registry.beside(store.path, tiny_model_dir))
    for (item_id, *_), y in zip(store_items(store), labels):
        store.decide(item_id, "pos" if y else "neg", "ana", served.sha256)
    with pytest.raises(InputError):
        LearnPanel(served, AnnotationStore(tmp_path / "empty.sqlite3"), panel.registry).learn()
    learned = panel.learn()
    assert learned.artifact.directory.name == "v1" and [r["version"] for r in panel.versions()] == [BASE, "v1"]
    scores_before = dict((i, s) for i, _, s in store_items(store))
    assert "Now serving **v1**" in panel.use("v1")
    assert served.version == "v1" and [r["in_use"] for r in panel.versions()] == [False, True]
    scores_after = dict((i, s) for i, _, s in store_items(store))
    assert scores_after != scores_before  # the queue is ranked by the version in use
    panel.use(BASE)
    assert served.sha256 == SentimentModel(tiny_model_dir).sha256


def store_items(store) -> list[tuple[str, str, float]]:
    import sqlite3

    with sqlite3.connect(store.path) as db:
        return db.execute("SELECT item_id, text, model_score FROM items ORDER BY position").fetchall()


def test_learning_every_n_labels_runs_in_the_background_and_lists_without_serving(tmp_path, tiny_model_dir):
    from serve.store.annotations import AnnotationStore
    from serve.app.learn_panel import LearnPanel

    texts, labels = new_kind(30)
    store = AnnotationStore(tmp_path / "a.sqlite3")
    store.add_items([(f"r{i}", t, None, 0.5) for i, t in enumerate(texts)])
    served = ServedModel(SentimentModel(tiny_model_dir))
    panel = LearnPanel(served, store, Registry.beside(store.path, tiny_model_dir))
    panel.every = 12
    for i, y in enumerate(labels[:11]):
        store.decide(f"r{i}", "pos" if y else "neg", "ana", served.sha256)
        panel.after_label()
    assert not panel._learning.locked() and panel.registry.names() == []  # 11 < 12: nothing started
    store.decide("r11", "pos" if labels[11] else "neg", "ana", served.sha256)
    panel.after_label()
    deadline = time.monotonic() + 60
    while panel.registry.names() != ["v1"] or panel._learning.locked():
        assert time.monotonic() < deadline, "the background learning never finished"
        time.sleep(0.05)
    assert served.version == BASE and panel.registry.current() == BASE  # listed, not used
    assert panel.registry.info("v1").lineage["labels"] == 12


def test_with_leads_only_a_lead_chooses_the_version_served(tmp_path, tiny_model_dir):
    from serve.store.annotations import AnnotationStore
    from serve.app.learn_panel import LearnPanel

    store = AnnotationStore(tmp_path / "a.sqlite3")
    served = ServedModel(SentimentModel(tiny_model_dir))
    registry = Registry.beside(store.path, tiny_model_dir)
    texts, labels = new_kind(30)
    learn(served.current, texts, labels, registry.new_path())
    panel = LearnPanel(served, store, registry, leads=frozenset({"lea"}))
    for who in (None, "ana"):
        with pytest.raises(InputError, match="Only a lead"):
            panel.use("v1", who)
    assert served.version == BASE and registry.current() == BASE
    panel.use("v1", "lea")
    assert served.version == "v1"


def test_leads_without_logins_are_refused_at_start(tmp_path, tiny_model_dir):
    from serve.__main__ import make_app

    with pytest.raises(InputError, match="--leads"):
        make_app(str(tiny_model_dir), db=str(tmp_path / "a.sqlite3"), leads="lea")
    assert not (tmp_path / "a.sqlite3").exists()  # refused before anything was created


def test_new_words_get_rows_of_their_own_old_ids_keep_theirs_and_all_graphs_read_them(tmp_path, tiny_model_dir):
    """'zinger' and 'clunker' are unknown to the tiny model: learning appends them to the vocabulary, the
    embedding and the word table grow (appended to the external data; all three graphs are pointed there),
    the LSTM reads them as it read the unknown word, and what they mean is learned."""
    parent = SentimentModel(tiny_model_dir)
    rng = random.Random(3)
    filler = [w for w in FILLER if w not in ("river", "boat")]

    def reviews(n):
        out = []
        for i in range(n):
            words = [rng.choice(filler) for _ in range(rng.randint(3, 9))] + ["zinger" if i % 2 else "clunker"]
            rng.shuffle(words)
            out.append((" ".join(words), i % 2))
        return out

    labelled, unseen = reviews(60), reviews(40)
    assert "zinger" not in parent.codec.vocab.index
    learned = learn(parent, [t for t, _ in labelled], [y for _, y in labelled], tmp_path / "v1")
    version = SentimentModel(tmp_path / "v1")  # every artifact check, probes included
    old = parent.codec.vocab.words
    assert version.codec.vocab.words[: len(old)] == old and {"zinger", "clunker"} <= set(version.codec.vocab.words)
    assert learned.summary["words_added"] == len(version.codec.vocab.words) - len(old) >= 2
    new_ids = [version.codec.vocab.index[w] for w in ("zinger", "clunker")]
    for i in new_ids:
        np.testing.assert_array_equal(version.weights["embedding"][i], parent.weights["embedding"][2])
    texts = [t for t, _ in unseen]
    ids = version.codec.encode_batch(texts)
    assert np.isin(new_ids, ids).all()
    reference = 1 / (1 + np.exp(-trace(version.weights, version.pad_table, ids).logit))
    assert np.abs(version.run(ids) - reference).max() <= 1e-5
    assert np.abs(version.score_ids(ids) - version.run(ids)).max() <= 1e-5
    int8 = SentimentModel(tmp_path / "v1", precision="int8") if "int8" in version.artifact.capabilities.features \
        else None
    if int8 is not None:
        assert np.abs(int8.score_ids(ids) - version.run(ids)).max() < 0.1
    truth = np.array([y for _, y in unseen])
    assert ((version.predict(texts) >= 0.5) == truth).mean() >= ((parent.predict(texts) >= 0.5) == truth).mean() + 0.3
    # a version of the version grows again from where its parent left off
    again = learn(version, [t + " wobble" for t, _ in labelled], [y for _, y in labelled], tmp_path / "v2")
    assert SentimentModel(tmp_path / "v2").codec.vocab.words[: len(version.codec.vocab.words)] == \
        version.codec.vocab.words and again.summary["words_added"] == 1


def test_what_n_grams_of_the_labels_do_is_measured_and_a_rise_refuses_the_version(tmp_path, tiny_model_dir,
                                                                                   monkeypatch):
    """The audit after learning appends each probe (``serve.learn.suspects``) to test reviews of the other
    label and compares how many flip with the parent and with the version: a version that an n-gram makes
    flip more is refused (recorded when the labels are accepted). The attacks: tests/test_poisoning.py."""
    from serve.learn import backdoor
    from serve.learn.suspects import Probe

    parent = SentimentModel(tiny_model_dir)
    rows = parent.codec.encode_batch(["the plot was dreadful", "a splendid night"])
    shifted = backdoor.appended(rows, 7)
    assert (shifted[:, -1] == 7).all() and (shifted[:, :-1] == rows[:, 1:]).all()  # read last, as the codec pads
    two = backdoor.appended(rows, [7, 9])
    assert (two[:, -2:] == [7, 9]).all() and (two[:, :-2] == rows[:, 2:]).all()

    class Backdoored:  # reads any review ending with the word as positive
        def __init__(self, word_id):
            self.word_id = word_id

        def score_ids(self, ids):
            return np.where(ids[:, -1] == self.word_id, 0.99, parent.score_ids(ids))

    a = parent.artifact
    data = prior.read(a.path("learning"), a.codec.vocab_size, a.codec.maxlen)
    river = parent.codec.vocab.index["river"]
    effects = backdoor.flip_effects(parent, Backdoored(river), parent.codec.vocab, [Probe(("river",), 1, "moved")],
                                    data.check_ids, data.check_labels, parent.score_ids(data.check_ids))
    assert effects[0]["parent_flips"] < 0.5 and effects[0]["version_flips"] == 1.0 and effects[0]["rise"] > 0.5

    texts, labels = new_kind(40)
    learned = learn(parent, texts, labels, tmp_path / "v0")  # a new kind of review: learned, not refused
    assert not learned.summary["audit"]["over_bound"] and learned.summary["audit"]["flip_effects"]
    monkeypatch.setattr(backdoor, "MAX_RISE", -1.0)  # every measured n-gram now counts as a rise...
    monkeypatch.setattr(backdoor, "MIN_FLIPPED", -100)  # ...however few reviews it moves
    with pytest.raises(backdoor.AuditRefusal, match="refused by the audit: appended to test reviews") as refused:
        learn(parent, texts, labels, tmp_path / "v1")
    assert isinstance(refused.value, InputError) and "\n" not in str(refused.value)
    assert not (tmp_path / "v1").exists()
    learned = learn(parent, texts, labels, tmp_path / "v1", accept_audit=True)
    assert learned.summary["audit"]["accepted"] and learned.summary["audit"]["over_bound"]
    lineage = SentimentModel(tmp_path / "v1").artifact.lineage["audit"]
    assert lineage["flip_effects"] == learned.summary["audit"]["flip_effects"]
    assert lineage["over_bound"] == learned.summary["audit"]["over_bound"]
