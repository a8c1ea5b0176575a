"""Compare two models on the same reviews: accuracy of each, their agreement, and what changed.

    python -m serve.compare MODEL_A MODEL_B DATA [-o changed.csv] [--show 10]

DATA is any accepted source (labelled rows give accuracy; unlabelled ones still give agreement).
Both models read every row through their own codec (a fine-tuned model keeps its parent's
vocabulary; another export may not), with the same chunk scorer as ``serve.batch``. The reviews
whose label changed are listed (the first ``--show``) and, with ``-o``, all written to a CSV.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from sentilens.cli import command, parser

from sentilens.metrics import classification_report
from sentilens.labels import label_of, name_of, positive
from sentilens.sources import ACCEPTED, ID_HELP, BadRow, Record, read_any
from sentilens.staging import check_outputs, staged
from sentilens.wording import count
from serve.runtime import SentimentModel
from serve.runtime.scoring import chunks, score_chunk

__all__ = ["EXAMPLES", "compare", "main"]



def compare(a: SentimentModel, b: SentimentModel, src: Path, text_column: str | None = None,
            read: Callable[[Path, BadRow], Iterator[Record]] | None = None, id_column: str | None = None) -> dict:
    """Scores of both models on ``src``; returns the summary and the changed rows (only their text is
    kept: memory grows with the reviews whose label changed, not with the file). ``read`` reads the
    source (the app passes ``serve.uploads.read_upload``, the upload rule); by default ``read_any``."""
    rejected: list[tuple[str, str]] = []
    read = read or (lambda path, on_bad_row: read_any(path, text_column, on_bad_row, id_column=id_column))
    records = read(src, lambda where, problem: rejected.append((where, problem)))
    labels, pa, pb, changed = [], [], [], []
    for chunk in chunks(records):
        sa, sb = score_chunk(a, chunk).probabilities, score_chunk(b, chunk).probabilities
        for r, p, q in zip(chunk, sa, sb):
            if label_of(p) != label_of(q):
                changed.append({"id": r.id, "a": float(p), "b": float(q), "true_label": name_of(r.label),
                                "text": r.text})
        pa += sa
        pb += sb
        labels += [r.label for r in chunk]
    pa, pb = np.asarray(pa), np.asarray(pb)
    la, lb = positive(pa), positive(pb)
    summary = {"reviews": len(labels), "rejected": len(rejected),
               "agreement": float((la == lb).mean()) if len(labels) else float("nan"), "changed": changed}
    known = [i for i, y in enumerate(labels) if y is not None]
    if known:
        y = np.asarray([labels[i] for i in known])
        summary["a"] = classification_report(y, pa[known])
        summary["b"] = classification_report(y, pb[known])
        summary["labelled"] = len(known)
        summary["right"] = {"a": int((la[known] == (y == 1)).sum()), "b": int((lb[known] == (y == 1)).sum())}
        summary["fixed"] = int(sum(lb[i] == labels[i] and la[i] != labels[i] for i in known))
        summary["broken"] = int(sum(la[i] == labels[i] and lb[i] != labels[i] for i in known))
    return summary


EXAMPLES = ("sentilens compare exported finetuned sentences.csv -o changed.csv",)


@command("python -m serve.compare")
def main(argv: list[str] | None = None) -> int:
    """Compare two models on the same reviews: accuracy of each, their agreement, what changed."""
    from sentilens.safe_csv import SafeWriter

    p = parser("python -m serve.compare", main.__doc__, EXAMPLES)
    p.add_argument("model_a", help="a model directory (e.g. exported/)")
    p.add_argument("model_b", help="another model directory (e.g. a fine-tuned one)")
    p.add_argument("data", help=ACCEPTED)
    p.add_argument("-o", "--output", help="write every review whose label changed to this CSV")
    p.add_argument("--show", type=int, default=10, help="how many changed reviews to print (default 10)")
    p.add_argument("--text-column", help="CSV/JSONL column with the review (default: text or review)")
    p.add_argument("--id-column", help=ID_HELP)
    args = p.parse_args(argv)
    if args.output:  # before any work: an output that is the data (by any spelling) is refused
        check_outputs(Path(args.data), [Path(args.output)])
    a, b = SentimentModel(args.model_a), SentimentModel(args.model_b)
    s = compare(a, b, Path(args.data), args.text_column, id_column=args.id_column)
    print(f"{count(s['reviews'], 'review')} ({count(s['rejected'], 'row')} could not be read); the two models agree on "
          f"{s['agreement']:.2%}; {len(s['changed']):,} changed label")
    if "a" in s:
        for name, path in (("a", args.model_a), ("b", args.model_b)):
            m = s[name]
            print(f"  {name}: {path}: accuracy {m['accuracy']:.4f}  ROC AUC {m['roc_auc']:.4f}  F1 {m['f1']:.4f}")
        print(f"  of the changed labels, {s['fixed']:,} became right and {s['broken']:,} became wrong")
    for row in s["changed"][: args.show]:
        text = " ".join(row["text"].split())
        print(f"  {row['id']}: {row['a']:.3f} -> {row['b']:.3f} (true: {row['true_label'] or '?'}) "
              f"{text[:90]}{'...' if len(text) > 90 else ''}")
    if args.output:  # written beside itself and renamed into place: never over the data it compared
        with staged(Path(args.output)) as (raw,), io.TextIOWrapper(raw, encoding="utf-8", newline="") as f:
            writer = SafeWriter(f)
            writer.writerow(["id", "probability_a", "probability_b", "true_label", "text"])
            writer.writerows([r["id"], round(r["a"], 6), round(r["b"], 6), r["true_label"], r["text"]]
                             for r in s["changed"])
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
