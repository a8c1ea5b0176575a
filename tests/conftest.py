"""Shared fixtures: tiny corpora and a tiny model trained on them (never IMDB text)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.synthetic import review, tar_aclimdb, write_aclimdb

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"


@pytest.fixture
def acl_dir(tmp_path: Path) -> Path:
    return write_aclimdb(tmp_path, per_folder=3)


@pytest.fixture
def acl_tar(tmp_path: Path) -> Path:
    return tar_aclimdb(tmp_path, per_folder=3)


def tiny_corpus(n: int = 240, seed: int = 1):
    """Reviews decided by one word each; the training split also has word-less reviews
    with coin-flip labels, so that the model starts undecided and needs the word either way."""
    import numpy as np

    from trainer.data import Corpus, Split

    rng = random.Random(seed)
    labels = [i % 2 for i in range(n)]
    texts = [review(y, rng) for y in labels]
    cut = n * 3 // 4
    neutral = [review(None, rng) for _ in range(n // 3)]
    coins = [rng.randint(0, 1) for _ in neutral]
    return Corpus(Split(texts[:cut] + neutral, np.array(labels[:cut] + coins, np.int32)),
                  Split(texts[cut:], np.array(labels[cut:], np.int32)),
                  {"kind": "synthetic", "path": None, "sha256": None})


def train_tiny(out: Path, cell: str = "lstm", epochs: int = 1, **model):
    from trainer.model import ModelConfig
    from trainer.train import TrainConfig, train

    settings = dict(vocab_size=64, embed_dim=8, units=8, maxlen=24, cell=cell) | model
    cfg = TrainConfig(model=ModelConfig(**settings), epochs=epochs, patience=None, parity_reviews=60)
    return train(tiny_corpus(), cfg, out, log=lambda *_: None)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny LSTM trained until the one decisive word decides the label."""
    out = tmp_path_factory.mktemp("tiny") / "model"
    train_tiny(out, epochs=25, learning_rate=0.01)
    return out
