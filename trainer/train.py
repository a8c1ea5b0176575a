"""The whole training flow, top to bottom: data -> vocabulary -> ids -> fit -> evaluate -> export.

    python -m trainer --data ../shared/data/aclImdb_v1_labeled.tar.gz --out exported/
"""

from __future__ import annotations

import json
import math
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


import keras  # noqa: E402
import numpy as np  # noqa: E402

from explain.codec import CODEC_VERSION, OOV, PAD, START, Codec, Vocabulary, tokenize  # noqa: E402
from serve.metrics import classification_report  # noqa: E402
from serve.model import FORMAT, METADATA, SentimentModel, file_sha256  # noqa: E402
from trainer import export  # noqa: E402
from trainer.data import Corpus  # noqa: E402
from trainer.model import ModelConfig, build_models  # noqa: E402

ONNX_FILE, ONNX_DATA, VOCAB_FILE, HISTORY_FILE = "model.onnx", "model.onnx.data", "vocab.txt", "history.json"
PARITY_TOLERANCE = 1e-5


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    epochs: int = 10
    batch_size: int = 64
    validation_split: float = 0.2
    patience: int | None = 2  # early stopping on val_loss, best weights restored; None: off
    seed: int = 0
    parity_reviews: int = 1000


PRESETS = {
    # The reference tutorial: full vocabulary, no regularisation, 10 epochs, no early stopping.
    "tutorial": TrainConfig(model=ModelConfig(vocab_size=88_584, embed_dim=32, units=32), epochs=10, patience=None),
    # Tuned here (see README): smaller vocabulary, whole-word and channel dropout, clipped
    # gradients, an exponential moving average of the weights, early stopping.
    "default": TrainConfig(
        model=ModelConfig(vocab_size=20_000, embed_dim=64, units=64, maxlen=250, dropout=0.2, word_dropout=0.2,
                          clipnorm=1.0, ema_momentum=0.99),
        epochs=12,
    ),
}


def set_seed(seed: int) -> None:
    keras.utils.set_random_seed(seed)
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()


def train(corpus: Corpus, cfg: TrainConfig, out: str | Path, log=print) -> dict:
    """Fit, evaluate, export and write ``out``; returns the metadata written."""
    set_seed(cfg.seed)
    mcfg = cfg.model

    log(f"data: {len(corpus.train):,} train / {len(corpus.test):,} test reviews ({corpus.source.get('kind')})")
    t0 = time.perf_counter()
    train_tokens = [tokenize(t) for t in corpus.train.texts]
    vocab = Vocabulary.from_token_lists(train_tokens, mcfg.vocab_size)
    if vocab.size < mcfg.vocab_size:
        log(f"vocabulary: the training data has only {vocab.size - 4:,} distinct words; vocab_size {vocab.size}")
        mcfg.vocab_size = vocab.size
    codec = Codec(vocab, mcfg.maxlen)
    # Shuffle once with the seed: validation_split takes the *last* 20%, and aclImdb is sorted by label.
    order = np.random.default_rng(cfg.seed).permutation(len(corpus.train))
    x_train = codec.encode_batch([corpus.train.texts[i] for i in order])
    y_train = corpus.train.labels[order]
    x_test, y_test = codec.encode_batch(corpus.test.texts), corpus.test.labels
    log(f"encoded in {time.perf_counter() - t0:.1f}s; vocab_size {vocab.size:,}, maxlen {mcfg.maxlen}, "
        f"test OOV rate {(x_test == OOV).sum() / max(1, (x_test > START).sum()):.3f}")

    n_val = len(x_train) - math.floor(len(x_train) * (1.0 - cfg.validation_split))  # as Keras splits
    steps_per_epoch = -(-(len(x_train) - n_val) // cfg.batch_size)
    train_model, export_model = build_models(mcfg, steps_per_epoch)
    callbacks = []
    if cfg.patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=cfg.patience, restore_best_weights=True, verbose=1))
    t0 = time.perf_counter()
    history = train_model.fit(
        x_train, y_train, batch_size=cfg.batch_size, epochs=cfg.epochs,
        validation_split=cfg.validation_split, callbacks=callbacks, verbose=1,
    ).history
    fit_seconds = time.perf_counter() - t0
    epochs_run = len(history["loss"])
    best_epoch = int(np.argmin(history["val_loss"])) + 1 if cfg.patience is not None else epochs_run

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-staging-", dir=out.parent))
    try:
        weights = export.save(export.to_onnx(export_model, mcfg.maxlen), mcfg.cell, staging / ONNX_FILE, ONNX_DATA)
        vocab.save(staging / VOCAB_FILE)
        (staging / HISTORY_FILE).write_text(json.dumps({k: [float(v) for v in vs] for k, vs in history.items()}))
        meta = {
            "format": FORMAT,
            "files": {"onnx": ONNX_FILE, "onnx_data": ONNX_DATA, "vocabulary": VOCAB_FILE, "history": HISTORY_FILE},
            "codec": {"version": CODEC_VERSION, "maxlen": mcfg.maxlen, "padding": "pre", "truncating": "pre",
                      "vocab_size": vocab.size, "pad_id": PAD, "start_id": START, "oov_id": OOV},
            "model": mcfg.to_dict(),
            "training": {"epochs": cfg.epochs, "epochs_run": epochs_run, "best_epoch": best_epoch,
                         "batch_size": cfg.batch_size, "validation_split": cfg.validation_split,
                         "early_stopping_patience": cfg.patience, "seed": cfg.seed, "optimizer": "rmsprop",
                         "loss": "binary_crossentropy", "fit_seconds": round(fit_seconds, 1),
                         "train_reviews": len(x_train) - n_val, "validation_reviews": n_val},
            "data": corpus.source,
            "onnx": {"opset": export.OPSET, "input": {"name": "ids", "dtype": "int32", "shape": ["batch", mcfg.maxlen]},
                     "outputs": {"probability": ["batch"], "running_score": ["batch", mcfg.maxlen]},
                     "weights": weights},
            "sha256": {name: file_sha256(staging / name) for name in (ONNX_FILE, ONNX_DATA, VOCAB_FILE)},
            "versions": library_versions(),
        }
        (staging / METADATA).write_text(json.dumps(meta, indent=2))

        # Everything below runs through the serving runtime: what is measured is what is served.
        runtime = SentimentModel(staging)
        meta["parity"] = check_parity(export_model, runtime, x_test[: cfg.parity_reviews])
        log(f"parity ORT vs Keras on {meta['parity']['reviews']:,} test reviews: "
            f"max |diff| {meta['parity']['max_abs_diff']:.2e}")
        x_val, y_val = x_train[len(x_train) - n_val:], y_train[len(y_train) - n_val:]
        meta["metrics"] = {
            "validation": classification_report(y_val, runtime.run(x_val)) if n_val else None,
            "test": classification_report(y_test, runtime.run(x_test)),
        }
        (staging / METADATA).write_text(json.dumps(meta, indent=2))
        replace_dir(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log(metrics_table(meta["metrics"]))
    return meta


def check_parity(export_model: keras.Model, runtime: SentimentModel, ids: np.ndarray) -> dict:
    """Both outputs of ORT against Keras on real reviews; a mismatch fails the export."""
    want_p, want_r = export_model.predict(ids, batch_size=256, verbose=0)
    got_p, got_r = runtime.run(ids, running=True)
    diff = float(max(np.abs(want_p - got_p).max(), np.abs(want_r - got_r).max()))
    if not diff <= PARITY_TOLERANCE:
        raise export.ExportError(f"ORT and Keras disagree by {diff:.2e} (> {PARITY_TOLERANCE}); export refused")
    return {"reviews": int(len(ids)), "max_abs_diff": diff, "tolerance": PARITY_TOLERANCE}


def replace_dir(staging: Path, out: Path) -> None:
    """Swap the finished model in, so an interrupted run never leaves a half-written ``out``."""
    staging.chmod(0o755)  # mkdtemp makes it private
    if out.exists():
        backup = out.with_name(out.name + ".old")
        shutil.rmtree(backup, ignore_errors=True)
        out.rename(backup)
        staging.rename(out)
        shutil.rmtree(backup, ignore_errors=True)
    else:
        staging.rename(out)


def metrics_table(metrics: dict) -> str:
    rows = [("split", "accuracy", "loss", "ROC AUC", "F1", "reviews")]
    for split, m in metrics.items():
        if m:
            rows.append((split, f"{m['accuracy']:.4f}", f"{m['loss']:.4f}", f"{m['roc_auc']:.4f}",
                         f"{m['f1']:.4f}", f"{m['n']:,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)


def library_versions() -> dict:
    import onnx
    import onnxruntime
    import tensorflow as tf
    import tf2onnx

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "tf2onnx": tf2onnx.__version__, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
            "numpy": np.__version__, "platform": sys.platform}
