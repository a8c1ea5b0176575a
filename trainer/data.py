"""Labelled train/test corpora for the trainer, from a file or from ``keras.datasets.imdb``."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sentilens.codec import FIRST_WORD_ID, tokenize
from sentilens.digest import sha256_of
from sentilens.errors import DataError
from sentilens.sources import ACCEPTED, Record, is_aclimdb, read_aclimdb, read_table
from sentilens.wording import count

__all__ = ["Corpus", "KERAS_HOST", "Split", "decode_keras_ids", "fetch_keras_imdb", "keras_words_by_id", "load_extra",
           "load_files", "load_keras_imdb", "merge_extra", "text_key"]


@dataclass
class Split:
    texts: list[str]
    labels: np.ndarray  # int32 0/1

    def __len__(self) -> int:
        return len(self.texts)

    @classmethod
    def from_records(cls, records: Iterable[Record], name: str, both_classes: bool = True) -> Split:
        """Labelled records as a split; ``both_classes``: refuse a split of one class only."""
        texts, labels = [], []
        for r in records:
            if r.label is None:
                raise DataError(f"{r.where}: no label; training data needs 0/1/pos/neg labels")
            texts.append(r.text)
            labels.append(r.label)
        if not texts:
            raise DataError(f"{name}: the split is empty")
        split = cls(texts, np.asarray(labels, dtype=np.int32))
        if both_classes and len(set(labels)) < 2:
            raise DataError(f"{name}: the split has only {'positive' if labels[0] else 'negative'} reviews")
        return split

    def take(self, idx: np.ndarray) -> Split:
        return Split([self.texts[i] for i in idx], self.labels[idx])

    def __add__(self, other: Split) -> Split:
        return Split(self.texts + other.texts, np.concatenate([self.labels, other.labels]))


@dataclass
class Corpus:
    train: Split
    test: Split
    source: dict = field(default_factory=dict)  # kind, path, sha256: recorded in the metadata


def load_files(data: str | Path, test: str | Path | None = None, seed: int = 0) -> Corpus:
    """aclImdb (its own train/test) or a table (``test`` given, or a seeded 20% holdout)."""
    data = Path(data)
    if not data.exists():
        raise DataError(f"{data}: no such file or directory; --data takes {ACCEPTED}")
    source = {"kind": "aclImdb" if is_aclimdb(data) else "table", "path": data.name, "sha256": sha256_of(data)}
    if is_aclimdb(data):
        records = list(read_aclimdb(data, sort=True))
        train = Split.from_records((r for r in records if r.split == "train"), f"{data} train/")
        held = Split.from_records((r for r in records if r.split == "test"), f"{data} test/")
        return Corpus(train, held, source)
    full = Split.from_records(read_table(data), str(data))
    if test is not None:
        source["test"] = {"path": Path(test).name, "sha256": sha256_of(test)}
        return Corpus(full, Split.from_records(read_table(test), str(test)), source)
    order = np.random.default_rng(seed).permutation(len(full))
    cut = len(full) - max(1, len(full) // 5)
    source["test"] = "seeded 20% holdout"
    return Corpus(full.take(order[:cut]), full.take(order[cut:]), source)


def load_extra(paths: Iterable[str | Path], log=print) -> Split | None:
    """Extra labelled rows (e.g. exported annotations) for the training split. One class alone is
    fine here (a batch of corrections often is): the merged training data is what must have both.
    Rows without a label (items skipped while annotating, or disputed) are left out, and counted."""
    splits = []
    for p in paths:
        records = list(read_table(p))
        labelled = [r for r in records if r.label is not None]
        if len(labelled) < len(records):
            log(f"--extra {Path(p).name}: left out {count(len(records) - len(labelled), 'row')} without a label "
                "(skipped while annotating, or votes that disagree and no adjudication)")
        splits.append(Split.from_records(labelled, str(p), both_classes=False))
    return sum(splits[1:], splits[0]) if splits else None


def text_key(text: str) -> tuple[str, ...]:
    """What makes two reviews the same review for the model: their tokens."""
    return tuple(tokenize(text))


def merge_extra(corpus: Corpus, extra: Split, log=print, require_both: bool = True) -> Corpus:
    """Append ``extra`` to the training split, dropping (and reporting) every extra review whose
    text is in the test split: a test review trained on would inflate the test accuracy."""
    test = {text_key(t) for t in corpus.test.texts}
    keep = np.array([text_key(t) not in test for t in extra.texts], dtype=bool)
    dropped = int((~keep).sum())
    if dropped:
        log(f"--extra: dropped {dropped:,} of {len(extra):,} rows whose text is in the test split (no leakage)")
    train = corpus.train + extra.take(np.flatnonzero(keep))
    if require_both and len(set(train.labels.tolist())) < 2:
        raise DataError("the training data with --extra has only one class; add reviews of the other")
    source = corpus.source | {"extra_rows": int(keep.sum()), "extra_dropped_as_test": dropped}
    return Corpus(train, corpus.test, source)


# ---- keras.datasets.imdb, for users who are online ---------------------------------------

KERAS_HOST = ("storage.googleapis.com", 443)


def decode_keras_ids(ids: Iterable[int], words_by_id: dict[int, str]) -> str:
    """A Keras IMDB sequence back to text; pad, start and OOV ids have no word and are dropped."""
    return " ".join(words_by_id[i] for i in ids if i in words_by_id)


def keras_words_by_id(word_index: dict[str, int], index_from: int = FIRST_WORD_ID - 1) -> dict[int, str]:
    """``imdb.get_word_index()`` ranks start at 1; ``load_data`` shifts them by ``index_from``."""
    return {rank + index_from: word for word, rank in word_index.items()}


def fetch_keras_imdb() -> tuple[tuple, tuple, dict[str, int]]:
    """Download (or reuse Keras' cache of) the IMDB arrays and word index."""
    cache = Path.home() / ".keras" / "datasets"
    cached = (cache / "imdb.npz").exists() and (cache / "imdb_word_index.json").exists()
    if not cached:
        try:
            socket.create_connection(KERAS_HOST, timeout=5).close()
        except OSError as err:
            raise DataError(
                f"cannot reach {KERAS_HOST[0]} to download keras.datasets.imdb ({err}); "
                f"pass --data with {ACCEPTED}"
            ) from None
    import keras  # heavy; only the online path needs it

    try:
        (xtr, ytr), (xte, yte) = keras.datasets.imdb.load_data()
        word_index = keras.datasets.imdb.get_word_index()
    except Exception as err:  # noqa: BLE001 - any download failure gets the same advice
        raise DataError(f"downloading keras.datasets.imdb failed ({err}); pass --data with {ACCEPTED}") from None
    return (xtr, ytr), (xte, yte), word_index


def load_keras_imdb(fetch: Callable[[], tuple] = fetch_keras_imdb) -> Corpus:
    """The tutorial's data, decoded back to words so that it goes through the same codec."""
    (xtr, ytr), (xte, yte), word_index = fetch()
    words = keras_words_by_id(word_index)

    def split(xs, ys) -> Split:
        return Split([decode_keras_ids(x, words) for x in xs], np.asarray(ys, dtype=np.int32))

    return Corpus(split(xtr, ytr), split(xte, yte), {"kind": "keras.datasets.imdb", "path": None, "sha256": None})
