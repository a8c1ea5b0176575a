"""Which n-grams of the labels to try on test reviews after learning: chosen by what the labels and the
refit do, not by how rare the n-gram is.

A poisoner adds a trigger (a made-up word, a common word, a pair, at the end, the start or in the middle)
to reviews the parent reads confidently one way and labels them the other way; learning then ties the
trigger to that label. Whatever the trigger, it is over-represented among the labels that *contradict*
a confident parent, and the refit moves its words toward the label. So the probes are, for each label:

- **contradicts**: among the labels of that label, the words and adjacent pairs over-represented in the
  ones a confident parent (``CONFIDENT`` from 0.5) reads the other way: in at least ``MIN_AGAINST`` of
  them, and ``MIN_Z`` standard deviations above their count had those been drawn at random from the
  labels of that label (binomial z: a made-up word on 3 confident negatives among 500 positive labels has
  about 7). The ``PER_LABEL`` highest, common words included. Counted within one label, a word that marks
  the label ("river" in every positive label of a new kind of review) is as common in the contradicted
  labels as in the others, and is no suspect;
- **together**: the flagged single words that the refit moved toward the label and that the version reads
  as evidence for it, the ``TOGETHER_WORDS`` moved most, cycled to ``TOGETHER`` tokens: three weak
  triggers, or one trigger repeated, are one strong one (a word the labels only softened, "waste" in a
  positive label, is left out: it would hide the others);
- **moved**: the ``MOVED`` words the refit moved most toward the label (a trigger taught by labels that
  agree with the parent is not over-represented anywhere, but it is moved);
- **frequent**: a seeded sample of ``FREQUENT`` of the labels' ``FREQUENT_POOL`` most frequent words and
  pairs, each toward the label the refit pushed it: a control, and a catch for a trigger made of them.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sentilens.codec import FIRST_WORD_ID, OOV, Vocabulary, tokenize
from sentilens.settings import THRESHOLD

__all__ = ["CONFIDENT", "Probe", "after_learning", "contradicting", "ngrams", "over_represented"]

CONFIDENT = 0.2
MIN_AGAINST = 3
MIN_Z = 3.0  # hundreds of n-grams are tried: at 2, chance words of a small vocabulary were flagged
PER_LABEL = 6
TOGETHER_WORDS = 3
TOGETHER = 6
MOVED = 3
FREQUENT = 4
FREQUENT_POOL = 40
UNKNOWN = "<unknown word>"  # the OOV id as a probe: no tokenizer makes it, so every vocabulary reads it as OOV


@dataclass(frozen=True)
class Probe:
    """Words appended, in order, to test reviews of the other label than ``label`` (1 positive)."""

    words: tuple[str, ...]
    label: int
    why: str  # contradicts, together, moved or frequent
    annotations: int = 0  # labels (of ``label``, for contradicts) with the n-gram
    against: int = 0  # of them, labelled ``label`` where a confident parent reads the other
    z: float = 0.0

    @property
    def text(self) -> str:
        return " ".join(self.words)


def ngrams(text: str) -> set[tuple[str, ...]]:
    """The distinct words and adjacent pairs of a text, as the codec tokenizes it."""
    words = tokenize(text)
    return {(w,) for w in words} | set(zip(words, words[1:]))


def contradicting(labels: np.ndarray, parent_scores: np.ndarray, label: int) -> np.ndarray:
    """bool per label: labelled ``label`` while the parent confidently reads the other."""
    labels, scores = np.asarray(labels), np.asarray(parent_scores, np.float64)
    other = scores <= THRESHOLD - CONFIDENT if label == 1 else scores >= THRESHOLD + CONFIDENT
    return (labels == label) & other


def over_represented(texts: Sequence[str], labels: np.ndarray, parent_scores: np.ndarray) -> list[Probe]:
    """The *contradicts* probes of both labels (see the module docstring), highest z first."""
    grams = [ngrams(t) for t in texts]
    labels, found = np.asarray(labels), []
    for label in (1, 0):
        mine = labels == label
        against = contradicting(labels, parent_scores, label)
        n, m = int(mine.sum()), int(against.sum())
        if not m or m == n:
            continue
        q = m / n
        counts = Counter(g for gs, k in zip(grams, mine) if k for g in gs)
        hits = Counter(g for gs, a in zip(grams, against) if a for g in gs)
        scored = []
        for g, k in hits.items():
            if k >= MIN_AGAINST:
                z = (k - counts[g] * q) / math.sqrt(counts[g] * q * (1 - q))
                if z >= MIN_Z:
                    scored.append((-z, g, k))
        for negative_z, g, k in sorted(scored)[:PER_LABEL]:
            found.append(Probe(g, label, "contradicts", counts[g], k, round(-negative_z, 1)))
    return found


def after_learning(flagged: list[Probe], texts: Sequence[str], before: np.ndarray, after: np.ndarray,
                   vocab: Vocabulary, seed: int = 0) -> list[Probe]:
    """Every probe to measure: ``flagged`` (from ``over_represented``), then *together*, *moved* and
    *frequent*; ``before`` and ``after`` are each word's weight (by id of ``vocab``) in the parent (a new
    word: the unknown word's) and in the version."""
    after = np.asarray(after, np.float64).reshape(-1)[:vocab.size]
    change = after - np.asarray(before, np.float64).reshape(-1)[:vocab.size]

    def moved(word: str, of: np.ndarray = change) -> float:
        i = vocab.index.get(word)
        return float(of[i]) if i is not None else 0.0

    probes = list(flagged)
    for label in (1, 0):
        toward = 1.0 if label == 1 else -1.0
        pushed = sorted({p.words[0] for p in flagged if p.label == label and len(p.words) == 1
                         and toward * moved(p.words[0]) > 0 and toward * moved(p.words[0], after) > 0},
                        key=lambda w: (-toward * moved(w), w))[:TOGETHER_WORDS]
        if pushed:
            cycle = tuple((pushed * TOGETHER)[:TOGETHER])
            probes.append(Probe(cycle, label, "together"))
        eligible = np.arange(len(change)) >= OOV
        eligible[OOV + 1:FIRST_WORD_ID] = False
        ranked = np.argsort(-toward * change * eligible, kind="stable")[:MOVED]
        probes += [Probe((UNKNOWN if i == OOV else vocab.words[i - FIRST_WORD_ID],), label, "moved")
                   for i in ranked.tolist() if toward * change[i] > 0]
    counts = Counter(g for t in texts for g in ngrams(t))
    common = [g for g, _ in counts.most_common(FREQUENT_POOL)]
    for g in random.Random(seed).sample(common, min(FREQUENT, len(common))):
        label = int(sum(moved(w) for w in g) >= 0)
        probes.append(Probe(g, label, "frequent", counts[g]))
    unique, seen = [], set()
    for p in probes:
        if (p.words, p.label) not in seen:
            seen.add((p.words, p.label))
            unique.append(p)
    return unique
