"""The Model tab: the model card, per-class and confusion tables, training curves and technical details
of the model served now (read again when the tab is opened: a learned version may have replaced it)."""

from __future__ import annotations

import gradio as gr

from serve.app import model_card
from serve.app.tab import TabContext, frame
from serve.runtime import SentimentModel

__all__ = ["ModelTab", "model_tab_values"]


def model_tab_values(model: SentimentModel) -> tuple:
    """The Model tab's card, tables and details for the model served now (a learned version can replace it)."""
    test = model.artifact.metrics["test"]
    baseline = model_card.baseline_table(model)
    return ("## Model card\n" + model_card.INTENDED + "\n\n" + model_card.limitations(model) + "\n\n"
            + model_card.dataset(model),
            gr.update(value=model_card.per_class(test["confusion"]), label=f"Per class, test split ({test['n']:,} reviews)"),
            model_card.confusion_table(test["confusion"]),
            (baseline + "\n\n" if baseline else "") + "### Technical details\n" + model_card.details(model))


def build_model_tab(model: SentimentModel, tab: gr.Tab | None = None) -> None:
    """Read again each time the tab is opened: "Use this version" may have changed the model served."""
    card, per_class, confusion, details = model_tab_values(model)
    test = model.artifact.metrics["test"]
    card_box = gr.Markdown(card, elem_id="card")
    with gr.Row():
        per_class_box = gr.Dataframe(value=per_class["value"], interactive=False,
                                     label=f"Per class, test split ({test['n']:,} reviews)")
        confusion_box = gr.Dataframe(value=confusion, interactive=False,
                                     label="Confusion matrix, test split (rate of each actual class)")
    accuracy, loss = model_card.curves(model)
    if accuracy or loss:
        with gr.Row():
            gr.LinePlot(value=frame(["epoch", "series", "accuracy"], accuracy), x="epoch", y="accuracy",
                        color="series", title="Accuracy by epoch", height=260)
            gr.LinePlot(value=frame(["epoch", "series", "loss"], loss), x="epoch", y="loss", color="series",
                        title="Loss (binary cross-entropy) by epoch", height=260)
    details_box = gr.Markdown(details)
    if tab is not None:
        tab.select(lambda: model_tab_values(model), None, [card_box, per_class_box, confusion_box, details_box],
                   show_progress="hidden", api_visibility="private")



class ModelTab:
    title, id = "Model", "model"

    def __init__(self, model: SentimentModel):
        self.model = model

    def render(self, context: TabContext) -> None:
        build_model_tab(self.model, context.tab)
