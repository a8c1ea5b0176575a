"""Analyze's "What if": edit the review (or drop or negate a clicked word) and see the new score at
once, with each word's contribution before and after.

The words of the two versions are paired by ``difflib`` (the longest matching runs of tokens), so
a word that stayed keeps its row and shows how its contribution moved; dropped and added words
get rows of their own. The edits a click makes (``assets/whatif.js``) only touch this box, never
the review being analysed.
"""

from __future__ import annotations

import difflib

from serve.app.analysis import Explained
from serve.app.review_view import explained_html

__all__ = ["COLUMNS", "ROWS", "changes", "what_if"]

COLUMNS = ["word", "before", "after", "change"]
ROWS = 15  # the largest changes shown


def changes(before: Explained, after: Explained) -> list[list[str]]:
    """Per word: its contribution before and after the edit and the change, largest changes first."""
    a, b = before.attribution, after.attribution
    space = a.space
    rows: list[tuple[float, list[str]]] = []
    text = lambda v: "" if v is None else (f"{v * 100:+.1f}" if space == "probability" else f"{v:+.2f}")  # noqa: E731
    matcher = difflib.SequenceMatcher(a=a.tokens, b=b.tokens, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2)):
                x, y = a.scores[i], b.scores[j]
                if x is not None and y is not None and y != x:
                    rows.append((abs(y - x), [a.tokens[i], text(x), text(y), text(y - x)]))
            continue
        for i in range(i1, i2):
            x = a.scores[i]
            rows.append((abs(x or 0.0), [f"{a.tokens[i]} (removed)", text(x), "", text(None if x is None else -x)]))
        for j in range(j1, j2):
            y = b.scores[j]
            rows.append((abs(y or 0.0), [f"{b.tokens[j]} (added)", "", text(y), text(y)]))
    rows.sort(key=lambda r: -r[0])
    return [r for _, r in rows[:ROWS]]


def what_if(before: Explained, after: Explained, method: str) -> tuple[str, str, list[list[str]]]:
    """(summary, the edited review coloured, the table of word changes) for the explanation of the edited
    review ``after`` against ``before`` (both by ``method``; Analyze passes the ones it keeps)."""
    p, q = before.attribution.probability, after.attribution.probability
    moved = "no change" if p == q else f"{(q - p) * 100:+.1f} points"
    flipped = (p >= 0.5) != (q >= 0.5)
    units = "points of P(positive)" if before.attribution.space == "probability" else "logit units"
    summary = (f"P(positive) **{p:.1%} → {q:.1%}** ({moved})"
               + (f": the verdict flips to **{'positive' if q >= 0.5 else 'negative'}**." if flipped else ".")
               + (" The edit is the review as analysed." if before.text == after.text else "")
               + f" Contributions below are in {units}.")
    return summary, explained_html(after, method), changes(before, after)

