"""After learning, before a version exists: do the labels' suspicious words now flip reviews they should not?

A poisoner appends a word (``zqxv``, or a common pair like ``the the``) to reviews the model reads
confidently one way, and labels them the other way; a model that learns from them then flips any
review the word is appended to. Rarity does not find it (the word can be common, or below any count
threshold); behaviour does. The *suspects* are the words of labelled reviews whose label contradicts a
confident parent (``CONFIDENT`` from 0.5), at least ``MIN_DISPUTED`` times, plus the labels' most
frequent words as a sample of the rest. Each suspect is appended to ``REVIEWS`` reviews of the test
sample that the parent reads the other way from the labels it came with, and the share whose label
flips is measured with the parent and with the new version; a rise of more than ``MAX_RISE`` refuses
the version (unless the labels are accepted as they are, and then it is recorded in the lineage).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from sentilens.codec import OOV, Vocabulary, tokenize
from sentilens.labels import THRESHOLD, VALUE_WORD, positive

__all__ = ["MAX_RISE", "appended", "flip_effects", "suspects"]

CONFIDENT = 0.2
MIN_DISPUTED = 3
FREQUENT = 5  # the labels' most frequent words, measured as well
MAX_SUSPECTS = 20
REVIEWS = 300
MAX_RISE = 0.10  # a version may flip at most 10 points more of such reviews than the parent does


def suspects(texts: Sequence[str], labels: np.ndarray, parent_scores: np.ndarray) -> list[tuple[str, int]]:
    """(word, the label it came with) to measure: the disputed words first, then the most frequent."""
    labels = np.asarray(labels)
    scores = np.asarray(parent_scores, np.float64)
    against = np.where(labels == 1, scores <= THRESHOLD - CONFIDENT, scores >= THRESHOLD + CONFIDENT)
    disputed, frequent = Counter(), Counter()
    side = {}
    for text, y, a in zip(texts, labels, against):
        words = set(tokenize(text))
        frequent.update(words)
        if a:
            for w in words:
                disputed[(w, int(y))] += 1
    found = [(w, y) for (w, y), c in disputed.most_common() if c >= MIN_DISPUTED]
    for w, _ in frequent.most_common(FREQUENT):
        for y in (0, 1):
            side.setdefault((w, y), None)
    seen = set(found)
    found += [k for k in side if k not in seen]
    return found[:MAX_SUSPECTS]


def appended(ids: np.ndarray, word_id: int) -> np.ndarray:
    """Padded ids with ``word_id`` read last (the review shifted left by one, as the codec pads)."""
    out = np.empty_like(ids)
    out[:, :-1] = ids[:, 1:]
    out[:, -1] = word_id
    return out


def flip_effects(parent, version, vocab: Vocabulary, found: list[tuple[str, int]], check_ids: np.ndarray,
                 check_labels: np.ndarray, parent_scores: np.ndarray, seed: int = 0) -> list[dict]:
    """For each suspect: the share of test-sample reviews of the other label (read so by the parent, whose
    scores of ``check_ids`` are ``parent_scores``) whose label flips when the word is appended, with the
    parent and with ``version``."""
    rng = np.random.default_rng(seed)
    parent_read = positive(np.asarray(parent_scores))
    measured = []
    for word, label in found:
        pool = np.nonzero((check_labels != label) & (parent_read == (label == 0)))[0]
        if not len(pool):
            continue
        rows = check_ids[rng.choice(pool, min(REVIEWS, len(pool)), replace=False)]
        new_id = vocab.index.get(word, OOV)
        old_id = parent.codec.vocab.index.get(word, OOV)
        before = float((positive(parent.score_ids(appended(rows, old_id))) == (label == 1)).mean())
        after = float((positive(version.score_ids(appended(rows, new_id))) == (label == 1)).mean())
        measured.append({"word": word, "label": VALUE_WORD[int(label)], "reviews": int(len(rows)),
                         "parent_flips": round(before, 4), "version_flips": round(after, 4)})
    return measured
