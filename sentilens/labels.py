"""The labels, defined once: the values a label is stored as, the words people read for them, the
spellings the readers accept, and the one rule that turns a probability into a label.

Every reader, scorer, store and tab takes its labels from here, so that "pos" in a serve.batch output,
an annotation, the Data tab and a metric is the same label, decided by the same threshold.
"""

from __future__ import annotations

import math

import numpy as np

from sentilens.errors import DataError
from sentilens.settings import THRESHOLD

__all__ = ["DECIDED", "DONE", "NEG", "NONE", "POS", "SKIP", "SPELLINGS", "STORED", "THRESHOLD", "VALUE",
           "VALUE_WORD", "WORD", "label_of", "name_of", "parse_label", "positive", "positive_logit"]

POS, NEG, SKIP = "pos", "neg", "skip"
DECIDED = (POS, NEG)  # a label that says which way the review goes: what serve.batch writes, what learning takes
STORED = (*DECIDED, SKIP)  # what an annotator may give (the annotation store's label column)
VALUE = {POS: 1, NEG: 0}  # a decided label as its class (1 positive), as a Record and a metric hold it
WORD = {POS: "positive", NEG: "negative", SKIP: "skip"}  # a label as a word: "your positive label", the buttons
DONE = {**WORD, SKIP: "skipped"}  # a label as what became of a review: "Settled as positive", "ana: skipped"
VALUE_WORD = {VALUE[label]: WORD[label] for label in DECIDED}  # a class as a word (1 -> "positive")
NONE = "none"  # the word for no label given
# The spellings a reader accepts for a label (any case; empty means unlabelled), in the order a refusal lists them.
SPELLINGS = {"0": 0, "1": 1, POS: 1, NEG: 0, WORD[POS]: 1, WORD[NEG]: 0}


def label_of(probability: float, threshold: float = THRESHOLD) -> str:
    """The label a probability of positive gets: pos at or above ``threshold``, else neg (the one rule;
    ``positive`` is the same rule over arrays)."""
    return POS if probability >= threshold else NEG


def positive(probabilities, threshold: float = THRESHOLD):
    """``label_of`` over an array (numpy or pandas, kept vectorised): True where the label is pos."""
    return np.greater_equal(probabilities, threshold)


def positive_logit(logits, threshold: float = THRESHOLD):
    """``positive`` for logits (log-odds) rather than probabilities: the same rule, moved to their scale."""
    return np.greater_equal(logits, math.log(threshold / (1 - threshold)))


def name_of(value: int | None) -> str:
    """A class as the outputs write it (1 -> pos, 0 -> neg), or '' when there is none."""
    return "" if value is None else (POS if value else NEG)


def parse_label(value: object, where: str) -> int | None:
    """A label as a reader finds it (``SPELLINGS``, any case; 0.0 and 1.0 too) as its class; empty or
    missing means unlabelled; anything else is a ``DataError`` naming ``where``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return int(value)
    key = str(value).strip().lower()
    if key in ("0.0", "1.0"):
        key = key[0]
    if key not in SPELLINGS:
        raise DataError(f"{where}: label {str(value)[:80]!r} is not one of {', '.join(SPELLINGS)}")
    return SPELLINGS[key]
