"""The Gradio app: Analyze, Annotate and Model tabs, and the named API (/predict, /explain; the
Annotate tab adds /next_item and /annotate).

Handlers raise ``InputError`` for anything the user can fix and ``serve.ui_safety.user_errors``
turns it into a message box; review text is only ever placed in components that render it as text.
"""

from __future__ import annotations

import gradio as gr

from explain.methods import DEFAULT_METHOD, METHODS
from explain.neighbours import Neighbours
from sentilens.errors import InputError
from serve.analysis import MAX_CHARS, explain_review, predict
from serve.annotate_tab import MAX_UPLOAD_BYTES, SHORTCUTS
from serve.runtime import SentimentModel
from serve.ui_safety import md_literal, user_errors

# Our own example reviews. The last two use exactly the same words in a different order.
EXAMPLES = [
    "A warm, funny and beautifully acted film. The script is sharp and the ending moved me to tears.",
    "Two hours of my life I will never get back. The plot is a mess and the acting is wooden.",
    "I expected to hate it, but the second half won me over completely. Worth seeing.",
    "It looked terrible at first, then it turned out wonderful.",
    "It looked wonderful at first, then it turned out terrible.",
]
TITLE = "sentilens"
# Explanations cost up to ~100x a prediction: they share a small queue of their own, so a burst
# of them (or of huge reviews) waits there and never holds up /predict's workers.
EXPLAIN_QUEUE = {"concurrency_id": "explain", "concurrency_limit": 2}


def launch_options() -> dict:
    """What ``launch()`` needs besides host/port/auth (Gradio 6 takes head/css there, not in Blocks)."""
    return {"show_error": False, "max_file_size": MAX_UPLOAD_BYTES, "head": SHORTCUTS}


def _table(rows: list[dict], columns: list[str]) -> dict:
    return {"headers": columns, "data": [[r[c] for c in columns] for r in rows]}


class AnalyzeHandlers:
    def __init__(self, model: SentimentModel):
        self.model = model
        self.neighbours = Neighbours(model)

    def analyze(self, text: str, method: str):
        out = explain_review(self.model, text, method)
        enc = out["encodings"]
        a = out["attribution"]
        label = {"positive": out["positive"], "negative": out["negative"]}
        space = "probability change" if a["space"] == "probability" else "logit contribution"
        summary = (f"**{out['label']}** ({out['positive']:.1%} positive). Method: {METHODS[method].label}; "
                   f"scores are the {space} of each word, scaled to [-1, 1]. {enc['notice']}")
        running = frame(["position", "score", "word"],
                        [[r["position"], r["score"], r["word"]] for r in out["running_score"]])
        padded = _table(enc["padded"], ["position", "id", "word", "kind"])
        bag = {"headers": ["word", "count"], "data": [list(x) for x in enc["bag_of_words"]]}
        ints = {"headers": ["word", "id"], "data": [list(x) for x in enc["integer_encoding"]]}
        dropped = " ".join(enc["truncated"])
        return label, out["highlighted"], summary, running, padded, bag, ints, dropped

    def nearest(self, word: str):
        try:
            pairs = self.neighbours(check_word(word), k=10)
        except KeyError as err:
            raise InputError(str(err.args[0])) from None
        return {"headers": ["word", "cosine similarity"], "data": [[w, round(s, 3)] for w, s in pairs]}


def check_word(word: object) -> str:
    if not isinstance(word, str) or not word.strip():
        raise InputError("Type a word, or click one in the highlighted review.")
    if len(word) > 100:
        raise InputError("That is not one word; type a single word.")
    return word


# What each baseline cannot see, next to its score on the model card.
BLIND = {"words": "order-blind: 'not good' and 'good, not' look the same to it",
         "word_pairs": "sees order only within adjacent pairs; explains no single word in context"}


def model_card(model: SentimentModel) -> tuple[str, dict, dict]:
    """Markdown card, confusion matrix table, training curves table (all from the artifact)."""
    art = model.artifact
    test = art.metrics["test"]
    val = art.metrics.get("validation") or {}
    cfg, tr, data, caps = art.architecture, art.training, art.data, art.capabilities
    rows = [
        ("cell", f"{caps.cell} ({'one fused ' + caps.onnx_op if caps.fused else 'an ONNX ' + caps.onnx_op} op)"),
        ("explanation methods", ", ".join(caps.methods)),
        ("vocabulary", f"{art.codec.vocab_size:,} ids"),
        ("embedding", cfg["embed_dim"]), ("units", cfg["units"]), ("maxlen", art.codec.maxlen),
        ("padding / truncation", f"{art.codec.padding} / {art.codec.truncating}"),
        ("training", f"{tr['epochs_run']} epochs (best {tr['best_epoch']}), batch {tr['batch_size']}, "
                     f"{tr['optimizer']}, seed {tr['seed']}"),
        ("data", md_literal(f"{data.get('kind')} {data.get('path') or ''} sha256 {data.get('sha256')}")),
        ("test accuracy", f"{test['accuracy']:.4f} on {test['n']:,} reviews"),
        ("test ROC AUC / F1 / loss", f"{test['roc_auc']:.4f} / {test['f1']:.4f} / {test['loss']:.4f}"),
        ("validation accuracy", f"{val.get('accuracy', float('nan')):.4f}"),
        *[(f"baseline: {b['model']}", f"test accuracy {b['accuracy']:.4f}, ROC AUC {b['roc_auc']:.4f} ({BLIND[kind]})")
          for kind, b in (art.metrics.get("baseline") or {}).items() if kind in BLIND],
        ("ORT vs Keras parity", f"max abs diff {art.parity['max_abs_diff']:.1e} on {art.parity['reviews']:,} reviews"),
        ("batch scorer", f"padding skipped, max abs diff {art.fast_path['max_abs_diff']:.1e} from the full graph on "
                         f"{art.fast_path['reviews']:,} reviews" if art.fast_path else "full graph"),
        ("int8 scorer", f"test accuracy {art.int8['accuracy']:.4f} (fp32 {art.int8['fp32_accuracy']:.4f}), "
                        f"{'kept' if art.int8['kept'] else 'not kept'} (bound: {art.int8['max_accuracy_loss']:.3f})"
                        if art.int8 else "none"),
        ("model sha256", f"`{model.sha256}`"),
        ("libraries", ", ".join(f"{k} {v}" for k, v in art.versions.items())),
    ]
    card = "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
    c = test["confusion"]
    confusion = {"headers": ["", "predicted negative", "predicted positive"],
                 "data": [["actual negative", c["tn"], c["fp"]], ["actual positive", c["fn"], c["tp"]]]}
    history = art.read_history()
    curves = [[i + 1, series, float(v)] for series in ("accuracy", "val_accuracy", "loss", "val_loss")
              for i, v in enumerate(history.get(series, []))]
    return card, confusion, {"headers": ["epoch", "series", "value"], "data": curves}


def build_app(model: SentimentModel, annotate=None, compare=None) -> gr.Blocks:
    """The whole UI. ``annotate`` is a ``serve.annotate_tab.AnnotateTab`` or None; ``compare`` a
    ``serve.compare_tab.CompareTab`` (a second model) or None."""
    h = AnalyzeHandlers(model)
    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(f"# {TITLE}\nScore a movie review, see which words moved the score, and the numbers "
                    f"the model really reads.")
        with gr.Tab("Analyze"):
            with gr.Row():
                with gr.Column(scale=3):
                    review = gr.Textbox(label="Review", lines=6, max_lines=20,
                                        placeholder="Type or paste a movie review",
                                        elem_id="review", max_length=MAX_CHARS)
                    with gr.Row():
                        method = gr.Radio(choices=[(METHODS[m].label, m) for m in model.methods],
                                          value=DEFAULT_METHOD if DEFAULT_METHOD in model.methods else model.methods[0],
                                          label="Explanation method", scale=3)
                        analyze = gr.Button("Analyze", variant="primary", scale=1, elem_id="analyze")
                    gr.Examples(examples=[[e] for e in EXAMPLES], inputs=[review])
                with gr.Column(scale=2):
                    label = gr.Label(label="Prediction", num_top_classes=2, elem_id="prediction")
                    summary = gr.Markdown(elem_id="summary")
            highlighted = gr.HighlightedText(label="Contribution of each word (red pushes toward positive, blue toward negative; "
                                                   "click a word for its neighbours)",
                                             elem_id="highlights", combine_adjacent=False)
            running = gr.LinePlot(x="position", y="score", title="Running score: P(positive) after each word",
                                  tooltip=["position", "word", "score"], y_lim=[0, 1], height=260)
            with gr.Accordion("What the model sees: encodings", open=False):
                gr.Markdown("**Bag of words** loses the order; the **integer encoding** keeps it; the **padded "
                            "encoding** is exactly what the model reads: pad zeros first, a start marker (1), "
                            "unknown words as 2, and only the last words when the review is too long.")
                dropped = gr.Textbox(label="Words the model never read (dropped by pre-truncation)",
                                     interactive=False, lines=2)
                with gr.Row():
                    bag = gr.Dataframe(label="Bag of words", interactive=False, max_height=320)
                    ints = gr.Dataframe(label="Integer encoding", interactive=False, max_height=320)
                    padded = gr.Dataframe(label="Padded encoding", interactive=False, max_height=320,
                                          elem_id="padded")
            with gr.Accordion("Nearest words in the learned embedding", open=False):
                with gr.Row():
                    word = gr.Textbox(label="Word", scale=3, elem_id="word")
                    find = gr.Button("Find neighbours", scale=1)
                neighbours = gr.Dataframe(label="Neighbours", interactive=False)

            outputs = [label, highlighted, summary, running, padded, bag, ints, dropped]
            analyze.click(user_errors(h.analyze), [review, method], outputs, **EXPLAIN_QUEUE, api_visibility="private")
            review.submit(user_errors(h.analyze), [review, method], outputs, **EXPLAIN_QUEUE, api_visibility="private")
            find.click(user_errors(h.nearest), [word], [neighbours], api_visibility="private")
            word.submit(user_errors(h.nearest), [word], [neighbours], api_visibility="private")

            def clicked(evt: gr.SelectData):
                token = evt.value[0] if isinstance(evt.value, (list, tuple)) else evt.value
                token = str(token).strip()
                return token, h.nearest(token)

            highlighted.select(user_errors(clicked), None, [word, neighbours], api_visibility="private")

        if annotate is not None:
            with gr.Tab("Annotate"):
                annotate.render(app)

        if compare is not None:
            with gr.Tab("Compare"):
                compare.render()

        with gr.Tab("Model"):
            card, confusion, curves = model_card(model)
            gr.Markdown("## Model card\n" + card)
            with gr.Row():
                gr.Dataframe(value=confusion, label="Confusion matrix (test split)", interactive=False)
                gr.LinePlot(value=frame(curves["headers"], curves["data"]), x="epoch", y="value", color="series",
                            title="Training curves", height=280)

        # Named API endpoints (gradio_client: client.predict(text, api_name="/predict")).
        def api_predict(text: str) -> dict:
            """Probability that a review is positive, and its label."""
            return predict(model, text)

        def api_explain(text: str, method: str = DEFAULT_METHOD) -> dict:
            return explain_review(model, text, method)

        api_explain.__doc__ = ("Prediction, per-word contributions and the encodings. method: "
                               + "; ".join(f"{m} = {METHODS[m].summary}" for m in model.methods) + ".")

        gr.api(user_errors(api_predict), api_name="predict")
        gr.api(user_errors(api_explain), api_name="explain", **EXPLAIN_QUEUE)
    return app


def frame(columns: list[str], rows: list[list]):
    """Plots take a pandas DataFrame (pandas comes with gradio)."""
    import pandas as pd

    return pd.DataFrame(rows, columns=columns)
