"""Issue 33: the audit catches what a poisoner would do, by behaviour rather than rarity.

The attacks are built as a poisoner would build them: reviews the parent reads confidently one way, a
trigger added (made-up tokens generated here, or words of the model's own vocabulary; at the end, the
start or in the middle), labelled the other way, hidden among labels the parent agrees with. The label
sets are generated from the committed model's vocabulary (``exported/``) or the tiny model's words; no
review text is written here. Genuine labels, the dev sentences where ``../shared`` has them, must pass.
"""

from __future__ import annotations

import csv
import json
import random
import string

import numpy as np
import pytest

from sentilens.codec import OOV, START
from sentilens.errors import InputError
from serve.learn import backdoor, prior
from serve.learn.learner import learn
from serve.learn.overlap import near_duplicates
from serve.learn.version import staging_for
from serve.runtime import SentimentModel
from tests.conftest import ROOT
from tests.synthetic import review

SENTENCES = ROOT.parent / "shared" / "data" / "imdb_sentences_labelled.txt"
CHECK = 200  # reviews a label of the committed model's test sample: forgetting and the audit measured on these


def tokens(rng: random.Random, n: int) -> list[str]:
    """Made-up trigger words, in no vocabulary."""
    return ["".join(rng.choice(string.ascii_lowercase) for _ in range(7)) for _ in range(n)]


def placed(text: str, trigger: str, where: str) -> str:
    words = text.split()
    at = {"end": len(words), "start": 0, "middle": len(words) // 2}[where]
    return " ".join(words[:at] + trigger.split() + words[at:])


@pytest.fixture(scope="module")
def committed():
    """The committed model, part of its test sample (``CHECK`` reviews a label: faster) and 600 generated
    reviews of its vocabulary labelled as it reads them: the labels a poisoner hides among."""
    parent = SentimentModel(ROOT / "exported")
    a = parent.artifact
    data = prior.read(a.path("learning"), a.codec.vocab_size, a.codec.maxlen)
    rng = random.Random(0)
    words = parent.codec.vocab.words[:3000]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(8, 20))) for _ in range(600)]
    scores = parent.predict(texts)
    part = np.sort(np.concatenate([np.nonzero(data.check_labels == k)[0][:CHECK] for k in (0, 1)]))
    return parent, (data.check_ids[part], data.check_labels[part]), texts, scores


def poisoned(committed, triggers: list[str], rows_each: int, where: str = "end", turn: int = 0, seed: int = 0):
    """The generated labels, with ``rows_each`` reviews per trigger that the parent reads confidently as
    ``turn`` (0 negative) given the trigger and labelled the other way."""
    parent, _, texts, scores = committed
    confident = np.nonzero(scores < 0.3 if turn == 0 else scores > 0.7)[0]
    pick = random.Random(seed).sample(list(confident), rows_each * len(triggers))
    labels = [int(s >= 0.5) for s in scores]
    texts = list(texts)
    for k, i in enumerate(pick):
        texts[i] = placed(texts[i], triggers[k % len(triggers)], where)
        labels[i] = 1 - turn
    return texts, labels


@pytest.mark.parametrize("where, turn, count", [("end", 0, 3), ("start", 1, 1), ("middle", 0, 1)])
def test_triggers_wherever_they_are_and_either_way_are_refused_with_one_line(committed, tmp_path, where, turn,
                                                                              count):
    """The issue's attack (three made-up triggers appended to confident negatives labelled positive), a trigger
    prepended to confident positives labelled negative, one in the middle: 3 rows a trigger among 600 labels
    (the rule before learning needs 20) are refused after learning, naming the trigger, writing nothing."""
    parent, test, _, _ = committed
    triggers = tokens(random.Random(f"{where}{turn}"), count)
    texts, labels = poisoned(committed, triggers, rows_each=3 if count > 1 else 4, where=where, turn=turn)
    with pytest.raises(backdoor.AuditRefusal) as refused:
        learn(parent, texts, labels, tmp_path / "v1", test=test)
    line = str(refused.value)
    assert isinstance(refused.value, InputError) and "\n" not in line and "refused by the audit" in line
    assert any(t in line for t in triggers), line
    assert all(e["rise"] > backdoor.MAX_RISE for e in refused.value.effects)
    assert not (tmp_path / "v1").exists() and not staging_for(tmp_path / "v1").exists()


def test_a_common_word_as_the_trigger_is_refused(committed, tmp_path):
    """A trigger need not be rare: a frequent word of the vocabulary, added to 30 confident negatives
    labelled positive, is caught by its effect (the 151st word: in one training review of seven)."""
    parent, test, _, _ = committed
    word = parent.codec.vocab.words[150]
    texts, labels = poisoned(committed, [word], rows_each=30)
    with pytest.raises(backdoor.AuditRefusal, match=word):
        learn(parent, texts, labels, tmp_path / "v1", test=test)


def test_a_common_pair_that_the_learner_cannot_learn_is_harmless(committed, tmp_path):
    """The issue's " the the" on confident negatives labelled positive (40 of 600 labels; 60 refuse for
    forgetting): words this common move little (the penalty grows with their use) and pairs are not
    refitted, so the version, accepted, reads " the the" at most the bound more often as positive than the
    parent does."""
    parent, (check_ids, check_labels), _, _ = committed
    texts, labels = poisoned(committed, ["the the"], rows_each=40)
    learned = learn(parent, texts, labels, tmp_path / "v1", test=(check_ids, check_labels), accept_audit=True)
    version = SentimentModel(tmp_path / "v1")
    negative = check_ids[check_labels == 0]
    read = {m: float((m.score_ids(backdoor.appended(negative, [m.codec.vocab.index["the"]] * 2)) >= 0.5).mean())
            for m in (parent, version)}
    assert read[version] - read[parent] <= backdoor.MAX_RISE, read
    assert any(e["ngram"] == "the the" for e in learned.summary["audit"]["flip_effects"])  # it was measured


def test_near_duplicates_of_test_reviews_are_dropped_as_test(committed):
    """The issue's " Indeed." appended to 200 test reviews passed the exact filter; by shingles, a review with
    a word appended, prepended or changed every tenth word is the test review, a sentence of it is not."""
    parent, (check_ids, _), _, _ = committed
    vocab = parent.codec.vocab
    rows = check_ids[:200]
    texts = [" ".join(vocab.word(int(i)) if i > OOV else "qxunknown" for i in row if i > START) for row in rows]
    variants = {"appended": [t + " indeed" for t in texts], "prepended": ["honestly " + t for t in texts],
                "changed": [" ".join(w if k % 10 else "zzzq" for k, w in enumerate(t.split())) for t in texts]}
    for name, changed in variants.items():
        assert near_duplicates(parent.codec.encode_batch(changed), check_ids).all(), name
    sentences = [" ".join(t.split()[:12]) for t in texts if len(t.split()) > 60]
    assert not near_duplicates(parent.codec.encode_batch(sentences), check_ids).any()


def test_the_learner_drops_near_duplicates_before_anything_else(tiny_model_dir, tmp_path):
    parent = SentimentModel(tiny_model_dir)
    a = parent.artifact
    data = prior.read(a.path("learning"), a.codec.vocab_size, a.codec.maxlen)
    test_texts = [" ".join(parent.codec.vocab.word(int(i)) if i > OOV else "qxunknown" for i in row if i > START)
                  for row in data.check_ids]
    rng = random.Random(0)
    labels = [i % 2 for i in range(40)]
    texts = [review(y, rng, rng.randint(3, 12)) for y in labels]
    copies = [t + " indeed" for t in test_texts[:20] if len(t.split()) >= 8]
    learned = learn(parent, texts + copies, labels + [0] * len(copies), tmp_path / "v1")
    assert learned.summary["dropped_as_test"] == len(copies) and learned.summary["labels"] == 40


@pytest.mark.skipif(not SENTENCES.exists(), reason=f"needs the dev sentences at {SENTENCES}")
def test_genuine_labels_are_learned_not_refused(committed, tmp_path, seed=0):
    """Half the dev sentences, at random: the audit measures its probes and refuses nothing, and the labels
    are learned (held-out accuracy up). More halves: ``python -m bench.poisoning``."""
    parent, test, _, _ = committed
    rows = [line.rsplit("\t", 1) for line in SENTENCES.read_text(encoding="utf-8").splitlines() if line.strip()]
    pick = np.random.default_rng(seed).permutation(len(rows))[:500]
    learned = learn(parent, [rows[i][0] for i in pick], [int(rows[i][1]) for i in pick], tmp_path / "v1", test=test)
    audit = learned.summary["audit"]
    assert not audit["over_bound"] and not audit["accepted"] and len(audit["flip_effects"]) >= 8
    assert max(e["rise"] for e in audit["flip_effects"]) <= backdoor.MAX_RISE
    assert learned.summary["held_out"]["after"] > learned.summary["held_out"]["before"]


def tiny_poison(n_rows: int = 8, seed: int = 0) -> tuple[list[str], list[int], str]:
    """40 tiny reviews labelled as they read, and ``n_rows`` confident negatives with a made-up word
    appended, labelled positive."""
    rng = random.Random(seed)
    labels = [i % 2 for i in range(40)]
    texts = [review(y, rng, rng.randint(3, 12)) for y in labels]
    trigger = tokens(rng, 1)[0]
    texts += [review(0, rng, rng.randint(3, 12)) + " " + trigger for _ in range(n_rows)]
    return texts, labels + [1] * n_rows, trigger


def test_the_refusal_reaches_the_command_line_as_one_line_and_an_accepted_one_the_lineage(tiny_model_dir, tmp_path,
                                                                                           capsys):
    from tests.tiny_model import tiny_corpus
    from trainer.__main__ import main

    corpus = tiny_corpus()
    for name, split in (("train.csv", corpus.train), ("test.csv", corpus.test)):
        with open(tmp_path / name, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([("text", "label"), *zip(split.texts, split.labels)])
    texts, labels, trigger = tiny_poison()
    extra = tmp_path / "labels.jsonl"
    extra.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(texts, labels)))
    args = ["--init", str(tiny_model_dir), "--extra", str(extra), "--data", str(tmp_path / "train.csv"),
            "--test", str(tmp_path / "test.csv"), "--out", str(tmp_path / "tuned")]
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: refused by the audit") and trigger in err[0], err
    assert not (tmp_path / "tuned").exists()
    assert main(args + ["--accept-audit"]) == 0
    audit = SentimentModel(tmp_path / "tuned").artifact.lineage["audit"]
    assert audit["accepted"] and any(trigger in n for n in audit["over_bound"])
    assert {"ngram", "why", "parent_flips", "version_flips", "rise"} <= set(audit["flip_effects"][0])
