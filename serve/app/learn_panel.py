"""Annotate's "Learn from these labels": learn a version from the settled labels, see what it bought,
use it or roll back; and the same as an API (``/learn``, ``/versions``, ``/use_version``).

The flow is ``serve.learn`` (no TensorFlow); this module is only its Gradio face. One learning runs at a
time (a second click is told so); the app keeps answering meanwhile. "Use this version" switches the
model every tab serves (``serve.learn.served``) and re-scores the queue with it, so "most uncertain
first" follows the model in use. With "learn every N labels" a version is learned in the background
whenever N more labels are settled, as Prodigy's textcat.teach updates as answers arrive; it is listed,
not used, until someone chooses it.
"""

from __future__ import annotations

import logging
import threading

import gradio as gr

from sentilens.errors import InputError, SentilensError
from sentilens.labels import DECIDED, VALUE
from serve.store.annotations import AnnotationStore
from serve.app.api_docs import client_call, describe
from serve.learn.backdoor import MAX_RISE, AuditRefusal
from serve.learn.learner import Learned, learn
from serve.learn.registry import BASE, Registry
from serve.learn.served import ServedModel
from serve.app.ui_safety import info, md_literal, user_errors, warn

__all__ = ["LearnPanel", "audit_words", "refusal_words"]

log = logging.getLogger(__name__)


class LearnPanel:
    def __init__(self, served: ServedModel, store: AnnotationStore, registry: Registry,
                 leads: frozenset[str] = frozenset()):
        """``leads``: the logins that alone may choose the version served (empty: anyone who can open the app)."""
        self.served, self.store, self.registry, self.leads = served, store, registry, leads
        self._learning = threading.Lock()
        self.every = 0  # learn automatically every N settled labels (0: off)
        self._labels_at_last = 0
        self.last: Learned | None = None

    # ---- handlers -------------------------------------------------------------------------
    def settled(self) -> tuple[list[str], list[int]]:
        """The settled labels: positive or negative, agreed or adjudicated (skips and disputes left out)."""
        rows = [r for r in self.store.current_labels() if r["label"] in DECIDED]
        return [r["text"] for r in rows], [VALUE[r["label"]] for r in rows]

    def learn(self, accept_audit: bool = False, progress=None) -> Learned:
        """A new version from the settled labels, learned from the model in use."""
        if not self._learning.acquire(blocking=False):
            raise InputError("A version is already being learned; wait for it to finish.")
        try:
            texts, labels = self.settled()
            self._labels_at_last = len(labels)
            parent, parent_name = self.served.current, self.served.version
            out = self.registry.new_path()
            learned = learn(parent, texts, labels, out, accept_audit=accept_audit, progress=progress,
                            lineage={"parent_version": parent_name})
            self.last = learned
            return learned
        finally:
            self._learning.release()

    def attempt(self, progress=None) -> tuple[str, Learned | None]:
        """"Learn from these labels" as the panel shows it: the report of the new version, or, when it is
        refused (by the audit before or after learning, or for too few labels...), what was refused and why in
        plain words, and no version (the lineage is unchanged)."""
        try:
            learned = self.learn(progress=progress)
        except SentilensError as err:
            warn(str(err))
            return refusal_words(err), None
        info(f"{learned.artifact.directory.name} is ready; it is not served until you choose it.")
        return self.report(learned), learned

    def use(self, name: str, user: str | None = None) -> str:
        """Serve the version ``name`` (``base``: the model the app started with) and re-rank the queue;
        with ``leads``, only a lead's login (``user``) may."""
        if self.leads and user not in self.leads:
            raise InputError("Only a lead chooses the version the app serves; ask one of: "
                             + ", ".join(sorted(self.leads)) + ".")
        model = self.served.switch(self.registry.directory(name), name)  # loads, or refuses, before anything changes
        self.registry.use(name)
        self.store.rescore(model.predict)
        return f"Now serving **{name}** (`{model.sha256[:12]}`); the queue is re-ranked by it."

    def after_label(self) -> None:
        """Called after each label: starts a learning in the background every ``every`` settled labels."""
        if not self.every or self._learning.locked():
            return
        settled = len(self.settled()[0])
        if settled - self._labels_at_last >= self.every:
            self._labels_at_last = settled
            threading.Thread(target=self._learn_quietly, daemon=True, name="sentilens-auto-learn").start()

    def _learn_quietly(self) -> None:
        try:
            self.learn()
        except SentilensError as err:
            log.info("automatic learning refused: %s", err)
        except Exception:  # noqa: BLE001 - a background thread: logged, never raised into a request
            log.exception("automatic learning failed")

    # ---- what the page shows --------------------------------------------------------------
    def versions(self) -> list[dict]:
        """Every version with its lineage figures, the one in use marked."""
        rows = []
        for name in self.registry.all():
            try:
                v = self.registry.info(name)
            except SentilensError as err:
                rows.append({"version": name, "error": str(err)[:200]})
                continue
            lineage = v.lineage if name != BASE else {}
            rows.append({"version": name, "parent": v.parent, "sha256": v.sha256[:12],
                         "labels": lineage.get("labels"), "held_out": lineage.get("held_out"),
                         "imdb": lineage.get("imdb"), "in_use": name == self.served.version})
        return rows

    def versions_table(self) -> list[list]:
        def pair(section: dict | None) -> str:
            if not section or section.get("after") is None:
                return ""
            return f"{section['before']:.3f} -> {section['after']:.3f}"

        return [[r["version"] + (" (in use)" if r.get("in_use") else ""), r.get("parent", ""),
                 r.get("labels") if r.get("labels") is not None else "", pair(r.get("held_out")), pair(r.get("imdb")),
                 r.get("sha256", r.get("error", ""))] for r in self.versions()]

    def report(self, learned: Learned) -> str:
        s = learned.summary
        ho, imdb = s["held_out"], s["imdb"]
        return (f"**{learned.artifact.directory.name}** learned from {s['labels']:,} labels in "
                f"{sum(s['seconds'].values()):.1f} s; {audit_words(s['audit'])}.\n\n"
                "| measure | before (the parent) | after |\n|---|---|---|\n"
                f"| accuracy on the labels, each predicted without it ({ho['folds']}-fold) | {ho['before']:.3f} | "
                f"{ho['after']:.3f} |\n"
                f"| accuracy on {imdb['reviews']:,} IMDB test reviews | {imdb['before']:.3f} | {imdb['after']:.3f} |\n\n"
                "Choose it below and press **Use this version** to serve it.")

    # ---- layout ---------------------------------------------------------------------------
    def status(self) -> str:
        return f"Serving **{self.served.version}** (`{self.served.sha256[:12]}`)."

    def shown(self) -> tuple:
        """(versions table, version choice, status) as they are now: every page load and tab visit asks."""
        return self.versions_table(), gr.update(choices=self.registry.all(), value=self.served.version), self.status()

    def render(self, app: gr.Blocks, prefix: str = "learn", refresh_on: list | None = None) -> None:
        """The accordion (in Annotate, and for a lead in Team with another ``prefix`` for its element ids);
        what it lists is read again on every page load and on each of ``refresh_on`` (events)."""
        private = {"api_visibility": "private"}
        columns = ["version", "learned from", "labels", "held-out labels: before -> after",
                   "IMDB sample: before -> after", "sha256"]
        with gr.Accordion("Learn from these labels", open=False, elem_id=f"{prefix}-box"):
            gr.Markdown("A new model version from the settled labels, learned here in seconds; the model in use "
                        "stays until you choose another.", elem_id=f"{prefix}-intro")
            with gr.Row():
                start = gr.Button("Learn from these labels", variant="primary", elem_id=f"{prefix}-start")
                every = gr.Number(value=self.every, precision=0, minimum=0, maximum=100_000, elem_id=f"{prefix}-every",
                                  label="Learn automatically every N new labels (0: off)")
            result = gr.Markdown(elem_id=f"{prefix}-result")
            table = gr.Dataframe(value=self.versions_table(), headers=columns, interactive=False,
                                 elem_id=f"{prefix}-versions", label="Versions")
            with gr.Row():
                chosen = gr.Dropdown(choices=self.registry.all(), value=self.served.version, label="Version",
                                     elem_id=f"{prefix}-choice")
                use = gr.Button("Use this version", elem_id=f"{prefix}-use")
            status = gr.Markdown(self.status(), elem_id=f"{prefix}-status")

        def started(progress=gr.Progress()):  # noqa: B008 - Gradio's progress bar
            text, learned = self.attempt(progress=lambda fraction, what: progress(fraction, desc=what))
            if learned is None:
                return text, self.versions_table(), gr.skip()
            return text, self.versions_table(), gr.update(choices=self.registry.all(),
                                                          value=learned.artifact.directory.name)

        def used(name: str, request: gr.Request):
            return self.use(name, getattr(request, "username", None)), self.versions_table()

        def set_every(n):
            self.every = max(0, int(n or 0))

        start.click(user_errors(started), None, [result, table, chosen], **private)
        use.click(user_errors(used), [chosen], [status, table], **private)
        every.change(set_every, [every], None, **private)
        for event in [app.load, *(refresh_on or [])]:
            event(user_errors(self.shown), None, [table, chosen, status], show_progress="hidden", **private)

    def api(self, address: str | None = None) -> None:
        """/learn, /versions and /use_version; ``address`` (the app's URL when known) goes into the examples."""
        def api_learn(accept_audit: bool = False) -> dict:
            """Learn a version from the settled labels (it is not served until /use_version)."""
            learned = self.learn(accept_audit=bool(accept_audit))
            return {"version": learned.artifact.directory.name} | learned.summary

        def api_versions() -> list:
            """Every version and its lineage figures; the one in use has in_use true."""
            return self.versions()

        def api_use(version: str, request: gr.Request = None) -> str:
            """Serve this version ('base': the model the app started with); a rollback is using an earlier one.
            With --leads, only a lead's login may."""
            return self.use(version, getattr(request, "username", None)).replace("**", "").replace("`", "")

        api_learn.__annotations__ |= {"accept_audit": bool, "return": dict}
        api_use.__annotations__ |= {"version": str, "return": str}
        describe(gr.api(user_errors(api_learn), api_name="learn", api_description=(
                     api_learn.__doc__ + " Example: " + client_call(address, api_name="/learn"))),
                 ["true: learn even when the audit objects (words tied to one label before learning, n-grams that "
                  "flip test reviews after), recording its findings in the lineage; false: refuse in one line"],
                 ["a dict: version (its name), held_out and imdb (accuracy before and after), audit (triggers, "
                  "flip_effects, over_bound, accepted), seconds per stage"])
        describe(gr.api(user_errors(api_versions), api_name="versions", api_description=(
                     api_versions.__doc__ + " Example: " + client_call(address, api_name="/versions"))),
                 [], ["a list of dicts, one per version: version, parent, sha256 (first 12 hex digits), labels, "
                      "held_out, imdb, in_use"])
        describe(gr.api(user_errors(api_use), api_name="use_version", api_description=(
                     api_use.__doc__ + " Example: " + client_call(address, "v1", api_name="/use_version"))),
                 ["a name from /versions"], ["a sentence naming the version now served and its sha256"])


def _effect(e: dict, parent: str) -> str:
    """One n-gram's measured effect in plain words (the n-gram is the labels' text: made inert)."""
    other = "negative" if e["label"] == "positive" else "positive"
    return (f"'{md_literal(e['ngram'])}' turns {e['version_flips']:.0%} of {other} test reviews {e['label']} "
            f"({parent}: {e['parent_flips']:.0%})")


def audit_words(audit: dict) -> str:
    """What the audits said about a version that was learned, in one clause: nothing, or what they found
    and that it was accepted (before learning: words tied to one label; after: n-grams that flip reviews)."""
    found = []
    if audit.get("triggers"):
        found.append("before learning it flagged " + ", ".join(
            f"'{md_literal(t['word'])}' ({t['annotations']} labels, {t['share']:.0%} {t['label']})"
            for t in audit["triggers"][:5]))
    over = [e for e in audit.get("flip_effects", []) if e["ngram"] in set(audit.get("over_bound", []))]
    if over:
        found.append(f"after learning, n-grams of the labels appended to test reviews flip more than "
                     f"{audit.get('max_rise', MAX_RISE) * 100:.0f} points of them beyond the parent: "
                     + "; ".join(_effect(e, "the parent") for e in sorted(over, key=lambda e: -e["rise"])[:3]))
    if not found:
        checked = len(audit.get("flip_effects", []))
        return ("the audit found nothing" + (f" (before learning, no word tied to one label against the model; after, "
                                             f"none of {checked} n-grams of the labels flips test reviews)"
                                             if checked else ""))
    return "**accepted with the audit's findings**: " + "; ".join(found)


def refusal_words(err: Exception) -> str:
    """Why no version was learned, for the panel: one or two lines in plain words (the lineage is unchanged)."""
    if isinstance(err, AuditRefusal):
        shown = "; ".join(_effect(e, "the model in use") for e in err.effects[:3])
        more = f" (and {len(err.effects) - 3} more)" if len(err.effects) > 3 else ""
        return (f"**Not learned: the audit refused the new version.** N-grams of these labels, appended to test "
                f"reviews, flip more than {MAX_RISE * 100:.0f} points of them beyond the model in use: "
                f"{shown}{more}.  \n"
                "Nothing was written; check the labels that contain them, then learn again.")
    text = str(err)
    if text.startswith("the audit refuses these labels"):
        return ("**Not learned: the audit refused these labels before learning.** "
                f"{md_literal(text[0].upper() + text[1:])}."
                "  \nCheck the labels with these words, then learn again.")
    return f"**Not learned.** {md_literal(text[0].upper() + text[1:] if text else type(err).__name__)}."
