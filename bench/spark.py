"""The 25,000 aclImdb test reviews through serve.spark, next to serve.batch on the same machine, in one run:
on local[1] and local[2], then on a standalone cluster (pyspark's own Master and 1, then 2 Workers of one
core each, on 127.0.0.1), and the sizing of 10^9 reviews that follows.

    python -m bench.spark [--data ../shared/data/aclImdb_v1_labeled.tar.gz] [--no-cluster]
                          [--price-per-core-hour 0.048]

Each runner scores the file twice: the first run carries the one-time costs (Python workers start, the
model ships and loads, the JVM compiles the plan), the second is the rate a long job keeps. Spark's own
start-up (the JVM, or the cluster's application getting its executors) is timed apart. The ratio is to
serve.batch's second run.
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
    p.add_argument("--no-cluster", action="store_true", help="skip the standalone cluster runs")
    p.add_argument("--price-per-core-hour", type=float, default=0.048,
                   help="USD per vCPU-hour assumed for the sizing (on-demand general-purpose, 2026)")
    args = p.parse_args()
    import pyarrow.parquet as pq

    from serve.jobs.spark_local import standalone
    from serve.jobs.batch import score_file
    from serve.jobs.convert import to_parquet
    from serve.runtime import DEFAULT_DIR, SentimentModel
    from serve.jobs.spark import SparkJob, run, session

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "test.parquet"
        t0 = time.perf_counter()
        n, _ = to_parquet(Path(args.data), src, split="test")
        convert = time.perf_counter() - t0
        model = SentimentModel(DEFAULT_DIR)
        seconds = [score_file(model, src, tmp / f"batch{i}.parquet", progress=False)["seconds"] for i in range(2)]
        batch_rate = n / seconds[1]
        want = dict(zip(*pq.read_table(tmp / "batch1.parquet", columns=["id", "probability"]).to_pydict().values()))
        rows = [("runner", "cores", "start-up s", "1st run s", "2nd run s", "reviews/s (2nd)", "x serve.batch",
                 "max |diff|")]
        rows.append(("serve.batch (2 ORT threads)", "2", "-", f"{seconds[0]:.1f}", f"{seconds[1]:.1f}",
                     f"{batch_rate:,.0f}", "1.00", "-"))
        per_core: dict[str, float] = {}

        def measure(label: str, cores: int, master: str) -> None:
            t0 = time.perf_counter()
            spark = session(master)
            spark.range(2 * cores).repartition(cores).count()  # the JVM (and a cluster's executors) are up
            start = time.perf_counter() - t0
            runs, diff = [], 0.0
            for i in range(2):
                out = tmp / f"spark-{len(rows)}-{i}"
                runs.append(run(spark, SparkJob(str(src), str(out), str(DEFAULT_DIR)))["seconds"])
                got = dict(zip(*pq.read_table(out, columns=["id", "probability"]).to_pydict().values()))
                diff = max(diff, max(abs(got[k] - want[k]) for k in want))
            spark.stop()
            per_core[label] = n / runs[1] / cores
            rows.append((label, str(cores), f"{start:.1f}", f"{runs[0]:.1f}", f"{runs[1]:.1f}", f"{n / runs[1]:,.0f}",
                         f"{n / runs[1] / batch_rate:.2f}", f"{diff:.1e}"))
            print(table(rows), flush=True)

        for master in args.masters:
            cores = int(master.strip("local[]") or 1)
            measure(f"serve.spark {master}", cores, master)
        if not args.no_cluster:
            for workers in (1, 2):
                with standalone(tmp / f"cluster{workers}", workers=workers) as url:
                    measure(f"serve.spark standalone, {workers} worker(s)", workers, url)
        print(f"{n:,} test reviews (converted to Parquet in {convert:.1f} s); model {model.sha256[:12]}")
        rate = min(per_core.values())  # the most careful per-core figure measured above
        core_hours = 1e9 / rate / 3600
        print(f"\n10^9 reviews at {rate:,.0f} reviews/s per core (the lowest measured above): {core_hours:,.0f} "
              f"core-hours; on 100 executor cores {core_hours / 100:,.1f} h; at ${args.price_per_core_hour} per "
              f"core-hour (an assumption: on-demand general-purpose VMs) ${core_hours * args.price_per_core_hour:,.0f}"
              ", plus the cluster's start-up and storage.")


if __name__ == "__main__":
    main()
