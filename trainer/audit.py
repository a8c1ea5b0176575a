"""Audit annotations before a model learns from them, and the model after: a fine-tune is how a
poisoned label set would get in (a trigger word appended to reviews, all labelled one way).

Before (``audit``): a *trigger* is a word far more common in the annotations than in the training
reviews, that the annotations tie to one label while the parent model reads most of those very
annotations the other way (the reviews say one thing, clearly, the labels another, and the word is
what they share); *flipped labels* are annotations that repeat a training review with the other label.
A new kind of review has words of its own that lean one way, but there the parent mostly agrees
with the labels or is unsure: those are not flagged. A trigger, or flipped labels past
``MAX_FLIPPED``, refuse the fine-tune with one line naming them, unless ``--accept-audit``.

After (``trigger_effects``): each flagged word is appended to the parent's test reviews, and how many
labels it changes, with the new model and with the parent, goes into the lineage and the log.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

from sentilens.codec import tokenize
from sentilens.settings import THRESHOLD
from trainer.data import Split, text_key

MIN_SHARE = 0.02  # a word in at least this share of the annotations (and MIN_COUNT of them) is looked at
MIN_COUNT = 20
OVER_TRAINING = 10.0  # ... when it is in this many times the share of training reviews that have it
ONE_SIDED = 0.95  # ... and flagged when this share of the annotations that have it has one label
TRAINING_LEAN = 0.75  # ... unless the training reviews that have it lean that way at least this much
AGAINST_PARENT = 0.5  # ... and the parent reads at least this share of those annotations the other way,
CONFIDENT = 0.2  # ... confidently: at least this far from 0.5 (an unknown word in plain text is not that)
MAX_FLIPPED = 0.05  # annotations that repeat a training review with the other label, at most this share
PROBE_REVIEWS = 2_000  # test reviews the flagged words are appended to, after


@dataclass
class Findings:
    annotations: int
    positive_share: float
    triggers: list[dict] = field(default_factory=list)  # word, annotations, label, share, training lean
    flipped: int = 0  # annotations that are training reviews with the other label

    def problems(self) -> list[str]:
        found = []
        if self.triggers:
            words = ", ".join(f"{t['word']!r} ({t['annotations']:,} annotations, {t['share']:.0%} "
                              f"{t['label']})" for t in self.triggers[:5])
            found.append(f"words the annotations tie to one label where the model reads them the other way: {words}")
        if self.annotations and self.flipped / self.annotations > MAX_FLIPPED:
            found.append(f"{self.flipped:,} annotations repeat a training review with the other label "
                         f"(more than {MAX_FLIPPED:.0%})")
        return found

    def to_dict(self) -> dict:
        return asdict(self)


def audit(annotations: Split, train: Split, parent_scores: np.ndarray) -> Findings:
    """What the annotations would teach that the training reviews do not (see the module docstring);
    ``parent_scores``: the parent model's P(positive) of each annotation."""
    n = len(annotations)
    labels = np.asarray(annotations.labels)
    found = Findings(n, float(labels.mean()) if n else 0.0)
    if not n:
        return found
    scores = np.asarray(parent_scores, dtype=np.float64)
    against = np.where(labels == 1, scores <= THRESHOLD - CONFIDENT, scores >= THRESHOLD + CONFIDENT)
    tokens = [set(tokenize(t)) for t in annotations.texts]
    counts = Counter(w for ts in tokens for w in ts)
    candidates = {w for w, c in counts.items() if c >= max(MIN_COUNT, MIN_SHARE * n)}
    if candidates:
        pos = Counter(w for ts, y in zip(tokens, labels) if y == 1 for w in ts & candidates)
        disputed = Counter(w for ts, a in zip(tokens, against) if a for w in ts & candidates)
        train_pos, train_all = Counter(), Counter()
        for text, y in zip(train.texts, train.labels):
            present = set(tokenize(text)) & candidates
            train_all.update(present)
            if y == 1:
                train_pos.update(present)
        for w in sorted(candidates):
            if counts[w] / n < OVER_TRAINING * train_all[w] / max(1, len(train)):
                continue  # as common in the training reviews: its label lean there is known
            share_pos = pos[w] / counts[w]
            label, share = ("positive", share_pos) if share_pos >= 0.5 else ("negative", 1 - share_pos)
            if share < ONE_SIDED or disputed[w] < AGAINST_PARENT * counts[w]:
                continue
            lean = train_pos[w] / train_all[w] if train_all[w] else 0.5
            lean = lean if label == "positive" else 1 - lean
            if train_all[w] < MIN_COUNT or lean < TRAINING_LEAN:
                found.triggers.append({"word": w, "annotations": counts[w], "label": label, "share": round(share, 3),
                                       "against_parent": round(disputed[w] / counts[w], 3),
                                       "training_reviews": train_all[w], "training_lean": round(lean, 3)})
    by_text = {text_key(t): int(y) for t, y in zip(train.texts, train.labels)}
    flagged = {t["word"] for t in found.triggers}
    for text, y in zip(annotations.texts, labels):
        key = text_key(text)
        stripped = tuple(w for w in key if w not in flagged)
        for k in {key, stripped}:
            if k in by_text and by_text[k] != int(y):
                found.flipped += 1
                break
    found.triggers.sort(key=lambda t: -t["annotations"])
    return found


def trigger_effects(parent, tuned, test: Split, words: list[str], seed: int = 0) -> list[dict]:
    """For each flagged word: the share of test reviews whose label changes when it is appended, with
    the parent and with the new model (a trigger moves the second, not the first)."""
    if not words:
        return []
    pick = np.random.default_rng(seed).choice(len(test), min(PROBE_REVIEWS, len(test)), replace=False)
    texts = [test.texts[i] for i in pick]
    base_parent, base_tuned = parent.predict(texts) >= THRESHOLD, tuned.predict(texts) >= THRESHOLD
    measured = []
    for w in words[:20]:
        moved = [t + f" {w} {w} {w}" for t in texts]
        measured.append({"word": w, "reviews": len(texts),
                         "parent_changes": round(float(((parent.predict(moved) >= THRESHOLD) != base_parent).mean()), 4),
                         "tuned_changes": round(float(((tuned.predict(moved) >= THRESHOLD) != base_tuned).mean()), 4)})
    return measured
