"""The Team tab: how much the annotators agree, and a lead's review of the reviews they disagree on.

Agreement is chance-corrected (``serve.agreement``): Krippendorff's alpha over everyone, Cohen's
kappa per pair, and per annotator how often they match the others on shared reviews. A lead
opens a disputed review beside the votes and the model's view (words coloured by the running
score) and records the label that settles it (``AnnotationStore.decide(adjudicated=True)``):
exports then carry every vote and the adjudicated label.

Who may settle: with logins, only a lead's login (``--leads`` or a ``lead NAME`` line in the logins
file); without logins (one trusted machine), the name typed as the lead. Either way the store refuses a
lead who voted on the review, and names are compared in one normal form (``sentilens.names``). Names
stored before that rule are shown with their invisible characters made visible (``shown_name``).
"""

from __future__ import annotations

import gradio as gr

from sentilens.errors import InputError
from sentilens.labels import DECIDED, DONE, NONE, STORED, VALUE_WORD
from explain.methods import shown_first
from sentilens.names import person_name, shown_name
from sentilens.wording import count
from serve.store.agreement import team_agreement
from serve.store.annotations import AnnotationStore
from serve.app.analysis import explain
from serve.app.review_view import asset, explained_html
from serve.runtime import SentimentModel
from serve.app.ui_safety import info, md_literal, user_errors, warn
from serve.app.tab import TabContext

__all__ = ["PAIR_COLUMNS", "PEOPLE_COLUMNS", "TeamTab"]

PAIR_COLUMNS = ["Annotator A", "Annotator B", "Reviews both labelled", "Cohen's kappa"]
PEOPLE_COLUMNS = ["Annotator", "Votes", "Positive", "Negative", "Skipped", "Matches the others", "Compared"]


def _number(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


class TeamTab:
    title, id = "Team", "team"

    def __init__(self, model: SentimentModel, store: AnnotationStore, learning=None,
                 leads: frozenset[str] | None = None):
        """``learning``: Annotate's ``serve.learn_panel.LearnPanel``, offered to a lead here too (or None).
        ``leads``: the logins that may settle disputes (default: the learning panel's, which the app's
        ``--leads`` and logins file give)."""
        self.learning = learning
        self.model = model
        self.store = store
        self.leads = frozenset(leads if leads is not None else getattr(learning, "leads", frozenset()))

    def lead(self, typed: str, request: gr.Request | None) -> str:
        """Who settles: a lead's login, or without logins the name typed (in its normal form); InputError
        (one line) for anyone else."""
        user = getattr(request, "username", None) if request is not None else None
        if user:
            if person_name(user, "login name") in self.leads:
                return user
            if not self.leads:
                raise InputError("No lead is named, so nobody settles disputes: start the app with --leads NAME "
                                 "or a 'lead NAME' line in the logins file.")
            raise InputError("Only a lead settles disputes; ask one of: " + ", ".join(sorted(self.leads)) + ".")
        return person_name(typed, "lead's name")

    def who(self, request: gr.Request | None):
        """The line above the buttons and the lead box: who settles here (the box only without logins)."""
        user = getattr(request, "username", None) if request is not None else None
        if not user:
            return "", gr.update(visible=True)
        text = (f"Settling as **{md_literal(user)}**, a lead." if user in self.leads else
                "Only a lead settles disputes: " + (", ".join(md_literal(n) for n in sorted(self.leads)) + "."
                                                   if self.leads else "none is named (--leads)."))
        return text, gr.update(visible=False)

    # ---- handlers --------------------------------------------------------------------------
    def summary(self):
        """The agreement text and tables, and the disputed reviews to choose from."""
        t = team_agreement(self.store.votes())
        disputes = self.store.disagreements()
        text = (f"Overlap: each review goes to up to **{self.store.overlap}** annotators. "
                if self.store.overlap > 1 else
                "No overlap: each review goes to one annotator (start the app with `--overlap 2` to have reviews "
                "labelled twice and measure agreement; a review labelled again by someone else counts too). ")
        text += (f"Krippendorff's alpha (nominal, everyone): **{_number(t['alpha'])}** over "
                 f"{count(t['reviews'], 'review')} with two or more labels. {count(len(disputes), 'review')} to settle.")
        if t["alpha"] is None:
            text += " (Alpha needs reviews labelled by two annotators, with both labels in use.)"
        pairs = [[shown_name(p["a"]), shown_name(p["b"]), p["reviews"], _number(p["kappa"])] for p in t["pairs"]]
        people = [[shown_name(p["annotator"]), p["votes"], *(p[label] for label in STORED),
                   "n/a" if p["agreement"] is None else f"{p['agreement']:.0%}", p["compared"]] for p in t["annotators"]]
        choices = [(f"{item.item_id} ({', '.join(f'{shown_name(w)}: {DONE[v]}' for w, v in votes.items())})",
                    item.item_id)
                   for item, votes in disputes]
        return (text, gr.update(value=pairs, visible=bool(pairs)), gr.update(value=people, visible=bool(people)),
                gr.update(choices=choices, value=None), "", "")

    def open(self, item_id: str | None):
        """A disputed review: the votes, and the review coloured by the model's running score."""
        if not item_id:
            return "", ""
        item = self.store.item(item_id)
        if item is None:
            raise InputError("That review is no longer in the queue; refresh the list.")
        votes = self.store.votes().get(item_id, {})
        given = VALUE_WORD.get(item.given_label, NONE)
        lines = [f"**Votes on {md_literal(item_id)}**", ""] + [
            f"- {md_literal(shown_name(who))}: **{DONE[label]}**" for who, label in votes.items()]
        lines += ["", f"Label in the file: {given}. The model: {item.model_score:.1%} positive."]
        first = shown_first(self.model.methods)  # as Analyze shows it
        return "\n".join(lines), explained_html(explain(self.model, item.text, first), first)

    def settle(self, label: str):
        def handler(item_id: str | None, lead: str, request: gr.Request):
            logged_in = getattr(request, "username", None) if request is not None else None
            problem = ("Choose a review to settle first." if not item_id else
                       "Type your name as the lead first: the settled label is recorded under it."
                       if not logged_in and not (lead or "").strip() else None)
            if problem:
                warn(problem)
                return (gr.skip(),) * 6
            who = self.lead(lead, request)  # a lead's login, or the typed name in normal form; else one line
            try:
                self.store.decide(item_id, label, who, self.model.sha256, adjudicated=True)
            except KeyError:
                raise InputError("That review is no longer in the queue; refresh the list.") from None
            info(f"Settled as {DONE[label]}.")
            return self.summary()

        handler.__name__ = f"settle_{label}"
        return handler

    # ---- layout -----------------------------------------------------------------------------
    def render(self, context: TabContext) -> None:
        tab, app = context.tab, context.app
        private = {"api_visibility": "private"}
        gr.Markdown("## Agreement between annotators")  # headings go down one level at a time (h1 is the page's)
        summary = gr.Markdown(elem_id="team-summary")
        refresh = gr.Button("Refresh", elem_id="team-refresh", size="sm")
        pairs = gr.Dataframe(headers=PAIR_COLUMNS, interactive=False, elem_id="team-pairs", visible=False,
                             label="Agreement per pair of annotators")
        people = gr.Dataframe(headers=PEOPLE_COLUMNS, interactive=False, elem_id="team-people", visible=False,
                              label="Each annotator against the others")
        gr.Markdown("## Settle disagreements\nChoose a review the annotators disagree on, read it beside their "
                    "votes and the model's view, and record the label that settles it.")
        pick = gr.Dropdown(label="Reviews the annotators disagree on", choices=[], value=None, elem_id="team-disputes")
        with gr.Row():
            with gr.Column(scale=1):
                votes = gr.Markdown(elem_id="team-votes")
                role = gr.Markdown(elem_id="team-who")
                lead = gr.Textbox(label="Lead (your name)", max_length=64, elem_id="team-lead")
                with gr.Row():
                    pos = gr.Button("Settle as positive", elem_id="team-pos")  # the app's blue and red (palette.py)
                    neg = gr.Button("Settle as negative", elem_id="team-neg")
            with gr.Column(scale=2):
                review = gr.HTML("", elem_id="team-review", js_on_load=asset("review.js"), padding=True)
        outputs = [summary, pairs, people, pick, votes, review]
        for event in (tab.select, refresh.click):
            event(user_errors(self.summary), None, outputs, **private)
        tab.select(user_errors(self.who), None, [role, lead], **private)
        pick.change(user_errors(self.open), [pick], [votes, review], **private)
        for button, label in zip((pos, neg), DECIDED):
            button.click(user_errors(self.settle(label)), [pick, lead], outputs, **private)
        if self.learning is not None and app is not None:
            gr.Markdown("## Learn from the settled labels")
            self.learning.render(app, prefix="team-learn", refresh_on=[tab.select])
