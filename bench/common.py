"""Helpers shared by the benchmark scripts: the real data, the committed model, timing."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"


def test_reviews(path: str | Path = DATA, limit: int | None = None, seed: int = 0) -> tuple[list[str], list[int]]:
    """Test-split reviews and labels; with ``limit``, a seeded sample of both classes."""
    import random

    from sentilens.sources import read_aclimdb

    records = [r for r in read_aclimdb(path, sort=True) if r.split == "test"]
    if limit is not None:
        records = random.Random(seed).sample(records, limit)
    return [r.text for r in records], [r.label for r in records]


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
