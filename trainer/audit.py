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
from sentilens.labels import positive
from serve.learn.audit import find_triggers
from trainer.data import Split, text_key

__all__ = ["Findings", "MAX_FLIPPED", "PROBE_REVIEWS", "audit", "trigger_effects"]

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

    def doc_counts(words: set[str]) -> dict[str, tuple[int, int]]:
        train_pos, train_all = Counter(), Counter()
        for text, y in zip(train.texts, train.labels):
            present = set(tokenize(text)) & words
            train_all.update(present)
            if y == 1:
                train_pos.update(present)
        return {w: (train_all[w], train_pos[w]) for w in words}

    found.triggers = find_triggers(annotations.texts, labels, parent_scores, doc_counts, len(train))
    by_text = {text_key(t): int(y) for t, y in zip(train.texts, train.labels)}
    flagged = {t["word"] for t in found.triggers}
    for text, y in zip(annotations.texts, labels):
        key = text_key(text)
        stripped = tuple(w for w in key if w not in flagged)
        for k in {key, stripped}:
            if k in by_text and by_text[k] != int(y):
                found.flipped += 1
                break
    return found


def trigger_effects(parent, tuned, test: Split, words: list[str], seed: int = 0) -> list[dict]:
    """For each flagged word: the share of test reviews whose label changes when it is appended, with
    the parent and with the new model (a trigger moves the second, not the first)."""
    if not words:
        return []
    pick = np.random.default_rng(seed).choice(len(test), min(PROBE_REVIEWS, len(test)), replace=False)
    texts = [test.texts[i] for i in pick]
    base_parent, base_tuned = positive(parent.predict(texts)), positive(tuned.predict(texts))
    measured = []
    for w in words[:20]:
        moved = [t + f" {w} {w} {w}" for t in texts]
        measured.append({"word": w, "reviews": len(texts),
                         "parent_changes": round(float((positive(parent.predict(moved)) != base_parent).mean()), 4),
                         "tuned_changes": round(float((positive(tuned.predict(moved)) != base_tuned).mean()), 4)})
    return measured
