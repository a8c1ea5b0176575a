"""Learn a new version from labels: the whole flow, in the serving install.

    labels -> ids (the codec) -> audit -> the LSTM's gates (numpy) -> the refit, cross-validated over
    the labels for the before/after -> the refit on all of them -> a checked version (or a refusal)

The app's "Learn from these labels", its ``/learn`` API and ``python -m trainer --init`` all call
``learn``. What it refuses, it refuses with one line and writes nothing: too few labels or one label
only, a trigger found by the audit (unless accepted), a version that forgets more than
``MAX_FORGETTING`` of the parent's accuracy on the test sample (or the test split, when given), a version
that n-grams of the labels, appended to test reviews, make flip more of them than the parent
(``serve.learn.backdoor``, unless accepted). Labels that are near-duplicates of a test review
(``serve.learn.overlap``) are dropped first: the test reviews measure the version.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sentilens.artifact import LEARN, Artifact
from sentilens.codec import FIRST_WORD_ID, OOV, Codec, Vocabulary, tokenize
from sentilens.errors import ExportError, InputError
from sentilens.metrics import classification_report
from sentilens.labels import positive_logit
from serve.learn import backdoor
from serve.learn import fit as refit
from serve.learn import prior, suspects
from serve.learn.audit import find_triggers
from serve.learn.overlap import near_duplicates
from serve.learn.states import trace
from serve.learn.version import write_version
from serve.runtime import SentimentModel

__all__ = ["MAX_FORGETTING", "MIN_LABELS", "Learned", "learn", "labels_digest", "grown", "new_words_of"]

MIN_LABELS = 10
MAX_NEW_WORDS = 5_000  # words a learning may add to the vocabulary (most frequent first)
MAX_FORGETTING = 0.005  # accuracy on the parent's test sample may fall at most half a point
REFERENCE_CHECK = 200  # test-sample reviews held to the numpy reference beside the labelled ones
# The penalty is scaled up by these in turn, the least that passes, until the refit forgets at most
# MAX_FORGETTING on the test sample (scored by the numpy reference with the new tables); the last is kept
# either way, and the version is then refused by the same bound if it still forgets more.
SHRINK = (1.0, 1.5, 3.0, 10.0, 30.0)

Progress = Callable[[float, str], None]


@dataclass
class Learned:
    """A written version and what it bought."""

    artifact: Artifact
    summary: dict  # held_out, imdb, audit, labels, seconds (also in the version's lineage)


def labels_digest(texts: Sequence[str], labels: Sequence[int]) -> str:
    """sha256 of the labelled set, independent of its order: which labels a version learned from."""
    rows = sorted(hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() + str(int(y))
                  for t, y in zip(texts, labels))
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def learn(parent: SentimentModel, texts: Sequence[str], labels: Sequence[int], out: str | Path, *,
          test: tuple[np.ndarray, np.ndarray] | None = None, accept_audit: bool = False,
          progress: Progress | None = None, lineage: dict | None = None, seed: int = 0) -> Learned:
    """A new version of ``parent`` in ``out`` from ``texts`` labelled ``labels`` (1 positive, 0 negative).

    ``test`` (padded ids, labels) measures forgetting on the whole test split instead of the sample in
    ``learning.npz``. ``progress(fraction, what)`` is called between stages."""
    step = progress or (lambda fraction, what: None)
    clock, seconds = time.perf_counter(), {}

    def stage(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 3)
        clock = now

    art = parent.artifact
    if LEARN not in art.capabilities.features:
        raise InputError(f"{parent.directory}: this model cannot learn in the app (no learning.npz; add it with "
                         "`python -m trainer.learnable`, or fine-tune with `python -m trainer --init`)")
    data = prior.read(art.path("learning"), art.codec.vocab_size, art.codec.maxlen)
    texts, y = list(texts), np.asarray(labels, np.int64)
    step(0.05, "encoding the labelled reviews")
    parent_ids = parent.codec.encode_batch(texts)
    check_ids, check_labels = test if test is not None else (data.check_ids, data.check_labels)
    keep = _not_in(parent_ids, check_ids) & ~near_duplicates(parent_ids, check_ids)
    dropped = int(len(parent_ids) - keep.sum())
    texts, parent_ids, y = [t for t, k in zip(texts, keep) if k], parent_ids[keep], y[keep]
    # the labels' new words get ids of their own (appended: every old id keeps its word); the LSTM reads
    # them as it read them before, as the unknown word, and their evidence starts as the unknown word's
    new_words = new_words_of(texts, parent.codec.vocab)
    vocab = Vocabulary(parent.codec.vocab.words + new_words)
    weights = grown(parent.weights, vocab.size)
    ids = Codec(vocab, art.codec.maxlen).encode_batch(texts) if new_words else parent_ids
    uses = np.concatenate([data.uses, np.zeros(len(new_words), data.uses.dtype)])
    if len(y) < MIN_LABELS or len(set(y.tolist())) < 2:
        raise InputError(f"learning needs at least {MIN_LABELS} settled labels, both positive and negative "
                         f"(there are {int((y == 1).sum())} positive and {int((y == 0).sum())} negative)")
    stage("encode")

    step(0.1, "auditing the labels")
    parent_scores = parent.score_ids(parent_ids)

    def doc_counts(words: set[str]) -> dict[str, tuple[int, int]]:
        found = {}
        for w in words:
            i = parent.codec.vocab.index.get(w)
            found[w] = (int(data.word_docs[i]), int(data.word_positive_docs[i])) if i is not None else (0, 0)
        return found

    triggers = find_triggers(texts, y, parent_scores, doc_counts, data.train_reviews)
    if triggers and not accept_audit:
        words = ", ".join(f"{t['word']!r} ({t['annotations']} labels, {t['share']:.0%} {t['label']})"
                          for t in triggers[:5])
        raise InputError(f"the audit refuses these labels: words they tie to one label where the model reads "
                         f"those reviews the other way: {words}. Nothing was learned")
    flagged = suspects.over_represented(texts, y, parent_scores)
    stage("audit")

    step(0.2, "reading the LSTM's gates")
    traced = trace(weights, parent.pad_table, ids)
    d = refit.design(traced)
    lam = refit.penalty(d.features, uses)
    shift = uses[d.features] / max(1, data.train_reviews)  # mean count of each word in a training review
    stage("states")

    step(0.35, "measuring the parent on the test sample")
    parent_check = parent.score_ids(check_ids)  # also the baseline of the audit after learning
    parent_test = classification_report(check_labels, parent_check)
    stage("parent_test")

    step(0.45, "fitting on every label")
    for scale in SHRINK:  # the parent's tables are the prior: lean on them harder until nothing is forgotten
        theta = refit.fit(d, y, lam * scale, shift=shift, hold=refit.HOLD)
        tables = _tables(weights, d.features, theta)
        if _accuracy_with(parent, weights, tables, check_ids, check_labels) >= parent_test["accuracy"] - MAX_FORGETTING:
            break
    lam = lam * scale
    stage("fit")

    step(0.6, "cross-validating over the labels")
    before_logit, after_logit = refit.cross_validated(d, y, lam, seed=seed, shift=shift, hold=refit.HOLD)
    held_out = {"labels": int(len(y)), "folds": 5, "before": _accuracy(before_logit, y),
                "after": _accuracy(after_logit, y)}
    stage("cross_validation")

    summary = {
        "method": "evidence refit in numpy (serve.learn)", "parent_sha256": parent.sha256,
        "parent": parent.directory.name, "labels": int(len(y)), "positive": int((y == 1).sum()),
        "labels_sha256": labels_digest(texts, y), "dropped_as_test": dropped, "words_added": len(new_words),
        "penalty": {"base": refit.BASE, "per_use": refit.PER_USE, "start": refit.START_PENALTY,
                    "hold": refit.HOLD, "scale": scale},
        "features_changed": int(len(d.features)),
        "held_out": held_out, "audit": {"triggers": triggers, "accepted": bool(triggers)},
        "imdb": {"reviews": int(len(check_labels)), "sample": test is None, "before": parent_test["accuracy"],
                 "max_forgetting": MAX_FORGETTING},
    }

    def not_forgetting(model: SentimentModel, metrics: dict) -> None:
        summary["imdb"]["after"] = metrics["accuracy"]
        if metrics["accuracy"] < parent_test["accuracy"] - MAX_FORGETTING:
            raise ExportError(f"refused: accuracy on the parent's {len(check_labels):,} test reviews fell from "
                              f"{parent_test['accuracy']:.4f} to {metrics['accuracy']:.4f}, more than "
                              f"{MAX_FORGETTING * 100:.1f} points; nothing was written")
        step(0.9, "measuring what n-grams of the labels do to test reviews")
        started = time.perf_counter()
        probes = suspects.after_learning(flagged, texts, weights["unigram"], tables["unigram"], vocab, seed)
        effects = backdoor.flip_effects(parent, model, vocab, probes, check_ids, check_labels, parent_check, seed)
        risen = backdoor.over_bound(effects)
        seconds["audit_after"] = round(time.perf_counter() - started, 3)
        summary["audit"] |= {"flip_effects": effects, "max_rise": backdoor.MAX_RISE,
                             "over_bound": [e["ngram"] for e in risen]}
        summary["audit"]["accepted"] = summary["audit"]["accepted"] or bool(risen)
        if risen and not accept_audit:
            raise backdoor.AuditRefusal(risen)

    step(0.8, "writing and checking the new version")
    reference = np.concatenate([ids, check_ids[:REFERENCE_CHECK]]).astype(np.int32)
    record = (lineage or {}) | summary
    if new_words:
        tables |= {"embedding": weights["embedding"], "vocabulary": vocab}
    version = write_version(parent, tables, out, record, check_ids, check_labels, reference, accept=not_forgetting,
                            measured_on="the test split" if test is not None else "the test sample in learning.npz")
    stage("write")
    seconds["write"] = round(seconds["write"] - seconds.get("audit_after", 0.0), 3)  # the audit has its own
    summary["seconds"] = seconds
    version.lineage = record | {"imdb": summary["imdb"], "seconds": seconds}
    version.write(version.directory)
    step(1.0, "done")
    return Learned(version, summary)


def _right(logit: np.ndarray, y: np.ndarray) -> float:
    """The share of reviews whose logit decides their label (``sentilens.labels``' rule on its scale)."""
    return float((positive_logit(logit) == (np.asarray(y) == 1)).mean())


def _accuracy(logit: np.ndarray, y: np.ndarray) -> float:
    return round(_right(logit, y), 4)


def _tables(weights: dict[str, np.ndarray], features: np.ndarray, theta: np.ndarray) -> dict:
    """The parent's word table with the fitted changes, in the export's float16."""
    unigram = weights["unigram"].astype(np.float32).copy()
    unigram[features, 0] += theta
    return {"unigram": unigram.astype(weights["unigram"].dtype)}


def new_words_of(texts: Sequence[str], vocab: Vocabulary, limit: int = MAX_NEW_WORDS) -> list[str]:
    """The words of ``texts`` that ``vocab`` lacks, most frequent first (ties alphabetical), at most ``limit``."""
    unknown = ([w for w in tokenize(t) if w not in vocab.index] for t in texts)
    return Vocabulary.from_token_lists(unknown, limit + FIRST_WORD_ID).words


def grown(weights: dict[str, np.ndarray], vocab_size: int) -> dict[str, np.ndarray]:
    """The parent's weights for a vocabulary grown to ``vocab_size``: each new word's embedding row and word
    weight are the unknown word's, so the LSTM reads it exactly as the parent did."""
    have = len(weights["embedding"])
    if vocab_size == have:
        return weights
    extra = vocab_size - have
    return weights | {role: np.concatenate([weights[role], np.repeat(weights[role][OOV:OOV + 1], extra, axis=0)])
                      for role in ("embedding", "unigram")}


def _accuracy_with(parent: SentimentModel, weights: dict, tables: dict, ids: np.ndarray, labels: np.ndarray) -> float:
    """Accuracy of the parent with other evidence tables, without writing them (the numpy reference,
    which the written version's graphs must equal to 1e-5)."""
    return _right(trace(weights, parent.pad_table, ids, unigram=tables["unigram"]).logit, labels)


def _not_in(ids: np.ndarray, check_ids: np.ndarray) -> np.ndarray:
    """Rows of ``ids`` that are not a review of the test sample (which measures forgetting)."""
    seen = {hashlib.sha256(row.tobytes()).digest() for row in np.asarray(check_ids, np.int32)}
    return np.array([hashlib.sha256(row.tobytes()).digest() not in seen for row in np.asarray(ids, np.int32)], bool)
