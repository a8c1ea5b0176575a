"""Fine-tune an exported model on annotations: the loop from labels back to a better model.

    python -m trainer --init exported/ --extra annotations.csv --data ../shared/data/aclImdb_v1_labeled.tar.gz --out NEW

Annotations whose text is in the test split are dropped first. Then, by the parent's readout:

- **gated evidence** (the default model): the annotations' new words join the vocabulary (appended,
  so every old id keeps its meaning; the LSTM reads a new word exactly as it read it before, as
  the unknown word, while the evidence tables learn it), and the word and pair tables are refitted
  on the parent's training reviews plus the annotations, each annotation counted ``weight`` times:
  the weight of ``WEIGHTS`` under which the refitted model best predicts a held-out third of the
  annotations (``choose_weight``), unless one is given. Text like the training reviews wants a
  small weight; a new kind of text, a large one. The LSTM, its gate and readout stay the parent's.
- **plain** (the tutorial's model): training starts from the parent's weights and keeps its
  vocabulary, on the annotations mixed with a seeded replay sample of the original training data
  (``REPLAY_PER_ROW`` per annotation, at least ``MIN_REPLAY``), ``EPOCHS`` at a lower learning rate.

Either way the export goes through the usual parity checks, and is refused when test accuracy on
the parent's test split falls more than ``MAX_FORGETTING`` below the parent's. The metadata records
the lineage: the parent's sha256, each extra file's sha256 and row count, the words added, the
weights tried and the one chosen (or the replay size), and the parent's test accuracy beside the new one.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from sentilens.artifact import LEARN, WORD_EVIDENCE
from sentilens.codec import Codec, Vocabulary
from sentilens.digest import sha256_of
from sentilens.errors import ExportError, InputError
from sentilens.staging import check_folder
from serve.runtime import SentimentModel
from trainer.config import ModelConfig, TrainConfig
from trainer.audit import audit, trigger_effects
from trainer.data import Corpus, Split, merge_extra

__all__ = ["EPOCHS", "LEARNING_RATE", "MAX_FORGETTING", "MAX_NEW_WORDS", "MIN_REPLAY", "MIN_TO_CHOOSE",
           "REPLAY_PER_ROW", "WEIGHT", "WEIGHTS", "choose_weight", "fine_tune", "grown_vocabulary", "grown_weights"]

REPLAY_PER_ROW = 4
MIN_REPLAY = 2_000
MAX_FORGETTING = 0.01  # test accuracy may fall at most 1 point below the parent's
EPOCHS = 2
LEARNING_RATE = 3e-4
WEIGHTS = (1.0, 3.0, 10.0, 30.0)  # how many training reviews an annotation may count as: chosen on held-out ones
WEIGHT = 3.0  # the weight when there are too few annotations to choose (fewer than MIN_TO_CHOOSE)
MIN_TO_CHOOSE = 30
MAX_NEW_WORDS = 20_000  # words an annotation set may add to the vocabulary (most frequent first)


def fine_tune(parent_dir: str | Path, corpus: Corpus, extra: Split, extra_paths: list[str | Path],
              out: str | Path, epochs: int = EPOCHS, seed: int = 0, weight: float | None = None,
              accept_audit: bool = False, log=print, refit_tables: bool = False) -> dict:
    """A new model in ``out`` from ``parent_dir`` and the annotations ``extra``; returns its metadata.

    The annotations are audited first (``trainer.audit``): a trigger word or flipped training labels
    refuse the fine-tune unless ``accept_audit``; then the flagged words' effect on the new model is
    measured and recorded in its lineage."""
    parent = SentimentModel(parent_dir)
    art = parent.artifact
    if art.data.get("sha256") and corpus.source.get("sha256") and art.data["sha256"] != corpus.source["sha256"]:
        raise ExportError(f"{parent_dir}: the parent was trained on {art.data.get('path')} (sha256 "
                          f"{art.data['sha256'][:12]}...); pass that data with --data for the replay and the test split")
    if weight is not None and not weight > 0:
        raise InputError(f"--weight must be positive, not {weight}")
    check_folder(Path(out), inputs=[parent_dir, *extra_paths])  # never over the parent or the annotations
    merged = merge_extra(Corpus(Split([], np.zeros(0, np.int32)), corpus.test, dict(corpus.source)), extra,
                         log=log, require_both=False)
    annotations = merged.train
    findings = audit(annotations, corpus.train, parent.predict(annotations.texts))
    problems = findings.problems()
    for problem in problems:
        log(f"audit: {problem}")
    if problems and not accept_audit:
        raise ExportError(f"the annotations fail the audit: {'; '.join(problems)}. Nothing was trained; check them, "
                          "or pass --accept-audit to learn from them anyway")
    lineage = {
        "parent_sha256": parent.sha256,
        "extra": [{"path": Path(p).name, "sha256": sha256_of(p)} for p in extra_paths],
        "extra_rows": len(annotations), "extra_dropped_as_test": merged.source.get("extra_dropped_as_test", 0),
        "parent_test_accuracy": art.metrics["test"]["accuracy"], "max_forgetting": MAX_FORGETTING,
        "audit": findings.to_dict() | {"accepted": bool(problems)},
    }

    def not_forgetting(artifact) -> None:
        """Checked before the new model replaces anything: a refusal leaves ``out`` as it was."""
        after = artifact.metrics["test"]["accuracy"]
        if after < lineage["parent_test_accuracy"] - MAX_FORGETTING:
            raise ExportError(f"test accuracy fell from {lineage['parent_test_accuracy']:.4f} to {after:.4f}, more "
                              f"than {MAX_FORGETTING:.2f} below the parent; not written")
        effects = trigger_effects(parent, SentimentModel(artifact.directory), corpus.test,
                                  [t["word"] for t in findings.triggers], seed)
        for e in effects:
            log(f"audit: appending {e['word']!r} changes {e['tuned_changes']:.1%} of test labels "
                f"(the parent: {e['parent_changes']:.1%})")
        if effects:  # recorded with the model it describes
            artifact.lineage["audit"]["trigger_effects"] = effects
            artifact.write(artifact.directory)

    if LEARN in art.capabilities.features and not refit_tables:  # the app's learner: numpy, no TensorFlow
        meta = _learn_in_numpy(parent, corpus, annotations, lineage, Path(out), findings, seed, accept_audit, log)
    elif WORD_EVIDENCE in art.capabilities.features:
        meta = _refit_evidence(parent, corpus, annotations, merged.source, lineage, weight, Path(out), seed, log,
                               not_forgetting)
    else:
        meta = _retrain(parent, corpus, annotations, merged.source, lineage, epochs, Path(out), seed, log,
                        not_forgetting)
    after = meta["metrics"]["test"]["accuracy"]
    log(f"test accuracy {lineage['parent_test_accuracy']:.4f} -> {after:.4f}")
    return meta


def _learn_in_numpy(parent: SentimentModel, corpus: Corpus, annotations: Split, lineage: dict, out: Path,
                    findings, seed: int, accept_audit: bool, log) -> dict:
    """``serve.learn.learner.learn`` (the app's "Learn from these labels") into ``out``, with forgetting
    measured on the whole test split; the result replaces ``out`` only when every check passed. The
    words the audit flagged (accepted) are appended to test reviews and their effect recorded."""
    import os

    from sentilens.staging import staged_dir
    from serve.learn.learner import learn

    test = (parent.codec.encode_batch(corpus.test.texts), np.asarray(corpus.test.labels))
    with staged_dir(out, inputs=[parent.directory]) as staging:
        learned = learn(parent, annotations.texts, annotations.labels, staging / "version", test=test,
                        accept_audit=accept_audit, lineage=lineage | {"method": "evidence refit in numpy (serve.learn)"},
                        progress=lambda fraction, what: log(f"{fraction:4.0%} {what}"))
        for name in os.listdir(staging / "version"):
            os.rename(staging / "version" / name, staging / name)
        os.rmdir(staging / "version")
        learned.artifact.directory = staging
        effects = trigger_effects(parent, SentimentModel(staging), corpus.test, [t["word"] for t in findings.triggers],
                                  seed)
        if effects:
            learned.artifact.lineage["audit"]["trigger_effects"] = effects
            learned.artifact.write(staging)
    ho, imdb = learned.summary["held_out"], learned.summary["imdb"]
    log(f"held-out labels ({ho['folds']}-fold) {ho['before']:.4f} -> {ho['after']:.4f}; "
        f"IMDB test {imdb['before']:.4f} -> {imdb['after']:.4f}")
    return learned.artifact.to_dict()


def grown_vocabulary(vocab: Vocabulary, texts: list[str], limit: int = MAX_NEW_WORDS) -> tuple[Vocabulary, list[str]]:
    """``vocab`` with the words of ``texts`` it lacks appended (``serve.learn.learner.new_words_of``)."""
    from serve.learn.learner import new_words_of

    new = new_words_of(texts, vocab, limit)
    return Vocabulary(vocab.words + new), new


def _refit_evidence(parent: SentimentModel, corpus: Corpus, annotations: Split, source: dict, lineage: dict,
                    weight: float | None, out: Path, seed: int, log, accept) -> dict:
    from trainer import evidence
    from trainer.model import build_models
    from trainer.reload import load_exported_weights
    from trainer.train import publish, set_evidence, set_seed

    set_seed(seed)
    art = parent.artifact
    vocab, new_words = grown_vocabulary(parent.codec.vocab, annotations.texts)
    codec = Codec(vocab, art.codec.maxlen)
    grown = grown_weights(parent, vocab.size)
    x = codec.encode_batch(corpus.train.texts + annotations.texts)
    y = np.concatenate([corpus.train.labels, annotations.labels])
    features = evidence.features(x, vocab.size, art.architecture["evidence_buckets"])
    n = len(corpus.train)

    def refit(rows: np.ndarray, w: float) -> tuple[np.ndarray, np.ndarray]:
        """Tables from the training reviews and the annotations ``rows``, each counted ``w`` times."""
        keep = np.r_[np.arange(n), n + rows]
        weights = np.r_[np.ones(n), np.full(len(rows), w)]
        unigram, pairs, _ = evidence.fit_tables(features[keep], y[keep], vocab.size, weights, seed=seed)
        return unigram, pairs

    tried = {}
    if weight is None:
        weight, tried = choose_weight(refit, grown, x[n:], y[n:], parent.pad_table, seed, log)
    log(f"fine-tuning {parent.directory} ({parent.sha256[:12]}...): {len(annotations):,} annotations, each counted "
        f"{weight:g} times, beside its {n:,} training reviews; {len(new_words):,} new words")
    unigram, pairs = refit(np.arange(len(annotations)), weight)
    mcfg = ModelConfig(**(art.model_config() | {"vocab_size": vocab.size}))
    _, export_model = build_models(mcfg)
    _, parent_model = build_models(ModelConfig(**art.model_config()))
    load_exported_weights(parent_model, parent)
    for layer in parent_model.layers:  # everything but the tables and the embedding is the parent's
        if layer.weights and layer.name not in ("embedding", "word_evidence"):
            export_model.get_layer(layer.name).set_weights(layer.get_weights())
    export_model.get_layer("embedding").set_weights([grown["embedding"]])
    set_evidence(export_model, unigram, pairs)
    chosen = {"weight": weight, "annotations": len(annotations), "words_added": len(new_words)} | (
        {"weights_tried": tried} if tried else {})
    lineage = lineage | {"method": "evidence refit", "parent_vocab_size": art.codec.vocab_size} | chosen
    training = copy.deepcopy(art.training) | {"fine_tune": chosen}
    x_test = codec.encode_batch(corpus.test.texts)
    published = publish(export_model, mcfg, vocab, art.read_history(), training,
                        Corpus(corpus.train + annotations, corpus.test, source), (x[:0], y[:0]),
                        (x_test, corpus.test.labels), TrainConfig(model=mcfg, seed=seed), out, lineage=lineage,
                        validation=art.metrics.get("validation"), baseline=art.metrics.get("baseline"),
                        accept=accept, log=log)
    return published.to_dict()


def grown_weights(parent: SentimentModel, vocab_size: int) -> dict[str, np.ndarray]:
    """The parent's weights for a vocabulary grown to ``vocab_size`` (``serve.learn.learner.grown``)."""
    from serve.learn.learner import grown

    return grown(dict(parent.weights), vocab_size)


def choose_weight(refit, grown: dict, ids: np.ndarray, labels: np.ndarray, pad_table: np.ndarray, seed: int,
                  log) -> tuple[float, dict]:
    """The annotation weight that predicts held-out annotations best (log loss), and what each scored.

    A third of the annotations is held out; the tables are refitted with the rest at each of
    ``WEIGHTS`` and the whole model (LSTM, gate and new tables, in numpy) scores the held-out third.
    Annotations like the training reviews want a small weight; a new kind of text, a large one."""
    from explain.cd import LSTMWeights, decompose

    if len(labels) < MIN_TO_CHOOSE or len(set(labels.tolist())) < 2:
        return WEIGHT, {}
    order = np.random.default_rng(seed).permutation(len(labels))
    held, fit = order[: len(order) // 3], order[len(order) // 3:]
    tried = {}
    for w in WEIGHTS:
        unigram, pairs = refit(fit, w)
        lstm = LSTMWeights(grown | {"unigram": unigram.astype(np.float16), "pairs": pairs.astype(np.float16)})
        logits = np.array([float(sum(decompose(lstm, row, [(len(row), len(row))], pad_table))[0]) + lstm.readout_bias
                           for row in ids[held]])
        loss = float(np.mean(np.logaddexp(0, logits) - labels[held] * logits))
        tried[f"{w:g}"] = {"held_out_log_loss": round(loss, 4),
                           "held_out_accuracy": round(float(((logits >= 0) == (labels[held] == 1)).mean()), 4)}
        log(f"annotation weight {w:g}: held-out log loss {loss:.4f}")
    best = min(WEIGHTS, key=lambda w: (tried[f"{w:g}"]["held_out_log_loss"], w))
    return best, {"held_out": int(len(held)), "results": tried}


def _retrain(parent: SentimentModel, corpus: Corpus, annotations: Split, source: dict, lineage: dict, epochs: int,
             out: Path, seed: int, log, accept) -> dict:
    from trainer.train import train

    art = parent.artifact
    n_replay = min(len(corpus.train), max(MIN_REPLAY, REPLAY_PER_ROW * len(annotations)))
    replay = corpus.train.take(np.random.default_rng(seed).choice(len(corpus.train), n_replay, replace=False))
    mixed = Corpus(annotations + replay, corpus.test, source | {"replay_rows": n_replay})
    model_cfg = ModelConfig(**art.model_config())
    model_cfg.learning_rate, model_cfg.ema_momentum = LEARNING_RATE, None
    cfg = TrainConfig(model=model_cfg, epochs=epochs, patience=None, seed=seed,
                      batch_size=art.training.get("batch_size", 64))
    lineage = lineage | {"method": "retrain", "replay_rows": n_replay, "epochs": epochs,
                         "learning_rate": LEARNING_RATE}
    log(f"fine-tuning {parent.directory} ({parent.sha256[:12]}...) on {len(annotations):,} annotations + "
        f"{n_replay:,} replayed reviews, {epochs} epochs")
    return train(mixed, copy.deepcopy(cfg), out, log=log, init=parent, lineage=lineage, accept=accept)
