"""Score a file of reviews with onnxruntime, streaming, and write one row per review.

    python -m serve.batch reviews.csv -o scored.csv [--explain 5] [--evaluate]

Reads CSV, JSONL, TXT (one review per line) or an aclImdb folder/.tar.gz in chunks, so
memory stays flat however large the input; a large input is read and encoded in a process of
its own while the chunk before is scored (serve/reader_process.py). Bad rows never stop the run and are never
lost: each goes to ``<output>.rejected.csv`` with its line and the problem, and the
summary checks rows in (as the file delimits them) = rows scored + rows rejected.

Nothing is destroyed: an output that is the input is refused, the input is checked before
any output is created, and both files are written to temporary files beside them and renamed
into place only when the run completes. A run that fails or is stopped (Ctrl-C, SIGTERM)
leaves every existing file as it was, removes its temporaries and exits non-zero with one line.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from explain.methods import DEFAULT_METHOD, METHODS, check_method
from sentilens.cli import command, parser
from sentilens.errors import DataError
from sentilens.metrics import classification_report
from sentilens.settings import THRESHOLD
from sentilens.sources import ACCEPTED, ID_HELP, Format, RowWriter, Tally, find, formats, read_any
from sentilens.staging import check_outputs, staged
from serve.runtime import reader_process
from serve.runtime import DEFAULT_DIR, SentimentModel, default_threads
from serve.runtime.rows import OUTPUT_COLUMNS, REJECT_COLUMNS
from serve.runtime.scoring import Encoded, chunks, encode_chunk, score_encoded

__all__ = ["EXAMPLES", "check_paths", "main", "open_writer", "output_format", "prefetch", "print_summary", "score_file",
           "side_file"]

EXAMPLES = ("sentilens score reviews.csv -o scored.csv",
            "sentilens score aclImdb_v1.tar.gz --split test -o test.parquet --evaluate",
            "sentilens score reviews.jsonl -o scored.jsonl --explain 5 --text-column body")


def side_file(out: Path) -> Path:
    return out.with_name(out.name + ".rejected.csv")


def check_paths(src: Path, out: Path) -> None:
    """Refuse outputs that would overwrite the input or cannot be written, before anything is opened."""
    output_format(out)
    check_outputs(src, [out, side_file(out)])


def output_format(out: Path) -> Format:
    """The format ``out`` is written in, named by its suffix: any registered format with a writer."""
    fmt = find(out.name)
    if fmt is None or fmt.write is None:
        *most, last = [f.suffixes[0] for f in formats() if f.write is not None]
        raise DataError(f"{out}: --output must end in {', '.join(most)} or {last}")
    return fmt


def open_writer(raw, path: Path, columns: list[str], raw_csv: bool = False) -> RowWriter:
    """Rows of ``columns`` onto the binary file ``raw``, by the writer of ``path``'s format."""
    return output_format(path).write(raw, columns, floats=("probability",), raw_csv=raw_csv)


def prefetch(items: Iterator, depth: int = 2) -> Iterator:
    """``items``, produced by a thread up to ``depth`` ahead of the consumer. An error in the thread
    is raised in the consumer; a consumer that stops early stops the thread."""
    done, box = object(), queue.Queue(depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        box.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put((done, None))
        except BaseException as err:  # noqa: BLE001 - handed to the consumer
            box.put((done, err))

    thread = threading.Thread(target=produce, daemon=True, name="sentilens-reader")
    thread.start()
    try:
        while True:
            item, err = box.get()
            if item is done:
                if err is not None:
                    raise err
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def _encoded(model: SentimentModel, src: Path, records: Iterator, text_column: str | None, split: str | None,
             explain: int, reject, tally: Tally, id_column: str | None = None) -> Iterator[Encoded]:
    """The source's chunks, each encoded while the one before is scored: in a process of its own for a
    large input (see serve/reader_process.py), else in a thread. Explanations need each review's text and
    words, which stay in this process; a named id column is read here too (the process takes the default)."""
    large = src.is_dir() or src.stat().st_size >= reader_process.PROCESS_FROM_BYTES
    if explain or id_column is not None or not large:
        yield from prefetch(encode_chunk(model, chunk, explain) for chunk in chunks(records))
        return
    records.close()  # it checked the source; the process reads it again
    for chunk_records, ids in reader_process.encoded_chunks(src, text_column, split, model.codec, reject, tally):
        yield Encoded(chunk_records, ids)


def _abandon(*writers: RowWriter) -> None:
    """The run failed (a full disk, a stop): writers that can be closed quietly are (a Parquet writer left
    open would try to write into its removed temporary when collected, after the one-line error)."""
    for w in writers:
        quietly = getattr(w, "abandon", None)
        if quietly is not None:
            quietly()


def score_file(model: SentimentModel, src: Path, out: Path, text_column: str | None = None,
               explain: int = 0, threshold: float = THRESHOLD, progress: bool = True,
               method: str = DEFAULT_METHOD, raw_csv: bool = False, split: str | None = None,
               id_column: str | None = None) -> dict:
    """Score ``src`` into ``out`` (staged, see the module docstring); returns the summary."""
    from tqdm import tqdm

    check_paths(src, out)
    check_method(method, model.methods)
    needs = output_format(out).require
    if needs is not None:
        needs()  # the library the output's format needs (pyarrow), refused before anything is created
    tally = Tally()
    rejects: list[RowWriter] = []  # the side file's writer, once it exists
    n_scored = n_rejected = 0

    lock = threading.Lock()  # bad rows are met by the reading thread and by the scoring one

    def reject(where: str, problem: str) -> None:
        nonlocal n_rejected
        with lock:
            n_rejected += 1
            rejects[0].write([[where, problem]])

    records = read_any(src, text_column, reject, tally=tally, split=split,  # checked before anything is created
                       id_column=id_column)
    columns = list(OUTPUT_COLUMNS if explain else OUTPUT_COLUMNS[:-1])
    labels, probs = [], []
    t0 = time.perf_counter()
    with staged(out, side_file(out)) as (scores_f, rejects_f):
        writer = open_writer(scores_f, out, columns, raw_csv)
        side = open_writer(rejects_f, side_file(out), list(REJECT_COLUMNS), raw_csv)
        rejects.append(side)
        try:
            # The bar shows on a terminal only: a pipe or a log keeps the one-line error contract.
            with tqdm(unit=" reviews", disable=None if progress else True, file=sys.stderr, smoothing=0.1,
                      leave=False) as bar:
                for chunk in _encoded(model, src, records, text_column, split, explain, reject, tally, id_column):
                    result = score_encoded(model, chunk, explain, method)
                    rows = [[round(d[c], 6) if c == "probability" else d[c] for c in columns]
                            for d in result.rows(threshold)]
                    for r, prob in zip(result.records, result.probabilities):
                        if r.label is not None:
                            labels.append(r.label)
                            probs.append(prob)
                    writer.write(rows)
                    n_scored += len(rows)
                    bar.update(len(rows))
            if tally.rows_in != n_scored + n_rejected:
                raise DataError(f"{src}: {tally.rows_in:,} rows in but {n_scored:,} scored + {n_rejected:,} "
                                "rejected; refusing to write an incomplete result")
            writer.finish()  # a full disk often shows here, at the Parquet footer
            side.finish()
        except BaseException:
            _abandon(writer, side)
            raise
    seconds = time.perf_counter() - t0
    summary = {"input": str(src), "output": str(out), "rejected_file": str(side_file(out)),
               "rows_in": tally.rows_in, "scored": n_scored, "rejected": n_rejected,
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


@command("python -m serve.batch", failure_note="no output was written and existing files are unchanged")
def main(argv: list[str] | None = None) -> int:
    """Score a file of reviews (CSV, JSONL, TXT, Parquet, aclImdb) into CSV, JSONL or Parquet."""
    p = parser("python -m serve.batch", main.__doc__, EXAMPLES)
    p.add_argument("input", help=ACCEPTED)
    p.add_argument("-o", "--output", required=True, help="scores to write: .csv, .jsonl or .parquet (pyarrow)")
    p.add_argument("--text-column", help="CSV/JSONL column with the review (default: text or review)")
    p.add_argument("--id-column", help=ID_HELP)
    p.add_argument("--explain", type=int, default=0, metavar="K", help="add the K words that moved the score most")
    p.add_argument("--method", choices=list(METHODS), default=DEFAULT_METHOD,
                   help=f"explanation method for --explain (default {DEFAULT_METHOD}; the others cost more per row)")
    p.add_argument("--evaluate", action="store_true", help="print accuracy, ROC AUC, F1, confusion (labelled input)")
    p.add_argument("--threshold", type=float, default=THRESHOLD, help="probability at or above which a review is pos")
    p.add_argument("--split", choices=["train", "test"], help="aclImdb input: score only this split (the other "
                                                              "is not read)")
    p.add_argument("--model", default=str(DEFAULT_DIR), help="model directory (default: the committed exported/)")
    p.add_argument("--threads", type=int, default=default_threads(), help="onnxruntime threads (default: cores)")
    p.add_argument("--precision", choices=["fp32", "int8"], default="fp32",
                   help="int8: the quantized scorer, ~1.4x faster, kept by the export only within 0.3 points of "
                        "fp32's test accuracy (see the model card); --explain always uses fp32")
    p.add_argument("--raw-csv", action="store_true",
                   help="write cells exactly as read: no ' before cells a spreadsheet would run as formulas")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if args.explain < 0 or args.threads < 1 or not 0.0 <= args.threshold <= 1.0:
        p.error("--explain must be >= 0, --threads >= 1 and --threshold in [0, 1]")
    src, out = Path(args.input), Path(args.output)
    check_paths(src, out)
    model = SentimentModel(args.model, threads=args.threads, precision=args.precision)
    summary = score_file(model, src, out, args.text_column, args.explain, args.threshold,
                         progress=not args.quiet, method=args.method, raw_csv=args.raw_csv, split=args.split,
                         id_column=args.id_column)
    print_summary(summary, args.evaluate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
