"""Labels that are near-duplicates of test reviews, by shingle overlap.

A label on a test review lets a version learn the reviews its forgetting and its audit are measured
on. An exact match is as easy to dodge as to catch (`` Indeed.`` appended, a word changed), so a review
is compared by its *shingles*: the distinct runs of ``SHINGLE`` ids it reads (as the model reads them,
so case and punctuation hide nothing). A label is dropped as test when it holds at least ``OVERLAP`` of
some test review's shingles: appending, prepending or changing a word here and there keeps most of them,
while a sentence quoted from a review holds a small share of it. Runs shared by more than ``COMMON``
test reviews ("one of the best") identify none of them and are not indexed, which also keeps the
matching linear: 25,000 test reviews take about a second.
"""

from __future__ import annotations

import numpy as np

from sentilens.codec import START

__all__ = ["COMMON", "OVERLAP", "SHINGLE", "near_duplicates", "shingles"]

SHINGLE = 4  # ids per run: a changed word breaks at most 4 runs
OVERLAP = 0.5  # a label holding half of a test review's runs is that review
COMMON = 16  # runs in more test reviews than this identify none
ROW_BITS = 24  # a run is its row in the low bits and 40 bits of its hash above them, in one uint64
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93], np.uint64)


def shingles(ids: np.ndarray, width: int = SHINGLE) -> np.ndarray:
    """The distinct runs of ``width`` word ids (no pad, no start id) of each row of padded ``ids``, as
    sorted uint64 keys: 40 bits of the run's hash, then the row in the low ``ROW_BITS``."""
    ids = np.asarray(ids)
    if len(ids) >= 1 << ROW_BITS:
        raise ValueError(f"at most {1 << ROW_BITS} reviews")
    live = ids > START
    flat = ids[live].astype(np.uint64)  # each row's words in order (the pads are on the left)
    row = np.nonzero(live)[0].astype(np.uint64)
    n = len(flat) - width + 1
    if n <= 0:
        return np.zeros(0, np.uint64)
    h = np.zeros(n, np.uint64)
    with np.errstate(over="ignore"):
        for j in range(width):
            h = (h ^ flat[j:j + n]) * _MIX[j % len(_MIX)]
    same = row[:n] == row[width - 1:]  # the run lies in one review
    key = ((h[same] >> np.uint64(ROW_BITS)) << np.uint64(ROW_BITS)) | row[:n][same]
    key.sort()  # (np.unique hashes first and was ten times slower here)
    return key[np.r_[True, key[1:] != key[:-1]]] if len(key) else key


def near_duplicates(ids: np.ndarray, test_ids: np.ndarray, overlap: float = OVERLAP,
                    common: int = COMMON) -> np.ndarray:
    """bool [len(ids)]: the rows of padded ``ids`` that hold at least ``overlap`` of the shingles of some
    row of padded ``test_ids`` (see the module docstring)."""
    found = np.zeros(len(ids), bool)
    low = np.uint64((1 << ROW_BITS) - 1)
    test, labels = shingles(test_ids), shingles(ids)
    if not len(test) or not len(labels):
        return found
    test_row = (test & low).astype(np.int64)
    per_review = np.bincount(test_row, minlength=len(test_ids))
    hashes = test >> np.uint64(ROW_BITS)  # sorted, as the keys are
    starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
    unique, counts = hashes[starts], np.diff(np.r_[starts, len(hashes)])
    label_hash, label_row = labels >> np.uint64(ROW_BITS), (labels & low).astype(np.int64)
    at = np.minimum(np.searchsorted(unique, label_hash), len(unique) - 1)
    hit = (unique[at] == label_hash) & (counts[at] <= common)
    if not hit.any():
        return found
    first, many, who = starts[at[hit]], counts[at[hit]], label_row[hit]
    # every (label, test review) pair that shares a run: each hit expanded over the reviews holding it
    offsets = np.arange(many.sum()) - np.repeat(np.cumsum(many) - many, many)
    pair = np.repeat(who, many) * len(test_ids) + test_row[np.repeat(first, many) + offsets]
    pair.sort()
    edges = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    keys, shared = pair[edges], np.diff(np.r_[edges, len(pair)])
    label_of, test_of = keys // len(test_ids), keys % len(test_ids)
    found[label_of[shared >= overlap * per_review[test_of]]] = True
    return found
