"""The Keras model: Embedding -> recurrent cell -> a readout at every step, so one forward pass
gives both the probability (the last step) and the running score over the review.

Two readouts:

- **plain** (``evidence_buckets=0``, the tutorial's model): ``Dense(1, sigmoid)`` on every state;
  the weights are those of ``Embedding -> LSTM(units) -> Dense``.
- **gated evidence** (the default): each position also carries its word's and its word pair's
  weight (``sentilens.evidence``; fitted by ``trainer.evidence``), which the LSTM reads beside the
  embedding. From every state a ``Dense(2)`` reads a logit of the state and a gate; the gate
  (``GATE_MAX * sigmoid(. + a learned bias per position)``) says how much each word's evidence
  counts in its context. The running logit after word t is the gated evidence summed up to t
  plus the state's logit, so every word's contribution is exact and the last step is the output.

``build_models`` returns the training model and the export model, which share every layer. With
evidence the training model takes the evidence as a second input (out-of-fold, see
``trainer.evidence``); the export model computes it from the ids with the fitted tables.

With ``running_weight`` > 0 the training model outputs the running score and learns it at every
word (``running_targets``): the loss is the last step's plus ``running_weight`` times the mean
over the review's words. Only the last step decides the output, so without this the running score
before the end is free to wander (it is an exact decomposition either way, but then a hard one
to read); with it, the score after each word is the model's verdict so far.
No ``mask_zero``: pre-padding puts the zeros before the words, and a mask would export as a slow
ONNX Loop instead of one fused recurrent op.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from sentilens.evidence import GATE_MAX, PAIR_MULTIPLIERS
from trainer.cells import get_cell
from trainer.config import ModelConfig

__all__ = ["GatedEvidence", "WordEvidence", "build_models", "last_step_accuracy", "running_loss", "running_targets"]


class WordEvidence(keras.layers.Layer):
    """ids [n, T] -> [n, T, 2]: ``sentilens.evidence.token_evidence`` as a graph (tables stored as
    float16, looked up and widened to float32; fitted outside Keras and never trained here)."""

    def __init__(self, vocab_size: int, buckets: int, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.buckets = vocab_size, buckets

    def build(self, input_shape):
        self.unigram = self.add_weight(shape=(self.vocab_size, 1), initializer="zeros", dtype="float16",
                                       trainable=False, name="unigram")
        self.pairs = self.add_weight(shape=(self.buckets, 1), initializer="zeros", dtype="float16",
                                     trainable=False, name="pairs")

    def call(self, ids):
        cur = tf.cast(ids, "int64")
        prev = tf.pad(cur[:, :-1], [[0, 0], [1, 0]])
        a, b = PAIR_MULTIPLIERS
        bucket = tf.math.floormod(prev * a + cur * b, self.buckets)
        live = tf.cast(cur != 0, "float32")
        word = tf.cast(tf.gather(self.unigram, cur)[..., 0], "float32") * live
        pair = tf.cast(tf.gather(self.pairs, bucket)[..., 0], "float32") * live * tf.cast(prev != 0, "float32")
        return tf.stack([word, pair], axis=-1)


class GatedEvidence(keras.layers.Layer):
    """[readout [n, T, 2], evidence [n, T, 2]] -> running probability [n, T]."""

    def __init__(self, maxlen: int, **kwargs):
        super().__init__(**kwargs)
        self.maxlen = maxlen

    def build(self, input_shape):
        self.position = self.add_weight(shape=(self.maxlen,), initializer="zeros", name="position")

    def call(self, readout, evidence):
        gate = GATE_MAX * tf.sigmoid(readout[..., 1] + self.position)
        counted = gate * tf.reduce_sum(evidence, axis=-1)
        return tf.sigmoid(tf.cumsum(counted, axis=1) + readout[..., 0])


def build_models(cfg: ModelConfig, steps_per_epoch: int | None = None) -> tuple[keras.Model, keras.Model]:
    """(training model -> probability, or the running score with ``running_weight``;
    export model -> [probability, running score]).

    With ``ema_momentum`` the averaged weights replace the raw ones at the end of every
    epoch (``steps_per_epoch``), so validation and early stopping judge the averaged model.
    """
    rnn = getattr(keras.layers, get_cell(cfg.cell).keras_layer)(cfg.units, return_sequences=True, name=cfg.cell)
    embedding = keras.layers.Embedding(cfg.vocab_size, cfg.embed_dim, name="embedding")
    dropouts = []
    if cfg.word_dropout:
        dropouts.append(keras.layers.Dropout(cfg.word_dropout, noise_shape=(None, cfg.maxlen, 1), name="word_dropout"))
    if cfg.dropout:
        dropouts.append(keras.layers.SpatialDropout1D(cfg.dropout, name="channel_dropout"))
    last = keras.layers.Lambda(lambda r: r[:, -1], output_shape=(), name="probability")
    ids = keras.Input(shape=(cfg.maxlen,), dtype="int32", name="ids")
    x = embedding(ids)
    for layer in dropouts:
        x = layer(x)

    if not cfg.evidence_buckets:
        readout = keras.layers.Dense(1, activation="sigmoid", name="readout")
        running = keras.layers.Reshape((cfg.maxlen,), name="running_score")(readout(rnn(x)))
        train_inputs, train_running = ids, running
        export_model = keras.Model(ids, [last(running), running], name="sentilens_export")
    else:
        readout = keras.layers.Dense(2, name="readout")  # [state logit, gate]
        gated = GatedEvidence(cfg.maxlen, name="gate")
        joined = keras.layers.Concatenate(name="with_evidence")

        def head(x, evidence):
            return gated(readout(rnn(joined([x, evidence]))), evidence)

        given = keras.Input(shape=(cfg.maxlen, 2), dtype="float32", name="evidence")
        train_inputs, train_running = [ids, given], head(x, given)
        export_ids = keras.Input(shape=(cfg.maxlen,), dtype="int32", name="ids")
        computed = WordEvidence(cfg.vocab_size, cfg.evidence_buckets, name="word_evidence")(export_ids)
        running = head(embedding(export_ids), computed)
        export_model = keras.Model(export_ids, [last(running), running], name="sentilens_export")

    if cfg.running_weight:  # learn the running score at every word (see the module docstring)
        train_model = keras.Model(train_inputs, train_running, name="sentilens")
        loss, metrics = running_loss(cfg.running_weight), [last_step_accuracy]
    else:
        train_model = keras.Model(train_inputs, last(train_running), name="sentilens")
        loss, metrics = "binary_crossentropy", [keras.metrics.BinaryAccuracy(name="accuracy")]
    train_model.compile(
        optimizer=keras.optimizers.RMSprop(
            learning_rate=cfg.learning_rate, clipnorm=cfg.clipnorm,
            use_ema=cfg.ema_momentum is not None, ema_momentum=cfg.ema_momentum or 0.99,
            ema_overwrite_frequency=steps_per_epoch if cfg.ema_momentum is not None else None,
        ),
        loss=loss,
        metrics=metrics,
    )
    return train_model, export_model


def running_targets(ids, labels):
    """float32 [n, T]: each review's label at its words (and its start id), -1 on its pads."""
    import numpy as np

    return np.where(np.asarray(ids) != 0, np.asarray(labels, np.float32)[:, None], np.float32(-1))


def running_loss(weight: float):
    """Cross-entropy of the last step, plus ``weight`` x its mean over the words (targets < 0 are pads)."""

    def loss(y_true, running):
        y_true = keras.ops.cast(y_true, "float32")
        p = keras.ops.clip(running, 1e-7, 1 - 1e-7)
        target = keras.ops.maximum(y_true, 0.0)
        each = -(target * keras.ops.log(p) + (1 - target) * keras.ops.log(1 - p))
        real = keras.ops.cast(y_true >= 0, "float32")
        steps = keras.ops.sum(each * real, axis=1) / keras.ops.maximum(keras.ops.sum(real, axis=1), 1.0)
        return each[:, -1] + weight * steps

    return loss


def last_step_accuracy(y_true, running):
    return keras.metrics.binary_accuracy(y_true[:, -1], running[:, -1])


last_step_accuracy.__name__ = "accuracy"
