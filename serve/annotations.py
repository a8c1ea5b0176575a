"""Annotation storage in SQLite (WAL): items to label, every decision ever made, the queue.

One row per decision (never updated except to mark it undone), so re-annotation keeps
history and nothing acknowledged is lost. Each connection commits before it returns,
WAL lets readers and one writer work at once, and a busy timeout makes two annotators
(or two processes) writing together wait for each other instead of failing. The queue
is derived from the tables, so after a restart it resumes where it stopped. Items
handed to an annotator are leased for a few minutes so that two people do not get the
same review.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sentilens.errors import InputError
from sentilens.settings import THRESHOLD
from serve.safe_csv import SafeWriter

ORDERS = {
    "uncertain": f"most uncertain first (|p - {THRESHOLD}| smallest)",
    "errors": "likely label errors first (given label disagrees with a confident model)",
    "file": "file order",
}
LABELS = ("pos", "neg", "skip")
LEASE_SECONDS = 300

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    given_label INTEGER,            -- label the file carried, if any (1 pos, 0 neg)
    model_score REAL NOT NULL,      -- P(positive) by the model when loaded
    position INTEGER NOT NULL       -- order in the source
);
CREATE TABLE IF NOT EXISTS decisions (
    decision_id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL REFERENCES items(item_id),
    text_hash TEXT NOT NULL,
    label TEXT NOT NULL CHECK (label IN ('pos', 'neg', 'skip')),
    annotator TEXT NOT NULL,
    created_at REAL NOT NULL,
    model_sha TEXT NOT NULL,
    model_score REAL NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    rationale TEXT NOT NULL DEFAULT '[]',   -- JSON list of words that justify the label
    undone INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS decisions_item ON decisions(item_id, undone);
CREATE TABLE IF NOT EXISTS leases (
    item_id TEXT PRIMARY KEY,
    annotator TEXT NOT NULL,
    expires REAL NOT NULL
);
"""


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class LeaseConflict(InputError):
    """The item is leased to someone else."""


@dataclass(frozen=True)
class Item:
    item_id: str
    text: str
    given_label: int | None
    model_score: float


class AnnotationStore:
    def __init__(self, path: str | Path):
        self.path = str(path)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    def _connect(self) -> closing[sqlite3.Connection]:
        """A short-lived connection in autocommit mode; closing it rolls back anything uncommitted."""
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA busy_timeout=30000")
        db.execute("PRAGMA synchronous=FULL")  # an acknowledged decision survives power loss
        return closing(db)

    # ---- loading -------------------------------------------------------------------------
    def add_items(self, items: Iterable[tuple[str, str, int | None, float]]) -> int:
        """Insert (item_id, text, given_label, model_score); items already present are kept as they are."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            start = db.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM items").fetchone()[0]
            before = db.execute("SELECT COUNT(*) FROM items").fetchone()[0]
            db.executemany(
                "INSERT OR IGNORE INTO items VALUES (?, ?, ?, ?, ?, ?)",
                ((iid, text, text_hash(text), label, float(score), start + n)
                 for n, (iid, text, label, score) in enumerate(items)),
            )
            added = db.execute("SELECT COUNT(*) FROM items").fetchone()[0] - before
            db.execute("COMMIT")
        return added

    # ---- the queue -----------------------------------------------------------------------
    def next_item(self, annotator: str, order: str = "uncertain") -> Item | None:
        """The next undecided item not leased to someone else, leased now to ``annotator``."""
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
            row = db.execute(
                f"""SELECT i.item_id, i.text, i.given_label, i.model_score FROM items i
                    WHERE NOT EXISTS (SELECT 1 FROM decisions d WHERE d.item_id = i.item_id AND d.undone = 0)
                      AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.item_id = i.item_id
                                      AND l.annotator != ? AND l.expires > ?)
                    ORDER BY (SELECT COUNT(*) FROM leases l WHERE l.item_id = i.item_id AND l.annotator = ?) DESC,
                             {rank}, i.position
                    LIMIT 1""",
                (annotator, now, annotator),
            ).fetchone()
            if row is not None:
                db.execute("DELETE FROM leases WHERE annotator = ?", (annotator,))
                db.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?)", (row[0], annotator, now + LEASE_SECONDS))
            db.execute("COMMIT")
        return Item(*row) if row else None

    def decide(self, item_id: str, label: str, annotator: str, model_sha: str,
               note: str = "", rationale: list[str] | None = None) -> int:
        """Record a decision; returns its id once it is committed (acknowledged).

        An item leased to another annotator (handed to them and not yet expired) is refused with
        ``LeaseConflict``: two people never label the same review at once without knowing it."""
        if label not in LABELS:
            raise ValueError(f"label must be one of {', '.join(LABELS)}")
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            found = db.execute("SELECT text_hash, model_score FROM items WHERE item_id = ?", (item_id,)).fetchone()
            if found is None:
                db.execute("ROLLBACK")
                raise KeyError(f"no item {item_id!r}")
            holder = db.execute("SELECT annotator FROM leases WHERE item_id = ? AND annotator != ? AND expires > ?",
                                (item_id, annotator, time.time())).fetchone()
            if holder is not None:
                db.execute("ROLLBACK")
                raise LeaseConflict(f"Item {item_id[:200]!r} is being labelled by {holder[0][:64]!r} right now; "
                                    "ask for the next item instead.")
            cur = db.execute(
                "INSERT INTO decisions (item_id, text_hash, label, annotator, created_at, model_sha, model_score,"
                " note, rationale) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (item_id, found[0], label, annotator, time.time(), model_sha, found[1], note or "",
                 json.dumps(rationale or [])),
            )
            db.execute("DELETE FROM leases WHERE item_id = ?", (item_id,))
            db.execute("COMMIT")
            return int(cur.lastrowid)

    def undo(self, annotator: str) -> str | None:
        """Mark ``annotator``'s latest live decision undone (kept in history); returns its item id."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                "SELECT decision_id, item_id FROM decisions WHERE annotator = ? AND undone = 0 "
                "ORDER BY decision_id DESC LIMIT 1", (annotator,)).fetchone()
            if row is not None:
                db.execute("UPDATE decisions SET undone = 1 WHERE decision_id = ?", (row[0],))
                db.execute("DELETE FROM leases WHERE annotator = ?", (annotator,))
                db.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?)",
                           (row[1], annotator, time.time() + LEASE_SECONDS))
            db.execute("COMMIT")
        return row[1] if row else None

    # ---- reporting -----------------------------------------------------------------------
    def progress(self) -> dict:
        with self._connect() as db:
            total = db.execute("SELECT COUNT(*) FROM items").fetchone()[0]
            rows = db.execute(
                """SELECT d.label, d.model_score FROM decisions d
                   WHERE d.undone = 0 AND d.decision_id = (SELECT MAX(decision_id) FROM decisions
                                                           WHERE item_id = d.item_id AND undone = 0)""").fetchall()
        labelled = [(lab, s) for lab, s in rows if lab != "skip"]
        agree = sum((lab == "pos") == (s >= THRESHOLD) for lab, s in labelled)
        return {"total": total, "done": len(rows), "labelled": len(labelled), "skipped": len(rows) - len(labelled),
                "agreement": agree / len(labelled) if labelled else None}

    def current_labels(self) -> list[dict]:
        """The latest live decision of every decided item, with its text (for export)."""
        with self._connect() as db:
            rows = db.execute(
                """SELECT i.item_id, i.text, d.label, d.annotator, d.created_at, d.model_sha, d.model_score,
                          d.note, d.rationale
                   FROM decisions d JOIN items i ON i.item_id = d.item_id
                   WHERE d.undone = 0 AND d.decision_id = (SELECT MAX(decision_id) FROM decisions
                                                           WHERE item_id = d.item_id AND undone = 0)
                   ORDER BY d.decision_id""").fetchall()
        cols = ["id", "text", "label", "annotator", "created_at", "model_sha", "model_score", "note", "rationale"]
        return [dict(zip(cols, r)) for r in rows]

    def export(self, path: str | Path, raw_csv: bool = False) -> int:
        """Labelled items (skips left out) as CSV or JSONL that ``python -m trainer --extra`` reads.

        CSV cells a spreadsheet would run as formulas are neutralized unless ``raw_csv``."""
        path = Path(path)
        rows = [r | {"label": 1 if r["label"] == "pos" else 0} for r in self.current_labels() if r["label"] != "skip"]
        if path.suffix.lower() == ".jsonl":
            with open(path, "w", encoding="utf-8") as f:
                f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        else:
            with open(path, "w", encoding="utf-8", newline="") as f:
                columns = list(rows[0]) if rows else ["id", "text", "label"]
                writer = SafeWriter(f, raw=raw_csv)
                writer.writerow(columns)
                writer.writerows([r[c] for c in columns] for r in rows)
        return len(rows)

    def history(self, item_id: str) -> list[dict]:
        with self._connect() as db:
            rows = db.execute("SELECT label, annotator, created_at, undone FROM decisions WHERE item_id = ? "
                              "ORDER BY decision_id", (item_id,)).fetchall()
        return [{"label": a, "annotator": b, "created_at": c, "undone": bool(d)} for a, b, c, d in rows]
