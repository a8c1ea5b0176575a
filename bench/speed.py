"""Two exported models side by side, in one run on this machine: batch throughput, one review,
explanations, size. Ratios are measured in the same run, so they hold whatever the machine.

    python -m bench.speed --against OLD_EXPORT [--model exported]

To compare with the model committed before this one:
``mkdir old && git archive HEAD~N exported | tar -x -C old`` then ``--against old/exported``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.common import DATA, ROOT, percentiles_ms, table, test_reviews
from explain.methods import attribute
from serve.runtime import SentimentModel

# Our own words, repeated to 250: a long, mixed review (as bench/explain.py).
SENTENCE = ("the first half drags and the jokes fall flat but the final act is tense moving and "
            "beautifully shot with a lead performance that i will remember for years ")


def measure(directory: str, texts: list[str], repeats: int) -> dict:
    model = SentimentModel(directory)
    ids = model.codec.encode_batch(texts)
    model.score_ids(ids[:512])  # warm-up
    t0 = time.perf_counter()
    model.score_ids(ids)
    out = {"batch reviews/s": len(ids) / (time.perf_counter() - t0)}
    one = " ".join((SENTENCE.split() * 20)[:250])
    out["one review p50 ms"] = percentiles_ms(lambda: model.predict([one]), repeats)[0]
    for method in ("running", "occlusion", "cd"):
        if method in model.methods:
            attribute(model, one, method)
            out[f"{method} p50 ms"] = percentiles_ms(lambda m=method: attribute(model, one, m), repeats)[0]
    out["size MB"] = sum(f.stat().st_size for f in Path(directory).iterdir()) / 2**20
    out["maxlen"] = model.maxlen
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default=str(ROOT / "exported"))
    p.add_argument("--against", required=True, help="the other export directory")
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--repeats", type=int, default=100)
    args = p.parse_args()
    texts, _ = test_reviews(args.data)
    new, old = measure(args.model, texts, args.repeats), measure(args.against, texts, args.repeats)
    rows = [("measure", "this model", "the other", "ratio (this / other)")]
    for key in new:
        if key in old:
            rows.append((key, f"{new[key]:,.2f}", f"{old[key]:,.2f}", f"{new[key] / old[key]:.2f}"))
    print(f"{len(texts):,} test reviews; one review and explanations: a 250-word review")
    print(table(rows))


if __name__ == "__main__":
    main()
