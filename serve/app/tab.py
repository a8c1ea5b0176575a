"""The tab contract: every tab is an object with a ``title``, an ``id`` and ``render(context)``, built
inside its ``gr.Tab`` by serve.app.blocks in the order of the page. A tab's handlers return named outputs
(a dict by component, or a dataclass of them such as ``AnalyzeOutputs``), and its computations that
need no Gradio live in modules of their own (``analysis``, ``model_card``, ``agreement``, the Data
tab's slices), tested without a browser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import gradio as gr

__all__ = ["EXPLAIN_QUEUE", "PRIVATE", "Tab", "TabContext", "frame"]

# Explanations cost up to ~100x a prediction: they share a small queue of their own, so a burst
# of them (or of huge reviews) waits there and never holds up /predict's workers.
EXPLAIN_QUEUE = {"concurrency_id": "explain", "concurrency_limit": 2}
PRIVATE = {"api_visibility": "private"}  # an event of the page, not an endpoint of the API


@dataclass
class TabContext:
    """What a tab may use besides its own state: the app (page-load events), the tab strip (to open
    another tab), its own ``gr.Tab`` (select events), the components other tabs offer by name
    (``shared["review"]``: Analyze's review box, where the Data tab opens a row) and what this browser
    keeps (``saved``: the annotator's name and queue order)."""

    app: gr.Blocks
    tabs: gr.Tabs
    tab: gr.Tab | None = None
    shared: dict[str, gr.components.Component] = field(default_factory=dict)
    saved: tuple | None = None


class Tab(Protocol):
    title: str
    id: str

    def render(self, context: TabContext) -> None: ...


def frame(columns: list[str], rows: list[list]):
    """Plots take a pandas DataFrame (pandas comes with gradio)."""
    import pandas as pd

    return pd.DataFrame(rows, columns=columns)
