"""Analyze's "What if": edit the review (or drop or negate a clicked word) and see the new score at
once, with each word's contribution before and after.

The words of the two versions are paired (``word_opcodes``), so a word that stayed keeps its row and
shows how its contribution moved; dropped and added words get rows of their own. The edits a click
asks for (``assets/whatif.js`` sends the word's place) are made here by ``apply_click``, with the batch
counterfactuals' own rules (``explain.counterfactuals``: "wasn't great" negates to "was great"), and
only touch this box, never the review being analysed.

Pairing is near-linear, whatever the edit: ``difflib.SequenceMatcher`` alone is quadratic or worse
in the words (two edits of 20,000 words took 96-99 s each and held up every explanation behind
them). The words both versions start and end with are paired first (a click's edit leaves one short
stretch between them); a stretch small enough (``EXACT_PAIRS``) then gets difflib's exact pairing;
a larger one is cut at the words found exactly once on each side, in the same order (as patience
diff does), and each piece paired the same way. A stretch with no such word (a few words repeated
throughout), or met once ``WORK`` is spent, is paired window by window (``PIECE`` words a side, by
difflib), each window's pairing kept up to its middle, where the next one starts.
"""

from __future__ import annotations

import bisect
import difflib
import json
from collections import Counter
from collections.abc import Sequence

from explain.counterfactuals import drop_at, negate_at
from sentilens.errors import InputError
from serve.app.analysis import Explained
from serve.app.review_view import explained_html

__all__ = ["COLUMNS", "EXACT_PAIRS", "PIECE", "ROWS", "WORK", "apply_click", "changes", "what_if", "word_opcodes"]

COLUMNS = ["word", "before", "after", "change"]
ROWS = 15  # the largest changes shown
PIECE = 250
EXACT_PAIRS = PIECE * PIECE  # a stretch of at most this many (before x after) word pairs gets difflib's pairing
WORK = 20  # the cutting reads each word about this many times at most

Opcode = tuple[str, int, int, int, int]  # as difflib's get_opcodes: (tag, i1, i2, j1, j2)


def word_opcodes(a: Sequence[str], b: Sequence[str]) -> list[Opcode]:
    """How ``b`` is ``a`` edited, as ``difflib.SequenceMatcher.get_opcodes`` says it, in time near-linear in
    the words (see the module docstring); without a stack of Python frames, whatever the input."""
    out: list[Opcode] = []
    budget = WORK * (len(a) + len(b))
    todo: list[tuple] = [("pair", 0, len(a), 0, len(b))]  # last first: pieces are pushed in reverse
    while todo:
        kind, i1, i2, j1, j2 = todo.pop()
        if kind != "pair":
            if kind == "equal" and out and out[-1][0] == "equal" and out[-1][2] == i1 and out[-1][4] == j1:
                out[-1] = ("equal", out[-1][1], i2, out[-1][3], j2)  # one run, as difflib gives it
            else:
                out.append((kind, i1, i2, j1, j2))
            continue
        start = 0
        while i1 + start < i2 and j1 + start < j2 and a[i1 + start] == b[j1 + start]:
            start += 1
        end = 0
        while i1 + start < i2 - end and j1 + start < j2 - end and a[i2 - 1 - end] == b[j2 - 1 - end]:
            end += 1
        pieces: list[tuple] = []
        if start:
            pieces.append(("equal", i1, i1 + start, j1, j1 + start))
        m1, m2, n1, n2 = i1 + start, i2 - end, j1 + start, j2 - end
        if m1 < m2 or n1 < n2:
            pieces += _middle(a, b, m1, m2, n1, n2, budget)
            budget -= (m2 - m1) + (n2 - n1)
        if end:
            pieces.append(("equal", i2 - end, i2, j2 - end, j2))
        todo.extend(reversed(pieces))
    return out


def _middle(a: Sequence[str], b: Sequence[str], i1: int, i2: int, j1: int, j2: int, budget: int) -> list[tuple]:
    """The stretch between the shared start and end: difflib's pairing when small, else cut at anchors
    (pieces to pair again), else window by window."""
    n, m = i2 - i1, j2 - j1
    if not n or not m:
        return [("delete" if n else "insert", i1, i2, j1, j2)]
    if n * m <= EXACT_PAIRS:
        matcher = difflib.SequenceMatcher(a=a[i1:i2], b=b[j1:j2], autojunk=False)
        return [(op, i1 + x1, i1 + x2, j1 + y1, j1 + y2) for op, x1, x2, y1, y2 in matcher.get_opcodes()]
    anchors = _anchors(a, b, i1, i2, j1, j2) if budget > n + m else []
    if not anchors:
        return _windows(a, b, i1, i2, j1, j2)
    pieces: list[tuple] = []
    for i, j in anchors:
        pieces += [("pair", i1, i, j1, j), ("equal", i, i + 1, j, j + 1)]
        i1, j1 = i + 1, j + 1
    return pieces + [("pair", i1, i2, j1, j2)]


def _windows(a: Sequence[str], b: Sequence[str], i1: int, i2: int, j1: int, j2: int) -> list[Opcode]:
    """A stretch paired window by window: difflib on the next ``PIECE`` words of each side, its pairing kept
    up to half a window on either side (where the next window takes over), so each step moves at least
    half a window on one side and the work stays ``PIECE`` times the words."""
    out: list[Opcode] = []
    half = PIECE // 2
    while i1 < i2 and j1 < j2:
        end_a, end_b = min(i2, i1 + PIECE), min(j2, j1 + PIECE)
        ops = difflib.SequenceMatcher(a=a[i1:end_a], b=b[j1:end_b], autojunk=False).get_opcodes()
        stop_a, stop_b = (i2, j2) if (end_a, end_b) == (i2, j2) else (i1 + half, j1 + half)
        for op, x1, x2, y1, y2 in ops:
            s_a, s_b = i1 + x1, j1 + y1  # this op, cut at the stops
            e_a, e_b = min(i1 + x2, stop_a), min(j1 + y2, stop_b)
            if op == "equal":
                e_a = e_b = min(e_a - s_a, e_b - s_b)
                e_a, e_b = s_a + e_a, s_b + e_b
            if op == "replace" and (e_a == s_a or e_b == s_b):
                op = "delete" if e_a > s_a else "insert"
            if (e_a, e_b) != (s_a, s_b):
                out.append((op, s_a, e_a, s_b, e_b))
            if (e_a, e_b) != (i1 + x2, j1 + y2):  # cut: the next window goes on from here
                i1, j1 = e_a, e_b
                break
        else:  # the last window, whole
            i1, j1 = end_a, end_b
    if i1 < i2 or j1 < j2:
        out.append(("delete" if j1 == j2 else "insert", i1, i2, j1, j2))
    return out


def _anchors(a: Sequence[str], b: Sequence[str], i1: int, i2: int, j1: int, j2: int) -> list[tuple[int, int]]:
    """The words found exactly once in ``a[i1:i2]`` and once in ``b[j1:j2]``, as (i, j) pairs, the longest
    run of them in the same order on both sides (O(k log k) in their number)."""
    once_a = {w for w, c in Counter(a[i1:i2]).items() if c == 1}
    counts_b = Counter(b[j1:j2])
    at_b = {b[j]: j for j in range(j1, j2) if counts_b[b[j]] == 1 and b[j] in once_a}
    pairs = [(i, at_b[a[i]]) for i in range(i1, i2) if a[i] in at_b]
    tails: list[int] = []  # tails[k]: the smallest j ending an increasing run of k + 1 pairs
    ends: list[int] = []  # ... and the index in ``pairs`` of that pair
    before = [-1] * len(pairs)
    for k, (_, j) in enumerate(pairs):
        at = bisect.bisect_left(tails, j)
        before[k] = ends[at - 1] if at else -1
        if at == len(tails):
            tails.append(j)
            ends.append(k)
        else:
            tails[at], ends[at] = j, k
    run, k = [], ends[-1] if ends else -1
    while k >= 0:
        run.append(pairs[k])
        k = before[k]
    return run[::-1]


def changes(before: Explained, after: Explained) -> list[list[str]]:
    """Per word: its contribution before and after the edit and the change, largest changes first."""
    a, b = before.attribution, after.attribution
    space = a.space
    rows: list[tuple[float, list[str]]] = []
    text = lambda v: "" if v is None else (f"{v * 100:+.1f}" if space == "probability" else f"{v:+.2f}")  # noqa: E731
    for op, i1, i2, j1, j2 in word_opcodes(a.tokens, b.tokens):
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



def apply_click(text: str, click: str) -> tuple[str, str]:
    """(the what-if text edited, a note saying so) for a click's request ``click``: JSON with the word's
    ``start`` and ``end`` in ``text``, the ``word`` shown and ``how`` ("negate" or "drop"). A word no
    longer at that place (the box was edited since) changes nothing and the note says so."""
    try:
        ask = json.loads(click)
        start, end, word, how = int(ask["start"]), int(ask["end"]), str(ask["word"]), ask["how"]
    except (ValueError, KeyError, TypeError):
        raise InputError("That edit could not be read; click the word again.") from None
    if how not in ("negate", "drop"):
        raise InputError("A word is negated or dropped; click the word again.")
    text = text if isinstance(text, str) else ""
    if not (0 <= start < end <= len(text)) or text[start:end] != word:
        return text, (f'"{word[:40]}" is no longer at that place in the what-if text: edit it there, '
                      "or Analyze again.")
    if how == "drop":
        return drop_at(text, start, end), f'Dropped "{word}".'
    return negate_at(text, start, end), f'Negated "{word}".'
