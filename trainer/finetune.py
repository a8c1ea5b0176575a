"""Fine-tune an exported model on annotations: the loop from labels back to a better model.

    python -m trainer --init exported/ --extra annotations.csv --data ../shared/data/aclImdb_v1_labeled.tar.gz --out NEW

Training starts from the parent's weights and keeps its vocabulary and maxlen (no new ids: the
codec stays identical, so the two models compare review for review). It trains on the
annotations mixed with a seeded replay sample of the original training data (``REPLAY_PER_ROW``
original reviews per annotation, at least ``MIN_REPLAY``), so the model learns the new labels
without forgetting the old task; annotations whose text is in the test split are dropped. The
export goes through the usual parity checks, and is refused when test accuracy on the original
split falls more than ``MAX_FORGETTING`` below the parent's. The metadata records the lineage:
the parent's sha256, each extra file's sha256 and row count, the replay size, and the parent's
test accuracy beside the new one.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from sentilens.digest import sha256_of
from sentilens.errors import ExportError
from serve.runtime import SentimentModel
from trainer.config import ModelConfig, TrainConfig
from trainer.data import Corpus, Split, merge_extra

REPLAY_PER_ROW = 4
MIN_REPLAY = 2_000
MAX_FORGETTING = 0.01  # test accuracy may fall at most 1 point below the parent's
EPOCHS = 2
LEARNING_RATE = 3e-4


def fine_tune(parent_dir: str | Path, corpus: Corpus, extra: Split, extra_paths: list[str | Path],
              out: str | Path, epochs: int = EPOCHS, seed: int = 0, log=print) -> dict:
    """Train from ``parent_dir`` on ``extra`` + replay from ``corpus.train``; returns the new metadata."""
    from trainer.train import train

    parent = SentimentModel(parent_dir)
    art = parent.artifact
    if art.data.get("sha256") and corpus.source.get("sha256") and art.data["sha256"] != corpus.source["sha256"]:
        raise ExportError(f"{parent_dir}: the parent was trained on {art.data.get('path')} (sha256 "
                          f"{art.data['sha256'][:12]}...); pass that data with --data for the replay and the test split")
    merged = merge_extra(Corpus(Split([], np.zeros(0, np.int32)), corpus.test, dict(corpus.source)), extra,
                         log=log, require_both=False)
    annotations = merged.train
    n_replay = min(len(corpus.train), max(MIN_REPLAY, REPLAY_PER_ROW * len(annotations)))
    replay = corpus.train.take(np.random.default_rng(seed).choice(len(corpus.train), n_replay, replace=False))
    mixed = Corpus(annotations + replay, corpus.test, merged.source | {"replay_rows": n_replay})
    model_cfg = ModelConfig(**art.model_config())
    model_cfg.learning_rate, model_cfg.ema_momentum = LEARNING_RATE, None
    cfg = TrainConfig(model=model_cfg, epochs=epochs, patience=None, seed=seed,
                      batch_size=art.training.get("batch_size", 64))
    lineage = {
        "parent_sha256": parent.sha256,
        "extra": [{"path": Path(p).name, "sha256": sha256_of(p)} for p in extra_paths],
        "extra_rows": len(annotations), "extra_dropped_as_test": merged.source.get("extra_dropped_as_test", 0),
        "replay_rows": n_replay, "epochs": epochs, "learning_rate": LEARNING_RATE,
        "parent_test_accuracy": art.metrics["test"]["accuracy"], "max_forgetting": MAX_FORGETTING,
    }
    log(f"fine-tuning {parent_dir} ({parent.sha256[:12]}...) on {len(annotations):,} annotations + {n_replay:,} "
        f"replayed reviews, {epochs} epochs")
    staging = Path(out).with_name(Path(out).name + ".candidate")
    meta = train(mixed, copy.deepcopy(cfg), staging, log=log, init=parent, lineage=lineage)
    try:
        after = meta["metrics"]["test"]["accuracy"]
        if after < lineage["parent_test_accuracy"] - MAX_FORGETTING:
            raise ExportError(f"test accuracy fell from {lineage['parent_test_accuracy']:.4f} to {after:.4f}, more "
                              f"than {MAX_FORGETTING:.2f} below the parent; not written (fewer epochs, or more replay)")
        from trainer.train import replace_dir

        replace_dir(staging, Path(out))
    finally:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
    log(f"test accuracy {lineage['parent_test_accuracy']:.4f} -> {after:.4f}")
    return meta
