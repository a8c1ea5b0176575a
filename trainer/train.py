"""The whole training flow, top to bottom: data -> vocabulary -> ids -> fit -> evaluate -> export.

    python -m trainer --data ../shared/data/aclImdb_v1_labeled.tar.gz --out exported/
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from pathlib import Path

import keras
import numpy as np

from explain.methods import applicable
from sentilens.artifact import (FILES, LSTM_WEIGHTS, OPSET, PARITY_TOLERANCE, PROBES, RUNNING_OUTPUT,
                               SKIP_PADDING, WORD_EVIDENCE, Artifact, Capabilities, CodecSpec, add_tokenizer)
from sentilens.codec import OOV, START, Codec, Vocabulary, tokenize
from sentilens.staging import staged_dir
from sentilens.errors import ExportError
from sentilens.metrics import classification_report
from serve.runtime import SentimentModel
from trainer import evidence, export, fastpath
from trainer.baseline import baselines
from trainer.cells import get_cell
from trainer.data import Corpus
from trainer.learnable import add_learning
from trainer.config import TrainConfig
from trainer.model import build_models, running_targets

__all__ = ["check_parity", "library_versions", "measure", "metrics_table", "publish", "set_evidence", "set_seed",
           "train"]


def set_seed(seed: int) -> None:
    keras.utils.set_random_seed(seed)
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()


def train(corpus: Corpus, cfg: TrainConfig, out: str | Path, log=print, init: SentimentModel | None = None,
          lineage: dict | None = None, baseline: dict | None = None, accept=None) -> dict:
    """Fit, evaluate, export and write ``out`` through ``sentilens.artifact``; returns the metadata written.

    With ``init`` (an exported model) training starts from its weights and keeps its vocabulary, so
    the codec stays identical (fine-tuning, ``trainer.finetune``); ``lineage`` is recorded as given;
    ``baseline``: the peers' figures on this very split when the caller has them (else they are fitted)."""
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
    inputs, fitted = x_train, None
    if mcfg.evidence_buckets:  # the word and pair tables first: the LSTM learns to weigh their evidence
        t0 = time.perf_counter()
        fitted = evidence.fit(x_train, y_train, vocab.size, mcfg.evidence_buckets, seed=cfg.seed, log=log)
        set_evidence(export_model, fitted.unigram, fitted.pairs)
        inputs = [x_train, fitted.out_of_fold]
        log(f"evidence tables fitted in {time.perf_counter() - t0:.0f}s; alone they score "
            f"{evidence.accuracy(x_test, y_test, fitted.unigram, fitted.pairs, fitted.intercept):.4f} on the test split")
    if init is not None:
        from trainer.reload import load_exported_weights

        load_exported_weights(export_model, init)
    callbacks = []
    if cfg.patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=cfg.patience, restore_best_weights=True, verbose=1))
    t0 = time.perf_counter()
    targets = running_targets(x_train, y_train) if mcfg.running_weight else y_train
    history = train_model.fit(
        inputs, targets, batch_size=cfg.batch_size, epochs=cfg.epochs,
        validation_split=cfg.validation_split, callbacks=callbacks, verbose=1,
    ).history
    fit_seconds = time.perf_counter() - t0
    epochs_run = len(history["loss"])
    best_epoch = int(np.argmin(history["val_loss"])) + 1 if cfg.patience is not None else epochs_run
    validation = None
    if fitted is not None and n_val:  # judged as in training: the export's tables have seen these reviews
        held = slice(len(x_train) - n_val, None)
        predicted = train_model.predict([x_train[held], fitted.out_of_fold[held]], batch_size=256, verbose=0)
        validation = classification_report(y_train[held], predicted[:, -1] if predicted.ndim == 2 else predicted)
        validation["evidence"] = "out-of-fold"

    training = {"epochs": cfg.epochs, "epochs_run": epochs_run, "best_epoch": best_epoch, "batch_size": cfg.batch_size,
                "validation_split": cfg.validation_split, "early_stopping_patience": cfg.patience, "seed": cfg.seed,
                "optimizer": "rmsprop", "loss": "binary_crossentropy", "fit_seconds": round(fit_seconds, 1),
                "train_reviews": len(x_train) - n_val, "validation_reviews": n_val}
    if fitted is not None:
        training["evidence"] = {"model": "naive-Bayes-weighted logistic regression", "c": evidence.C,
                                "folds": evidence.FOLDS, "fitted_on": len(x_train)}
    held_out = (x_train[len(x_train) - n_val:], y_train[len(y_train) - n_val:])
    artifact = publish(export_model, mcfg, vocab, history, training, corpus, held_out, (x_test, y_test), cfg, out,
                       lineage=lineage, validation=validation, baseline=baseline, accept=accept, log=log)
    log(metrics_table(artifact.metrics))
    return artifact.to_dict()


def publish(export_model: keras.Model, mcfg, vocab: Vocabulary, history: dict, training: dict, corpus: Corpus,
            held_out: tuple, test: tuple, cfg: TrainConfig, out: str | Path, lineage: dict | None = None,
            validation: dict | None = None, baseline: dict | None = None, accept=None, log=print) -> Artifact:
    """Export ``export_model`` to ONNX, measure it through the serving runtime and swap it into ``out``
    only when every check passed (and ``accept(artifact)``, when given, raised nothing); returns the
    artifact as serving loads it. ``out`` may be new, empty or an earlier export (``sentilens.staging``)."""
    with staged_dir(Path(out)) as staging:
        cell = get_cell(mcfg.cell)
        export.round_to_half(export_model)
        weights, op = export.save(export.to_onnx(export_model, mcfg.maxlen), cell, export.keras_weights(export_model),
                                  staging / FILES["onnx"], FILES["onnx_data"])
        vocab.save(staging / FILES["vocabulary"])
        (staging / FILES["history"]).write_text(json.dumps({k: [float(v) for v in vs] for k, vs in history.items()}))
        fused = op == cell.onnx_op
        features = ((RUNNING_OUTPUT,) + ((LSTM_WEIGHTS,) if fused and cell.decomposable else ())
                    + ((WORD_EVIDENCE,) if mcfg.evidence_buckets else ()))
        artifact = Artifact(
            codec=CodecSpec(maxlen=mcfg.maxlen, vocab_size=vocab.size),
            architecture={k: v for k, v in mcfg.to_dict().items() if k not in ("maxlen", "vocab_size")},
            capabilities=Capabilities(cell.name, op, fused, features, applicable(features)),
            weights=weights, opset=OPSET, training=training,
            data=corpus.source, versions=library_versions(), lineage=lineage,
        )
        artifact.write(staging)
        artifact = measure(staging, artifact, export_model, held_out, test, corpus, cfg, log,
                           validation=validation, baseline=baseline)
        if accept is not None:
            accept(artifact)
    artifact.directory = Path(out)
    return artifact


def measure(staging: Path, artifact: Artifact, export_model: keras.Model, held_out: tuple, test: tuple,
            corpus: Corpus, cfg: TrainConfig, log=print, validation: dict | None = None,
            baseline: dict | None = None) -> Artifact:
    """Parity, metrics, baseline, the padding-skipping and int8 scorers, all through the serving
    runtime (what is measured is what is served); returns the artifact as serving will load it.
    ``validation`` replaces the runtime's report on ``held_out`` when that would flatter the model;
    ``baseline`` reuses peers already fitted on the same split (a fine-tune's parent's)."""
    (x_val, y_val), (x_test, y_test) = held_out, test
    runtime = SentimentModel(staging, complete=False)
    artifact.parity = check_parity(export_model, runtime, x_test[: cfg.parity_reviews])
    log(f"parity ORT vs Keras on {artifact.parity['reviews']:,} test reviews: "
        f"max |diff| {artifact.parity['max_abs_diff']:.2e}")
    artifact.write(staging)
    caps = artifact.capabilities
    if get_cell(caps.cell).must_fuse and caps.fused:  # the padding-skipping scorer, checked against the full graph
        fastpath.add_fast_path(staging, x_test[: cfg.parity_reviews])
        artifact = Artifact.load(staging, complete=False)
        runtime = SentimentModel(staging, complete=False)  # scores with the checked fast path from here on
    artifact.metrics = {
        "validation": validation or (classification_report(y_val, runtime.score_ids(x_val)) if len(x_val) else None),
        "test": classification_report(y_test, runtime.score_ids(x_test)),
        "baseline": baseline or baselines(corpus, cfg.seed),  # the simple peers, same split
    }
    artifact.probes = [float(p) for p in runtime.run(runtime.codec.encode_batch(list(PROBES)))]
    artifact.write(staging)
    if SKIP_PADDING in artifact.capabilities.features:
        fastpath.add_int8(staging, x_test, y_test)  # kept only within its accuracy bound
    if {WORD_EVIDENCE, SKIP_PADDING} <= set(artifact.capabilities.features):  # what learning in the app needs
        add_learning(staging, corpus.train.texts, corpus.train.labels, corpus.test.texts, y_test, seed=cfg.seed)
    finished = Artifact.load(staging, complete=False)
    add_tokenizer(finished, staging)  # last: the codec as a standard tokenizer.json, for any runtime
    finished.write(staging)
    return Artifact.load(staging)  # what serving will load: refuse to publish anything it would refuse


def set_evidence(export_model: keras.Model, unigram: np.ndarray, pairs: np.ndarray) -> None:
    """Put fitted tables into the export model (float16, as stored and served)."""
    export_model.get_layer("word_evidence").set_weights([unigram.astype(np.float16), pairs.astype(np.float16)])


def check_parity(export_model: keras.Model, runtime: SentimentModel, ids: np.ndarray) -> dict:
    """Both outputs of ORT against Keras on real reviews; a mismatch fails the export."""
    want_p, want_r = export_model.predict(ids, batch_size=256, verbose=0)
    got_p, got_r = runtime.run(ids, running=True)
    diff = float(max(np.abs(want_p - got_p).max(), np.abs(want_r - got_r).max()))
    if not diff <= PARITY_TOLERANCE:
        raise ExportError(f"ORT and Keras disagree by {diff:.2e} (> {PARITY_TOLERANCE}); export refused")
    return {"reviews": int(len(ids)), "max_abs_diff": diff, "tolerance": PARITY_TOLERANCE}


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
