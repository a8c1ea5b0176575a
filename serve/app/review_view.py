"""A review as the person wrote it, each word a button coloured by its contribution (HTML).

Used by Analyze (click a word: its nearest words) and Annotate (click or select words: the
rationale). Every piece of the review and every word is HTML-escaped here; the markup is ours.
The JavaScript that makes the buttons work is ``assets/review.js``, the styling ``assets/review.css``.

- The text between words is kept (punctuation, line breaks; ``<br />`` becomes a line break).
- When the review is longer than the model reads, the unread start is folded away behind a
  ``<details>`` and a marker says where the model starts reading.
- Hover a word, or move onto it with the arrow keys, for its exact value (``data-tip``).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from explain.methods import METHODS
from explain.neighbours import Neighbours
from sentilens.codec import OOV, Encoding, token_spans
from sentilens.labels import POS, THRESHOLD, label_of
from sentilens.wording import count
from serve.app.palette import DARK, legend_gradient, shade

__all__ = ["ASSETS", "FAINT", "Segment", "asset", "direction", "explained_html", "known_words", "legend_html",
           "review_html", "scale_text", "segments", "top_of", "value_text", "verdict_html"]

if TYPE_CHECKING:
    from serve.app.analysis import Explained

ASSETS = Path(__file__).with_name("assets")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
FAINT = 0.02  # a normalised score below this is left uncoloured


def asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def value_text(score: float, space: str) -> str:
    """A contribution as people read it: points of P(positive), or a logit."""
    if space == "probability":
        points = score * 100
        return f"{points:+.1f} points of P(positive)" if abs(points) >= 0.05 else f"{points:+.3f} points of P(positive)"
    return f"{score:+.3f} logit"


def direction(score: float) -> str:
    return "toward positive" if score > 0 else "toward negative" if score < 0 else "no effect"


@dataclass(frozen=True)
class Segment:
    """A stretch of the original text shown as one button: usually one token; several when one
    written character became several tokens (``¼`` -> ``1 4``)."""

    start: int
    end: int
    tokens: list[int]


def segments(text: str, tokens: Sequence[str]) -> list[Segment] | None:
    spans = token_spans(text, tokens)
    if spans is None:
        return None
    out: list[Segment] = []
    for i, (a, b) in enumerate(spans):
        if out and a < out[-1].end:
            last = out[-1]
            out[-1] = Segment(last.start, max(last.end, b), last.tokens + [i])
        else:
            out.append(Segment(a, b, [i]))
    return out


def _gap(text: str) -> str:
    return html.escape(_BREAK.sub("\n", text), quote=False)


class _Buttons:
    """Builds the word buttons; the first one is the single tab stop (arrow keys move on)."""

    def __init__(self, tokens: Sequence[str], scores: Sequence[float | None] | None, space: str, mode: str,
                 selected: Collection[int], top: float | None = None, describe=None):
        self.tokens, self.scores, self.space, self.mode = tokens, scores, space, mode
        self.selected = set(selected)
        if top is None:
            top = max((abs(s) for s in scores or [] if s is not None), default=0.0)
        self.top = top or 1.0
        self.describe = describe or (lambda score: f"{value_text(score, space)} ({direction(score)})")
        self.first = True

    def __call__(self, shown: str, idx: list[int], read: bool, span: tuple[int, int] | None = None) -> str:
        words = " ".join(self.tokens[i] for i in idx)
        attrs = {"type": "button", "class": "sl-tok" if read else "sl-tok sl-not-read",
                 "data-i": " ".join(map(str, idx)), "data-w": words, "tabindex": "0" if self.first else "-1"}
        if span is not None:  # where the word sits in the review's text (the what-if edits use it)
            attrs["data-span"] = f"{span[0]},{span[1]}"
        self.first = False
        given = [self.scores[i] for i in idx if self.scores[i] is not None] if self.scores else []
        if given:
            score = sum(given)
            tip = f"{shown}: {self.describe(score)}"  # the word as written
            if abs(score) / self.top >= FAINT:
                bg, fg = shade(score / self.top)
                dark_bg, dark_fg = shade(score / self.top, DARK)
                attrs["style"] = f"--sl-bg:{bg};--sl-fg:{fg};--sl-bg-dark:{dark_bg};--sl-fg-dark:{dark_fg}"
            attrs["data-tip"] = tip
        elif self.scores is not None:
            attrs["data-tip"] = f"{shown}: not read by the model"
        if self.mode == "annotate":
            attrs["aria-pressed"] = "true" if self.selected & set(idx) else "false"
        elif "data-tip" in attrs:
            attrs["aria-label"] = f"{shown}, {attrs['data-tip']}"
        body = " ".join(f'{k}="{html.escape(v, quote=True)}"' for k, v in attrs.items())
        return f"<button {body}>{html.escape(shown, quote=False)}</button>"


def review_html(text: str, enc: Encoding, scores: Sequence[float | None] | None = None, space: str = "probability",
                mode: str = "explain", selected: Collection[int] = (), neighbours: dict | None = None,
                maxlen: int | None = None, top: float | None = None, describe=None) -> str:
    """The review as written, one button per word; ``scores`` (one per token, ``None`` where the
    model did not read it) colour them, full colour at ``top`` (default: the largest score, so a scale
    shared by two views is given here); ``describe`` words a score for its tooltip; ``neighbours`` (word ->
    [(word, similarity)] or ``None`` for a word the model does not know) feed the panel a click opens."""
    tokens = enc.tokens
    button = _Buttons(tokens, scores, space, mode, selected, top, describe)
    n_unread = enc.n_truncated
    segs = segments(text, tokens)
    parts: list[str] = []
    note = ""
    if segs is None:  # the original could not be matched word for word: show the words themselves
        note = ('<p class="sl-note">Shown as the words the model reads (the original text could not be '
                'matched word for word).</p>')
        unread = " ".join(button(tokens[i], [i], False) for i in range(n_unread))
        read = " ".join(button(tokens[i], [i], True) for i in range(n_unread, len(tokens)))
    else:
        cut = next((k for k, s in enumerate(segs) if max(s.tokens) >= n_unread), len(segs))
        split_at = segs[cut].start if cut < len(segs) else len(text)
        chunks_unread, chunks_read, cursor = [], [], 0
        for k, s in enumerate(segs):
            target = chunks_unread if k < cut else chunks_read
            if k == cut:
                chunks_unread.append(_gap(text[cursor:split_at]))
                cursor = split_at
            target.append(_gap(text[cursor:s.start]))
            target.append(button(text[s.start:s.end], s.tokens, k >= cut, (s.start, s.end)))
            cursor = s.end
        (chunks_read if cut < len(segs) else chunks_unread).append(_gap(text[cursor:]))
        unread, read = "".join(chunks_unread), "".join(chunks_read)
    limit = maxlen or len(enc.padded)
    start_note = (f'The model starts reading here: it reads at most {limit:,} ids, so only the last '
                  f'{count(len(tokens) - n_unread, "word")} of this review.')
    if n_unread and mode == "annotate":
        # A person judges the whole review: nothing is folded away. What the model did not read is
        # marked only with the model's view (``#ann-text.sl-show-model``, review.css).
        parts.append(f'<div class="sl-text"><div class="sl-unread-words">{unread}</div><p class="sl-start '
                     f'sl-model-only" role="note">&#x2191; The words above were not read by the model. &#x2193; '
                     f'{start_note}</p>{read}</div>')
    elif n_unread:
        parts.append(f'<details class="sl-unread"><summary>{count(n_unread, "word")} at the start that the model '
                     f'did not read <span class="sl-when-closed">(show)</span><span class="sl-when-open">(hide)'
                     f'</span></summary><div class="sl-text">{unread}</div></details>')
        parts.append(f'<p class="sl-start" role="note">&#x2193; {start_note}</p>')
        parts.append(f'<div class="sl-text">{read}</div>')
    else:
        parts.append(f'<div class="sl-text">{unread}{read}</div>')
    shown_nb = {w: None if nb is None else [(n, round(sim, 3)) for n, sim in nb] for w, nb in (neighbours or {}).items()}
    data = html.escape(json.dumps(shown_nb, ensure_ascii=False, separators=(",", ":")), quote=True)
    panel = ('<div class="sl-nb" role="region" aria-label="Nearest words" aria-live="polite" hidden></div>'
             if mode == "explain" else '<p class="sl-chosen" aria-live="polite"></p>')
    return f'<div class="sl-review" data-mode="{mode}" data-nb="{data}">{note}{"".join(parts)}{panel}</div>'


def scale_text(value: float, space: str) -> str:
    """A magnitude on the legend's scale, in the method's units."""
    return f"{value * 100:.1f} points" if space == "probability" else f"{value:.2f} logit"


def legend_html(space: str, method_label: str, top: float | None = None, units: str | None = None,
                ends: tuple[str, str] = ("toward negative", "toward positive")) -> str:
    """The colour bar: direction at both ends (``ends``), a numeric scale in the method's units (``top``: the
    size that gets full colour, the largest contribution's unless a shared scale is given), and how to get
    exact values; ``units`` says what a colour measures when it is not the method's own contribution."""
    units = units or ("change in P(positive) it caused" if space == "probability" else "logit contribution")
    method = html.escape(method_label[:1].upper() + method_label[1:])
    bar = f"--sl-bar:{legend_gradient()};--sl-bar-dark:{legend_gradient(DARK)}"
    scale, full = "", "the strongest at full colour"
    if top:
        size = scale_text(top, space)
        scale = (f'<div class="sl-legend-scale"><span>&#x2212;{size}</span><span>0</span><span>+{size}</span></div>')
        full = f"full colour at &#xB1;{size}"
    return (f'<div class="sl-legend"><span class="sl-bar" aria-hidden="true" style="{bar}"></span>{scale}'
            f'<div class="sl-legend-ends"><span>&#x2190; {html.escape(ends[0])}</span><span>{html.escape(ends[1])} '
            f'&#x2192;</span></div><p>{method}. Colour: each word\'s {html.escape(units)}, {full}. Hover a word, or '
            'tab to it and use the arrow keys, for its exact value; click it for similar words.</p></div>')


def verdict_html(positive: float, threshold: float, known_words: int | None = None) -> str:
    """The label in the app's colours, with both probabilities in words. With ``known_words`` 0 (no word
    the model read is in its vocabulary) there is no verdict to give: it says so, and shows the score as
    what the model makes of the start marker and unknown-word ids alone."""
    if known_words == 0:
        return ('<div class="sl-verdict"><span class="sl-badge sl-badge-unknown">No known words</span> '
                f'<span class="sl-prob">The model knows none of these words: {positive:.1%} positive is what it '
                'gives the start marker and unknown-word ids, not a judgement of this review.</span></div>')
    pos = label_of(positive, threshold) == POS
    name = "Positive" if pos else "Negative"
    return (f'<div class="sl-verdict"><span class="sl-badge {"sl-badge-pos" if pos else "sl-badge-neg"}">{name}</span>'
            f' <span class="sl-prob">{positive:.1%} positive, {1 - positive:.1%} negative</span></div>')


def known_words(enc: Encoding) -> int:
    """How many of the words the model read are in its vocabulary."""
    return sum(1 for i, p in zip(enc.ids, enc.positions.tolist()) if p >= 0 and i != OOV)


def top_of(e: Explained) -> float:
    """The largest contribution's size in an explanation: where its colour scale ends."""
    return max((abs(v) for v in e.attribution.scores if v is not None), default=0.0)


def explained_html(e: Explained, method: str, neighbours: Neighbours | None = None, top: float | None = None) -> str:
    """Verdict, legend and the review coloured word by word, with the notice on what was read. ``top`` is the
    size at full colour: by default this explanation's largest; two explanations shown side by side (Compare)
    pass one shared top, so that a colour means the same number in both."""
    a = e.attribution
    nb = neighbours.table(e.fwd.enc.tokens[e.fwd.enc.n_truncated:] + e.fwd.enc.tokens) if neighbours else None
    top = top_of(e) if top is None else top
    return (verdict_html(a.probability, THRESHOLD, known_words(e.fwd.enc))
            + legend_html(a.space, METHODS[method].label, top)
            + review_html(e.text, e.fwd.enc, a.scores, a.space, mode="explain", neighbours=nb,
                          maxlen=len(e.fwd.enc.padded), top=top or None)
            + f"<p class=\"sl-notice\">{html.escape(e.view.notice)}</p>")
