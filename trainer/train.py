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
from pathlib import Path

import keras
import numpy as np

from explain.methods import applicable
from sentilens.artifact import FILES, LSTM_WEIGHTS, RUNNING_OUTPUT, Artifact, Capabilities, CodecSpec
from sentilens.codec import OOV, START, Codec, Vocabulary, tokenize
from sentilens.errors import ExportError
from sentilens.metrics import classification_report
from serve.runtime import SentimentModel
from trainer import export, fastpath
from trainer.baseline import baselines
from trainer.cells import get_cell
from trainer.data import Corpus
from trainer.config import TrainConfig
from trainer.model import build_models

PARITY_TOLERANCE = 1e-5


def set_seed(seed: int) -> None:
    keras.utils.set_random_seed(seed)
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()


def train(corpus: Corpus, cfg: TrainConfig, out: str | Path, log=print, init: SentimentModel | None = None,
          lineage: dict | None = None) -> dict:
    """Fit, evaluate, export and write ``out`` through ``sentilens.artifact``; returns the metadata written.

    With ``init`` (an exported model) training starts from its weights and keeps its vocabulary, so
    the codec stays identical (fine-tuning, ``trainer.finetune``); ``lineage`` is recorded as given."""
    set_seed(cfg.seed)
    mcfg = cfg.model

    log(f"data: {len(corpus.train):,} train / {len(corpus.test):,} test reviews ({corpus.source.get('kind')})")
    t0 = time.perf_counter()
    if init is not None:
        vocab = init.codec.vocab
    else:
        vocab = Vocabulary.from_token_lists((tokenize(t) for t in corpus.train.texts), mcfg.vocab_size)
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
    if init is not None:
        from trainer.reload import load_exported_weights

        load_exported_weights(export_model, init)
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
        cell = get_cell(mcfg.cell)
        weights, op = export.save(export.to_onnx(export_model, mcfg.maxlen), cell, staging / FILES["onnx"],
                                  FILES["onnx_data"])
        vocab.save(staging / FILES["vocabulary"])
        (staging / FILES["history"]).write_text(json.dumps({k: [float(v) for v in vs] for k, vs in history.items()}))
        fused = op == cell.onnx_op
        features = (RUNNING_OUTPUT,) + ((LSTM_WEIGHTS,) if fused and cell.decomposable else ())
        artifact = Artifact(
            codec=CodecSpec(maxlen=mcfg.maxlen, vocab_size=vocab.size),
            architecture={k: v for k, v in mcfg.to_dict().items() if k not in ("maxlen", "vocab_size")},
            capabilities=Capabilities(cell.name, op, fused, features, applicable(features)),
            weights=weights, opset=export.OPSET,
            training={"epochs": cfg.epochs, "epochs_run": epochs_run, "best_epoch": best_epoch,
                      "batch_size": cfg.batch_size, "validation_split": cfg.validation_split,
                      "early_stopping_patience": cfg.patience, "seed": cfg.seed, "optimizer": "rmsprop",
                      "loss": "binary_crossentropy", "fit_seconds": round(fit_seconds, 1),
                      "train_reviews": len(x_train) - n_val, "validation_reviews": n_val},
            data=corpus.source, versions=library_versions(), lineage=lineage,
        )
        artifact.write(staging)
        x_val, y_val = x_train[len(x_train) - n_val:], y_train[len(y_train) - n_val:]
        artifact = measure(staging, artifact, export_model, (x_val, y_val), (x_test, y_test), corpus, cfg, log)
        replace_dir(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log(metrics_table(artifact.metrics))
    return artifact.to_dict()


def measure(staging: Path, artifact: Artifact, export_model: keras.Model, validation: tuple, test: tuple,
            corpus: Corpus, cfg: TrainConfig, log=print) -> Artifact:
    """Parity, metrics, baseline, the padding-skipping and int8 scorers, all through the serving
    runtime (what is measured is what is served); returns the artifact as serving will load it."""
    (x_val, y_val), (x_test, y_test) = validation, test
    runtime = SentimentModel(staging, complete=False)
    artifact.parity = check_parity(export_model, runtime, x_test[: cfg.parity_reviews])
    log(f"parity ORT vs Keras on {artifact.parity['reviews']:,} test reviews: "
        f"max |diff| {artifact.parity['max_abs_diff']:.2e}")
    artifact.metrics = {
        "validation": classification_report(y_val, runtime.run(x_val)) if len(x_val) else None,
        "test": classification_report(y_test, runtime.run(x_test)),
        "baseline": baselines(corpus, cfg.seed),  # TF-IDF + logistic regression, same split
    }
    artifact.write(staging)
    caps = artifact.capabilities
    if get_cell(caps.cell).must_fuse and caps.fused:  # the padding-skipping scorer, checked against the full graph
        fastpath.add_fast_path(staging, x_test[: cfg.parity_reviews])
        fastpath.add_int8(staging, x_test, y_test)  # kept only within its accuracy bound
    return Artifact.load(staging)  # what serving will load: refuse to publish anything it would refuse


def check_parity(export_model: keras.Model, runtime: SentimentModel, ids: np.ndarray) -> dict:
    """Both outputs of ORT against Keras on real reviews; a mismatch fails the export."""
    want_p, want_r = export_model.predict(ids, batch_size=256, verbose=0)
    got_p, got_r = runtime.run(ids, running=True)
    diff = float(max(np.abs(want_p - got_p).max(), np.abs(want_r - got_r).max()))
    if not diff <= PARITY_TOLERANCE:
        raise ExportError(f"ORT and Keras disagree by {diff:.2e} (> {PARITY_TOLERANCE}); export refused")
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
        if m and split != "baseline":
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
