"""The Keras model: Embedding -> recurrent cell -> Dense(1, sigmoid), with a running score.

The recurrent layer returns its state after every step and the same Dense+sigmoid reads
each of them out, so one forward pass gives both the probability (the last step) and
the running score over the review, which explain/ turns into per-token contributions.
The trained weights are those of the plain ``Embedding -> LSTM(units) -> Dense`` model;
reading out the intermediate states adds no parameters.
"""

from __future__ import annotations

import keras

from trainer.cells import get_cell
from trainer.config import ModelConfig


def build_models(cfg: ModelConfig, steps_per_epoch: int | None = None) -> tuple[keras.Model, keras.Model]:
    """(training model -> probability, export model -> [probability, running score]).

    Both share every layer. No ``mask_zero``: pre-padding puts the zeros before the words,
    and a mask would export as a slow ONNX Loop instead of one fused recurrent op.
    With ``ema_momentum`` the averaged weights replace the raw ones at the end of every
    epoch (``steps_per_epoch``), so validation and early stopping judge the averaged model.
    """
    layer = getattr(keras.layers, get_cell(cfg.cell).keras_layer)
    ids = keras.Input(shape=(cfg.maxlen,), dtype="int32", name="ids")
    x = keras.layers.Embedding(cfg.vocab_size, cfg.embed_dim, name="embedding")(ids)
    if cfg.word_dropout:
        x = keras.layers.Dropout(cfg.word_dropout, noise_shape=(None, cfg.maxlen, 1), name="word_dropout")(x)
    if cfg.dropout:
        x = keras.layers.SpatialDropout1D(cfg.dropout, name="channel_dropout")(x)
    states = layer(cfg.units, return_sequences=True, name=cfg.cell)(x)
    running = keras.layers.Dense(1, activation="sigmoid", name="readout")(states)
    running = keras.layers.Reshape((cfg.maxlen,), name="running_score")(running)
    probability = keras.layers.Lambda(lambda r: r[:, -1], output_shape=(), name="probability")(running)
    train_model = keras.Model(ids, probability, name="sentilens")
    train_model.compile(
        optimizer=keras.optimizers.RMSprop(
            learning_rate=cfg.learning_rate, clipnorm=cfg.clipnorm,
            use_ema=cfg.ema_momentum is not None, ema_momentum=cfg.ema_momentum or 0.99,
            ema_overwrite_frequency=steps_per_epoch if cfg.ema_momentum is not None else None,
        ),
        loss="binary_crossentropy",
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
    )
    export_model = keras.Model(ids, [probability, running], name="sentilens_export")
    return train_model, export_model
