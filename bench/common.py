"""Helpers shared by the benchmark scripts: the real data, the committed model, timing."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"
SENTENCES = ROOT.parent / "shared" / "data" / "imdb_sentences_labelled.txt"


def test_reviews(path: str | Path = DATA, limit: int | None = None, seed: int = 0) -> tuple[list[str], list[int]]:
    """Test-split reviews and labels; with ``limit``, a seeded sample of both classes."""
    import random

    from sentilens.sources import read_aclimdb

    records = [r for r in read_aclimdb(path, sort=True) if r.split == "test"]
    if limit is not None:
        records = random.Random(seed).sample(records, limit)
    return [r.text for r in records], [r.label for r in records]


def labelled_sentences(path: str | Path = SENTENCES, lines: str = "all"):
    """The ``SENTENCE<TAB>LABEL`` file as a ``trainer.data.Split``; ``lines``: all, odd or even, numbered
    from 0 as issue 18 numbered them (the odd lines are the file's 2nd, 4th, ...)."""
    import numpy as np

    from trainer.data import Split

    rows = [line.rsplit("\t", 1) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    keep = {"all": slice(None), "odd": slice(1, None, 2), "even": slice(0, None, 2)}[lines]
    rows = rows[keep]
    return Split([text for text, _ in rows], np.array([int(label) for _, label in rows], np.int32))


def percentiles_ms(fn, repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    q = statistics.quantiles(times, n=100)
    return q[49], q[94]


def table(rows: list[tuple]) -> str:
    """A Markdown table, first row the header."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    fmt = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([fmt(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [fmt(r) for r in cells[1:]])
