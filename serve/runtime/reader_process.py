"""serve.batch's reading and encoding, in a process of its own.

A reader *thread* shares the interpreter lock with the thread that drives onnxruntime: every time numpy
or ORT lets go of the lock, the scorer waits up to the switch interval to have it back while the reader
runs Python, and ORT's two threads wait with it. Beside a reader thread the 25,000 test reviews spent
8.8 s in ORT; alone, 6 s. A process has its own lock. It costs about 0.3 s to start, so it is used for
inputs large enough to repay that (``PROCESS_FROM_BYTES``).

The process is ``python -m serve.reader_process`` (not multiprocessing, which would import the
caller's main module again): it gets its arguments on stdin, reads the source through
``sentilens.sources``, encodes each chunk with the model's codec and writes length-prefixed pickles to
stdout: ``("chunk", [(id, label)], first column, ids[:, first:], rejected rows)`` per chunk, then
``("end", rows in, rejected)`` or ``("error", exception, rejected)``. serve.batch still checks rows in =
scored + rejected, and a failure in the process reaches it as the same exception. The process ignores
Ctrl-C (its parent stops it), and ends when its parent does (its pipe breaks). It imports only the
standard library, numpy and sentilens: no onnxruntime.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from sentilens.codec import Codec, Vocabulary
from sentilens.errors import SentilensError
from sentilens.sources import Record, Tally, chunks, read_any

__all__ = ["BATCH_CHUNK", "FIRST_CHUNK", "PROCESS_FROM_BYTES", "ROOT", "encoded_chunks", "main", "produce"]

PROCESS_FROM_BYTES = 16 * 2**20  # inputs at least this large are read in a process
# Chunks of 8,192: score_ids sorts a chunk by length, and in chunks of 2,048 a third of its steps were
# padding within its groups (9% at 8,192); a first chunk of 1,024 starts ORT sooner.
BATCH_CHUNK, FIRST_CHUNK = 8192, 1024
_SIZE = struct.Struct("<Q")
ROOT = Path(__file__).resolve().parents[2]


def _write(out, item: tuple) -> None:
    data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_SIZE.pack(len(data)))
    out.write(data)
    out.flush()


def _read(stream) -> tuple | None:
    head = stream.read(_SIZE.size)
    if len(head) < _SIZE.size:
        return None
    (size,) = _SIZE.unpack(head)
    data = stream.read(size)
    return pickle.loads(data) if len(data) == size else None  # noqa: S301 - our own child process


def produce(out, src: str, text_column: str | None, split: str | None, words: list[str], maxlen: int) -> None:
    """The process's work: every chunk of ``src`` encoded and written to ``out``, then the end."""
    codec, tally, rejected = Codec(Vocabulary(words), maxlen), Tally(), []
    try:
        records = read_any(src, text_column, lambda where, problem: rejected.append((where, problem)), tally=tally,
                           split=split)
        for chunk in chunks(records, BATCH_CHUNK, first=FIRST_CHUNK):
            ids = codec.encode_batch([r.text for r in chunk])
            used = ids.any(axis=0)
            first = int(np.argmax(used)) if used.any() else maxlen  # the columns before are pads in every row
            _write(out, ("chunk", [(r.id, r.label) for r in chunk], first, ids[:, first:], rejected[:]))
            rejected.clear()
        _write(out, ("end", tally.rows_in, rejected))
    except BrokenPipeError:
        raise
    except Exception as err:  # noqa: BLE001 - handed to the parent, which raises it
        try:
            pickle.dumps(err)
        except Exception:  # noqa: BLE001 - an exception that cannot travel goes as its text
            err = RuntimeError(f"{type(err).__name__}: {err}")
        _write(out, ("error", err, rejected))


def encoded_chunks(src: Path, text_column: str | None, split: str | None, codec: Codec,
                   reject, tally: Tally) -> Iterator[tuple[list[Record], np.ndarray]]:
    """(records, padded ids) per chunk of ``src``, read and encoded in a process of its own. Rejected rows
    go to ``reject(where, problem)`` as they arrive; ``tally.rows_in`` is set at the end. The records
    carry id and label only (what serve.batch writes)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    errors = tempfile.TemporaryFile()  # a file, not a pipe: a full stderr pipe would stop the child
    # The caller's working directory: a relative path means the same file to both processes.
    child = subprocess.Popen([sys.executable, "-m", "serve.runtime.reader_process"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=errors, env=env)
    try:
        with contextlib.suppress(BrokenPipeError):  # a child gone at once is reported below, with its reason
            child.stdin.write(pickle.dumps((str(src), text_column, split, codec.vocab.words, codec.maxlen)))
            child.stdin.close()
        while (item := _read(child.stdout)) is not None:
            kind, *rest = item
            if kind == "chunk":
                pairs, first, tail, rejected = rest
                for where, problem in rejected:
                    reject(where, problem)
                ids = np.zeros((len(pairs), codec.maxlen), np.int32)
                ids[:, first:] = tail
                yield [Record(id=i, text="", label=label, where="") for i, label in pairs], ids
                continue
            for where, problem in rest[-1]:
                reject(where, problem)
            if kind == "error":
                raise rest[0]
            tally.rows_in = rest[0]
            return
        child.wait(timeout=10)
        errors.seek(0)
        why = errors.read().decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit code {child.returncode}"]
        raise SentilensError(f"the reading process stopped before the end of {src} ({why[0][:300]}); nothing was "
                             "written")
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        with contextlib.suppress(BrokenPipeError):  # what it did not take cannot be flushed
            child.stdin.close()
        child.stdout.close()
        errors.close()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops this process
    args = pickle.load(sys.stdin.buffer)  # noqa: S301 - from the parent process
    try:
        produce(sys.stdout.buffer, *args)
    except BrokenPipeError:  # the parent has gone
        os._exit(1)


if __name__ == "__main__":
    main()
