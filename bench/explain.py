"""p50/p95 latency of each explanation method for one 250-word review on the committed model.

    python -m bench.explain [--repeats 200]
"""

from __future__ import annotations

import argparse

from bench.common import percentiles_ms, table
from explain.methods import attribute
from serve.runtime import SentimentModel

# Our own words, repeated to 250: a long, mixed review.
SENTENCE = ("the first half drags and the jokes fall flat but the final act is tense moving and "
            "beautifully shot with a lead performance that i will remember for years ")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeats", type=int, default=200)
    args = p.parse_args()
    model = SentimentModel()
    words = (SENTENCE.split() * 20)[:250]
    text = " ".join(words)
    rows = [("method", "p50 ms", "p95 ms")]
    for method in model.methods:
        attribute(model, text, method)  # warm-up
        p50, p95 = percentiles_ms(lambda m=method: attribute(model, text, m), args.repeats)
        rows.append((method, f"{p50:.1f}", f"{p95:.1f}"))
    p50, p95 = percentiles_ms(lambda: model.predict([text]), args.repeats)
    rows.append(("(score only)", f"{p50:.2f}", f"{p95:.2f}"))
    print(f"{len(words)}-word review, maxlen {model.maxlen}, ORT threads {model.threads}")
    print(table(rows))


if __name__ == "__main__":
    main()
