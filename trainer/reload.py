"""Rebuild the Keras model from an exported ONNX model's weights (for comparisons and fine-tuning).

ONNX stores LSTM gates as (i, o, f, c) with separate input and recurrent biases; Keras
uses (i, f, c, o) and one bias. Which cells reload is said by ``trainer.cells``; only a fused LSTM export carries W/R/B.
"""

from __future__ import annotations

import numpy as np

from sentilens.errors import ModelError
from sentilens.lstm import KERAS_GATES, gate_rows
from serve.runtime import SentimentModel
from trainer.cells import get_cell
from trainer.config import ModelConfig
from trainer.model import build_models

__all__ = ["keras_from_export", "load_exported_weights"]


def keras_from_export(model: SentimentModel):
    """(training model, export model) with the exported weights loaded."""
    cfg = ModelConfig(**model.artifact.model_config())
    train_model, export_model = build_models(cfg)
    load_exported_weights(export_model, model)
    return train_model, export_model


def load_exported_weights(export_model, model: SentimentModel) -> None:
    """Set a Keras model built with the export's configuration to the exported weights (layers are
    shared with its training model, so fine-tuning starts from them)."""
    cfg = ModelConfig(**model.artifact.model_config())
    if not get_cell(cfg.cell).reloadable or not model.artifact.capabilities.fused:
        raise ModelError(f"{model.directory}: a {cfg.cell} export ({model.artifact.capabilities.onnx_op}) does not "
                         "carry its recurrent weights in a reloadable layout; only fused LSTM exports do")
    w = model.weights
    units = cfg.units
    rows = gate_rows(units, KERAS_GATES)

    def regate(a: np.ndarray) -> np.ndarray:
        return a[rows]

    kernel = regate(w["W"][0]).T
    recurrent = regate(w["R"][0]).T
    bias = regate(w["B"][0][: 4 * units] + w["B"][0][4 * units:])
    export_model.get_layer("embedding").set_weights([w["embedding"].astype(np.float32)])
    export_model.get_layer("lstm").set_weights([kernel, recurrent, bias])
    outputs = w["readout_kernel"].shape[-1]  # 1 (plain) or 2 (the state's logit and the gate)
    readout_bias = w.get("readout_bias", np.zeros(outputs, np.float32)).reshape(outputs)
    export_model.get_layer("readout").set_weights([w["readout_kernel"].reshape(units, outputs), readout_bias])
    if "unigram" in w:
        export_model.get_layer("word_evidence").set_weights([w["unigram"], w["pairs"]])
        export_model.get_layer("gate").set_weights([w["position"]])
