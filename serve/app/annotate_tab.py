"""The Annotate tab: a model-in-the-loop labelling queue over ``AnnotationStore``.

Load reviews (upload, or ``--annotate PATH`` at launch), pick the queue order, and label
each review Positive / Negative / Skip (keys 1 / 2 / 3, Undo: u). The review is shown as
written (``serve.review_view``); the model's score and colours stay hidden until asked for, so
they do not anchor the annotator; words clicked or selected are the rationale (read from the
page by ``READ_RATIONALE`` just before a label is sent). The annotator is the logged-in user
when the app has logins, else the name typed in the tab, which the browser keeps.
"""

from __future__ import annotations

import html
import tempfile
import time
from typing import Literal, NamedTuple
from pathlib import Path

import gradio as gr

from explain.attribution import forward
from explain.running import running_score
from sentilens.codec import token_spans, tokenize
from sentilens.errors import InputError
from sentilens.labels import NEG, NONE, POS, VALUE_WORD, WORD
from sentilens.wording import count
from serve.store.annotations import LABELS, ORDERS, AnnotationStore, Item, source_id
from serve.app.review_view import asset, review_html
from serve.runtime import SentimentModel
from serve.app.api_docs import client_call, describe
from serve.app.ui_safety import info, md_literal, user_errors
from serve.app.uploads import UPLOAD_TYPES, uploaded
from serve.app.annotate_intake import load_reviews, parse_rationale
from serve.app.annotate_bulk import BulkPanel
from sentilens.names import person_name
from serve.app.tab import TabContext

__all__ = ["AnnotateTab", "HISTORY", "IN_VIEW", "NEED_NAME", "READ_RATIONALE", "REFRESH_SECONDS", "SETUP", "SHOW_MODEL",
           "Shown", "UNCHANGED", "fold"]


NEED_NAME = ("**Type your name in 'Annotator' to start labelling** (your labels are recorded under it); "
             "then press 'Next review' or Enter.")
# Before a label button runs: the words marked as rationale in the page (token indices) go into the
# hidden rationale box, the third input of the decision handlers.
READ_RATIONALE = asset("read_rationale.js")
HISTORY = 20  # decisions in the History list


class Shown(NamedTuple):
    """What showing an item fills, by name (the components ``render`` lists in this order)."""

    item_id: object
    page: object
    caption: object
    progress: object
    note: object
    history: object = gr.skip()  # the annotator's last decisions (a Radio's choices), when known


UNCHANGED = Shown(*[gr.skip()] * len(Shown._fields))
SHOW_MODEL = asset("show_model.js")  # "show the model": its hints appear with a class on the review
SETUP = "Set-up: reviews to annotate, queue order"
REFRESH_SECONDS = 5  # how often the progress line is read again while Annotate is in view
# Before the timer's refresh: the name when the progress line is on screen in a page in view, else null
# (the handler then does nothing).
IN_VIEW = ("(typed, shown) => [document.visibilityState === 'visible' && "
           "document.getElementById('ann-progress')?.offsetParent ? (typed ?? '') : null, shown]")


def fold(item: str, folded: bool):
    """The set-up (upload, queue order) folds away when the first review comes on screen, and opens
    when the queue is empty (to load more); in between, a person opens or closes it as they like."""
    if item and not folded:
        return gr.Accordion(open=False), True
    if not item and folded:
        return gr.Accordion(open=True), False
    return gr.skip(), gr.skip()




class AnnotateTab:
    title, id = "Annotate", "annotate"

    def __init__(self, model: SentimentModel, store: AnnotationStore, default_order: str = "uncertain",
                 export_dir: str | Path | None = None, address: str | None = None, guidelines: str | None = None,
                 learning=None):
        """``address``: the app's URL when known, for the API page's examples; ``guidelines``: Markdown
        from ``read_guidelines``, shown above the queue."""
        self.address = address
        self.guidelines = guidelines
        self.learning = learning  # a serve.learn_panel.LearnPanel: "Learn from these labels", or None
        self.model = model
        self.store = store
        self.default_order = default_order
        # Each export gets a fresh folder (under export_dir, else the system temp dir, which Gradio
        # serves) and a name with the time: no download overwrites another.
        self.export_dir = Path(export_dir) if export_dir else None

    # ---- handlers (plain functions of their inputs; InputError for anything the user can fix) ----
    def annotator(self, typed: str, request: gr.Request | None) -> str:
        """The login, else the typed name, in the one form the store keeps (``sentilens.names``): "Ana" and
        "ana" are one annotator, and an invisible or direction character is refused in one line."""
        user = getattr(request, "username", None) if request is not None else None
        if user:
            return person_name(user, "login name")
        if not (typed or "").strip():
            raise InputError("Type your name in 'Annotator' first, so that your labels are yours.")
        return person_name(typed, "annotator name")

    def known(self, typed: str, request: gr.Request | None) -> str | None:
        """The annotator when there is one yet, else None (for events that simply wait for a name)."""
        try:
            return self.annotator(typed, request)
        except InputError:
            return None

    def show(self, item: Item | None, note: str = "", selected: list[int] = (), who: str | None = None) -> Shown:
        """``item`` on screen, with ``selected`` words marked and ``note`` in the note box; the progress
        line counts ``who``'s own labels."""
        progress = self.progress_text(who)
        history = self.history(who)
        if item is None:
            return Shown("", "", "**Queue empty.** Load reviews above, or export what you have.", progress, "",
                         history)
        fwd = forward(self.model, item.text)
        a = running_score(self.model, fwd)
        given = VALUE_WORD.get(item.given_label, NONE)
        model_note = (f'<p class="sl-model-only">Model: <strong>{item.model_score:.1%} positive</strong>. '
                      f"Label in the file: {given}.</p>")
        review = review_html(item.text, fwd.enc, a.scores, a.space, mode="annotate", selected=selected,
                             maxlen=self.model.maxlen)
        # data-item: the review's key, for the drafts this browser keeps (assets/drafts.js)
        page = f'<div data-item="{html.escape(item.item_id, quote=True)}">{model_note}{review}</div>'
        caption = f"Item {md_literal(item.item_id)}: {count(len(fwd.enc.tokens), 'word')}."
        if item.extra:  # the file's other columns, as given
            caption += "  \n" + " · ".join(f"{md_literal(k)}: **{md_literal(v)}**" for k, v in item.extra)
        return Shown(item.item_id, page, caption, progress, note, history)

    def history(self, who: str | None):
        """The annotator's last decisions as the History list's choices (nothing chosen)."""
        if who is None:
            return gr.skip()
        choices = [(f"{WORD[label].capitalize()}: {source_id(item.item_id)} - "
                    f"{' '.join(item.text.split()[:8])}", item.item_id)
                   for item, label, _, _ in self.store.recent(who, HISTORY)]
        return gr.update(choices=choices, value=None)

    def revisit(self, chosen: str | None, typed: str, request: gr.Request):
        """A review from the History list back on screen with the label, note and words given before; a new
        label supersedes that decision (which stays in the history). The review that was on screen
        goes back to the queue."""
        who = self.annotator(typed, request)
        if not chosen:
            return UNCHANGED
        found = next(((item, label, note, tokens) for item, label, note, tokens in self.store.recent(who, HISTORY)
                      if item.item_id == chosen), None)
        if found is None:
            raise InputError("That decision is no longer among your last ones; label it from the queue.")
        item, label, note, tokens = found
        self.store.release(who)
        shown = self.show(item, note, tokens, who=who)
        return shown._replace(caption=f"{shown.caption}\n\n**Revisiting** your {WORD[label]} label: a new label "
                                      "replaces it (the old one is kept in the history).", history=gr.skip())

    def next(self, order: str, typed: str, current: str, passed: list[str] | None, request: gr.Request):
        """'Next review': the next item, passing over the one on screen and every one passed before in
        this page (they stay in the queue and come back once nothing else is left). Returns what
        ``show`` does, then the passed items."""
        who = self.annotator(typed, request)
        passed = [*(passed or []), current] if current else list(passed or [])
        if current:
            self.store.release(who)
        item = self.store.next_item(who, order, exclude=passed)
        if item is not None and item.item_id in passed:  # everything else is done: start the round again
            passed = []
        return (*self.show(item, who=who), passed[-1000:])

    def reorder(self, order: str, typed: str, request: gr.Request):
        """A new queue order applies at once: the leased item goes back and the queue is asked again."""
        who = self.known(typed, request)
        if who is None:
            return UNCHANGED
        self.store.release(who)
        return self.show(self.store.next_item(who, order), who=who)

    def start(self, order: str, typed: str, current: str, request: gr.Request):
        """Once a name is given and nothing is on screen: the first item (the one leased to this
        name before a reload comes back first)."""
        who = self.known(typed, request)
        if who is None or current:
            return UNCHANGED
        return self.show(self.store.next_item(who, order), who=who)

    def gate(self, typed: str, request: gr.Request):
        """Buttons work once the annotator is known; the page says so until then."""
        logged_in = getattr(request, "username", None)
        ready = bool(logged_in or (typed or "").strip())
        hint = f"Labelling as **{md_literal(logged_in)}**." if logged_in else "" if ready else NEED_NAME
        buttons = [gr.update(interactive=ready)] * 5
        return (gr.update(value=hint, visible=bool(hint)), gr.update(visible=not logged_in), *buttons)

    def decide(self, label: str, item_id: str, note: str, rationale: str, order: str, typed: str,
               request: gr.Request, passed: list[str] | None = None):
        """Store the label; the next review comes from the queue, passing over what 'Next' passed in
        this page (those come back once nothing else is left)."""
        who = self.annotator(typed, request)
        if not item_id:
            raise InputError("There is no review on screen to label; press 'Next review'.")
        text = self.store.item_text(item_id)
        if text is None:
            raise InputError("That review is no longer in the queue; press 'Next review'.")
        tokens = tokenize(text)  # the codec's words: what the page numbered
        picked = parse_rationale(rationale, len(tokens))
        spans = token_spans(text, tokens)  # the words as written ("Loved", not "loved"), when they can be found
        words = [text[slice(*spans[i])] if spans else tokens[i] for i in picked]
        self.store.decide(item_id, label, who, self.model.sha256, note=(note or "")[:2000],
                          rationale=words, rationale_tokens=picked)
        if self.learning is not None:
            self.learning.after_label()
        return self.show(self.store.next_item(who, order, exclude=[p for p in passed or [] if p != item_id]), who=who)

    def decider(self, label: str):
        """A handler for one label's button (Gradio reads the signature to pass the request)."""

        def handler(item_id: str, note: str, rationale: str, order: str, typed: str, passed: list[str] | None,
                    request: gr.Request):
            return self.decide(label, item_id, note, rationale, order, typed, request, passed)

        handler.__name__ = f"decide_{label}"
        return handler

    def undo(self, order: str, typed: str, request: gr.Request):
        """Take back the last decision and show its review again with the note and rationale entered:
        the review the store undid, as it returned it (asking the queue after would race with another
        session of the same annotator pressing Undo too)."""
        who = self.annotator(typed, request)
        undone = self.store.undo(who)
        if undone is None:
            info("Nothing to undo.")
            return self.show(self.store.next_item(who, order), who=who)
        if undone.together > 1:  # a bulk label ("Find and label many") goes back as one action
            info(f"Undone: the {count(undone.together, 'review')} you labelled {WORD[undone.label]} together; "
                 "they are back in your queue.")
        else:
            info(f"Undone: your {WORD[undone.label]} label; the review is back with your note and rationale.")
        return self.show(undone.item, undone.note, undone.rationale_tokens, who=who)

    def upload(self, file, order: str, typed: str, current: str, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        report = load_reviews(self.store, self.model, uploaded(file), progress=progress)
        info(report)
        shown = self.start(order, typed, current, request)  # loading never depends on the name
        return (md_literal(report), *shown._replace(progress=self.progress_text(self.known(typed, request))))

    def export(self, fmt: str):
        if fmt not in ("csv", "jsonl"):
            raise InputError("Choose csv or jsonl.")
        if self.export_dir is not None:
            self.export_dir.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="sentilens-export-", dir=self.export_dir))
        out = folder / f"annotations-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.{fmt}"
        labelled, skipped = self.store.export(out)
        if labelled + skipped == 0:
            out.unlink()
            folder.rmdir()
            raise InputError("Nothing labelled or skipped yet to export.")
        info(f"Exported {count(labelled, 'labelled review')} and {count(skipped, 'skipped review')}.")
        return str(out)

    def progress_text(self, who: str | None = None) -> str:
        """The queue's progress (a bar and done / left) and, once the annotator is known, their own
        counts: nobody sees another's labels as theirs."""
        p = self.store.progress(who)
        share = lambda a: "n/a" if a is None else f"{a:.0%}"  # noqa: E731
        left = p["total"] - p["done"]
        text = (f'<progress value="{p["done"]}" max="{max(p["total"], 1)}" aria-label="Reviews done in this queue">'
                f'</progress> Done **{p["done"]:,} / {p["total"]:,}**, {left:,} left'
                + (f' (a review is done at {self.store.overlap} labels)' if self.store.overlap > 1 else "")
                + f' (everyone: '
                f'{p["labelled"]:,} labelled, {p["skipped"]:,} skipped; agreement with the model: '
                f'**{share(p["agreement"])}**).')
        if who is None:
            return text + " Type your name to see your own counts."
        m = p["mine"]
        if "left_for_me" in p:
            text += f" **{p['left_for_me']:,} left for you.**"
        return (text + f"  \nYou ({md_literal(who)}): **{m[POS]:,} positive, {m[NEG]:,} negative, "
                f"{m['skipped']:,} skipped**; {m['last_hour']:,} in the last hour; your labels agree with the "
                f"model on **{share(m['agreement'])}**.")

    def refresh(self, typed: str | None, shown: str, request: gr.Request):
        """The progress line again (the timer's tick, while Annotate is open and in view): others' labels
        count too. Nothing is sent when it has not changed, or when the page is not in view (``typed`` is
        None then: ``IN_VIEW``)."""
        if typed is None:
            return gr.skip()
        text = self.progress_text(self.known(typed, request))
        return gr.skip() if text == shown else text

    # ---- layout -----------------------------------------------------------------------------
    def browser_state(self) -> tuple[gr.BrowserState, gr.BrowserState]:
        """The annotator's name and queue order, kept in this browser. Create them outside the tabs: a
        tab's content mounts only when first opened, too late for the page-load event that reads them."""
        return (gr.BrowserState("", storage_key="sentilens-annotator"),
                gr.BrowserState(self.default_order, storage_key="sentilens-order"))

    def render(self, context: TabContext) -> None:
        app, (saved_name, saved_order) = context.app, context.saved
        if self.guidelines:
            with gr.Accordion("Guidelines", open=True, elem_id="ann-guidelines-box"):
                gr.Markdown(self.guidelines, elem_id="ann-guidelines")
        # The set-up folds away once a review is on screen (``fold``), so the review starts high on the
        # page; the name stays in view (the labels are recorded under it).
        with gr.Accordion(SETUP, open=True, elem_id="ann-setup") as setup:
            with gr.Row():
                upload = gr.File(label="Reviews to annotate (CSV, JSONL, TXT, aclImdb .tar.gz)",
                                 file_types=UPLOAD_TYPES, scale=2, elem_id="ann-upload", height=150)
                with gr.Column(scale=2):
                    order = gr.Radio(choices=[(v, k) for k, v in ORDERS.items()], value=self.default_order,
                                     label="Queue order", elem_id="ann-order")
                    load_status = gr.Markdown(elem_id="ann-load-status")
        with gr.Row(elem_id="ann-who", equal_height=True):
            typed = gr.Textbox(label="Annotator (your name)", value="", elem_id="ann-name", max_length=64, scale=1)
            show_model = gr.Checkbox(label="Show the model's score and word colours (hidden so they do not steer you)",
                                     value=False, elem_id="ann-show-model", scale=2)
        progress = gr.Markdown(self.progress_text(), elem_id="ann-progress")
        hint = gr.Markdown(NEED_NAME, elem_id="ann-hint")
        info_box = gr.Markdown(elem_id="ann-info")
        text = gr.HTML("", elem_id="ann-text", js_on_load=asset("review.js"), padding=True)
        item_id = gr.Textbox(visible=False, elem_id="ann-item")
        rationale = gr.Textbox(visible=False, elem_id="ann-rationale")
        with gr.Row(elem_id="ann-actions"):  # fixed at the bottom of a phone's screen (review.css)
            pos = gr.Button("Positive (1)", elem_id="ann-pos", interactive=False)
            neg = gr.Button("Negative (2)", elem_id="ann-neg", interactive=False)
            skip = gr.Button("Skip (3)", elem_id="ann-skip", interactive=False)
            undo = gr.Button("Undo (u)", elem_id="ann-undo", interactive=False)
            nxt = gr.Button("Next review (n)", elem_id="ann-next", interactive=False)
        note = gr.Textbox(label="Note (optional)", elem_id="ann-note", max_length=2000)
        with gr.Row():
            export_fmt = gr.Radio(choices=["csv", "jsonl"], value="csv", label="Export format")
            export_btn = gr.Button("Export labels", elem_id="ann-export")
            export_file = gr.File(label="Export (download)", interactive=False, elem_id="ann-export-file",
                                  visible=False)
        with gr.Accordion("History: your last decisions (choose one to revisit and amend it)", open=False,
                          elem_id="ann-history-box"):
            history = gr.Radio(choices=[], value=None, label="Your last decisions, newest first", elem_id="ann-history")
        BulkPanel(self.model, self.store, self.annotator).render(typed, item_id, context.shared.get("sent"))
        if self.learning is not None:
            self.learning.render(app)
        gr.HTML('<div class="sl-bar-space" aria-hidden="true"></div>', padding=False)  # room under the label bar
        folded = gr.State(False)  # this page folded the set-up away (a person may open it again)
        ticker = gr.Timer(REFRESH_SECONDS, active=False)  # others' labels reach the progress line
        shown = list(Shown(item_id, text, info_box, progress, note, history))  # what `show` fills, in its order
        private = {"api_visibility": "private"}
        gated = [hint, typed, pos, neg, skip, undo, nxt]
        passed = gr.State([])  # reviews this page passed over with 'Next'
        nxt.click(user_errors(self.next), [order, typed, item_id, passed], [*shown, passed], **private)
        order.input(user_errors(self.reorder), [order, typed], shown, **private)  # a person's choice, not a restore
        order.change(lambda chosen: chosen, [order], [saved_order], show_progress="hidden", **private)
        for button, label in zip((pos, neg, skip), LABELS):
            button.click(user_errors(self.decider(label)), [item_id, note, rationale, order, typed, passed], shown,
                         js=READ_RATIONALE, **private)
        undo.click(user_errors(self.undo), [order, typed], shown, **private)
        history.input(user_errors(self.revisit), [history, typed], shown, **private)
        upload.upload(user_errors(self.upload), [upload, order, typed, item_id], [load_status, *shown], **private)
        export_btn.click(user_errors(lambda fmt: gr.update(value=self.export(fmt), visible=True)), [export_fmt],
                         [export_file], **private)
        show_model.change(None, [show_model], None, js=SHOW_MODEL, **private)
        # The name: remembered in this browser, checked on every change, and the first item once given.
        quiet = {"show_progress": "hidden", **private}  # no overlay that would catch a click on the review
        typed.change(lambda name: name, [typed], [saved_name], **quiet)
        typed.change(self.gate, [typed], gated, **quiet)
        for done in (typed.submit, typed.blur):
            done(user_errors(self.start), [order, typed, item_id], shown, **quiet)

        def restore(name: str, chosen: str, request: gr.Request):
            """On page load: the saved name and queue order, and the item leased to the name (so a reload
            loses nothing; the note and marked words come back from the browser, assets/drafts.js)."""
            name = (name or "")[:64]
            chosen = chosen if chosen in ORDERS else self.default_order
            who = self.known(name, request)
            item = self.store.next_item(who, chosen) if who else None
            shown_now = self.show(item, who=who) if item is not None else Shown("", "", "", self.progress_text(who), "", self.history(who))
            return (name, chosen, *shown_now, *self.gate(name, request))

        app.load(user_errors(restore), [saved_name, saved_order], [typed, order, *shown, *gated], **private)
        item_id.change(fold, [item_id, folded], [setup, folded], **quiet)
        # the progress line follows everyone's labels while this tab is open and the page is in view
        def ticking(evt: gr.SelectData):  # a tab opened by a person
            return gr.Timer(active=evt.value == self.title)

        def ticking_at_load(request: gr.Request):  # a tab opened by the page's address (blocks.open_named_tab)
            return gr.Timer(active=request.query_params.get("tab") == self.id)

        context.tabs.select(ticking, None, ticker, **quiet)
        app.load(ticking_at_load, None, ticker, **quiet)
        ticker.tick(self.refresh, [typed, progress], progress, js=IN_VIEW, trigger_mode="once", **quiet)
        self.api()
        if self.learning is not None:
            self.learning.api(self.address)

    def api_annotator(self, given: str, request: gr.Request | None) -> str:
        """The API's annotator: the logged-in user behind a login, else the name given, which is required
        (labels are counted, leased and agreed per name: 'anonymous' scripts would share one lease)."""
        user = getattr(request, "username", None) if request is not None else None
        if user:
            return user
        if not (given or "").strip():
            raise InputError("annotator is required: the name the labels are recorded under "
                             "(behind a login, the logged-in user is used instead).")
        return given  # the store puts it in its normal form or refuses it in one line (sentilens.names)

    def api(self) -> None:
        """/next_item and /annotate: scripted annotation (behind a login the annotator is the logged-in user)."""
        def next_item(annotator: str, order: str = "uncertain", request: gr.Request = None) -> dict:
            """The next review to label for this annotator (leased to them for a few minutes), or {} when done."""
            if order not in ORDERS:
                raise InputError(f"order must be one of {', '.join(ORDERS)}")
            item = self.store.next_item(self.api_annotator(annotator, request), order)
            return {} if item is None else {"item_id": item.item_id, "text": item.text,
                                             "model_score": item.model_score, "given_label": item.given_label}

        def annotate(item_id: str, label: str, annotator: str, note: str = "", request: gr.Request = None) -> int:
            """Record a label (pos, neg or skip) for an item; returns the decision id once it is stored."""
            if label not in LABELS:
                raise InputError(f"label must be one of {', '.join(LABELS)}")
            try:
                return self.store.decide(item_id, label, self.api_annotator(annotator, request), self.model.sha256,
                                         note=(note or "")[:2000])
            except KeyError:
                raise InputError(f"no item {str(item_id)[:200]!r} in the queue") from None

        # typed choices: the API page and the client list the allowed values
        next_item.__annotations__ |= {"annotator": str, "order": Literal[tuple(ORDERS)], "return": dict}
        annotate.__annotations__ |= {"item_id": str, "label": Literal[LABELS], "annotator": str, "note": str,
                                     "return": int}
        who = ("required: who is labelling, the name (up to 64 characters) the labels are recorded, leased and "
               "counted under; behind a login the logged-in user is used instead, whatever is given")
        describe(gr.api(user_errors(next_item), api_name="next_item", api_description=(
                     "The next review to label, leased to this annotator for a few minutes. Example: "
                     + client_call(self.address, "ana", "uncertain", api_name="/next_item"))),
                 [who, "the queue order: " + "; ".join(f"'{o}' = {what}" for o, what in ORDERS.items())],
                 ["a dict: item_id (pass it to /annotate), text (the review as written), model_score "
                  "(P(positive) from the served model), given_label (the file's own label, or null); {} when "
                  "nothing is left for this annotator"])
        describe(gr.api(user_errors(annotate), api_name="annotate", api_description=(
                     "Record a label for an item from /next_item; a later label supersedes it. Example: "
                     + client_call(self.address, "ITEM_ID", POS, "ana", api_name="/annotate"))),
                 ["the item_id /next_item gave", f"{', '.join(map(repr, LABELS[:-1]))} or {LABELS[-1]!r}", who,
                  "a free note (up to 2,000 characters)"],
                 ["the decision's id (an integer) once it is stored; an item leased to another annotator is "
                  "refused"])
