"""Every setting of a training run in one object, and the named presets (no Keras import here,
so the command line answers ``--help`` and reports bad data at once).

``ModelConfig`` is recorded in the exported model's metadata (``architecture``, with maxlen and
the vocabulary size under ``codec``), and ``trainer.reload`` builds the same model back from it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sentilens.errors import InputError
from trainer.cells import CELLS

__all__ = ["ModelConfig", "PRESETS", "TrainConfig"]


@dataclass
class ModelConfig:
    vocab_size: int = 20_000
    embed_dim: int = 32
    units: int = 32
    maxlen: int = 250
    cell: str = "lstm"
    dropout: float = 0.0  # of embedding channels (SpatialDropout1D), before the recurrent layer
    word_dropout: float = 0.0  # of whole words: their embedding is zeroed during training
    learning_rate: float = 1e-3  # rmsprop
    clipnorm: float | None = None  # gradient clipping: steadies the LSTM's occasional loss spikes
    ema_momentum: float | None = None  # exponential moving average of the weights, swapped in every epoch
    evidence_buckets: int = 0  # > 0: the gated word/pair evidence readout with this many pair buckets (trainer.model)
    running_weight: float = 0.0  # weight of the loss on the running score after every word (0: the last only)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    epochs: int = 10
    batch_size: int = 64
    validation_split: float = 0.2
    patience: int | None = 2  # early stopping on val_loss, best weights restored; None: off
    seed: int = 0
    parity_reviews: int = 1000

    def validate(self) -> TrainConfig:
        """Refuse settings that cannot train, with the option to change (before any data is read)."""
        m = self.model
        rules = [
            (m.cell in CELLS, f"--cell must be one of {', '.join(CELLS)}"),
            (m.vocab_size > 4, "--vocab-size must be more than the 4 reserved ids"),
            (min(m.embed_dim, m.units, m.maxlen) >= 1, "--embed-dim, --units and --maxlen must be at least 1"),
            (0 <= m.dropout < 1 and 0 <= m.word_dropout < 1, "--dropout and --word-dropout must be in [0, 1)"),
            (self.epochs >= 1, "--epochs must be at least 1"),
            (self.patience is None or self.patience >= 1, "--patience must be at least 1 (0 turns it off)"),
            (0 < self.validation_split < 1, "--validation-split must be in (0, 1)"),
            (m.evidence_buckets >= 0, "--evidence-buckets must be 0 (the plain readout) or more"),
            (m.running_weight >= 0, "--running-weight must be 0 or more"),
        ]
        for ok, message in rules:
            if not ok:
                raise InputError(message)
        return self


PRESETS = {
    # The reference tutorial: full vocabulary, no regularisation, 10 epochs, no early stopping.
    "tutorial": TrainConfig(model=ModelConfig(vocab_size=88_584, embed_dim=32, units=32), epochs=10, patience=None),
    # Tuned here (docs/results.md): the gated word/pair evidence readout over the last 1,000 ids, the
    # running score learned at every word, whole-word and channel dropout, clipped gradients, an
    # exponential moving average of the weights, early stopping on a 10% validation split.
    "default": TrainConfig(
        model=ModelConfig(vocab_size=20_000, embed_dim=64, units=64, maxlen=1000, dropout=0.2, word_dropout=0.2,
                          clipnorm=1.0, ema_momentum=0.99, evidence_buckets=2**21, running_weight=0.2),
        epochs=6, validation_split=0.1,
    ),
}
