"""What the Annotate tab does with files and text before Gradio sees them: reviews loaded into the
queue (scored in chunks, ids kept apart, bad rows reported), the guidelines read safely, and the page's
rationale checked. No Gradio here, so the tests call it directly, as ``python -m serve --annotate`` does.
"""

from __future__ import annotations

import html
import json
from pathlib import Path


from sentilens.digest import sha256_of
from sentilens.errors import DataError, InputError
from sentilens.wording import count
from serve.app.analysis import MAX_CHARS
from serve.store.annotations import AnnotationStore
from serve.runtime import SentimentModel
from serve.runtime.scoring import chunks, score_chunk
from serve.app.uploads import id_note, read_upload


__all__ = ["MAX_GUIDELINES_BYTES", "item_key", "load_reviews", "parse_rationale", "read_guidelines", "unqueueable"]


def load_reviews(store: AnnotationStore, model: SentimentModel, path: str | Path, name: str | None = None,
                 progress=None) -> str:
    """Score and queue every review of ``path``, streaming in chunks; returns a one-line report.

    Items are named ``NAME@SHA#ID``: the first 8 hex digits of the file's sha256 keep two uploads
    that share a name but not their content apart, and loading the same file again adds nothing.
    An id that repeats inside one file is kept apart as ``ID~2``, ``ID~3``... and reported.
    ``progress((done, None), desc)`` is told how far scoring has got (the app passes ``gr.Progress``).
    """
    path = Path(path)
    name = name or path.name
    source = f"{name}@{sha256_of(path)[:8]}"
    bad: list[str] = []
    seen: set[str] = set()
    repeated: list[str] = []
    records = read_upload(path, on_bad_row=lambda where, problem: bad.append(f"{where.rsplit('/', 1)[-1]}: {problem}"))
    n = added = 0
    if progress is not None:
        progress((0, None), desc="reading")
    for chunk in chunks(records):
        n, added = n + len(chunk), added + _queue(store, model, source, chunk, seen, repeated, bad)
        if progress is not None:
            progress((n, None), desc=f"scored {n:,} reviews")
    report = f"Loaded {name}: {count(n, 'review')} ({id_note(path)}), {added:,} new in the queue"
    if repeated:
        report += f"; {count(len(repeated), 'repeated id')} kept apart (first: {repeated[0]})"
    if bad:
        report += f"; {count(len(bad), 'row')} skipped (first: {bad[0]})"
    return report + "."


def _queue(store: AnnotationStore, model: SentimentModel, source: str, chunk: list, seen: set[str],
           repeated: list[str], bad: list[str]) -> int:
    """Score one chunk and add it to the store; returns how many items were new."""
    scored = score_chunk(model, chunk)
    items = []
    for r, p in zip(scored.records, scored.probabilities):
        problem = unqueueable(r.text)
        if problem:
            bad.append(f"{r.where.rsplit('/', 1)[-1]}: {problem}")
            continue
        items.append((f"{source}#{item_key(r.id, seen, repeated)}", r.text, r.label, float(p), r.extra))
    return store.add_items(items)


def unqueueable(text: str) -> str | None:
    """Why a review does not go into the queue (the app shows and explains reviews up to ``MAX_CHARS``; an
    empty one has nothing to label), or None: for an upload and for a slice the Data tab sends alike."""
    if len(text) > MAX_CHARS:
        return f"the review has {len(text):,} characters; the limit is {MAX_CHARS:,}"
    if not text.strip():
        return "the review is empty"
    return None


def item_key(review_id: str, seen: set[str], repeated: list[str]) -> str:
    """A review's key within its file: its id, or ID~2, ID~3... when the file repeats it (never an id the
    file also has); ``seen`` holds the file's keys so far, and a repeat is added to ``repeated``."""
    key, k = review_id, 1
    while key in seen:
        k += 1
        key = f"{review_id}~{k}"
    seen.add(key)
    if k > 1:
        repeated.append(key)
    return key


def parse_rationale(raw: object, n_tokens: int) -> list[int]:
    """The page's rationale (a JSON list of token indices) checked: ints in range, sorted, no repeats."""
    if raw in (None, ""):
        return []
    try:
        picked = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise InputError("The rationale could not be read; mark the words again.") from None
    if not isinstance(picked, list) or not all(isinstance(i, int) and 0 <= i < n_tokens for i in picked):
        raise InputError("The rationale names words that are not in this review; mark the words again.")
    return sorted(set(picked))


MAX_GUIDELINES_BYTES = 200_000


def read_guidelines(path: str | Path) -> str:
    """The annotation guidelines (Markdown) as the Annotate tab shows them: any HTML in the file is shown
    as text, like every text the app did not write (Markdown's own marks still format it)."""
    path = Path(path)
    try:
        raw = path.read_bytes()[: MAX_GUIDELINES_BYTES + 1]
        text = raw.decode("utf-8")
    except OSError as err:
        raise DataError(f"{path}: cannot read the guidelines ({err.strerror or err})") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: the guidelines are not UTF-8 text") from None
    if len(raw) > MAX_GUIDELINES_BYTES:
        raise DataError(f"{path}: the guidelines are over {MAX_GUIDELINES_BYTES:,} bytes; keep them to a page or two")
    return html.escape(text, quote=False)
