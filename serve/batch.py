"""Score a file of reviews with onnxruntime, streaming, and write one row per review.

    python -m serve.batch reviews.csv -o scored.csv [--explain 5] [--evaluate]

Reads CSV, JSONL, TXT (one review per line) or an aclImdb folder/.tar.gz in chunks, so
memory stays flat however large the input. Bad rows never stop the run and are never
lost: each goes to ``<output>.rejected.csv`` with its line and the problem, and the
summary checks rows in = rows scored + rows rejected.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from explain.attribution import Forward
from explain.methods import DEFAULT_METHOD, METHODS, check_method
from sentilens.errors import SentilensError
from sentilens.metrics import classification_report
from sentilens.settings import THRESHOLD
from sentilens.sources import ACCEPTED, Record, read_any
from serve.runtime import DEFAULT_DIR, SentimentModel, default_threads

CHUNK = 2048  # reviews encoded and scored together


class Writer:
    """CSV or JSONL rows, chosen by the output's suffix."""

    def __init__(self, path: Path, columns: list[str]):
        self.jsonl = path.suffix.lower() in (".jsonl", ".ndjson")
        self.file = open(path, "w", encoding="utf-8", newline="")
        self.columns = columns
        if not self.jsonl:
            self.csv = csv.writer(self.file)
            self.csv.writerow(columns)

    def write(self, rows: Iterable[list]) -> None:
        if self.jsonl:
            self.file.writelines(json.dumps(dict(zip(self.columns, r)), ensure_ascii=False) + "\n" for r in rows)
        else:
            self.csv.writerows(rows)

    def close(self) -> None:
        self.file.close()


def chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    while chunk := list(itertools.islice(records, size)):
        yield chunk


def score_file(model: SentimentModel, src: Path, out: Path, text_column: str | None = None,
               explain: int = 0, threshold: float = THRESHOLD, progress: bool = True,
               method: str = DEFAULT_METHOD) -> dict:
    """Score ``src`` into ``out``; returns the summary (counts, seconds, and metrics when labelled)."""
    from tqdm import tqdm

    rejected_path = out.with_name(out.name + ".rejected.csv")
    rejects = open(rejected_path, "w", encoding="utf-8", newline="")
    reject_writer = csv.writer(rejects)
    reject_writer.writerow(["where", "problem"])
    n_rejected = 0

    def on_bad_row(where: str, problem: str) -> None:
        nonlocal n_rejected
        n_rejected += 1
        reject_writer.writerow([where, problem])

    columns = ["id", "probability", "label", "true_label"] + (["top_words"] if explain else [])
    writer = Writer(out, columns)
    labels, probs = [], []
    explainer = check_method(method, model.methods).explain
    n_scored = 0
    t0 = time.perf_counter()
    bar = tqdm(unit=" reviews", disable=not progress, file=sys.stderr, smoothing=0.1)
    try:
        for chunk in chunks(read_any(src, text_column, on_bad_row), CHUNK):
            if explain:  # one ORT call gives both the scores and the running scores to explain them
                encs = [model.codec.encode(r.text) for r in chunk]
                p, running = model.run(np.stack([e.padded for e in encs]), running=True)
            else:
                p = model.predict([r.text for r in chunk])
            rows = []
            for i, (r, prob) in enumerate(zip(chunk, p.tolist())):
                row = [r.id, round(prob, 6), "pos" if prob >= threshold else "neg",
                       "" if r.label is None else ("pos" if r.label else "neg")]
                if explain:
                    top = explainer(model, Forward(encs[i], prob, running[i])).top(explain)
                    row.append(" ".join(f"{w}:{s:+.3f}" for w, s in top))
                rows.append(row)
                if r.label is not None:
                    labels.append(r.label)
                    probs.append(prob)
            writer.write(rows)
            n_scored += len(chunk)
            bar.update(len(chunk))
    finally:
        bar.close()
        writer.close()
        rejects.close()
    seconds = time.perf_counter() - t0
    summary = {"input": str(src), "output": str(out), "rejected_file": str(rejected_path),
               "rows_in": n_scored + n_rejected, "scored": n_scored, "rejected": n_rejected,
               "seconds": round(seconds, 3), "reviews_per_second": round(n_scored / seconds, 1) if seconds else None}
    if labels:
        summary["metrics"] = classification_report(np.array(labels), np.array(probs), threshold)
    return summary


def print_summary(summary: dict, evaluate: bool) -> None:
    print(f"rows in {summary['rows_in']:,} = scored {summary['scored']:,} + rejected {summary['rejected']:,}"
          f" ({summary['reviews_per_second'] or 0:,.0f} reviews/s)")
    print(f"wrote {summary['output']}")
    if summary["rejected"]:
        print(f"rejected rows and why: {summary['rejected_file']}")
    if evaluate:
        m = summary.get("metrics")
        if m is None:
            print("--evaluate: the input has no labels to evaluate against")
            return
        c = m["confusion"]
        print(f"labelled {m['n']:,}: accuracy {m['accuracy']:.4f}  ROC AUC {m['roc_auc']:.4f}  F1 {m['f1']:.4f}")
        print("confusion      predicted neg  predicted pos")
        print(f"  actual neg   {c['tn']:>13,}  {c['fp']:>13,}")
        print(f"  actual pos   {c['fn']:>13,}  {c['tp']:>13,}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m serve.batch", description="Score a file of movie reviews.")
    p.add_argument("input", help=ACCEPTED)
    p.add_argument("-o", "--output", required=True, help="scores to write: .csv or .jsonl")
    p.add_argument("--text-column", help="CSV/JSONL column with the review (default: text or review)")
    p.add_argument("--explain", type=int, default=0, metavar="K", help="add the K words that moved the score most")
    p.add_argument("--method", choices=list(METHODS), default=DEFAULT_METHOD,
                   help=f"explanation method for --explain (default {DEFAULT_METHOD}; the others cost more per row)")
    p.add_argument("--evaluate", action="store_true", help="print accuracy, ROC AUC, F1, confusion (labelled input)")
    p.add_argument("--threshold", type=float, default=THRESHOLD, help="probability at or above which a review is pos")
    p.add_argument("--model", default=str(DEFAULT_DIR), help="model directory (default: the committed exported/)")
    p.add_argument("--threads", type=int, default=default_threads(), help="onnxruntime threads (default: cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    out = Path(args.output)
    if out.suffix.lower() not in (".csv", ".jsonl", ".ndjson"):
        p.error(f"--output must end in .csv or .jsonl, got {out.name!r}")
    if args.explain < 0 or args.threads < 1 or not 0.0 <= args.threshold <= 1.0:
        p.error("--explain must be >= 0, --threads >= 1 and --threshold in [0, 1]")
    if not out.parent.is_dir():
        p.error(f"--output: folder {out.parent} does not exist")
    try:
        model = SentimentModel(args.model, threads=args.threads)
        summary = score_file(model, Path(args.input), out, args.text_column, args.explain,
                             args.threshold, progress=not args.quiet, method=args.method)
    except SentilensError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print_summary(summary, args.evaluate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
