"""A 200 MiB Parquet cell through serve.batch: peak memory and what it answers, on this checkout and, with
``--against``, on another one in the same run (``git archive HEAD | tar -x -C DIR``).

    python -m bench.garbage [--against CHECKOUT]

Each run is a child process (its peak RSS is VmHWM, which starts afresh at exec); the tiny test model keeps
the reading in front. The file holds three rows (the cell between two short reviews) and a second row group
of one review, written with and without a dictionary (pyarrow's default tries one and falls back).
Tests hold the bound (tests/test_garbage.py); this prints the figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "tests" / "fixtures" / "tiny_model"
_CHILD = ("import json, subprocess, sys, time\n"
          "t = time.perf_counter()\n"
          "r = subprocess.run([sys.executable, '-m', 'serve.batch', sys.argv[1], '-o', sys.argv[2], '--model', "
          "sys.argv[3], '--quiet'], capture_output=True, text=True)\n"
          "import resource\n"
          "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024\n"
          "print(json.dumps({'code': r.returncode, 'peak': peak, 'seconds': round(time.perf_counter() - t, 1), "
          "'said': (r.stdout.strip().splitlines() or r.stderr.strip().splitlines() or [''])[0][:60]}))\n")


def cell_files(folder: Path) -> list[Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    big = "x" * (200 * 2**20)
    out = []
    for dictionary in (True, False):
        path = folder / f"cell_{'dictionary' if dictionary else 'plain'}.parquet"
        with pq.ParquetWriter(path, pa.schema([("id", pa.string()), ("text", pa.string())]), compression="zstd",
                              use_dictionary=dictionary) as writer:
            writer.write_table(pa.table({"id": ["a", "b", "c"], "text": ["fine", big, "also fine"]}))
            writer.write_table(pa.table({"id": ["d"], "text": ["the plot was splendid"]}))
        out.append(path)
    return out


def run(root: Path, src: Path, out: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(src), str(out), str(MODEL)], cwd=root,
                          capture_output=True, text=True, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if Path(f"{out}.rejected.csv").exists():
        with open(f"{out}.rejected.csv", newline="", encoding="utf-8") as f:
            result["rejected"] = [r["where"].rsplit(":", 1)[1] for r in csv.DictReader(f)]
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--against", type=Path, help="another checkout to measure in the same run (before)")
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="sentilens-garbage-") as tmp:
        for src in cell_files(Path(tmp)):
            for name, root in [("this checkout", ROOT)] + ([("against", args.against)] if args.against else []):
                r = run(root, src, Path(tmp) / f"{src.stem}-{name.replace(' ', '_')}.csv")
                rows.append([src.stem, name, f"{r['peak']:,}", r["seconds"], r["code"], ",".join(r.get("rejected", [])),
                             r["said"]])
    print(table([("file", "code", "peak MB", "s", "exit", "rows rejected", "summary"), *rows]))


if __name__ == "__main__":
    main()
