"""Writing the settled labels out: CSV or JSONL that ``sentilens learn`` / ``python -m trainer --extra``
reads back, with every vote (each annotator's note and rationale too), the lead's adjudication and the
files' own columns. Separate from the store because what an export carries changes for other reasons
than how labels are kept."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from sentilens.labels import DONE, SKIP, VALUE
from sentilens.safe_csv import SafeWriter

__all__ = ["export_labels", "iso_time", "source_id"]

_KEY = re.compile(r"(.*?)@[0-9a-f]{8}#(.*)", re.S)


def iso_time(seconds: float) -> str:
    """Seconds since the epoch -> ISO 8601 in UTC, e.g. 2026-11-28T15:30:00.123Z."""
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def source_id(item_id: str) -> str:
    """The input file's own id inside a queue key ``FILE@SHA8#ID`` (the key itself when it has no such form)."""
    found = _KEY.fullmatch(item_id)
    return found.group(2) if found else item_id


def export_labels(labels: list[dict], path: str | Path, raw_csv: bool = False) -> tuple[int, int]:
    """Every decided item (``AnnotationStore.current_labels()``) as CSV or JSONL that ``python -m trainer
    --extra`` reads; returns (labelled, not labelled). ``label`` is the settled label as 1/0, empty (CSV)
    or null (JSONL) for a skipped or disputed item, whose ``status`` says so; ``votes`` is every
    annotator's latest label (a JSON object) and ``adjudicated`` the lead's label (pos/neg) or empty;
    ``id`` is the queue's key (``FILE@SHA8#ID``) and ``source_id`` the input's own id (``ID``; ``ID~2`` for
    the second row that repeated it); ``created_at`` is ISO 8601 in UTC; ``rationale`` (words as written)
    and ``rationale_tokens`` (their token indices) are JSON lists (real lists in JSONL). ``annotator``,
    ``created_at``, ``model_sha``, ``note`` and the rationale are the latest decision's.

    ``decisions`` holds everyone's work on the review, so that none is lost when someone else labels it
    after them (with an overlap, a lead's adjudication): a JSON list (a real one in JSONL), oldest first,
    of every annotator's latest live vote and every lead's latest live adjudication, each an object with
    ``annotator``, ``label`` (pos/neg/skip), ``note``, ``rationale``, ``rationale_tokens``, ``created_at``
    (ISO 8601), ``model_sha``, ``adjudicated`` (true for a lead's) and ``bulk`` (true when labelled with
    others in one action). The trainer reads only ``text`` and ``label``; every other column rides along.

    CSV cells a spreadsheet would run as formulas are neutralized unless ``raw_csv``."""

    path = Path(path)
    jsonl = path.suffix.lower() == ".jsonl"
    rows = []
    as_json = (lambda v: v) if jsonl else (lambda v: json.dumps(v, ensure_ascii=False))  # noqa: E731
    for r in labels:
        unsettled = r["label"] in (SKIP, "disputed")
        rows.append(r | {
            "source_id": source_id(r["id"]),
            "label": ("" if not jsonl else None) if unsettled else VALUE[r["label"]],
            "status": {SKIP: DONE[SKIP], "disputed": "disputed"}.get(r["label"], "labelled"),
            "created_at": iso_time(r["created_at"]),
            "rationale": json.loads(r["rationale"]) if jsonl else r["rationale"],
            "rationale_tokens": json.loads(r["rationale_tokens"]) if jsonl else r["rationale_tokens"],
            "votes": as_json(r["votes"]),
            "adjudicated": r["adjudicated"] or ("" if not jsonl else None),
            "decisions": as_json([d | {"created_at": iso_time(d["created_at"])} for d in r["decisions"]]),
        })
    columns = ["id", "source_id", "text", "label", "status", "annotator", "created_at", "model_sha", "model_score",
               "note", "rationale", "rationale_tokens", "votes", "adjudicated", "decisions"]
    # the files' other columns after ours, in the order first seen (one that shares a name with ours is
    # prefixed with "file_", never overwriting it)
    meta: dict[str, None] = {}
    for r in rows:
        r["meta"] = {(k if k not in columns else f"file_{k}"): v for k, v in r["extra"]}
        meta.update(dict.fromkeys(r["meta"]))
    for r in rows:
        r.update({k: r["meta"].get(k, "" if not jsonl else None) for k in meta})
    columns += [k for k in meta if k not in columns]
    if jsonl:
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(json.dumps({c: r[c] for c in columns}, ensure_ascii=False) + "\n" for r in rows)
    else:
        with open(path, "w", encoding="utf-8", newline="") as f:
            writer = SafeWriter(f, raw=raw_csv)
            writer.writerow(columns)
            writer.writerows([r[c] for c in columns] for r in rows)
    skipped = sum(r["status"] != "labelled" for r in rows)
    return len(rows) - skipped, skipped
