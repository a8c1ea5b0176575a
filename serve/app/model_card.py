"""The Model tab: a model card people can trust, built from the artifact's own metadata.

Intended and out-of-scope use, limitations with failure examples of our own (scored live by
the loaded model, so the card never claims what this model does not do), the data, per-class
precision and recall, the confusion matrix with rates, and the bag-of-words baseline.
"""

from __future__ import annotations

from sentilens.labels import NEG, POS, WORD, label_of
from sentilens.wording import count
from serve.runtime import SentimentModel
from serve.app.ui_safety import md_literal

__all__ = ["BLIND", "FAILURE_EXAMPLES", "INTENDED", "NEUTRAL_PLOT", "baseline_table", "confusion_table", "curves",
           "dataset", "describe", "details", "failure_table", "limitations", "per_class", "readout"]

# What each baseline cannot see, next to its score.
BLIND = {"words": "order-blind: 'not good' and 'good, not' look the same to it",
         "word_pairs": "sees order only within adjacent pairs; explains no single word in context",
         "nb_word_pairs": "sees order only within adjacent pairs; a word counts the same wherever it stands"}

# Our own reviews, each with what a person would say about it and why a model like this can miss it.
NEUTRAL_PLOT = ("The story follows a young teacher who moves to a small town by the sea, meets the families of "
                "her pupils and learns about the old lighthouse. ")
FAILURE_EXAMPLES = [
    ("Not bad at all.", WORD[POS], "negation: 'bad' is read as a strongly negative word"),
    ("The trailer promised a brilliant, hilarious, moving comedy. It is none of those things.", WORD[NEG],
     "praise quoted in order to deny it"),
    ("Absolutely dreadful. " + NEUTRAL_PLOT * 40, WORD[NEG],
     "the verdict comes first in a long review; the model reads only the last words"),
    ("A gr8 flick, totes amazeballs.", WORD[POS], "slang and misspellings are unknown words to it"),
]

INTENDED = """**Intended use.** Sorting English movie reviews (a few sentences or more, like those on IMDB) into
positive and negative; seeing which words moved the score; choosing reviews for people to label and
fine-tuning on their labels.

**Out of scope.** Decisions about people; text that is not a movie review (products, news, social media
posts) unless you first measure accuracy on it; other languages; mixed or neutral opinions (the model has
two classes only and will call a neutral review one or the other); moderation or any use where a wrong
label harms someone."""


def _rate(n: int, total: int) -> str:
    return f"{n:,} ({n / total:.1%})" if total else "0"


def per_class(confusion: dict) -> dict:
    """Precision, recall and F1 of each class from the confusion counts, as a table."""
    tn, fp, fn, tp = (confusion[k] for k in ("tn", "fp", "fn", "tp"))
    rows = []
    for name, hit, false_pos, missed in (("negative", tn, fn, fp), ("positive", tp, fp, fn)):
        precision = hit / (hit + false_pos) if hit + false_pos else 0.0
        recall = hit / (hit + missed) if hit + missed else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append([name, f"{precision:.3f}", f"{recall:.3f}", f"{f1:.3f}", f"{hit + missed:,}"])
    return {"headers": ["class", "precision", "recall", "F1", "reviews"], "data": rows}


def confusion_table(confusion: dict) -> dict:
    """Counts with the rate of each actual class (rows add up to 100%)."""
    tn, fp, fn, tp = (confusion[k] for k in ("tn", "fp", "fn", "tp"))
    return {"headers": ["actual class", "predicted negative", "predicted positive"],
            "data": [["negative", _rate(tn, tn + fp), _rate(fp, tn + fp)],
                     ["positive", _rate(fn, fn + tp), _rate(tp, fn + tp)]]}


def failure_table(model: SentimentModel) -> str:
    scores = model.predict([text for text, _, _ in FAILURE_EXAMPLES])
    lines = ["| our example | a person would say | this model says | why it is hard |", "|---|---|---|---|"]
    for (text, truth, why), p in zip(FAILURE_EXAMPLES, scores):
        said = WORD[label_of(p)]
        shown = text if len(text) < 120 else f"{text[:60]}... ({count(len(text.split()), 'word')})"
        mark = "" if said == truth else " (wrong)"
        lines.append(f"| {md_literal(shown)} | {truth} | {said}{mark}, {p:.0%} positive | {why} |")
    return "\n".join(lines)


def limitations(model: SentimentModel) -> str:
    art = model.artifact
    return (f"**Limitations.** English only. It knows {art.codec.vocab_size - 4:,} words (the most frequent in its "
            f"training reviews); any other word is the same 'unknown' id to it. It reads only the last "
            f"{count(art.codec.maxlen, 'word')} of a review (the words before are dropped, so a verdict at the "
            "start of a long review is never read). It learned from IMDB reviews, which are strongly polarised "
            "(rated 4 or less, or 7 or more, out of 10): lukewarm text gets confident scores. Explanations show "
            "what moved this model, not what is true about the film.\n\n"
            "**Known failure modes** (our own examples, scored live by this model):\n\n" + failure_table(model))


def dataset(model: SentimentModel) -> str:
    data, tr = model.artifact.data, model.artifact.training
    test = model.artifact.metrics["test"]
    if data.get("kind") == "aclImdb":
        what = ("the IMDB Large Movie Review Dataset (Maas et al., 2011): 50,000 English reviews from imdb.com, "
                "25,000 for training and 25,000 for testing, half positive (rated 7-10) and half negative (1-4), "
                "at most 30 reviews per film, and no film in both halves")
    else:
        what = f"a table of labelled reviews ({md_literal(str(data.get('path')))})"
    return (f"**Data.** Trained on {what}. {tr.get('train_reviews', 0):,} reviews for fitting and "
            f"{tr.get('validation_reviews', 0):,} for validation (the last {tr.get('validation_split', 0):.0%} "
            f"of the training half); every number below is on the {test['n']:,} test reviews, never seen in "
            f"training. File sha256 `{md_literal(str(data.get('sha256')))}`.")


def baseline_table(model: SentimentModel) -> str:
    """This model beside the simple peers fitted on the same split, and which of them is ahead."""
    art = model.artifact
    test = art.metrics["test"]
    base = {k: v for k, v in (art.metrics.get("baseline") or {}).items() if k in BLIND}
    if not base:
        return ""
    reads = f"reads only the last {count(art.codec.maxlen, 'word')}"
    lines = ["| model | test accuracy | ROC AUC | what it cannot do |", "|---|---|---|---|",
             f"| this model ({describe(art)}) | {test['accuracy']:.4f} | {test['roc_auc']:.4f} | {reads} |"]
    lines += [f"| {md_literal(b['model'])} | {b['accuracy']:.4f} | {b['roc_auc']:.4f} | {BLIND[k]} |"
              for k, b in base.items()]
    best = max(base.values(), key=lambda b: b["accuracy"])
    if test["accuracy"] > best["accuracy"]:
        verdict = (f"On the same test split this model is {100 * (test['accuracy'] - best['accuracy']):.2f} points more "
                   f"accurate than the best of them ({md_literal(best['model'])}).")
    else:
        verdict = (f"On the same test split the best of them ({md_literal(best['model'])}) is "
                   f"{100 * (best['accuracy'] - test['accuracy']):.2f} points more accurate than this model; what this "
                   "model offers is an explanation that follows the order of the words.")
    return ("**Compared with the simple models you could use instead** (each fitted on the same training reviews, "
            "reading the whole review). " + verdict + "\n\n" + "\n".join(lines))


def describe(art) -> str:
    """The model in a few words (Markdown-safe): its cell, and its readout."""
    cell = md_literal(art.capabilities.cell)
    return f"{cell} weighing word and word-pair evidence in context" if art.architecture.get("evidence_buckets") else cell


def details(model: SentimentModel) -> str:
    """Everything technical, one row each."""
    art = model.artifact
    test, val = art.metrics["test"], art.metrics.get("validation") or {}
    cfg, tr, caps = art.architecture, art.training, art.capabilities
    rows = [
        ("cell", f"{caps.cell} ({'one fused ' + caps.onnx_op if caps.fused else 'an ONNX ' + caps.onnx_op} op)"),
        ("readout", readout(art)),
        ("explanation methods", ", ".join(caps.methods)),
        ("vocabulary", f"{art.codec.vocab_size:,} ids"),
        ("embedding / units", f"{cfg['embed_dim']} / {cfg['units']}"), ("maxlen", art.codec.maxlen),
        ("padding / truncation", f"{art.codec.padding} / {art.codec.truncating}"),
        ("training", f"{tr['epochs_run']} epochs (best {tr['best_epoch']}), batch {tr['batch_size']}, "
                     f"{tr['optimizer']}, seed {tr['seed']}"),
        ("test accuracy / ROC AUC / F1 / loss",
         (f"{test['accuracy']:.4f} / {test['roc_auc']:.4f} / {test['f1']:.4f} / {test['loss']:.4f}")),
        ("validation accuracy", f"{val.get('accuracy', float('nan')):.4f}"),
        ("ORT vs Keras parity", f"max abs diff {art.parity['max_abs_diff']:.1e} on {art.parity['reviews']:,} reviews"),
        ("batch scorer", f"padding skipped, max abs diff {art.fast_path['max_abs_diff']:.1e} from the full graph on "
                         f"{art.fast_path['reviews']:,} reviews" if art.fast_path else "full graph"),
        ("int8 scorer", f"test accuracy {art.int8['accuracy']:.4f} (fp32 {art.int8['fp32_accuracy']:.4f}), "
                        f"{'kept' if art.int8['kept'] else 'not kept'} (bound: {art.int8['max_accuracy_loss']:.3f})"
                        if art.int8 else "none"),
        ("model sha256", model.sha256),
        ("libraries", ", ".join(f"{k} {v}" for k, v in art.versions.items())),
    ]
    # every value may carry text from metadata.json (not covered by its own sha256): shown as text
    return "| property | value |\n|---|---|\n" + "\n".join(f"| {k} | {md_literal(v)} |" for k, v in rows)


def readout(art) -> str:
    """How the model turns its states into a score, in a line."""
    buckets = art.architecture.get("evidence_buckets")
    if not buckets:
        return "a dense layer on the last state (the running score: the same layer on every state)"
    ev = art.training.get("evidence") or {}
    return (f"each word's and word pair's weight ({buckets:,} hashed pair buckets; naive-Bayes-weighted logistic "
            f"regression on {ev.get('fitted_on', 0):,} reviews), counted 0-2 times as a gate read from the LSTM "
            "state decides, plus a logit read from the last state")


def curves(model: SentimentModel) -> tuple[list[list], list[list]]:
    """(accuracy rows, loss rows) as [epoch, series, value]: two plots, two scales."""
    history = model.artifact.read_history()
    names = {"accuracy": "training", "val_accuracy": "validation", "loss": "training", "val_loss": "validation"}

    def rows(keys):
        return [[i + 1, names[k], float(v)] for k in keys for i, v in enumerate(history.get(k, []))]

    return rows(("accuracy", "val_accuracy")), rows(("loss", "val_loss"))
