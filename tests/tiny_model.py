"""The tiny model most tests serve from, and the synthetic corpus it learns (never IMDB text).

It is committed in ``tests/fixtures/tiny_model`` so that the fast lane needs no TensorFlow.
Regenerate it after a change to the trainer or the artifact format (needs the train extra):

    python -m tests.tiny_model
"""

from __future__ import annotations

import random
from pathlib import Path

from tests.synthetic import review

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "tiny_model"
SETTINGS = dict(vocab_size=64, embed_dim=8, units=8, maxlen=24, evidence_buckets=256, running_weight=0.2)


def tiny_corpus(n: int = 240, seed: int = 1):
    """Reviews decided by one word each; the training split also has word-less reviews
    with coin-flip labels, so that the model starts undecided and needs the word either way.
    Lengths vary (3 to 18 filler words), as they do in real data."""
    import numpy as np

    from trainer.data import Corpus, Split

    rng = random.Random(seed)
    labels = [i % 2 for i in range(n)]
    texts = [review(y, rng, rng.randint(3, 18)) for y in labels]
    cut = n * 3 // 4
    neutral = [review(None, rng, rng.randint(3, 18)) for _ in range(n // 3)]
    coins = [rng.randint(0, 1) for _ in neutral]
    return Corpus(Split(texts[:cut] + neutral, np.array(labels[:cut] + coins, np.int32)),
                  Split(texts[cut:], np.array(labels[cut:], np.int32)),
                  {"kind": "synthetic", "path": None, "sha256": None})


def train_tiny(out: Path, cell: str = "lstm", epochs: int = 1, **model) -> dict:
    from trainer.config import ModelConfig, TrainConfig
    from trainer.train import train

    cfg = TrainConfig(model=ModelConfig(**(SETTINGS | {"cell": cell} | model)), epochs=epochs, patience=None,
                      parity_reviews=60)
    return train(tiny_corpus(), cfg, out, log=lambda *_: None)


def train_fixture(out: Path = FIXTURE) -> dict:
    """The committed fixture: an LSTM trained until the one decisive word decides the label."""
    return train_tiny(out, epochs=25, learning_rate=0.01)


if __name__ == "__main__":
    meta = train_fixture()
    print(f"wrote {FIXTURE}: test accuracy {meta['metrics']['test']['accuracy']:.3f}")
