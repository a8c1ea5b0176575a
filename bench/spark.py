"""The 25,000 aclImdb test reviews through serve.spark on local[1] and local[2], next to serve.batch
on the same machine, in one run; Spark's start-up is timed apart from the scoring.

    python -m bench.spark [--data ../shared/data/aclImdb_v1_labeled.tar.gz]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.common import DATA, table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--masters", nargs="+", default=["local[1]", "local[2]"])
    args = p.parse_args()
    import numpy as np
    import pyarrow.parquet as pq

    from serve.batch import score_file
    from serve.convert import to_parquet
    from serve.runtime import DEFAULT_DIR, SentimentModel
    from serve.spark import run, session

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "test.parquet"
        t0 = time.perf_counter()
        n, _ = to_parquet(Path(args.data), src, split="test")
        convert = time.perf_counter() - t0
        model = SentimentModel(DEFAULT_DIR)
        batch = score_file(model, src, tmp / "batch.parquet", progress=False)
        want = dict(zip(*pq.read_table(tmp / "batch.parquet", columns=["id", "probability"]).to_pydict().values()))
        rows = [("runner", "start-up s", "scoring s", "reviews/s", "accuracy", "max |diff| vs serve.batch")]
        rows.append(("serve.batch (2 ORT threads)", "-", f"{batch['seconds']:.1f}",
                     f"{n / batch['seconds']:,.0f}", f"{batch['metrics']['accuracy']:.4f}", "-"))
        for master in args.masters:
            t0 = time.perf_counter()
            spark = session(master)
            spark.range(1).count()  # the JVM and a first job are up
            start = time.perf_counter() - t0
            out = tmp / f"spark-{master.strip('local[]')}"
            summary = run(spark, str(src), str(out), str(DEFAULT_DIR), None, 0, "running", 0.5, "parquet", None, True)
            spark.stop()
            got = dict(zip(*pq.read_table(out, columns=["id", "probability"]).to_pydict().values()))
            diff = max(abs(got[k] - want[k]) for k in want)
            rows.append((f"serve.spark {master}", f"{start:.1f}", f"{summary['seconds']:.1f}",
                         f"{n / summary['seconds']:,.0f}", f"{summary['metrics']['accuracy']:.4f}", f"{diff:.1e}"))
            print(table(rows), flush=True)
        print(f"{n:,} test reviews (converted to Parquet in {convert:.1f} s); model {model.sha256[:12]}; "
              f"mean probability {np.mean(list(want.values())):.4f}")


if __name__ == "__main__":
    main()
