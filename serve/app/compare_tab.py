"""The Compare tab (``python -m serve --compare DIR``): the served model and a second one side by side.

One review: both labels and both explanations, coloured on one scale (a colour is the same number on
both sides), and a row of the per-word difference A - B. Many reviews: the annotated items, or any labelled
file, scored by both with ``serve.compare`` (accuracy of each, agreement, the reviews whose label
changed and whether they became right). Handlers return plain values; ``render`` lays them out.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import gradio as gr

from explain.methods import METHODS
from explain.neighbours import Neighbours
from sentilens.errors import InputError
from sentilens.labels import DECIDED, label_of
from sentilens.wording import count
from serve.app.analysis import explain
from serve.store.annotations import AnnotationStore
from serve.jobs.compare import compare
from serve.app.review_view import asset, explained_html, legend_html, review_html, top_of, value_text
from serve.runtime import SentimentModel
from serve.app.ui_safety import md_literal, user_errors
from serve.app.uploads import UPLOAD_TYPES, id_note, read_upload, uploaded
from serve.app.tab import TabContext

__all__ = ["CHANGED_SHOWN", "CompareTab", "SAME_MODEL", "difference", "difference_html"]

CHANGED_SHOWN = 200
SAME_MODEL = "**A and B are the same model** (the same sha256): they cannot disagree."


def difference(ea, eb) -> list[float | None] | None:
    """Per word, A's contribution minus B's (None where either model did not read the word), or None when the
    two models split the review into different words (then no word has two contributions to subtract)."""
    if ea.fwd.enc.tokens != eb.fwd.enc.tokens or ea.attribution.space != eb.attribution.space:
        return None
    return [None if a is None or b is None else a - b for a, b in zip(ea.attribution.scores, eb.attribution.scores)]


def difference_html(ea, eb, method: str) -> str:
    """The review once more, each word coloured by A - B on a scale of its own: blue where A gave the word
    more toward positive than B, red where less."""
    diff = difference(ea, eb)
    if diff is None:
        return ('<p class="sl-note">The two models read this review as different words, so there is no per-word '
                'difference to show.</p>')
    space = ea.attribution.space
    top = max((abs(d) for d in diff if d is not None), default=0.0)

    def describe(d: float) -> str:
        more = "A more toward positive than B" if d > 0 else "A more toward negative than B" if d < 0 else "the same"
        return f"A - B {value_text(d, space)} ({more})"

    legend = legend_html(space, f"A - B, {METHODS[method].label}", top, units="difference (A's contribution minus B's)",
                         ends=("A more negative than B", "A more positive than B"))
    return legend + review_html(ea.text, ea.fwd.enc, diff, space, mode="explain", maxlen=len(ea.fwd.enc.padded),
                                top=top or None, describe=describe)


class CompareTab:
    title, id = "Compare", "compare"

    def __init__(self, model: SentimentModel, other: SentimentModel, store: AnnotationStore | None = None):
        self.a, self.b, self.store = model, other, store
        self.methods = tuple(m for m in model.methods if m in other.methods)
        self.same_model = model.sha256 == other.sha256
        self.neighbours = (Neighbours(model), Neighbours(other))

    # ---- handlers ----------------------------------------------------------------------------
    def one(self, text: str, method: str):
        """Both models on one review: (A's verdict and words, B's, the A - B row, summary), in the Analyze
        tab's view, both sides on one colour scale: full colour at the larger of the two largest contributions."""
        ea, eb = explain(self.a, text, method), explain(self.b, text, method)
        pa, pb = ea.attribution.probability, eb.attribution.probability
        same = label_of(pa) == label_of(pb)
        summary = (f"A: **{pa:.1%}** positive, B: **{pb:.1%}** positive: "
                   + ("the same label." if same else "**the label changed.**")
                   + (f" {SAME_MODEL}" if self.same_model else ""))
        top = max(top_of(ea), top_of(eb))
        return (explained_html(ea, method, self.neighbours[0], top),
                explained_html(eb, method, self.neighbours[1], top), difference_html(ea, eb, method), summary)

    def rerun(self, text: str, method: str):
        """A new method re-explains the review on screen; with no review, nothing changes."""
        if not isinstance(text, str) or not text.strip():
            return gr.update(), gr.update(), gr.update(), gr.update()
        return self.one(text, method)

    def many(self, path: Path, name: str, read=None, ids: str = ""):
        """Both models on a labelled file (read by ``read``, see ``compare``): (summary, changed-reviews table);
        ``ids`` says where the file's ids come from (``uploads.id_note``)."""
        s = compare(self.a, self.b, path, read=read)
        if not s["reviews"]:
            raise InputError(f"{name} has no review both models could read.")
        lines = [(f"**{count(s['reviews'], 'review')}** from {md_literal(name)}"
                  + (f" ({md_literal(ids)})" if ids else "") + ": the models agree on "
                 f"**{s['agreement']:.1%}**; {count(len(s['changed']), 'review')} changed label.")]
        if "a" in s:
            n, right = s["labelled"], s["right"]
            lines.append(f"Right on the {count(n, 'labelled review')}: A **{right['a']:,} of {n:,}** "
                         f"({right['a'] / n:.1%}), B **{right['b']:,} of {n:,}** ({right['b'] / n:.1%}); of the changed "
                         f"labels {s['fixed']:,} became right and {s['broken']:,} became wrong.")
        if self.same_model:
            lines.append(SAME_MODEL)
        rows = [[r["id"], round(r["a"], 3), round(r["b"], 3), r["true_label"], " ".join(r["text"].split())[:200]]
                for r in s["changed"][:CHANGED_SHOWN]]
        table = {"headers": ["id", "A", "B", "true label", "review"], "data": rows}
        return "\n\n".join(lines), gr.update(value=table, visible=bool(rows))  # no empty table

    def on_annotations(self):
        if self.store is None:
            raise InputError("No annotation store.")
        rows = [r for r in self.store.current_labels() if r["label"] in DECIDED]  # settled labels only
        if not rows:
            raise InputError("Nothing labelled yet: label some reviews in the Annotate tab first.")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "annotations.jsonl"
            path.write_text("".join(json.dumps({"id": r["id"], "text": r["text"], "label": r["label"]},
                                               ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
            return self.many(path, "the annotations")

    def on_file(self, file):
        path = uploaded(file)
        return self.many(path, path.name, read=read_upload, ids=id_note(path))  # the upload rule Annotate follows

    # ---- layout -----------------------------------------------------------------------------
    def render(self, context: TabContext) -> None:
        gr.Markdown(f"A: the served model `{self.a.sha256[:12]}` ({md_literal(str(self.a.directory.name))}); "
                    f"B: `{self.b.sha256[:12]}` ({md_literal(str(self.b.directory.name))})."
                    + (f"\n\n{SAME_MODEL}" if self.same_model else ""), elem_id="cmp-models")
        with gr.Row():
            review = gr.Textbox(label="Review", lines=4, scale=3, elem_id="cmp-review")
            with gr.Column(scale=1):
                method = gr.Radio(choices=[(METHODS[m].label, m) for m in self.methods], value=self.methods[0],
                                  label="Explanation method", elem_id="cmp-method")
                go = gr.Button("Compare", variant="primary", elem_id="cmp-go")
        with gr.Row():
            with gr.Column(min_width=320):
                gr.Markdown("**A (served)**")
                words_a = gr.HTML("", elem_id="cmp-a", js_on_load=asset("review.js"), padding=True)
            with gr.Column(min_width=320):
                gr.Markdown("**B**")
                words_b = gr.HTML("", elem_id="cmp-b", js_on_load=asset("review.js"), padding=True)
        summary = gr.Markdown(elem_id="cmp-summary")
        gr.Markdown("**A - B**, word by word: what A made of each word minus what B made of it")
        diff = gr.HTML("", elem_id="cmp-diff", js_on_load=asset("review.js"), padding=True)
        with gr.Row():
            on_ann = gr.Button("Compare on the annotations", elem_id="cmp-annotations")
            upload = gr.File(label="or on a labelled file (CSV, JSONL, TXT, aclImdb .tar.gz)", file_types=UPLOAD_TYPES)
        report = gr.Markdown(elem_id="cmp-report")
        changed = gr.Dataframe(label="Reviews whose label changed", interactive=False, wrap=True,
                               headers=["id", "A", "B", "true label", "review"], visible=False, elem_id="cmp-changed")
        private = {"api_visibility": "private"}
        outputs = [words_a, words_b, diff, summary]
        go.click(user_errors(self.one), [review, method], outputs, **private)
        review.submit(user_errors(self.one), [review, method], outputs, **private)
        method.change(user_errors(self.rerun), [review, method], outputs, **private)  # a new method re-runs
        on_ann.click(user_errors(self.on_annotations), None, [report, changed], **private)
        upload.upload(user_errors(self.on_file), [upload], [report, changed], **private)
