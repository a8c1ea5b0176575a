"""Counterfactuals over a slice of the Data tab, as LIT runs its generators over a selection.

Each chosen generator (``explain.counterfactuals``: negate, opposite, drop) edits every review of the
slice at its strongest word; the edits join a table of their own with the score before and after, and
the share of each generator's edits that flipped the verdict becomes a metric of the slice (how much
its verdicts hang on one word). A slice larger than ``MOST`` is sampled evenly, and the summary says so.
No Gradio here: the tab (``data_tab``) shows what these return.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from explain.counterfactuals import GENERATORS, flipped_share, generate
from sentilens.errors import InputError
from sentilens.wording import count
from serve.app.data_slices import number_text, plain_text
from serve.runtime import SentimentModel

__all__ = ["COLUMNS", "MOST", "counterfactual_table"]

MOST = 2000  # reviews edited per run: about a second each thousand with the running score
COLUMNS = ["row", "generator", "edited word", "P(positive) before", "after", "change", "flipped", "edited review"]


def counterfactual_table(model: SentimentModel, part, generators: Sequence[str],
                         progress: Callable[[int, int], None] | None = None) -> tuple[str, list[list]]:
    """(a summary with the flipped share per generator, the table's rows) for the slice ``part`` (the Data
    tab's frame: ``row``, ``text``)."""
    generators = [g for g in GENERATORS if g in set(generators or ())]
    if not generators:
        raise InputError("Choose at least one generator: " + ", ".join(GENERATORS) + ".")
    texted = part[part["text"].notna()] if "text" in part else part.iloc[0:0]
    if not len(texted):
        raise InputError("This slice has no review text to edit (a serve.batch output without the file it scored).")
    sampled = len(texted) > MOST
    if sampled:
        texted = texted.iloc[np.linspace(0, len(texted) - 1, MOST).round().astype(int)]
    rows = texted["row"].tolist() if "row" in texted else list(range(len(texted)))
    edits = generate(model, texted["text"].astype(str).tolist(), generators, progress=progress)
    share = flipped_share(edits)
    made = {g: sum(e.generator == g for e in edits) for g in generators}
    parts = [f"**{g}** flipped {share[g]:.1%} of {count(made[g], 'edit')}" if made[g] else f"**{g}**: no edit"
             for g in generators]
    summary = (f"Counterfactuals of {count(len(texted), 'review')}"
               + (f" (an even sample of the slice's {len(part):,})" if sampled else "")
               + ": " + "; ".join(parts) + ". The share flipped is how much this slice's verdicts hang on one word.")
    table = [[rows[e.index], e.generator, e.word, number_text(e.before), number_text(e.after),
              f"{(e.after - e.before) * 100:+.1f} points", "yes" if e.flipped else "no", plain_text(e.text)]
             for e in sorted(edits, key=lambda e: -abs(e.after - e.before))]
    return summary, table
