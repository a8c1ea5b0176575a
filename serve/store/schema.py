"""Which SQLite file is an annotation database, and bringing ours up to date.

``--db`` may name any file. Ours are marked in the file's header (``PRAGMA application_id``, and the
schema's version in ``user_version``), so that another application's database (say one with tables
of its own called ``items`` and ``leases``) is refused with one line *before* anything is written:
no table dropped or altered, no journal mode switched. Accepted: a marked database of ours, an empty
(new) file, and an unmarked database from before the mark whose tables are exactly ours, which is
migrated and then marked.
"""

from __future__ import annotations

import contextlib
import sqlite3

from sentilens.errors import DataError
from sentilens.labels import STORED

__all__ = ["APPLICATION_ID", "SCHEMA", "SCHEMA_VERSION", "TABLES", "check_ours", "prepare"]

APPLICATION_ID = 0x534C4E41  # "SLNA": a sentilens annotation database
SCHEMA_VERSION = 2  # user_version: 1 the first marked schema (extra, rationale_tokens, adjudicated); 2 adds batch

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    given_label INTEGER,            -- label the file carried, if any (1 pos, 0 neg)
    model_score REAL NOT NULL,      -- P(positive) by the model when loaded
    position INTEGER NOT NULL,      -- order in the source
    extra TEXT NOT NULL DEFAULT '[]'  -- the file's other columns: JSON [[name, value], ...]
);
CREATE TABLE IF NOT EXISTS decisions (
    decision_id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL REFERENCES items(item_id),
    text_hash TEXT NOT NULL,
    label TEXT NOT NULL CHECK (label IN ({", ".join(f"'{label}'" for label in STORED)})),
    annotator TEXT NOT NULL,
    created_at REAL NOT NULL,
    model_sha TEXT NOT NULL,
    model_score REAL NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    rationale TEXT NOT NULL DEFAULT '[]',   -- JSON list of words that justify the label
    rationale_tokens TEXT NOT NULL DEFAULT '[]',  -- JSON list of their token indices in the review
    undone INTEGER NOT NULL DEFAULT 0,
    adjudicated INTEGER NOT NULL DEFAULT 0,      -- 1: a lead's label that settles a disagreement
    batch INTEGER NOT NULL DEFAULT 0             -- > 0: labelled in one action with the others of this number
);
CREATE INDEX IF NOT EXISTS decisions_item ON decisions(item_id, undone);
CREATE TABLE IF NOT EXISTS leases (
    item_id TEXT NOT NULL,
    annotator TEXT NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (item_id, annotator)   -- with an overlap, one review is out to several annotators at once
);
"""

# Per table: the columns every version of ours had, and the columns of this version. An unmarked
# database is ours only if each of its tables is one of these with columns between the two.
TABLES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "items": (frozenset({"item_id", "text", "text_hash", "given_label", "model_score", "position"}),
              frozenset({"item_id", "text", "text_hash", "given_label", "model_score", "position", "extra"})),
    "decisions": (frozenset({"decision_id", "item_id", "text_hash", "label", "annotator", "created_at", "model_sha",
                             "model_score", "note", "rationale", "undone"}),
                  frozenset({"decision_id", "item_id", "text_hash", "label", "annotator", "created_at", "model_sha",
                             "model_score", "note", "rationale", "rationale_tokens", "undone", "adjudicated",
                             "batch"})),
    "leases": (frozenset({"item_id", "annotator", "expires"}),) * 2,
}
_ADDED = (("decisions", "rationale_tokens", "TEXT NOT NULL DEFAULT '[]'"),  # columns added since the first version
          ("decisions", "adjudicated", "INTEGER NOT NULL DEFAULT 0"),
          ("decisions", "batch", "INTEGER NOT NULL DEFAULT 0"),
          ("items", "extra", "TEXT NOT NULL DEFAULT '[]'"))


def _refuse(path: str, why: str) -> DataError:
    return DataError(f"{path}: not a sentilens annotation database ({why}); name a new file with --db "
                     "(nothing in it was changed)")


def check_ours(db: sqlite3.Connection, path: str) -> bool:
    """True for a marked database of ours, False for a new one or an unmarked older one of ours (to be
    migrated and marked); ``DataError`` for anything else. Reads only."""
    app_id = db.execute("PRAGMA application_id").fetchone()[0]
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if app_id == APPLICATION_ID:
        if version > SCHEMA_VERSION:
            raise DataError(f"{path}: made by a newer sentilens (schema {version}, this one knows up to "
                            f"{SCHEMA_VERSION}); upgrade sentilens (nothing in it was changed)")
        return True
    if app_id != 0:
        raise _refuse(path, f"it belongs to another application, application_id {app_id:#x}")
    if version != 0:
        raise _refuse(path, f"another application set its user_version to {version}")
    objects = db.execute("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view', 'trigger') "
                         "AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()
    for kind, name in objects:
        if kind != "table" or name not in TABLES:
            raise _refuse(path, f"it has a {kind} {name[:60]!r}")
        columns = {row[0] for row in db.execute("SELECT name FROM pragma_table_info(?)", (name,))}
        oldest, newest = TABLES[name]
        if not oldest <= columns <= newest:
            raise _refuse(path, f"its table {name!r} has other columns: {', '.join(sorted(columns))[:200]}")
    return False


def prepare(db: sqlite3.Connection, path: str) -> None:
    """Check the file is ours (``check_ours``) before writing anything, then create or migrate the
    tables and mark the file, in one transaction (``db`` in autocommit mode)."""
    check_ours(db, path)
    db.execute("PRAGMA journal_mode=WAL")  # the first write: only once the file is known to be ours
    db.execute("BEGIN IMMEDIATE")
    try:
        marked = check_ours(db, path)  # again, under the write lock: the same file as checked
        if not marked:
            keys = [row[1] for row in db.execute("PRAGMA table_info(leases)") if row[5]]
            if keys == ["item_id"]:  # our leases from before overlaps (one holder per review): they last minutes
                db.execute("DROP TABLE leases")
        for statement in filter(str.strip, SCHEMA.split(";")):
            db.execute(statement)
        for table, column, kind in _ADDED:
            if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
