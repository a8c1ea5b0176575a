"""Finding reviews in the queue and labelling many at once, as Argilla and Prodigy let a team do.

``find`` filters the reviews still open to one annotator (the queue's own rule: not decided by them, not
settled by a lead, fewer than the overlap's votes and others' holds) by words they contain, a column of
the file, a range of the model's score and a list of ids (reviews like one, or a slice sent from the
Data tab), and never leases them: looking is free. ``label_many`` records one decision per review, each
its own row marked with one batch number, in one transaction, so ``AnnotationStore.undo`` takes the
whole action back as one. A review that stopped being open meanwhile (someone else's vote filled it,
a lead settled it) is passed over and said so, never overwritten.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sentilens.codec import tokenize
from sentilens.errors import InputError
from sentilens.labels import DECIDED
from serve.store.annotations import OPEN_TO, AnnotationStore, Item, item_of

__all__ = ["Bulk", "MOST", "Query", "find", "label_many"]

MOST = 1000  # reviews one action labels, and one search lists
_WORDS = 20  # words a search may hold


@dataclass(frozen=True)
class Query:
    """What to look for; every part given must hold."""

    words: str = ""  # each word (as the model reads words) must be in the review
    column: str = ""  # a column of the file ...
    value: str = ""  # ... equal to this value
    score: tuple[float, float] = (0.0, 1.0)  # the model's P(positive) at loading, both ends included
    ids: Sequence[str] | None = None  # only these reviews, in this order (else the file's order)


@dataclass(frozen=True)
class Bulk:
    """What one bulk action did: its batch number, the reviews labelled, and those passed over with why."""

    batch: int
    labelled: list[str]
    passed: list[tuple[str, str]] = field(default_factory=list)


_OPEN = OPEN_TO + " AND i.model_score BETWEEN :lo AND :hi"  # the queue's own rule, and a score range


def find(store: AnnotationStore, annotator: str, query: Query, most: int = MOST) -> list[Item]:
    """The reviews open to ``annotator`` that match ``query``: at most ``most``, in the ids' order when
    ids are given, else the file's. Nothing is leased."""
    who = store.name(annotator)
    words = tokenize(query.words or "")
    if len(words) > _WORDS:
        raise InputError(f"Search for at most {_WORDS} words at once.")
    lo, hi = (float(x) for x in query.score)
    if not 0.0 <= lo <= hi <= 1.0:
        raise InputError("The score range runs from a lower to a higher P(positive), within 0 to 1.")
    sql, params = _OPEN, {"who": who, "now": time.time(), "k": store.overlap, "lo": lo, "hi": hi}
    for n, word in enumerate(words):  # a fast first cut; the words are checked exactly below
        sql += f" AND instr(lower(i.text), :w{n}) > 0"
        params[f"w{n}"] = word
    if query.column:
        sql += (" AND EXISTS (SELECT 1 FROM json_each(i.extra) e WHERE json_extract(e.value, '$[0]') = :col"
                " AND CAST(json_extract(e.value, '$[1]') AS TEXT) = :val)")
        params |= {"col": query.column, "val": query.value}
    if query.ids is not None:
        sql += " AND i.item_id IN (SELECT value FROM json_each(:ids))"
        params["ids"] = json.dumps([str(i) for i in query.ids])
    sql += " ORDER BY i.position"
    found: list[Item] = []
    with store.connect() as db:
        for row in db.execute(sql, params):
            if words and not set(words) <= set(tokenize(row[1])):
                continue
            found.append(item_of(row))
            if query.ids is None and len(found) >= most:
                break
    if query.ids is not None:
        rank = {str(item_id): n for n, item_id in enumerate(query.ids)}
        found = sorted(found, key=lambda item: rank[item.item_id])[:most]
    return found


def label_many(store: AnnotationStore, item_ids: Sequence[str], label: str, annotator: str, model_sha: str) -> Bulk:
    """One decision per review of ``item_ids``, all with one new batch number, in one transaction; reviews
    no longer open to ``annotator`` are passed over, each with its reason."""
    if label not in DECIDED:
        raise InputError(f"A bulk label is one of {', '.join(DECIDED)}.")
    who = store.name(annotator)
    ids = list(dict.fromkeys(str(i) for i in item_ids))
    if not ids:
        raise InputError("Select the reviews to label first.")
    if len(ids) > MOST:
        raise InputError(f"Label at most {MOST:,} reviews in one action ({len(ids):,} selected).")
    now = time.time()
    with store.connect() as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            open_now = {row[0]: row for row in db.execute(
                _OPEN + " AND i.item_id IN (SELECT value FROM json_each(:ids))",
                {"who": who, "now": now, "k": store.overlap, "lo": 0.0, "hi": 1.0, "ids": json.dumps(ids)})}
            known = {item_id for (item_id,) in db.execute(
                "SELECT item_id FROM items WHERE item_id IN (SELECT value FROM json_each(?))", (json.dumps(ids),))}
            batch = db.execute("SELECT COALESCE(MAX(batch), 0) + 1 FROM decisions").fetchone()[0]
            labelled, passed = [], []
            for item_id in ids:
                if item_id not in known:
                    passed.append((item_id, "no longer in the queue"))
                elif item_id not in open_now:
                    passed.append((item_id, "no longer open to you (labelled by you or others, settled, or held)"))
                else:
                    labelled.append(item_id)
            db.executemany(
                "INSERT INTO decisions (item_id, text_hash, label, annotator, created_at, model_sha, model_score, "
                "batch) SELECT item_id, text_hash, ?, ?, ?, ?, model_score, ? FROM items WHERE item_id = ?",
                [(label, who, now, model_sha, batch, item_id) for item_id in labelled])
            db.executemany("DELETE FROM leases WHERE item_id = ? AND annotator = ?", [(i, who) for i in labelled])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return Bulk(batch if labelled else 0, labelled, passed)
