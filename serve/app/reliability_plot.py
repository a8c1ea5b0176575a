"""The Data tab's reliability plot, drawn as SVG by us rather than by a chart widget: an empty tenth of
P(positive) is shown empty (no point, the line broken there, named in the caption), never a line drawn
through it, and the plot is one image with a text alternative (the chart widget's empty state carried
ARIA attributes its element may not have: axe-core's ``aria-prohibited-attr``).

Every value here is a number we computed; the only text from outside is none, so nothing needs escaping
beyond the series names, which are ours too (escaped all the same).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from serve.app.data_slices import Bin

__all__ = ["SERIES", "reliability_svg"]

W, H = 340, 250  # the viewBox; the SVG scales to its box
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 40
SERIES = (("a", "#5b2a86", ""), ("b", "#a35200", "5 3"))  # class, colour (4.5:1 on white; data.css: dark), dash


def _x(v: float) -> float:
    return LEFT + v * (W - LEFT - RIGHT)


def _y(v: float) -> float:
    return H - BOTTOM - v * (H - TOP - BOTTOM)


def _runs(points: Sequence[Bin]) -> list[list[Bin]]:
    """Consecutive non-empty tenths: a line joins a run, never two tenths with an empty one between."""
    runs: list[list[Bin]] = [[]]
    for b in points:
        if b.count:
            runs[-1].append(b)
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def _tenth(b: Bin) -> str:
    return f"{b.low:.1f}-{b.high:.1f}"


def reliability_svg(series: Sequence[tuple[str, Sequence[Bin]]],
                    title: str = "Reliability, per tenth of P(positive)") -> str:
    """One plot of each ``(name, bins)`` (A, and B when a second model scored the file): mean P(positive)
    against the share truly positive per tenth, the diagonal as perfect calibration, and a caption that
    names the empty tenths and says it in words for a screen reader."""
    marks, legend, words = [], [], []
    for k, (name, points) in enumerate(series):
        kind, colour, dash = SERIES[k % len(SERIES)]
        label = html.escape(name)
        for run in _runs(points):
            if len(run) > 1:
                path = " ".join(f"{_x(b.mean):.1f},{_y(b.share):.1f}" for b in run)
                marks.append(f'<polyline class="sl-rel-{kind}" points="{path}" fill="none" stroke="{colour}" '
                             'stroke-width="2"'
                             + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
        for b in points:
            if b.count:
                marks.append(f'<circle class="sl-rel-point sl-rel-{kind}" data-series="{label}" cx="{_x(b.mean):.1f}" '
                             f'cy="{_y(b.share):.1f}" r="3.5" fill="{colour}"><title>{label}, P(positive) '
                             f'{_tenth(b)}: {b.count:,} reviews, mean {b.mean:.3f}, {b.share:.1%} positive</title>'
                             "</circle>")
        empty = [_tenth(b) for b in points if not b.count]
        held = sum(b.count for b in points)
        legend.append(f'<span class="sl-rel-key"><span class="sl-rel-swatch sl-rel-{kind}" style="background:{colour}">'
                      '</span>'
                      f"{label}</span>")
        if not held:
            words.append(f"{label}: no labelled review in the slice.")
        else:
            words.append(f"{label}: " + ("every tenth holds reviews." if not empty else
                                         f"empty (no point, no line): {', '.join(empty)}."))
    axes = [f'<line x1="{_x(0)}" y1="{_y(0)}" x2="{_x(1)}" y2="{_y(0)}" class="sl-rel-axis"/>',
            f'<line x1="{_x(0)}" y1="{_y(0)}" x2="{_x(0)}" y2="{_y(1)}" class="sl-rel-axis"/>',
            f'<line x1="{_x(0)}" y1="{_y(0)}" x2="{_x(1)}" y2="{_y(1)}" class="sl-rel-diagonal"/>']
    for t in (0, 0.5, 1):
        axes.append(f'<text x="{_x(t)}" y="{_y(0) + 14}" text-anchor="middle" class="sl-rel-tick">{t:g}</text>')
        axes.append(f'<text x="{_x(0) - 6}" y="{_y(t) + 4}" text-anchor="end" class="sl-rel-tick">{t:g}</text>')
    axes.append(f'<text x="{(_x(0) + _x(1)) / 2}" y="{H - 6}" text-anchor="middle" class="sl-rel-tick">'
                "mean P(positive)</text>")
    axes.append(f'<text transform="translate(12 {(_y(0) + _y(1)) / 2}) rotate(-90)" text-anchor="middle" '
                'class="sl-rel-tick">share positive</text>')
    said = html.escape(" ".join(words))
    return (f'<figure class="sl-rel"><figcaption class="sl-rel-title">{html.escape(title)}</figcaption>'
            f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{html.escape(title)}. {said}" '
            f'preserveAspectRatio="xMidYMid meet">{"".join(axes)}{"".join(marks)}</svg>'
            f'<p class="sl-rel-legend">{"".join(legend)}<span class="sl-rel-key"><span class="sl-rel-diag">'
            f"</span>perfectly calibrated</span></p><p class=\"sl-rel-empty\">{said}</p></figure>")
