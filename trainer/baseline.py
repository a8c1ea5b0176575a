"""An honest baseline: TF-IDF + logistic regression on the same split, recorded beside the LSTM.

Users will ask how a bag-of-words model does; the model card answers first. The baseline uses
the project's tokenizer (so it sees the words the LSTM sees), unigrams and, separately, unigrams
plus word pairs, and logistic regression (scikit-learn, train extra). It is order-blind: "not
good" and "good, not" look the same to the unigram model, which is what the LSTM is for.

    python -m trainer.baseline exported/ --data ../shared/data/aclImdb_v1_labeled.tar.gz

writes ``metrics.baseline`` into an existing export's metadata (the trainer does it at export).
"""

from __future__ import annotations

import argparse
import sys
import time

from sentilens.codec import tokenize
from sentilens.errors import SentilensError
from sentilens.metrics import classification_report
from trainer.data import Corpus


def fit_baseline(corpus: Corpus, ngrams: int = 1, seed: int = 0) -> dict:
    """Test-split metrics of TF-IDF (our tokens, ``ngrams`` 1 or 2) + logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    t0 = time.perf_counter()
    vectorizer = TfidfVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None, preprocessor=None,
                                 ngram_range=(1, ngrams), min_df=2, sublinear_tf=True)
    x_train = vectorizer.fit_transform(corpus.train.texts)
    model = LogisticRegression(C=4.0 if ngrams > 1 else 2.0, max_iter=2000, random_state=seed)
    model.fit(x_train, corpus.train.labels)
    probabilities = model.predict_proba(vectorizer.transform(corpus.test.texts))[:, 1]
    report = classification_report(corpus.test.labels, probabilities)
    return {"model": f"TF-IDF ({'words' if ngrams == 1 else 'words and word pairs'}) + logistic regression",
            "features": int(x_train.shape[1]), "seconds": round(time.perf_counter() - t0, 1)} | {
        k: report[k] for k in ("n", "accuracy", "roc_auc", "f1", "loss")}


def baselines(corpus: Corpus, seed: int = 0) -> dict:
    """Both baselines, as recorded under ``metrics.baseline``."""
    return {"words": fit_baseline(corpus, 1, seed), "word_pairs": fit_baseline(corpus, 2, seed)}


def main(argv: list[str] | None = None) -> int:
    from sentilens.artifact import Artifact
    from trainer.data import load_files

    p = argparse.ArgumentParser(prog="python -m trainer.baseline", description=__doc__.splitlines()[0])
    p.add_argument("model", help="an export directory (e.g. exported/)")
    p.add_argument("--data", required=True, help="the data the model was trained on (its train/test split)")
    args = p.parse_args(argv)
    try:
        art = Artifact.load(args.model)
        corpus = load_files(args.data, seed=art.training.get("seed", 0))
        art.metrics["baseline"] = found = baselines(corpus, art.training.get("seed", 0))
        art.write(args.model)
    except SentilensError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for name, m in found.items():
        print(f"{m['model']}: test accuracy {m['accuracy']:.4f}, ROC AUC {m['roc_auc']:.4f} "
              f"({m['features']:,} features, {m['seconds']} s)")
    lstm = art.metrics["test"]
    print(f"the LSTM: test accuracy {lstm['accuracy']:.4f}, ROC AUC {lstm['roc_auc']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
