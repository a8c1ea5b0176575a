"""After learning, before a version exists: do n-grams of the labels now flip test reviews they should not?

A poisoned label set teaches a trigger: appended to any review, it turns the review's label. Rarity does
not find it (the trigger can be a common word or pair, below any count threshold); behaviour does. Each
probe of ``serve.learn.suspects`` (n-grams over-represented among labels that contradict a confident
parent, the words the refit moved most, a sample of the labels' frequent n-grams) is appended to
``REVIEWS`` test reviews of the other label that the parent reads right, and the share that then read as
the probe's label is measured with the parent and with the new version. The *rise* is the version's
share, less the share the version misreads without the probe, less the parent's share.

A rise above ``MAX_RISE`` (10 points) refuses the version with one line naming the n-grams (an
``AuditRefusal``), unless the labels are accepted as they are; the rises are recorded in the lineage
either way. The bound is ten points because on the 1,000 labelled dev sentences and on 12 random subsets
of 500 and 200 of them no probe of genuine labels rose more than 7 (a sentiment word the labels taught,
"moved"), while every trigger that 3 or more poisoned labels taught rose more than 26 (docs/results.md,
"The audit after learning"; ``python -m bench.poisoning``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sentilens.codec import OOV, Vocabulary
from sentilens.errors import InputError
from sentilens.labels import VALUE_WORD, positive
from serve.learn.suspects import Probe

__all__ = ["MAX_RISE", "MIN_FLIPPED", "REVIEWS", "AuditRefusal", "appended", "describe", "flip_effects",
           "over_bound"]

MAX_RISE = 0.10  # a version may flip at most 10 points more of the reviews a probe is appended to
MIN_FLIPPED = 5  # ... and a rise counts from 5 reviews (a small model's sample has a few dozen per label)
REVIEWS = 200  # test reviews per label a probe is appended to
SHOWN = 4  # n-grams named in a refusal


class AuditRefusal(InputError):
    """A version refused because n-grams of its labels, appended to test reviews, flip too many of them."""

    def __init__(self, risen: list[dict]):
        self.effects = risen
        shown = "; ".join(describe(e) for e in risen[:SHOWN])
        more = f" (and {len(risen) - SHOWN} more)" if len(risen) > SHOWN else ""
        super().__init__(f"refused by the audit: appended to test reviews, n-grams of the labels flip more than "
                         f"{MAX_RISE * 100:.0f} points more of them than with the parent: {shown}{more}. Nothing was "
                         "written; "
                         "check the labels with them, or accept the audit (--accept-audit) to learn from them anyway")


def describe(effect: dict) -> str:
    """One probe's effect in words: ``'zqxv' (in 19 labels positive where the parent read negative; negative
    reviews read positive: parent 0%, version 38%)``."""
    other = VALUE_WORD[1 - effect["label_value"]]
    why = {"contradicts": f"in {effect['against']} labels {effect['label']} where the parent read {other}",
           "together": "its words together", "moved": "moved most by the labels",
           "frequent": "frequent in the labels"}[effect["why"]]
    return (f"{effect['ngram']!r} ({why}; {other} reviews read {effect['label']}: parent "
            f"{effect['parent_flips']:.0%}, version {effect['version_flips']:.0%})")


def appended(ids: np.ndarray, word_ids: int | Sequence[int]) -> np.ndarray:
    """Padded ids with ``word_ids`` read last, in order (the review shifted left, as the codec pads)."""
    words = [word_ids] if isinstance(word_ids, (int, np.integer)) else list(word_ids)
    k = len(words)
    if not k:
        return np.array(ids, copy=True)
    out = np.empty_like(ids)
    out[:, :-k] = ids[:, k:]
    out[:, -k:] = words
    return out


def flip_effects(parent, version, vocab: Vocabulary, probes: list[Probe], check_ids: np.ndarray,
                 check_labels: np.ndarray, parent_scores: np.ndarray, seed: int = 0) -> list[dict]:
    """For each probe: the share of ``REVIEWS`` test reviews of the other label, read right by the parent
    (whose scores of ``check_ids`` are ``parent_scores``), that read as the probe's label with it appended,
    with the parent and with ``version`` (whose words are ``vocab``). One onnxruntime call per model and label."""
    rng = np.random.default_rng(seed)
    check_labels = np.asarray(check_labels)
    parent_right = positive(np.asarray(parent_scores)) == (check_labels == 1)
    measured = []
    for label in (1, 0):
        mine = [p for p in probes if p.label == label]
        pool = np.nonzero((check_labels != label) & parent_right)[0]
        if not mine or not len(pool):
            continue
        rows = check_ids[np.sort(rng.choice(pool, min(REVIEWS, len(pool)), replace=False))]
        parent_read = _reads(parent, rows, [tuple(parent.codec.vocab.index.get(w, OOV) for w in p.words)
                                            for p in mine], label)
        version_read = _reads(version, rows, [()] + [tuple(vocab.index.get(w, OOV) for w in p.words)
                                                     for p in mine], label)
        base = version_read[0]
        for p, before, after in zip(mine, parent_read, version_read[1:]):
            measured.append({"ngram": p.text, "label": VALUE_WORD[label], "label_value": label, "why": p.why,
                             "annotations": p.annotations, "against": p.against, "z": p.z, "reviews": int(len(rows)),
                             "parent_flips": round(before, 4), "version_flips": round(after, 4),
                             "version_base": round(base, 4), "rise": round(after - base - before, 4)})
    return measured


def over_bound(effects: list[dict], bound: float | None = None) -> list[dict]:
    """The measured probes whose rise is above ``bound`` (``MAX_RISE``) and ``MIN_FLIPPED`` reviews, largest first."""
    bound = MAX_RISE if bound is None else bound
    return sorted((e for e in effects if e["rise"] > bound and e["rise"] * e["reviews"] >= MIN_FLIPPED - 1e-6),
                  key=lambda e: -e["rise"])


def _reads(model, rows: np.ndarray, appendix: list[tuple[int, ...]], label: int) -> list[float]:
    """For each id sequence of ``appendix``: the share of ``rows`` that ``model`` reads as ``label`` with it
    appended; the sequences' rows are scored in one call, each distinct sequence once."""
    distinct = list(dict.fromkeys(appendix))
    scores = model.score_ids(np.concatenate([appended(rows, ids) for ids in distinct]))
    shares = (positive(scores) == (label == 1)).reshape(len(distinct), len(rows)).mean(axis=1)
    at = {ids: float(s) for ids, s in zip(distinct, shares)}
    return [at[ids] for ids in appendix]
