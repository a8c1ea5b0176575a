"""End-to-end batch scoring speed: ORT (read + encode + score) vs Keras ``predict``, one run.

    python -m bench.batch                 # 25,000 test reviews from ../shared/data
    python -m bench.batch --memory 1000000  # also: peak RSS of serve.batch on a generated file

The Keras model is rebuilt from the exported weights (``trainer.reload``), so both score
the same model on the same ids; their agreement is printed too.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import DATA, ROOT, table, test_reviews
from sentilens.settings import THRESHOLD
from serve.runtime import SentimentModel


def generate(path: Path, n: int, seed: int = 0) -> int:
    """n synthetic reviews of our own words (about 1 KB each), one per line; returns bytes written."""
    rng = random.Random(seed)
    words = ("the film plot actor scene story ending music script camera great awful boring brilliant "
             "dull moving funny weak strong slow beautiful terrible superb mess charming tense").split()
    with open(path, "w") as f:
        for _ in range(n):
            f.write(" ".join(rng.choices(words, k=rng.randint(120, 220))) + "\n")
    return path.stat().st_size


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--memory", type=int, default=0, metavar="N", help="also measure peak RSS on N generated reviews")
    args = p.parse_args()
    model = SentimentModel()

    t0 = time.perf_counter()
    texts, labels = test_reviews(args.data)
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    ids = model.codec.encode_batch(texts)
    t_encode = time.perf_counter() - t0
    t0 = time.perf_counter()
    p_ort = model.run(ids)
    t_ort = time.perf_counter() - t0
    n = len(texts)

    from trainer.reload import keras_from_export

    _, keras_model = keras_from_export(model)
    keras_model.predict(ids[:64], verbose=0)  # build and trace outside the timing
    t0 = time.perf_counter()
    p_keras = keras_model.predict(ids, batch_size=512, verbose=0)[0]
    t_keras = time.perf_counter() - t0

    end_to_end = t_read + t_encode + t_ort
    print(f"{n:,} test reviews, model {model.artifact.capabilities.cell} {model.artifact.architecture['units']} units, "
          f"maxlen {model.maxlen}, ORT threads {model.threads}")
    print(table([
        ("stage", "seconds", "reviews/s"),
        ("read (tar.gz)", f"{t_read:.2f}", f"{n / t_read:,.0f}"),
        ("encode (codec)", f"{t_encode:.2f}", f"{n / t_encode:,.0f}"),
        ("ORT score", f"{t_ort:.2f}", f"{n / t_ort:,.0f}"),
        ("end-to-end ORT (read+encode+score)", f"{end_to_end:.2f}", f"{n / end_to_end:,.0f}"),
        ("encode + ORT score", f"{t_encode + t_ort:.2f}", f"{n / (t_encode + t_ort):,.0f}"),
        ("Keras predict (same ids)", f"{t_keras:.2f}", f"{n / t_keras:,.0f}"),
    ]))
    print(f"ORT score / Keras predict: {t_keras / t_ort:.1f}x; encode+ORT / Keras predict: "
          f"{t_keras / (t_encode + t_ort):.1f}x; max |ORT - Keras| {np.abs(p_ort - p_keras).max():.1e}; "
          f"accuracy {((p_ort >= THRESHOLD) == np.array(labels)).mean():.4f}")

    if args.memory:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "many.txt"
            size = generate(src, args.memory)
            cmd = [sys.executable, "-m", "serve.batch", str(src), "-o", str(Path(tmp) / "out.csv"), "--quiet"]
            t0 = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - t0
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(f"serve.batch on {args.memory:,} generated reviews ({size / 1e9:.2f} GB): "
                  f"{wall:.0f} s ({args.memory / wall:,.0f} reviews/s), peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
