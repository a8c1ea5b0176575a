"""Annotate's "Find and label many": search the queue, select reviews, label them in one action.

As Argilla and Prodigy let a team work at scale: look in the whole queue, among the reviews the model
treats most like the one on screen (``explain.representation``, the same space as the Data tab's map
and "more like this"), or among the reviews sent from the Data tab (a slice or a map selection);
filter by words, a column of the file and a range of the model's score; tick reviews (or all) and
label them positive or negative at once. Each becomes its own decision marked as bulk
(``serve.store.bulk``), and Annotate's Undo takes the whole action back as one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import gradio as gr

from explain.representation import ReviewIndex
from sentilens.errors import InputError
from sentilens.labels import DECIDED, VALUE_WORD, WORD
from sentilens.wording import count
from serve.app.annotate_intake import item_key, unqueueable
from serve.app.data_slices import number_text, plain_text
from serve.app.tab import EXPLAIN_QUEUE, PRIVATE
from serve.app.ui_safety import info, user_errors
from serve.runtime import SentimentModel
from serve.store.annotations import AnnotationStore
from serve.store.bulk import MOST, Query, find, label_many

__all__ = ["BulkPanel", "LIKE", "PLACES", "choice_of"]

PLACES = {"queue": "the whole queue", "like": "reviews like the one on screen", "sent": "reviews sent from the Data tab"}
LIKE = 200  # reviews "like the one on screen" looked among (the nearest first)
SHOWN = 500  # rows a search lists


class BulkPanel:
    """The accordion, and its handlers (plain functions of their inputs; InputError for what a person can fix)."""

    def __init__(self, model: SentimentModel, store: AnnotationStore, who: Callable[[str, gr.Request | None], str]):
        self.model, self.store, self.who = model, store, who
        self._index: tuple[int, ReviewIndex, list[str]] | None = None  # (items when built, index, item ids)
        self._lock = threading.Lock()

    # ---- handlers ------------------------------------------------------------------------
    def like(self, item_id: str | None) -> list[str]:
        """The ids of the queue's reviews nearest to ``item_id``'s, nearest first (the index is rebuilt when
        the queue grew)."""
        text = self.store.item_text(item_id) if item_id else None
        if text is None:
            raise InputError("Put a review on screen first (Start or Next): the search looks for reviews like it.")
        ids, texts = self.store.all_texts()
        with self._lock:
            if self._index is None or self._index[0] != len(ids):
                self._index = (len(ids), ReviewIndex(self.model, texts), ids)
            _, index, known = self._index
        return [known[r["row"]] for r in index.like_text(text, k=min(LIKE, max(len(known) - 1, 1)))]

    def receive(self, sent: dict | None, typed: str, request: gr.Request):
        """A slice sent from the Data tab (``DataTab.send``): its reviews join the queue under the ids an upload
        of the file here would give them (ones already there kept as they are), then are listed here to label.
        (the accordion opened, "Look in" set, the table, its ids, the status, the sent ids)."""
        if not sent:
            return (gr.skip(),) * 6
        seen: set[str] = set()
        items = [(f"{sent['source']}#{item_key(review_id, seen, [])}", text, label, p, extra)  # as an upload's
                 for review_id, text, label, p, extra in sent["rows"] if not unqueueable(text)]
        added = self.store.add_items(items)
        ids = [item[0] for item in items]
        said = (f"From the Data tab: {count(len(ids), 'review')} of the slice's {sent['of']:,} "
                f"({added:,} new in the queue).")
        try:
            table, found, status = self.search("sent", "", "", "", 0.0, 1.0, "", ids, typed, request)
        except InputError as err:  # no name yet: the reviews are queued all the same
            return gr.update(open=True), "sent", gr.skip(), gr.skip(), f"{said} {err}", ids
        return gr.update(open=True), "sent", table, found, f"{said} {status}", ids

    def search(self, place: str, words: str, column: str, value: str, low: float, high: float, item_id: str,
               sent: list[str] | None, typed: str, request: gr.Request):
        """(the matching reviews as ticks to choose from, their ids, a status line)."""
        who = self.who(typed, request)
        ids = None
        if place == "like":
            ids = self.like(item_id)
        elif place == "sent":
            if not sent:
                raise InputError("Nothing was sent from the Data tab yet: choose a slice there and press "
                                 "'Send to Annotate'.")
            ids = list(sent)
        found = find(self.store, who, Query(words=words or "", column=(column or "").strip(), value=(value or "").strip(),
                                            score=(float(low or 0.0), float(high if high is not None else 1.0)),
                                            ids=ids), most=SHOWN)
        status = (f"{count(len(found), 'review')} open to you in {PLACES[place]}"
                  + (f" (the first {SHOWN})" if len(found) == SHOWN else "")
                  + (": tick the ones to label, or 'Select all'." if found else "."))
        return _ticks([(choice_of(item), item.item_id) for item in found]), [i.item_id for i in found], status

    def label(self, label: str):
        def handler(chosen: list[str] | None, ids: list[str] | None, typed: str, request: gr.Request):
            who = self.who(typed, request)
            chosen = [item_id for item_id in ids or [] if item_id in set(chosen or [])]
            if not chosen:
                raise InputError("Tick the reviews to label first (or 'Select all').")
            done = label_many(self.store, chosen, label, who, self.model.sha256)
            status = (f"Labelled {count(len(done.labelled), 'review')} {WORD[label]} in one action "
                      "(Undo takes them all back)")
            if done.passed:
                status += f"; {count(len(done.passed), 'review')} passed over, no longer open to you"
            info(status + ".")
            gone = set(done.labelled) | {item_id for item_id, _ in done.passed}
            left = [i for i in ids or [] if i not in gone]
            return self._listed(left), left, status + "."

        handler.__name__ = f"bulk_{label}"
        return handler

    def _listed(self, ids: list[str]):
        """The ticks for ``ids`` as the store has them now (none ticked)."""
        items = [self.store.item(i) for i in ids]
        return _ticks([(choice_of(item), item.item_id) for item in items if item is not None])

    @staticmethod
    def select_all(ids: list[str] | None) -> list[str]:
        return list(ids or [])

    # ---- layout ------------------------------------------------------------------------------
    def render(self, typed: gr.Textbox, item_id: gr.Textbox, sent: gr.State | None) -> None:
        """The accordion, wired to Annotate's name box and the review on screen; ``sent``: the Data tab's
        slice sent here (``DataTab.send``), when the page can send one."""
        places = [(v, k) for k, v in PLACES.items() if k != "sent" or sent is not None]
        with gr.Accordion("Find and label many at once", open=False, elem_id="bulk-box") as box:
            with gr.Row():
                place = gr.Radio(choices=places, value="queue", label="Look in", elem_id="bulk-place", scale=2)
                words = gr.Textbox(label="Words the review contains", max_length=400, elem_id="bulk-words", scale=2)
            with gr.Row():
                column = gr.Textbox(label="A column of the file", max_length=200, elem_id="bulk-column")
                value = gr.Textbox(label="... equal to", max_length=400, elem_id="bulk-value")
                low = gr.Slider(0, 1, value=0, step=0.01, label="Model's P(positive) from", elem_id="bulk-low")
                high = gr.Slider(0, 1, value=1, step=0.01, label="to", elem_id="bulk-high")
            search = gr.Button("Find", elem_id="bulk-find")
            status = gr.Markdown(elem_id="bulk-status")
            table = gr.CheckboxGroup(choices=[], value=[], visible=False, elem_id="bulk-table",
                                     label=f"Reviews found: id, the model's P(positive), the file's label, the start "
                                           f"(tick to select; at most {MOST:,} per action)")
            with gr.Row():
                every = gr.Button("Select all", size="sm", elem_id="bulk-all")
                pos = gr.Button("Label the selected positive", elem_id="bulk-pos")
                neg = gr.Button("Label the selected negative", elem_id="bulk-neg")
        found = gr.State([])
        sent_ids = gr.State([])  # the queue ids of the reviews the Data tab sent
        inputs = [place, words, column, value, low, high, item_id, sent_ids, typed]
        if sent is not None:
            sent.change(user_errors(self.receive), [sent, typed], [box, place, table, found, status, sent_ids],
                        **PRIVATE)
        for event in (search.click, words.submit):
            event(user_errors(self.search), inputs, [table, found, status], **EXPLAIN_QUEUE, **PRIVATE)
        every.click(self.select_all, [found], [table], **PRIVATE)
        for button, label in zip((pos, neg), DECIDED):
            button.click(user_errors(self.label(label)), [table, found, typed], [table, found, status], **PRIVATE)


def choice_of(item) -> str:
    """A found review as its tick reads: its id, the model's P(positive), the file's label, its start."""
    return (f"{item.item_id.rsplit('#', 1)[-1][:40]} · P(positive) {number_text(item.model_score, 2)} · file: "
            f"{VALUE_WORD.get(item.given_label, 'no label')} · {plain_text(item.text, 160)}")


def _ticks(choices: list[tuple[str, str]]):
    return gr.update(choices=choices, value=[], visible=bool(choices))
