"""Score a file of reviews with onnxruntime, streaming, and write one row per review.

    python -m serve.batch reviews.csv -o scored.csv [--explain 5] [--evaluate]

Reads CSV, JSONL, TXT (one review per line) or an aclImdb folder/.tar.gz in chunks, so
memory stays flat however large the input. Bad rows never stop the run and are never
lost: each goes to ``<output>.rejected.csv`` with its line and the problem, and the
summary checks rows in (as the file delimits them) = rows scored + rows rejected.

Nothing is destroyed: an output that is the input is refused, the input is checked before
any output is created, and both files are written to temporary files beside them and renamed
into place only when the run completes. A run that fails or is stopped (Ctrl-C, SIGTERM)
leaves every existing file as it was, removes its temporaries and exits non-zero with one line.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import queue
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from explain.methods import DEFAULT_METHOD, METHODS, check_method
from sentilens.errors import DataError, SentilensError
from sentilens.metrics import classification_report
from sentilens.settings import THRESHOLD
from sentilens.sources import ACCEPTED, Tally, read_any
from serve.runtime import DEFAULT_DIR, SentimentModel, default_threads
from serve.safe_csv import SafeWriter
from serve.scoring import chunks, encode_chunk, score_encoded

CHUNK = 2048  # reviews encoded and scored together
OUTPUT_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".parquet")


class Stopped(BaseException):
    """The run was stopped by a signal; nothing was written. A ``BaseException`` like
    ``KeyboardInterrupt``, so that no handler meant for one bad row can swallow it."""

    def __init__(self, signum: int):
        self.code = 128 + signum
        super().__init__(f"stopped by {signal.Signals(signum).name}; no output was written and existing files "
                         "are unchanged")


def side_file(out: Path) -> Path:
    return out.with_name(out.name + ".rejected.csv")


def check_paths(src: Path, out: Path) -> None:
    """Refuse outputs that would overwrite the input or cannot be written, before anything is opened."""
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise DataError(f"{out}: --output must end in .csv, .jsonl or .parquet")
    if not out.parent.is_dir():
        raise DataError(f"{out}: folder {out.parent} does not exist")
    source = src.resolve()
    for target in (out, side_file(out)):
        if target.is_dir():
            raise DataError(f"{target}: is a folder; name a file to write")
        resolved = target.resolve()
        if resolved == source or (target.exists() and src.exists() and os.path.samefile(target, src)):
            raise DataError(f"{target}: is the input file; choose another output (nothing was written)")
        if src.is_dir() and source in resolved.parents:
            raise DataError(f"{target}: lies inside the input folder; choose another output (nothing was written)")


class Writer:
    """CSV, JSONL or Parquet rows, chosen by the output's suffix, onto a binary file."""

    def __init__(self, raw, path: Path, columns: list[str], raw_csv: bool = False):
        self.columns, self.kind = columns, path.suffix.lower()
        if self.kind == ".parquet":
            pa, pq = parquet_modules()
            types = {"probability": pa.float64()}
            self.schema = pa.schema([(c, types.get(c, pa.string())) for c in columns])
            self.parquet = pq.ParquetWriter(raw, self.schema)
            return
        self.f = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        if self.kind == ".csv":
            self.csv = SafeWriter(self.f, raw=raw_csv)
            self.csv.writerow(columns)

    def write(self, rows: list[list]) -> None:
        if self.kind == ".parquet":
            pa, _ = parquet_modules()
            self.parquet.write_table(pa.Table.from_pylist([dict(zip(self.columns, r)) for r in rows], self.schema))
        elif self.kind == ".csv":
            self.csv.writerows(rows)
        else:
            self.f.writelines(json.dumps(dict(zip(self.columns, r)), ensure_ascii=False) + "\n" for r in rows)

    def finish(self) -> None:
        if self.kind == ".parquet":
            self.parquet.close()
        else:
            self.f.flush()
            self.f.detach()


def parquet_modules():
    """pyarrow, imported only when Parquet is asked for (it comes with the spark extra)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError("Parquet needs pyarrow: pip install -e \".[spark]\"") from None
    return pa, pq


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
_finished = False  # this run's results are in place: a stop from now on changes nothing


@contextmanager
def held_signals(consume: bool = False) -> Iterator[None]:
    """Hold SIGINT/SIGTERM while files are created or renamed, so that a stop can never leave a
    temporary unrecorded or rename one file of two. With ``consume``, a stop that arrives while the
    finished results are being renamed into place is dropped: they are complete by then."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        if consume:
            while pending := signal.sigpending() & STOP_SIGNALS:
                signal.sigwait(pending)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextmanager
def staged(*targets: Path) -> Iterator[list]:
    """Open a temporary file beside each target; rename them all into place only if the block
    completes, else delete them: the targets stay exactly as they were."""
    temps, files = [], []
    try:
        with held_signals():
            for target in targets:
                fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
                temps.append(Path(name))
                files.append(os.fdopen(fd, "wb"))
        yield files
        for f in files:
            if not f.closed:
                f.flush()
                os.fsync(f.fileno())
                f.close()
        with held_signals(consume=True):
            for temp, target in zip(temps, targets):
                os.chmod(temp, 0o644)
                os.replace(temp, target)
            temps.clear()
            global _finished
            _finished = True
    finally:
        with held_signals():  # a second stop must not cut the cleanup short
            for f in files:
                f.close()
            for temp in temps:
                temp.unlink(missing_ok=True)


@contextmanager
def stop_on_signals(restore: bool = True) -> Iterator[None]:
    """SIGTERM (and SIGINT) raise ``Stopped``, so that ``staged`` cleans up as for any failure; once
    the results are in place a stop is ignored (the run is complete, and says so)."""
    global _finished
    _finished = False

    def stop(signum, frame):
        if not _finished:
            raise Stopped(signum)

    previous = {s: signal.signal(s, stop) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        if restore:  # a command that is about to exit keeps what it set (see main)
            for s, handler in previous.items():
                signal.signal(s, handler)


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


def score_file(model: SentimentModel, src: Path, out: Path, text_column: str | None = None,
               explain: int = 0, threshold: float = THRESHOLD, progress: bool = True,
               method: str = DEFAULT_METHOD, raw_csv: bool = False, split: str | None = None) -> dict:
    """Score ``src`` into ``out`` (staged, see the module docstring); returns the summary."""
    from tqdm import tqdm

    check_paths(src, out)
    check_method(method, model.methods)
    if out.suffix.lower() == ".parquet":
        parquet_modules()  # refuse before anything is created
    tally = Tally()
    rejects: list[SafeWriter] = []  # the side file's writer, once it exists
    n_scored = n_rejected = 0

    lock = threading.Lock()  # bad rows are met by the reading thread and by the scoring one

    def reject(where: str, problem: str) -> None:
        nonlocal n_rejected
        with lock:
            n_rejected += 1
            rejects[0].writerow([where, problem])

    records = read_any(src, text_column, reject, tally=tally, split=split)  # checked before anything is created
    columns = ["id", "probability", "label", "true_label"] + (["top_words"] if explain else [])
    labels, probs = [], []
    t0 = time.perf_counter()
    with staged(out, side_file(out)) as (scores_f, rejects_f):
        writer = Writer(scores_f, out, columns, raw_csv)
        side = Writer(rejects_f, side_file(out), ["where", "problem"], raw_csv)
        rejects.append(side.csv)
        # The bar shows on a terminal only: a pipe or a log keeps the one-line error contract.
        with tqdm(unit=" reviews", disable=None if progress else True, file=sys.stderr, smoothing=0.1,
                  leave=False) as bar:
            # Read and encode the next chunk while this one is scored (ORT releases the GIL).
            encoded = prefetch(encode_chunk(model, chunk, explain) for chunk in chunks(records, CHUNK))
            for chunk in encoded:
                result = score_encoded(model, chunk, explain, method)
                for where, problem in result.rejected:
                    reject(where, problem)
                rows = [[d["id"], round(d["probability"], 6), d["label"], d["true_label"]]
                        + ([d["top_words"]] if explain else []) for d in result.rows(threshold)]
                for r, prob in zip(result.records, result.probabilities):
                    if r.label is not None:
                        labels.append(r.label)
                        probs.append(prob)
                writer.write(rows)
                n_scored += len(rows)
                bar.update(len(rows) + len(result.rejected))
        if tally.rows_in != n_scored + n_rejected:
            raise DataError(f"{src}: {tally.rows_in:,} rows in but {n_scored:,} scored + {n_rejected:,} rejected; "
                            "refusing to write an incomplete result")
        writer.finish()
        side.finish()
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m serve.batch", description="Score a file of movie reviews.")
    p.add_argument("input", help=ACCEPTED)
    p.add_argument("-o", "--output", required=True, help="scores to write: .csv, .jsonl or .parquet (pyarrow)")
    p.add_argument("--text-column", help="CSV/JSONL column with the review (default: text or review)")
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
    command = __name__ == "__main__"  # a process of its own, not a call from other code
    try:
        with stop_on_signals(restore=not command):
            check_paths(src, out)
            model = SentimentModel(args.model, threads=args.threads, precision=args.precision)
            summary = score_file(model, src, out, args.text_column, args.explain, args.threshold,
                                 progress=not args.quiet, method=args.method, raw_csv=args.raw_csv,
                                 split=args.split)
            print_summary(summary, args.evaluate)
            if command:  # done: from here the process only exits, and a late stop changes nothing
                for s in STOP_SIGNALS:
                    signal.signal(s, signal.SIG_IGN)
    except Stopped as err:
        print(f"error: {err}", file=sys.stderr)
        return err.code
    except SentilensError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a full disk, a folder we may not write: one line, files unchanged
        print(f"error: {err.filename or out}: {err.strerror or err}; existing files are unchanged", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - a bug: still one line, and the files are unchanged
        print(f"error: the run failed ({type(err).__name__}: {str(err)[:300]}); no output was written and "
              "existing files are unchanged", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
