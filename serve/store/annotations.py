"""Annotation storage in SQLite (WAL): items to label, every decision ever made, the queue.

One row per decision (never updated except to mark it undone), so re-annotation keeps
history and nothing acknowledged is lost. Each connection commits before it returns,
WAL lets readers and one writer work at once, and a busy timeout makes two annotators
(or two processes) writing together wait for each other instead of failing. The queue
is derived from the tables, so after a restart it resumes where it stopped. Items
handed to an annotator are leased for a few minutes so that two people do not get the
same review.

A team sets an overlap k: each review is handed to up to k different annotators (their votes),
the queue finishes reviews that have some votes first, and a lead may record an adjudicated
label (a decision marked ``adjudicated``), which settles the review. The settled label is the
adjudicated one, else the label every vote agrees on; votes that disagree leave it "disputed".
With no overlap (k = 1) a later label corrects an earlier one instead.

Every method that takes a person's name (annotator or lead) puts it in its one normal form first
(``sentilens.names.person_name``), or refuses it with ``InputError``: the API, the app and any later
entry point count "ana", "ANA" and fullwidth "ａｎａ" as one annotator, and an invisible or direction
character never makes a second one. A lead never settles a review they hold a live vote on
(``VoterCannotSettle``), and never votes on a review they settled: both checked here, in the
transaction that writes, so no entry point can skip them.

The file is checked to be ours before anything is written (``serve.store.schema``). Every read that
decides something, and every write, runs in one transaction (``BEGIN IMMEDIATE`` to write): two
sessions of one annotator pressing Undo at once each get a decision of their own, with its own item.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sentilens.errors import DataError, InputError
from sentilens.labels import DECIDED, SKIP, STORED, THRESHOLD, label_of
from sentilens.names import name_key, person_name
from serve.store.export import export_labels, iso_time, source_id
from serve.store.schema import SCHEMA, prepare

__all__ = ["AnnotationStore", "Item", "LABELS", "LATEST_VOTE", "LEASE_SECONDS", "LeaseConflict", "MAX_OVERLAP",
           "OPEN_TO", "ORDERS", "SCHEMA", "Undone", "VOTES", "VoterCannotSettle", "iso_time", "item_of", "source_id", "text_hash"]

ORDERS = {
    "uncertain": f"most uncertain first (|p - {THRESHOLD}| smallest)",
    "errors": "likely label errors first (given label disagrees with a confident model)",
    "file": "file order",
}
LABELS = STORED  # what a decision may be
LEASE_SECONDS = 300

_SURROGATE = re.compile("[\ud800-\udfff]")  # from a crafted request: SQLite would refuse them deep down


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class LeaseConflict(InputError):
    """The item is leased to someone else."""


class VoterCannotSettle(InputError):
    """A lead asked to settle a review they voted on (or to vote on one they settled)."""


def _annotator(name: str) -> str:
    return person_name(name, "annotator name")


@dataclass(frozen=True)
class Undone:
    """A decision taken back: what the annotator had entered, and its review, to put on screen again
    (all read in the transaction that undid it)."""

    item_id: str
    label: str
    note: str
    rationale: list[str]
    rationale_tokens: list[int]
    item: Item
    together: int = 1  # decisions undone with it: a bulk label (``serve.store.bulk``) is undone as one


@dataclass(frozen=True)
class Item:
    item_id: str
    text: str
    given_label: int | None
    model_score: float
    extra: tuple[tuple[str, str], ...] = ()  # the file's other columns (name, value)


def item_of(row) -> Item:
    """An Item from (item_id, text, given_label, model_score, extra JSON), as the store's queries read it."""
    return Item(*row[:4], tuple(tuple(pair) for pair in json.loads(row[4] or "[]")))


def _counts(decided: list[tuple[str, float]]) -> dict:
    """Labelled and skipped among (label, model score) pairs, and the share of labels the model agrees with."""
    labelled = [(lab, s) for lab, s in decided if lab != SKIP]
    agree = sum(lab == label_of(s) for lab, s in labelled)
    return {"labelled": len(labelled), "skipped": len(decided) - len(labelled),
            "agreement": agree / len(labelled) if labelled else None}


MAX_OVERLAP = 20
# Per decided review, counted in one grouped pass: n, how many different annotators have a live vote (a
# lead's adjudication is not a vote); mine, whether :who has one; settled, whether a lead settled it.
VOTES = """v AS (SELECT item_id, COUNT(DISTINCT CASE WHEN adjudicated = 0 THEN annotator END) AS n,
                        MAX(annotator = :who AND adjudicated = 0) AS mine, MAX(adjudicated) AS settled
                 FROM decisions WHERE undone = 0 GROUP BY item_id)"""
# decision d is its annotator's latest live vote on its review (what counts as their label there)
LATEST_VOTE = """d.undone = 0 AND d.adjudicated = 0
                 AND d.decision_id = (SELECT MAX(decision_id) FROM decisions WHERE item_id = d.item_id
                                      AND annotator = d.annotator AND undone = 0 AND adjudicated = 0)"""

# The reviews open to :who at :now, as the queue hands them out and a bulk search lists them: not decided by
# them, not settled by a lead, and fewer than :k votes and others' unexpired holds (h.own: their own hold).
OPEN_TO = f"""WITH {VOTES},
                   h AS (SELECT item_id, SUM(annotator != :who AND expires > :now) AS others,
                                SUM(annotator = :who) AS own
                         FROM leases GROUP BY item_id)
              SELECT i.item_id, i.text, i.given_label, i.model_score, i.extra
              FROM items i LEFT JOIN v ON v.item_id = i.item_id LEFT JOIN h ON h.item_id = i.item_id
              WHERE COALESCE(v.mine, 0) = 0 AND COALESCE(v.settled, 0) = 0
                AND COALESCE(v.n, 0) + COALESCE(h.others, 0) < :k"""


def _votes(db: sqlite3.Connection) -> dict[str, dict[str, str]]:
    """item_id -> {annotator: their latest live vote}, read through ``db``."""
    out: dict[str, dict[str, str]] = {}
    for item_id, who, label in db.execute(f"SELECT d.item_id, d.annotator, d.label FROM decisions d WHERE "
                                          f"{LATEST_VOTE} ORDER BY d.decision_id"):
        out.setdefault(item_id, {})[who] = label
    return out


def _adjudications(db: sqlite3.Connection) -> dict[str, tuple[str, str]]:
    """item_id -> (label, lead) of the latest live adjudication, read through ``db``."""
    rows = db.execute("SELECT item_id, label, annotator FROM decisions WHERE undone = 0 AND adjudicated = 1 "
                      "ORDER BY decision_id").fetchall()
    return {item_id: (label, lead) for item_id, label, lead in rows}


class AnnotationStore:
    def __init__(self, path: str | Path, overlap: int = 1):
        """``overlap``: how many different annotators label each review (1: one label per review)."""
        self.path = str(path)
        if not 1 <= int(overlap) <= MAX_OVERLAP:
            raise InputError(f"The overlap is the number of annotators per review: 1 to {MAX_OVERLAP}.")
        self.overlap = int(overlap)
        if Path(path).is_dir():
            raise DataError(f"{path}: is a folder; --db names the SQLite file to keep the annotations in")
        try:
            with self._connect() as db:
                prepare(db, self.path)  # another application's database is refused before anything is written
        except sqlite3.Error as err:  # not a database, or one we cannot write: say so, touch nothing
            raise DataError(f"{path}: not an annotation database sentilens can open ({str(err)[:120]})") from None

    def connect(self) -> closing[sqlite3.Connection]:
        """A connection to the store's file for the rest of its room (``serve.store.bulk``): as the store's own."""
        return self._connect()

    @staticmethod
    def name(typed: str) -> str:
        """An annotator's name in the one form the store keeps (``sentilens.names``), or ``InputError``."""
        return _annotator(typed)

    def _connect(self) -> closing[sqlite3.Connection]:
        """A short-lived connection in autocommit mode; closing it rolls back anything uncommitted."""
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA busy_timeout=30000")
        db.execute("PRAGMA synchronous=FULL")  # an acknowledged decision survives power loss
        return closing(db)

    # ---- loading -------------------------------------------------------------------------
    def add_items(self, items: Iterable[tuple]) -> int:
        """Insert (item_id, text, given_label, model_score[, extra]) with ``extra`` the file's other columns as
        (name, value) pairs; items already present are kept as they are."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            start = db.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM items").fetchone()[0]
            before = db.execute("SELECT COUNT(*) FROM items").fetchone()[0]
            db.executemany(
                "INSERT OR IGNORE INTO items (item_id, text, text_hash, given_label, model_score, position, extra) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                ((item[0], item[1], text_hash(item[1]), item[2], float(item[3]), start + n,
                  json.dumps([list(p) for p in (item[4] if len(item) > 4 else ())], ensure_ascii=False))
                 for n, item in enumerate(items)),
            )
            added = db.execute("SELECT COUNT(*) FROM items").fetchone()[0] - before
            db.execute("COMMIT")
        return added

    # ---- the queue -----------------------------------------------------------------------
    def next_item(self, annotator: str, order: str = "uncertain", exclude: Iterable[str] = ()) -> Item | None:
        """The next undecided item not leased to someone else, leased now to ``annotator``: the one
        already leased to them first, then by ``order``. Items in ``exclude`` (passed over with
        'Next') come only when nothing else is left."""
        annotator = _annotator(annotator)
        exclude = list(exclude)
        if exclude:
            found = self._next(annotator, order, exclude)
            if found is not None:
                return found
        return self._next(annotator, order, [])

    def release(self, annotator: str) -> None:
        """Give back ``annotator``'s lease (a new queue order, or 'Next')."""
        annotator = _annotator(annotator)
        with self._connect() as db:
            db.execute("DELETE FROM leases WHERE annotator = ?", (annotator,))

    def _next(self, annotator: str, order: str, exclude: list[str]) -> Item | None:
        if order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}")
        rank = {
            "uncertain": f"ABS(i.model_score - {float(THRESHOLD)!r})",
            "errors": "CASE WHEN i.given_label IS NULL THEN 2 ELSE 1 - ABS(i.given_label - i.model_score) END",
            "file": "i.position",
        }[order]
        now = time.time()
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            # Not yet decided by this annotator, not settled by a lead, and fewer than `overlap` votes
            # and others' holds; reviews that already have votes first (so they reach their k sooner).
            # (votes and holds are counted once per review in two grouped passes, not once per candidate row)
            row = db.execute(
                f"""{OPEN_TO}
                      AND i.item_id NOT IN (SELECT value FROM json_each(:exclude))
                    ORDER BY COALESCE(h.own, 0) DESC, COALESCE(v.n, 0) DESC, {rank}, i.position
                    LIMIT 1""",
                {"who": annotator, "now": now, "k": self.overlap, "exclude": json.dumps(exclude)},
            ).fetchone()
            if row is not None:
                db.execute("DELETE FROM leases WHERE annotator = ?", (annotator,))
                db.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?)", (row[0], annotator, now + LEASE_SECONDS))
            db.execute("COMMIT")
        return item_of(row) if row else None

    def decide(self, item_id: str, label: str, annotator: str, model_sha: str,
               note: str = "", rationale: list[str] | None = None, rationale_tokens: list[int] | None = None,
               adjudicated: bool = False) -> int:
        """Record a decision; returns its id once it is committed (acknowledged).

        A review whose places are all taken by others (with the overlap k: k other annotators' votes and
        holds, at least one of them a hold not yet expired) is refused with ``LeaseConflict``: nobody
        labels a review someone else holds without knowing it. ``adjudicated``: a lead's label that
        settles the review (pos or neg; not a vote, never refused for a hold). ``VoterCannotSettle``: a lead
        with a live vote on the review may not settle it, nor vote on a review they settled. ``annotator``
        is stored in its normal form (``sentilens.names``)."""
        if label not in LABELS or (adjudicated and label == SKIP):
            raise ValueError(f"label must be one of {', '.join(DECIDED if adjudicated else LABELS)}")
        annotator = person_name(annotator, "lead's name" if adjudicated else "annotator name")
        for what, value in (("note", note), *(("rationale", w) for w in rationale or [])):
            if _SURROGATE.search(value or ""):
                raise InputError(f"The {what} holds characters that are not text (lone surrogates); retype it.")
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            found = db.execute("SELECT text_hash, model_score FROM items WHERE item_id = ?", (item_id,)).fetchone()
            if found is None:
                db.execute("ROLLBACK")
                raise KeyError(f"no item {item_id!r}")
            now = time.time()
            holders = [h for (h,) in db.execute("SELECT annotator FROM leases WHERE item_id = ? AND annotator != ? "
                                                "AND expires > ?", (item_id, annotator, now))]
            voters = {v for (v,) in db.execute("SELECT DISTINCT annotator FROM decisions WHERE item_id = ? AND "
                                               "undone = 0 AND adjudicated = 0", (item_id,))}
            # names written before the normal form compare by their key: "ana" + U+200B voted as "ana"
            mine = {v for v in voters if name_key(v) == annotator}
            if adjudicated and mine:
                db.execute("ROLLBACK")
                raise VoterCannotSettle("You voted on this review: another lead settles it.")
            if not adjudicated and any(name_key(lead) == annotator for (lead,) in db.execute(
                    "SELECT DISTINCT annotator FROM decisions WHERE item_id = ? AND undone = 0 AND adjudicated = 1",
                    (item_id,))):
                db.execute("ROLLBACK")
                raise VoterCannotSettle("You settled this review as a lead: your vote would be a second say; "
                                        "leave it to the annotators.")
            if (not adjudicated and holders and not mine
                    and len(voters) + len(holders) >= self.overlap):
                db.execute("ROLLBACK")
                raise LeaseConflict(f"Item {item_id[:200]!r} is being labelled by {holders[0][:64]!r} right now; "
                                    "ask for the next item instead.")
            cur = db.execute(
                "INSERT INTO decisions (item_id, text_hash, label, annotator, created_at, model_sha, model_score,"
                " note, rationale, rationale_tokens, adjudicated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (item_id, found[0], label, annotator, now, model_sha, found[1], note or "",
                 json.dumps(rationale or [], ensure_ascii=False), json.dumps(rationale_tokens or []), int(adjudicated)),
            )
            db.execute("DELETE FROM leases WHERE item_id = ? AND (annotator = ? OR expires <= ?)",
                       (item_id, annotator, now))
            db.execute("COMMIT")
            return int(cur.lastrowid)

    def undo(self, annotator: str) -> Undone | None:
        """Mark ``annotator``'s latest live decision undone (kept in history) and lease its item to
        them again; returns what they had entered and the item, or None when there is nothing to undo.
        A decision labelled in bulk is undone with the rest of its batch, as one action (``together``
        says how many). One transaction picks, undoes and reads it: concurrent undos each get a decision
        of their own."""
        annotator = _annotator(annotator)
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                "SELECT d.decision_id, d.label, d.note, d.rationale, d.rationale_tokens, "
                "i.item_id, i.text, i.given_label, i.model_score, i.extra, d.batch "
                "FROM decisions d JOIN items i ON i.item_id = d.item_id "
                "WHERE d.annotator = ? AND d.undone = 0 AND d.adjudicated = 0 ORDER BY d.decision_id DESC LIMIT 1",
                (annotator,)).fetchone()
            together = 1
            if row is not None:
                db.execute("UPDATE decisions SET undone = 1 WHERE decision_id = ?", (row[0],))
                if row[10]:  # the rest of its bulk action
                    together += db.execute("UPDATE decisions SET undone = 1 WHERE batch = ? AND annotator = ? AND "
                                           "undone = 0 AND adjudicated = 0", (row[10], annotator)).rowcount
                db.execute("DELETE FROM leases WHERE annotator = ?", (annotator,))
                db.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?)",
                           (row[5], annotator, time.time() + LEASE_SECONDS))
            db.execute("COMMIT")
        if row is None:
            return None
        return Undone(row[5], row[1], row[2], json.loads(row[3]), json.loads(row[4]), item_of(row[5:10]), together)

    # ---- reporting -----------------------------------------------------------------------
    def progress(self, annotator: str | None = None, now: float | None = None) -> dict:
        """The queue's counts (an item is done once anyone decided it) and, for ``annotator``, their own
        under ``mine``: their latest live decision per item by label, how many of them in the hour before
        ``now``, and how often their labels agree with the model's score at loading."""
        annotator = None if annotator is None else _annotator(annotator)
        with self._snapshot() as db:  # the counts of one moment
            total = db.execute("SELECT COUNT(*) FROM items").fetchone()[0]
            rows = db.execute(
                """SELECT d.label, d.model_score FROM decisions d
                   WHERE d.undone = 0 AND d.decision_id = (SELECT MAX(decision_id) FROM decisions
                                                           WHERE item_id = d.item_id AND undone = 0)""").fetchall()
            own = [] if annotator is None else db.execute(
                f"SELECT d.label, d.model_score, d.created_at FROM decisions d WHERE d.annotator = ? AND {LATEST_VOTE}",
                (annotator,)).fetchall()
            # done: k votes or settled; closed to this annotator: that, or their own vote on it
            done, closed = db.execute(
                f"""WITH {VOTES} SELECT COALESCE(SUM(n >= :k OR settled), 0),
                                        COALESCE(SUM(n >= :k OR settled OR mine), 0) FROM v""",
                {"who": annotator, "k": self.overlap}).fetchone()
        out = {"total": total, "done": done, **_counts([(lab, s) for lab, s in rows])}
        if annotator is not None and self.overlap > 1:  # what the queue still holds for this annotator
            out["left_for_me"] = total - closed
        if annotator is not None:
            hour_ago = (time.time() if now is None else now) - 3600
            out["mine"] = {**_counts([(lab, s) for lab, s, _ in own]),
                           **{label: sum(lab == label for lab, _, _ in own) for label in DECIDED},
                           "last_hour": sum(at >= hour_ago for _, _, at in own)}
        return out

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A connection inside one read transaction: every query in it sees the same state, so that what
        is put together from several (a label and the votes that settle it) belongs together."""
        with self._connect() as db:
            db.execute("BEGIN")
            yield db
            db.execute("COMMIT")

    def votes(self) -> dict[str, dict[str, str]]:
        """Every decided review's live votes: item_id -> {annotator: their latest label} (skips included;
        a lead's adjudication is not a vote)."""
        with self._connect() as db:
            return _votes(db)

    def adjudications(self) -> dict[str, tuple[str, str]]:
        """item_id -> (label, lead) of the latest live adjudication."""
        with self._connect() as db:
            return _adjudications(db)

    def disagreements(self) -> list[tuple[Item, dict[str, str]]]:
        """Reviews whose votes name both labels and that no lead has settled yet, with their votes."""
        with self._snapshot() as db:
            settled, votes = _adjudications(db), _votes(db)
            split = {i: v for i, v in votes.items() if i not in settled and set(DECIDED) <= set(v.values())}
            rows = [db.execute("SELECT item_id, text, given_label, model_score, extra FROM items WHERE item_id = ?",
                               (i,)).fetchone() for i in split]
        return [(item_of(r), split[r[0]]) for r in rows if r is not None]

    def recent(self, annotator: str, n: int = 20) -> list[tuple[Item, str, str, list[int]]]:
        """``annotator``'s latest live vote on each review, newest first, at most ``n``: (item, label, note,
        rationale token positions), to revisit and amend (a new decision supersedes; history is kept)."""
        annotator = _annotator(annotator)
        with self._connect() as db:
            rows = db.execute(
                f"""SELECT i.item_id, i.text, i.given_label, i.model_score, i.extra, d.label, d.note, d.rationale_tokens
                   FROM decisions d JOIN items i ON i.item_id = d.item_id
                   WHERE d.annotator = ? AND {LATEST_VOTE}
                   ORDER BY d.decision_id DESC LIMIT ?""", (annotator, int(n))).fetchall()
        return [(item_of(r[:5]), r[5], r[6], json.loads(r[7])) for r in rows]

    def item(self, item_id: str) -> Item | None:
        with self._connect() as db:
            row = db.execute("SELECT item_id, text, given_label, model_score, extra FROM items WHERE item_id = ?",
                             (item_id,)).fetchone()
        return item_of(row) if row else None

    def current_labels(self) -> list[dict]:
        """Every decided item (labelled, skipped or disputed) with its text, the latest live decision's
        details, every vote and the settled label: a lead's adjudication; else, with an overlap, the label
        all votes agree on (skips aside), "skip" when every vote skipped, else "disputed"; with no overlap,
        the latest decision (a later label corrects an earlier one). ``decisions`` is every annotator's
        latest live vote and every lead's latest live adjudication, each with its note, rationale and
        time: nobody's work is left out because someone else labelled the review after them. All read
        in one transaction."""
        with self._snapshot() as db:
            rows = db.execute(
                """SELECT i.item_id, i.text, d.label, d.annotator, d.created_at, d.model_sha, d.model_score,
                          d.note, d.rationale, d.rationale_tokens, i.extra
                   FROM decisions d JOIN items i ON i.item_id = d.item_id
                   WHERE d.undone = 0 AND d.decision_id = (SELECT MAX(decision_id) FROM decisions
                                                           WHERE item_id = d.item_id AND undone = 0)
                   ORDER BY d.decision_id""").fetchall()
            each = db.execute(
                """SELECT d.item_id, d.annotator, d.label, d.note, d.rationale, d.rationale_tokens, d.created_at,
                          d.model_sha, d.adjudicated, d.batch FROM decisions d
                   WHERE d.undone = 0 AND d.decision_id = (SELECT MAX(decision_id) FROM decisions
                                                           WHERE item_id = d.item_id AND annotator = d.annotator
                                                           AND undone = 0 AND adjudicated = d.adjudicated)
                   ORDER BY d.decision_id""").fetchall()
            settled = _adjudications(db)
        votes: dict[str, dict[str, str]] = {}
        decisions: dict[str, list[dict]] = {}
        for item_id, who, label, note, rationale, tokens, at, sha, adjudicated, batch in each:
            if not adjudicated:
                votes.setdefault(item_id, {})[who] = label
            decisions.setdefault(item_id, []).append(
                {"annotator": who, "label": label, "note": note, "rationale": json.loads(rationale),
                 "rationale_tokens": json.loads(tokens), "created_at": at, "model_sha": sha,
                 "adjudicated": bool(adjudicated), "bulk": bool(batch)})
        cols = ["id", "text", "label", "annotator", "created_at", "model_sha", "model_score", "note", "rationale",
                "rationale_tokens", "extra"]
        out = []
        for r in rows:
            row = dict(zip(cols, r))
            row["extra"] = [tuple(pair) for pair in json.loads(row["extra"] or "[]")]
            cast = votes.get(row["id"], {})
            kinds = set(cast.values()) - {SKIP}
            adjudicated = settled.get(row["id"], (None, None))[0]
            if adjudicated or self.overlap > 1:
                row["label"] = adjudicated or (kinds.pop() if len(kinds) == 1 else SKIP if not kinds else "disputed")
            # (with no overlap a later label supersedes: it is a correction, not a second vote)
            out.append(row | {"votes": cast, "adjudicated": adjudicated, "decisions": decisions.get(row["id"], [])})
        return out

    def export(self, path: str | Path, raw_csv: bool = False) -> tuple[int, int]:
        """Every decided item to CSV or JSONL (``serve.store.export.export_labels``): (labelled, not labelled)."""
        return export_labels(self.current_labels(), path, raw_csv)

    def rescore(self, predict, chunk: int = 2048) -> int:
        """Score every review in the queue again with ``predict`` (texts -> P(positive)), so that "most
        uncertain first" follows the model in use; returns how many were scored."""
        with self._connect() as db:
            rows = db.execute("SELECT item_id, text FROM items ORDER BY position").fetchall()
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            scores = predict([text for _, text in part])
            with self._connect() as db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("UPDATE items SET model_score = ? WHERE item_id = ?",
                               [(float(p), item_id) for p, (item_id, _) in zip(scores, part)])
                db.execute("COMMIT")
        return len(rows)

    def all_texts(self) -> tuple[list[str], list[str]]:
        """Every review in the queue: (item ids, texts), in the file's order (for an index over the queue)."""
        with self._connect() as db:
            rows = db.execute("SELECT item_id, text FROM items ORDER BY position").fetchall()
        return [r[0] for r in rows], [r[1] for r in rows]

    def item_text(self, item_id: str) -> str | None:
        with self._connect() as db:
            row = db.execute("SELECT text FROM items WHERE item_id = ?", (item_id,)).fetchone()
        return row[0] if row else None
